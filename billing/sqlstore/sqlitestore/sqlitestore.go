package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/amsbilling/sdk/billing/sqlstore"
	"github.com/amsbilling/sdk/billing/sqlstore/internal/dsn"
)

// Option configures Open.
type Option func(*config)

type config struct {
	migrate bool
}

// WithoutMigrate makes Open skip applying migrations. Use it when the schema
// is migrated by a separate step (call Store.Migrate there).
func WithoutMigrate() Option { return func(c *config) { c.migrate = false } }

// The SQLite settings Open applies to every connection: wait up to 5s for
// another process's lock instead of failing with SQLITE_BUSY, enforce
// foreign keys, use WAL so readers in other processes do not block the
// writer, and begin every read-write transaction with BEGIN IMMEDIATE so it
// holds the write lock from its first statement (a deferred transaction that
// reads and then writes can fail with SQLITE_BUSY without waiting).
const sqliteParams = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_txlock=immediate"

// Open opens the SQLite database target names, creating the file if it is
// missing, applies the migrations (unless WithoutMigrate is given) and
// returns a Store that owns the connection; Close it when done.
//
// target is a path or a sqlite: URL:
//
//	sqlite:///var/lib/app/billing.db          SQLite file, absolute path
//	sqlite://billing.db or sqlite:billing.db  SQLite file, relative path
//	sqlite::memory: or :memory:               in memory, gone on Close
//	file:billing.db?mode=rwc                  SQLite URI filename
//	/var/lib/app/billing.db or billing.db     SQLite file
//
// Parameters after a '?' go to modernc.org/sqlite with Open's own settings.
// A libpq keyword/value string ("host=db password=...") is refused rather
// than taken for a file name, which would write its password to disk.
//
// The store uses one connection: the goroutines of a process take turns (no
// SQLITE_BUSY between them, and a :memory: database is shared by all), while
// other processes on the same file wait for its lock for up to 5 seconds.
func Open(ctx context.Context, target string, opts ...Option) (*sqlstore.Store, error) {
	c := config{migrate: true}
	for _, opt := range opts {
		opt(&c)
	}
	if strings.TrimSpace(target) == "" {
		return nil, errors.New("sqlitestore: empty database path")
	}
	if dsn.IsKeywordValue(target) {
		// Quote none of it: it may hold a password.
		return nil, errors.New("sqlitestore: a PostgreSQL keyword/value connection string is not a SQLite path; open it with pgstore")
	}
	source, err := sqliteDSN(target)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", source)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open SQLite %q: %w", target, err)
	}
	// One connection: see Open.
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlitestore: open SQLite %q: %w", target, err), db.Close())
	}
	s, err := sqlstore.New(db, sqlstore.SQLite, sqlstore.OwnDB())
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	if c.migrate {
		if err := s.Migrate(ctx); err != nil {
			return nil, errors.Join(err, s.Close())
		}
	}
	return s, nil
}

// sqliteDSN turns one of Open's forms into a modernc.org/sqlite DSN with
// sqliteParams.
func sqliteDSN(target string) (string, error) {
	path := target
	switch {
	case dsn.IsSQLiteURL(target):
		// sqlite:///abs, sqlite://rel, sqlite:rel and sqlite::memory:.
		path = strings.TrimPrefix(target[len("sqlite:"):], "//")
	case strings.HasPrefix(target, "file:"):
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		return target + sep + sqliteParams, nil
	case strings.Contains(target, "://"):
		if scheme, ok := dsn.Scheme(target); ok {
			return "", fmt.Errorf("sqlitestore: unsupported database URL scheme %q: want sqlite: or a file path", scheme)
		}
		return "", errors.New("sqlitestore: unsupported database URL: want sqlite: or a file path")
	}
	if path == "" {
		return "", fmt.Errorf("sqlitestore: no SQLite file path in %q", target)
	}
	query := sqliteParams
	// The driver splits a plain path from its parameters at the first '?'.
	if p, q, ok := strings.Cut(path, "?"); ok {
		if p == "" {
			return "", fmt.Errorf("sqlitestore: no SQLite file path in %q", target)
		}
		path, query = p, q+"&"+sqliteParams
	}
	return path + "?" + query, nil
}
