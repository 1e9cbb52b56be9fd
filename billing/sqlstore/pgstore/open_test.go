package pgstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing/sqlstore"
	"github.com/amsbilling/sdk/billing/sqlstore/internal/sqltest"
	"github.com/amsbilling/sdk/billing/sqlstore/pgstore"
)

func openStore(t *testing.T, url string, opts ...pgstore.Option) *sqlstore.Store {
	t.Helper()
	s, err := pgstore.Open(t.Context(), url, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// TestOpenPostgresErrorHidesPassword connects to a closed loopback port with
// credentials in the URL: the error names the server, never the password.
func TestOpenPostgresErrorHidesPassword(t *testing.T) {
	t.Parallel()
	const password = "s3cr3t-Pa55"
	tests := []struct{ name, url string }{
		{"user info", "postgres://billing:" + password + "@127.0.0.1:1/app?sslmode=disable&connect_timeout=5"},
		{"query parameter", "postgresql://billing@127.0.0.1:1/app?sslmode=disable&connect_timeout=5&password=" + password},
		{"invalid URL", "postgres://billing:" + password + "@127.0.0.1:1/app?sslmode=bogus"},
		{"keyword/value", "host=127.0.0.1 port=1 user=billing password=" + password + " dbname=app sslmode=disable connect_timeout=5"},
		{"keyword/value, quoted", "dbname=app host=127.0.0.1 port=1 user=billing password='" + password + " x' sslmode=disable connect_timeout=5"},
		{"keyword/value, invalid", "host=127.0.0.1 port=1 password=" + password + " sslmode=bogus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := pgstore.Open(t.Context(), tt.url)
			require.Error(t, err)
			assert.Nil(t, s)
			assert.NotContains(t, err.Error(), password)
			assert.Contains(t, err.Error(), "127.0.0.1")
		})
	}
}

func TestOpenEmpty(t *testing.T) {
	t.Parallel()
	s, err := pgstore.Open(t.Context(), " ")
	require.ErrorContains(t, err, "empty database URL")
	assert.Nil(t, s)
}

// TestOpenSchemeAnyCase: the URL scheme is case-insensitive, as in
// net/url, though pgx wants it in lower case.
func TestOpenSchemeAnyCase(t *testing.T) {
	t.Parallel()
	url := sqltest.PostgresURL(t)
	scheme, rest, ok := strings.Cut(url, "://")
	require.True(t, ok, "BILLING_TEST_POSTGRES_URL is not a URL")
	s := openStore(t, strings.ToUpper(scheme)+"://"+rest, pgstore.WithoutMigrate())
	assert.Equal(t, sqlstore.Postgres, s.Dialect())
}

func TestOpenKeywordValue(t *testing.T) {
	t.Parallel()
	url := sqltest.PostgresURL(t)
	cfg, err := pgx.ParseConfig(url)
	require.NoError(t, err)
	dsn := fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", cfg.Host, cfg.Port, cfg.User, cfg.Database)
	if cfg.Password != "" {
		dsn += " password='" + cfg.Password + "'"
	}
	s := openStore(t, dsn, pgstore.WithoutMigrate())
	assert.Equal(t, sqlstore.Postgres, s.Dialect())
}

func TestWithSchemaMissing(t *testing.T) {
	t.Parallel()
	url := sqltest.PostgresURL(t)
	_, err := pgstore.Open(t.Context(), url, pgstore.WithSchema("billing_test_does_not_exist"))
	require.ErrorContains(t, err, `schema "billing_test_does_not_exist" does not exist`)
}

// TestWithSchema: the tables go to the named schema, and only there.
func TestWithSchema(t *testing.T) {
	t.Parallel()
	url, schema := sqltest.PostgresSchema(t)
	s := openStore(t, url, pgstore.WithSchema(schema))
	assert.Equal(t, schema, sqltest.Scalar[string](t, s.DB(), "SELECT current_schema()"))
	assert.Equal(t, 1, sqltest.Scalar[int](t, s.DB(),
		"SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'billing_invoices'", schema))
}

// holdAll takes n connections from db at once and returns their server
// process ids, then gives them back to the pool.
func holdAll(t *testing.T, db *sql.DB, n int) map[int]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	pids := map[int]bool{}
	conns := make([]*sql.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			require.NoError(t, c.Close())
		}
	}()
	for range n {
		c, err := db.Conn(ctx)
		require.NoError(t, err)
		conns = append(conns, c)
		var pid int
		require.NoError(t, c.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid))
		pids[pid] = true
	}
	return pids
}

// TestPoolKeepsIdleForBursts: after a burst of DefaultMaxOpenConns
// concurrent callers, every connection stays open and idle, and the next
// burst reuses them all instead of dialling (database/sql's own default
// keeps two).
func TestPoolKeepsIdleForBursts(t *testing.T) {
	t.Parallel()
	url, schema := sqltest.PostgresSchema(t)
	s := openStore(t, url, pgstore.WithSchema(schema))
	db := s.DB()
	const n = pgstore.DefaultMaxOpenConns

	first := holdAll(t, db, n)
	require.Len(t, first, n)
	stats := db.Stats()
	assert.Equal(t, n, stats.MaxOpenConnections)
	assert.Equal(t, n, stats.Idle, "connections kept idle after the burst")
	assert.Zero(t, stats.MaxIdleClosed, "connections closed for want of idle room")

	second := holdAll(t, db, n)
	assert.Equal(t, first, second, "the second burst dialled new connections")
	assert.Zero(t, db.Stats().MaxIdleClosed)
}

// TestPoolSettings: the knobs of WithPool reach the *sql.DB.
func TestPoolSettings(t *testing.T) {
	t.Parallel()
	url, schema := sqltest.PostgresSchema(t)
	s := openStore(t, url, pgstore.WithSchema(schema), pgstore.WithPool(pgstore.Pool{
		MaxOpenConns:    4,
		MaxIdleConns:    2,
		ConnMaxLifetime: time.Minute,
		ConnMaxIdleTime: time.Minute,
	}))
	db := s.DB()
	holdAll(t, db, 4)
	stats := db.Stats()
	assert.Equal(t, 4, stats.MaxOpenConnections)
	assert.Equal(t, 2, stats.Idle)
	assert.Equal(t, int64(2), stats.MaxIdleClosed)
}
