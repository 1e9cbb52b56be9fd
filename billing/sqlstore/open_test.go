package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
)

// TestOpenSQLiteForms opens every SQLite URL form Open documents, checks the
// data lands in the expected file (or in memory) and that the connection
// settings are applied.
func TestOpenSQLiteForms(t *testing.T) {
	// Not parallel: the relative forms change the working directory.
	tests := []struct {
		name string
		url  func(dir string) string
		file string // expected database file relative to dir; "" for memory
	}{
		{"sqlite absolute", func(dir string) string { return "sqlite://" + filepath.Join(dir, "a.db") }, "a.db"},
		{"sqlite relative with slashes", func(string) string { return "sqlite://b.db" }, "b.db"},
		{"sqlite relative", func(string) string { return "sqlite:c.db" }, "c.db"},
		{"sqlite with parameters", func(dir string) string {
			return "sqlite://" + filepath.Join(dir, "d.db") + "?_pragma=cache_size(-4000)"
		}, "d.db"},
		{"file URI", func(dir string) string { return "file:" + filepath.Join(dir, "e.db") }, "e.db"},
		{"file URI with parameters", func(dir string) string { return "file:" + filepath.Join(dir, "f.db") + "?mode=rwc" }, "f.db"},
		{"absolute path", func(dir string) string { return filepath.Join(dir, "g.db") }, "g.db"},
		{"relative path", func(string) string { return "h.db" }, "h.db"},
		{"sqlite memory", func(string) string { return "sqlite::memory:" }, ""},
		{"memory", func(string) string { return ":memory:" }, ""},
		{"upper-case scheme", func(dir string) string { return "SQLite://" + filepath.Join(dir, "i.db") }, "i.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			s := openStore(t, tt.url(dir))
			require.Equal(t, SQLite, s.Dialect())

			ctx := t.Context()
			account := billing.UserAccount("u1")
			_, err := s.LinkContact(ctx, account, "c1")
			require.NoError(t, err)

			assert.Equal(t, 1, scalar[int](t, s.DB(), "PRAGMA foreign_keys"), "foreign_keys")
			assert.Equal(t, 5000, scalar[int](t, s.DB(), "PRAGMA busy_timeout"), "busy_timeout")
			if tt.file == "" {
				entries, err := os.ReadDir(dir)
				require.NoError(t, err)
				assert.Empty(t, entries, "an in-memory store wrote files")
				return
			}
			assert.Equal(t, "wal", scalar[string](t, s.DB(), "PRAGMA journal_mode"), "journal_mode")
			assert.FileExists(t, filepath.Join(dir, tt.file))

			// The data is in that file: a second store on it sees the link.
			again, err := Open(ctx, filepath.Join(dir, tt.file))
			require.NoError(t, err)
			defer again.Close()
			link, err := again.ContactLink(ctx, account)
			require.NoError(t, err)
			assert.Equal(t, "c1", link.ContactID)
		})
	}
}

