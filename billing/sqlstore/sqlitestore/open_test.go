package sqlitestore_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/sqlstore"
	"github.com/amsbilling/sdk/billing/sqlstore/internal/sqltest"
	"github.com/amsbilling/sdk/billing/sqlstore/sqlitestore"
)

func openStore(t *testing.T, target string, opts ...sqlitestore.Option) *sqlstore.Store {
	t.Helper()
	s, err := sqlitestore.Open(t.Context(), target, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// TestOpenSQLiteForms opens every form Open documents, checks the data lands
// in the expected file (or in memory) and that the connection settings are
// applied.
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
			require.Equal(t, sqlstore.SQLite, s.Dialect())

			ctx := t.Context()
			account := billing.UserAccount("u1")
			_, err := s.LinkContact(ctx, account, "c1")
			require.NoError(t, err)

			assert.Equal(t, 1, sqltest.Scalar[int](t, s.DB(), "PRAGMA foreign_keys"), "foreign_keys")
			assert.Equal(t, 5000, sqltest.Scalar[int](t, s.DB(), "PRAGMA busy_timeout"), "busy_timeout")
			assert.Equal(t, 1, s.DB().Stats().MaxOpenConnections, "one connection")
			if tt.file == "" {
				entries, err := os.ReadDir(dir)
				require.NoError(t, err)
				assert.Empty(t, entries, "an in-memory store wrote files")
				return
			}
			assert.Equal(t, "wal", sqltest.Scalar[string](t, s.DB(), "PRAGMA journal_mode"), "journal_mode")
			assert.FileExists(t, filepath.Join(dir, tt.file))

			// The data is in that file: a second store on it sees the link.
			again, err := sqlitestore.Open(ctx, filepath.Join(dir, tt.file))
			require.NoError(t, err)
			defer again.Close()
			link, err := again.ContactLink(ctx, account)
			require.NoError(t, err)
			assert.Equal(t, "c1", link.ContactID)
		})
	}
}

// TestOpenImmediateTransactions checks that a write transaction takes the
// write lock when it begins (BEGIN IMMEDIATE): while one store holds it, a
// second store's transaction on the same file cannot even begin.
func TestOpenImmediateTransactions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "billing.db")
	first := openStore(t, path)
	second := openStore(t, path)

	tx, err := first.DB().BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback()
	// A short busy timeout for this connection, so the test does not wait 5s.
	_, err = second.DB().ExecContext(ctx, "PRAGMA busy_timeout = 50")
	require.NoError(t, err)
	_, err = second.DB().BeginTx(ctx, nil)
	require.Error(t, err, "BEGIN did not wait for the other store's write lock")
	assert.Contains(t, err.Error(), "SQLITE_BUSY")
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
		want string
	}{
		{"empty", "", "empty database path"},
		{"blank", "  ", "empty database path"},
		{"unknown scheme", "mysql://user@localhost/db", `unsupported database URL scheme "mysql"`},
		{"postgres URL", "postgres://user@localhost/db", `unsupported database URL scheme "postgres"`},
		{"sqlite without a path", "sqlite:", "no SQLite file path"},
		{"sqlite with only parameters", "sqlite://?mode=ro", "no SQLite file path"},
		{"missing directory", "sqlite://" + filepath.Join(t.TempDir(), "missing", "billing.db"), "open SQLite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := sqlitestore.Open(t.Context(), tt.url)
			require.Error(t, err)
			assert.Nil(t, s)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestOpenRefusesKeywordValue: a libpq keyword/value string is never opened
// as a SQLite file named after it (which would write the password into a
// file name), and the error does not repeat it.
func TestOpenRefusesKeywordValue(t *testing.T) {
	// Not parallel: changes the working directory to see stray files.
	const password = "s3cr3t-Pa55"
	dir := t.TempDir()
	t.Chdir(dir)
	s, err := sqlitestore.Open(t.Context(), "host=127.0.0.1 user=billing password="+password+" dbname=app")
	require.Error(t, err)
	assert.Nil(t, s)
	assert.Contains(t, err.Error(), "keyword/value")
	assert.NotContains(t, err.Error(), password)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "a keyword/value string was opened as a SQLite file")
}

func TestWithoutMigrate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := openStore(t, filepath.Join(t.TempDir(), "billing.db"), sqlitestore.WithoutMigrate())
	_, err := s.LinkContact(ctx, billing.UserAccount("u1"), "c1")
	require.Error(t, err, "tables exist without migrating")
	require.NoError(t, s.Migrate(ctx))
	_, err = s.LinkContact(ctx, billing.UserAccount("u1"), "c1")
	require.NoError(t, err)
}
