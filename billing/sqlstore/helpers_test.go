package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"
)

// envPostgresURL names the variable that enables the PostgreSQL tests.
const envPostgresURL = "BILLING_TEST_POSTGRES_URL"

// backend opens fresh, empty, migrated stores of one dialect.
type backend struct {
	name string
	// open returns a new store on a new empty database (a new file or a new
	// schema), closed when the test ends.
	open func(t *testing.T, opts ...OpenOption) *Store
	// where returns the URL and options s was opened with.
	where func(t *testing.T, s *Store) openedAs
}

// reopen returns a second, independent store (its own connections) on the
// same database as s, closed when the test ends.
func (b backend) reopen(t *testing.T, s *Store, opts ...OpenOption) *Store {
	t.Helper()
	w := b.where(t, s)
	return openStore(t, w.url, slices.Concat(w.opts, opts)...)
}

// backends returns SQLite and, when BILLING_TEST_POSTGRES_URL is set,
// PostgreSQL.
func backends(t *testing.T) []backend {
	t.Helper()
	bs := []backend{sqliteBackend()}
	if _, ok := os.LookupEnv(envPostgresURL); ok {
		bs = append(bs, postgresBackend())
	} else {
		t.Log(envPostgresURL + " is not set: PostgreSQL cases skipped")
	}
	return bs
}

// openedAs records how each test store was opened, for reopen.
type openedAs struct {
	url  string
	opts []OpenOption
}

type registry struct {
	mu sync.Mutex
	m  map[*Store]openedAs
}

func (r *registry) put(s *Store, w openedAs) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[*Store]openedAs)
	}
	r.m[s] = w
}

func (r *registry) get(t *testing.T, s *Store) openedAs {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	w, ok := r.m[s]
	require.True(t, ok, "store not opened by this backend")
	return w
}

func sqliteBackend() backend {
	var opened registry
	return backend{
		name: "sqlite",
		open: func(t *testing.T, opts ...OpenOption) *Store {
			t.Helper()
			path := filepath.Join(t.TempDir(), "billing.db")
			s := openStore(t, path, opts...)
			opened.put(s, openedAs{url: path})
			return s
		},
		where: opened.get,
	}
}

func postgresBackend() backend {
	var opened registry
	return backend{
		name: "postgres",
		open: func(t *testing.T, opts ...OpenOption) *Store {
			t.Helper()
			url, schema := postgresSchema(t)
			s := openStore(t, url, slices.Concat([]OpenOption{WithSchema(schema)}, opts)...)
			opened.put(s, openedAs{url: url, opts: []OpenOption{WithSchema(schema)}})
			return s
		},
		where: opened.get,
	}
}

func openStore(t *testing.T, url string, opts ...OpenOption) *Store {
	t.Helper()
	s, err := Open(t.Context(), url, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// postgresURL returns BILLING_TEST_POSTGRES_URL or skips the test.
func postgresURL(t *testing.T) string {
	t.Helper()
	url, ok := os.LookupEnv(envPostgresURL)
	if !ok || url == "" {
		t.Skip(envPostgresURL + " is not set; set it to a PostgreSQL URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL tests")
	}
	return url
}

// postgresSchema creates an empty schema billing_test_<random>, dropped when
// the test ends, so parallel runs never share tables.
func postgresSchema(t *testing.T) (url, schema string) {
	t.Helper()
	url = postgresURL(t)
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

// scalar runs a query that returns one value.
func scalar[T any](t *testing.T, db *sql.DB, query string, args ...any) T {
	t.Helper()
	var v T
	require.NoError(t, db.QueryRowContext(t.Context(), query, args...).Scan(&v))
	return v
}