// TestOpenMemoryShared checks that every goroutine using an in-memory store
// sees the same database (a second connection would see an empty one).
func TestOpenMemoryShared(t *testing.T) {
	t.Parallel()
	s := openStore(t, "sqlite::memory:")
	ctx := t.Context()
	_, err := s.LinkContact(ctx, billing.UserAccount("u1"), "c1")
	require.NoError(t, err)

	errs := make(chan error, 8)
	for range cap(errs) {
		go func() {
			_, err := s.ContactLink(ctx, billing.UserAccount("u1"))
			errs <- err
		}()
	}
	for range cap(errs) {
		require.NoError(t, <-errs)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  string
		opts []OpenOption
		want string
	}{
		{"empty", "", nil, "empty database URL"},
		{"blank", "  ", nil, "empty database URL"},
		{"unknown scheme", "mysql://user@localhost/db", nil, `unsupported database URL scheme "mysql"`},
		{"sqlite without a path", "sqlite:", nil, "no SQLite file path"},
		{"sqlite with only parameters", "sqlite://?mode=ro", nil, "no SQLite file path"},
		{"schema on sqlite", "sqlite::memory:", []OpenOption{WithSchema("billing")}, "WithSchema applies to PostgreSQL only"},
		{"missing directory", "sqlite://" + filepath.Join(t.TempDir(), "missing", "billing.db"), nil, "open SQLite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := Open(t.Context(), tt.url, tt.opts...)
			require.Error(t, err)
			assert.Nil(t, s)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := Open(t.Context(), tt.url)
			require.Error(t, err)
			assert.Nil(t, s)
			assert.NotContains(t, err.Error(), password)
			assert.Contains(t, err.Error(), "127.0.0.1:1")
		})
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "billing.db")+"?"+sqliteParams)
	require.NoError(t, err)
	defer db.Close()
	db.SetMaxOpenConns(1)

	s, err := New(db, SQLite)
	require.NoError(t, err)
	require.Same(t, db, s.DB())
	require.NoError(t, s.Migrate(ctx))
	_, err = s.LinkContact(ctx, billing.OrganisationAccount("o1"), "c1")
	require.NoError(t, err)

	require.NoError(t, s.Close())
	require.NoError(t, db.PingContext(ctx), "Close closed a *sql.DB the caller owns")

	_, err = New(nil, SQLite)
	require.Error(t, err)
	_, err = New(db, Dialect("mysql"))
	require.ErrorContains(t, err, `unknown dialect "mysql"`)
}

func TestWithSchemaMissing(t *testing.T) {
	t.Parallel()
	url := postgresURL(t)
	_, err := Open(t.Context(), url, WithSchema("billing_test_does_not_exist"))
	require.ErrorContains(t, err, `schema "billing_test_does_not_exist" does not exist`)
}

// TestErrorsKeepDriverErrors checks that a store error still unwraps to the
// driver's error for callers that inspect it.
func TestErrorsKeepDriverErrors(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s := b.open(t)
			inv := billing.Invoice{Account: billing.UserAccount("u1"), Number: "INV-1", ProviderID: "p1"}
			require.NoError(t, s.CreateInvoice(t.Context(), inv))
			inv.ProviderID = "p2"
			err := s.CreateInvoice(t.Context(), inv)
			require.ErrorIs(t, err, billing.ErrConflict)
			if b.name == "postgres" {
				var pgErr *pgconn.PgError
				require.True(t, errors.As(err, &pgErr))
				assert.Equal(t, "23505", pgErr.Code)
			}
		})
	}
}

// TestOpenKeywordValueIsPostgres: a libpq keyword/value connection string
// ("host=... password=...") is PostgreSQL, never a SQLite file named after
// it (which would write the password into a file name), and errors hide the
// password.
func TestOpenKeywordValueIsPostgres(t *testing.T) {
	// Not parallel: changes the working directory to see stray files.
	const password = "s3cr3t-Pa55"
	tests := []struct{ name, dsn string }{
		{"plain", "host=127.0.0.1 port=1 user=billing password=" + password + " dbname=app sslmode=disable connect_timeout=5"},
		{"quoted", "dbname=app host=127.0.0.1 port=1 user=billing password='" + password + " x' sslmode=disable connect_timeout=5"},
		{"invalid", "host=127.0.0.1 port=1 password=" + password + " sslmode=bogus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			s, err := Open(t.Context(), tt.dsn)
			if s != nil {
				require.NoError(t, s.Close())
			}
			require.Error(t, err, "nothing listens on port 1")
			assert.NotContains(t, err.Error(), password)
			assert.Contains(t, err.Error(), "127.0.0.1")
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Empty(t, entries, "a keyword/value string was opened as a SQLite file")
		})
	}

	t.Run("connects", func(t *testing.T) {
		url := postgresURL(t)
		cfg, err := pgx.ParseConfig(url)
		require.NoError(t, err)
		dsn := fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", cfg.Host, cfg.Port, cfg.User, cfg.Database)
		if cfg.Password != "" {
			dsn += " password='" + cfg.Password + "'"
		}
		s, err := Open(t.Context(), dsn, WithoutMigrate())
		require.NoError(t, err)
		defer s.Close()
		assert.Equal(t, Postgres, s.Dialect())
	})
}
