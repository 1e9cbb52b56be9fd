package sqlurl_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/sqlstore"
	"github.com/amsbilling/sdk/billing/sqlstore/internal/sqltest"
	"github.com/amsbilling/sdk/billing/sqlstore/sqlurl"
)

func openStore(t *testing.T, rawURL string) *sqlstore.Store {
	t.Helper()
	s, err := sqlurl.Open(t.Context(), rawURL)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// TestOpenPicksSQLite: every SQLite form opens a migrated SQLite store in
// the expected place.
func TestOpenPicksSQLite(t *testing.T) {
	// Not parallel: the relative forms change the working directory.
	tests := []struct {
		name string
		url  func(dir string) string
		file string // expected database file relative to dir; "" for memory
	}{
		{"sqlite absolute", func(dir string) string { return "sqlite://" + filepath.Join(dir, "a.db") }, "a.db"},
		{"sqlite relative", func(string) string { return "sqlite:b.db" }, "b.db"},
		{"sqlite relative with slashes", func(string) string { return "sqlite://c.db" }, "c.db"},
		{"upper-case scheme", func(string) string { return "SQLITE:d.db" }, "d.db"},
		{"file URI", func(string) string { return "file:e.db?mode=rwc" }, "e.db"},
		{"absolute path", func(dir string) string { return filepath.Join(dir, "f.db") }, "f.db"},
		{"relative path", func(string) string { return "g.db" }, "g.db"},
		{"sqlite memory", func(string) string { return "sqlite::memory:" }, ""},
		{"memory", func(string) string { return ":memory:" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			s := openStore(t, tt.url(dir))
			assert.Equal(t, sqlstore.SQLite, s.Dialect())
			_, err := s.LinkContact(t.Context(), billing.UserAccount("u1"), "c1")
			require.NoError(t, err, "not migrated")
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			if tt.file == "" {
				assert.Empty(t, entries, "an in-memory store wrote files")
			} else {
				assert.FileExists(t, filepath.Join(dir, tt.file))
			}
		})
	}
}

// postgresForms returns the test database as a postgres:// URL and as a
// keyword/value string, both with search_path set to a new empty schema.
func postgresForms(t *testing.T) (url, keywordValue string) {
	t.Helper()
	base, schema := sqltest.PostgresSchema(t)
	cfg, err := pgx.ParseConfig(base)
	require.NoError(t, err)
	user := cfg.User
	keywordValue = fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable search_path=%s", cfg.Host, cfg.Port, cfg.User, cfg.Database, schema)
	if cfg.Password != "" {
		user += ":" + cfg.Password
		keywordValue += " password='" + cfg.Password + "'"
	}
	url = fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable&search_path=%s", user, cfg.Host, cfg.Port, cfg.Database, schema)
	return url, keywordValue
}

// TestOpenPicksPostgres: postgres://, postgresql:// (any letter case) and
// keyword/value strings open a migrated PostgreSQL store.
func TestOpenPicksPostgres(t *testing.T) {
	t.Parallel()
	url, keywordValue := postgresForms(t)
	rest := url[len("postgres"):]
	for _, raw := range []string{url, "postgresql" + rest, "POSTGRES" + rest, keywordValue} {
		s := openStore(t, raw)
		assert.Equal(t, sqlstore.Postgres, s.Dialect())
		_, err := s.LinkContact(t.Context(), billing.UserAccount("u1"), "c1")
		require.NoError(t, err, "not migrated")
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  string
		want string
	}{
		{"empty", "", "empty database URL"},
		{"blank", "  ", "empty database URL"},
		{"unknown scheme", "mysql://user@localhost/db", `unsupported database URL scheme "mysql"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := sqlurl.Open(t.Context(), tt.url)
			require.Error(t, err)
			assert.Nil(t, s)
			assert.Contains(t, err.Error(), tt.want)
			assert.ErrorIs(t, err, billing.ErrInvalidConfig)
			assert.Contains(t, err.Error(), "BILLING_DATABASE_URL")
		})
	}
}

// TestOpenUnsupportedScheme: a URL of another database is a configuration
// error (a command exits 2 for it) that names BILLING_DATABASE_URL and never
// the password.
func TestOpenUnsupportedScheme(t *testing.T) {
	// Not parallel: changes the working directory to see stray files.
	const password = "s3cr3t-Pa55"
	tests := []struct{ name, url, want string }{
		{"mysql", "mysql://billing:" + password + "@db:3306/app", `unsupported database URL scheme "mysql"`},
		{"mongodb+srv", "mongodb+srv://billing:" + password + "@cluster/app", `unsupported database URL scheme "mongodb+srv"`},
		{"redis", "redis://:" + password + "@127.0.0.1:6379/0", `unsupported database URL scheme "redis"`},
		{"no scheme before ://", "billing:" + password + "@db://app", "unsupported database URL:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			s, err := sqlurl.Open(t.Context(), tt.url)
			require.Error(t, err)
			assert.Nil(t, s)
			assert.True(t, errors.Is(err, billing.ErrInvalidConfig), "errors.Is(err, billing.ErrInvalidConfig) is false for %v", err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), "BILLING_DATABASE_URL")
			assert.NotContains(t, err.Error(), password)
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Empty(t, entries, "an unsupported URL was opened as a SQLite file")
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
			s, err := sqlurl.Open(t.Context(), tt.dsn)
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
		_, dsn := postgresForms(t)
		s := openStore(t, dsn)
		assert.Equal(t, sqlstore.Postgres, s.Dialect())
	})
}
