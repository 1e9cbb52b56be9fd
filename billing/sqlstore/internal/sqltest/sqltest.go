package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing/sqlstore"
	"github.com/amsbilling/sdk/billing/sqlstore/pgstore"
	"github.com/amsbilling/sdk/billing/sqlstore/sqlitestore"
)

// EnvPostgresURL names the variable that enables the PostgreSQL tests.
const EnvPostgresURL = "BILLING_TEST_POSTGRES_URL"

// Opt adjusts Backend.Open and Backend.Reopen.
type Opt int

// WithoutMigrate opens the store without applying the migrations.
const WithoutMigrate Opt = 1

func migrate(opts []Opt) bool {
	for _, o := range opts {
		if o == WithoutMigrate {
			return false
		}
	}
	return true
}

// Backend opens fresh, empty stores of one dialect.
type Backend struct {
	Name string
	// create makes a new empty database and returns where it is.
	create func(t *testing.T) location
	// open opens a store on the database at loc.
	open   func(ctx context.Context, loc location, migrate bool) (*sqlstore.Store, error)
	opened *registry
}

// location is where a test database is: a SQLite file, or a PostgreSQL URL
// and schema.
type location struct{ url, schema string }

// Open returns a new store on a new empty database (a new file or a new
// schema), migrated unless WithoutMigrate is given, closed when the test
// ends.
func (b Backend) Open(t *testing.T, opts ...Opt) *sqlstore.Store {
	t.Helper()
	return b.openAt(t, b.create(t), opts)
}

// Reopen returns a second, independent store (its own connections) on the
// same database as s, closed when the test ends.
func (b Backend) Reopen(t *testing.T, s *sqlstore.Store, opts ...Opt) *sqlstore.Store {
	t.Helper()
	return b.openAt(t, b.opened.get(t, s), opts)
}

// OpenAgain opens, with migrations, another store on the database of s and
// returns Open's result; the caller closes the store.
func (b Backend) OpenAgain(t *testing.T, s *sqlstore.Store) (*sqlstore.Store, error) {
	t.Helper()
	return b.open(t.Context(), b.opened.get(t, s), true)
}

func (b Backend) openAt(t *testing.T, loc location, opts []Opt) *sqlstore.Store {
	t.Helper()
	s, err := b.open(t.Context(), loc, migrate(opts))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	b.opened.put(s, loc)
	return s
}

// Backends returns SQLite and, when BILLING_TEST_POSTGRES_URL is set,
// PostgreSQL.
func Backends(t *testing.T) []Backend {
	t.Helper()
	bs := []Backend{SQLite()}
	if _, ok := os.LookupEnv(EnvPostgresURL); ok {
		bs = append(bs, Postgres())
	} else {
		t.Log(EnvPostgresURL + " is not set: PostgreSQL cases skipped")
	}
	return bs
}

// SQLite returns the backend of SQLite files in temporary directories.
func SQLite() Backend {
	return Backend{
		Name: "sqlite",
		create: func(t *testing.T) location {
			return location{url: filepath.Join(t.TempDir(), "billing.db")}
		},
		open: func(ctx context.Context, loc location, migrate bool) (*sqlstore.Store, error) {
			var opts []sqlitestore.Option
			if !migrate {
				opts = append(opts, sqlitestore.WithoutMigrate())
			}
			return sqlitestore.Open(ctx, loc.url, opts...)
		},
		opened: &registry{},
	}
}

// Postgres returns the backend of schemas in the database at
// BILLING_TEST_POSTGRES_URL; its Open skips the test when that is unset.
func Postgres() Backend {
	return Backend{
		Name: "postgres",
		create: func(t *testing.T) location {
			url, schema := PostgresSchema(t)
			return location{url: url, schema: schema}
		},
		open: func(ctx context.Context, loc location, migrate bool) (*sqlstore.Store, error) {
			opts := []pgstore.Option{pgstore.WithSchema(loc.schema)}
			if !migrate {
				opts = append(opts, pgstore.WithoutMigrate())
			}
			return pgstore.Open(ctx, loc.url, opts...)
		},
		opened: &registry{},
	}
}

// registry records where each test store was opened, for Reopen.
type registry struct {
	mu sync.Mutex
	m  map[*sqlstore.Store]location
}

func (r *registry) put(s *sqlstore.Store, loc location) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[*sqlstore.Store]location)
	}
	r.m[s] = loc
}

func (r *registry) get(t *testing.T, s *sqlstore.Store) location {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	loc, ok := r.m[s]
	require.True(t, ok, "store not opened by this backend")
	return loc
}

// PostgresURL returns BILLING_TEST_POSTGRES_URL or skips the test.
func PostgresURL(t testing.TB) string {
	t.Helper()
	url, ok := os.LookupEnv(EnvPostgresURL)
	if !ok || url == "" {
		t.Skip(EnvPostgresURL + " is not set; set it to a PostgreSQL URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL tests")
	}
	return url
}

// PostgresSchema creates an empty schema billing_test_<random>, dropped when
// the test ends, so parallel runs never share tables. It skips the test when
// BILLING_TEST_POSTGRES_URL is unset.
func PostgresSchema(t testing.TB) (url, schema string) {
	t.Helper()
	url = PostgresURL(t)
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema = "billing_test_" + hex.EncodeToString(b)

	cfg, err := pgx.ParseConfig(url)
	require.NoError(t, err)
	admin := stdlib.OpenDB(*cfg)
	ident := pgx.Identifier{schema}.Sanitize()
	_, err = admin.ExecContext(t.Context(), "CREATE SCHEMA "+ident)
	require.NoError(t, err)
	// Registered before the store's Close (cleanups run last-in first-out),
	// so the schema is dropped after every connection into it is closed.
	t.Cleanup(func() {
		defer admin.Close()
		_, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+ident+" CASCADE")
		require.NoError(t, err)
	})
	return url, schema
}

// Scalar runs a query that returns one value.
func Scalar[T any](t *testing.T, db *sql.DB, query string, args ...any) T {
	t.Helper()
	var v T
	require.NoError(t, db.QueryRowContext(t.Context(), query, args...).Scan(&v))
	return v
}
