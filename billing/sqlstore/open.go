package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// OpenOption configures Open.
type OpenOption func(*options)

type options struct {
	migrate bool
	schema  string
}

// WithoutMigrate makes Open skip applying migrations. Use it when the schema
// is migrated by a separate step (call Store.Migrate there).
func WithoutMigrate() OpenOption { return func(o *options) { o.migrate = false } }

// WithSchema makes a PostgreSQL store keep its tables in the named schema,
// which must exist: every connection gets search_path set to it. Open fails
// with this option for SQLite.
func WithSchema(name string) OpenOption { return func(o *options) { o.schema = name } }

// The SQLite settings Open applies to every connection: wait up to 5s for
// another process's lock instead of failing with SQLITE_BUSY, enforce
// foreign keys, use WAL so readers in other processes do not block the
// writer, and begin every read-write transaction with BEGIN IMMEDIATE so it
// holds the write lock from its first statement (a deferred transaction that
// reads and then writes can fail with SQLITE_BUSY without waiting).
const sqliteParams = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_txlock=immediate"

// Open connects to the database at url, applies the migrations (unless
// WithoutMigrate is given) and returns a Store that owns the connection
// pool; Close it when done.
//
// url selects the database:
//
//	postgres://user:pass@host:5432/db?sslmode=disable  PostgreSQL (also postgresql://)
//	host=db user=app password=... dbname=billing       PostgreSQL, libpq keyword/value form
//	sqlite:///var/lib/app/billing.db                   SQLite file, absolute path
//	sqlite://billing.db or sqlite:billing.db           SQLite file, relative path
//	sqlite::memory: or :memory:                        SQLite in memory, gone on Close
//	file:billing.db?mode=rwc                           SQLite URI filename
//	/var/lib/app/billing.db or billing.db              SQLite file (any other string)
//
// A SQLite store uses one connection: the goroutines of a process take turns
// (no SQLITE_BUSY between them, and a :memory: database is shared by all),
// while other processes on the same file wait for its lock for up to 5
// seconds. Errors never contain the URL's password.
func Open(ctx context.Context, url string, opts ...OpenOption) (*Store, error) {
	o := options{migrate: true}
	for _, opt := range opts {
		opt(&o)
	}
	var (
		s   *Store
		err error
	)
	switch {
	case strings.TrimSpace(url) == "":
		return nil, errors.New("sqlstore: empty database URL")
	case hasScheme(url, "postgres") || hasScheme(url, "postgresql") || isKeywordValue(url):
		s, err = openPostgres(ctx, url, o.schema)
	default:
		if o.schema != "" {
			return nil, errors.New("sqlstore: WithSchema applies to PostgreSQL only")
		}
		s, err = openSQLite(ctx, url)
	}
	if err != nil {
		return nil, err
	}
	if o.migrate {
		if err := s.Migrate(ctx); err != nil {
			return nil, errors.Join(err, s.Close())
		}
	}
	return s, nil
}

func hasScheme(s, scheme string) bool {
	return len(s) > len(scheme)+3 && strings.EqualFold(s[:len(scheme)+3], scheme+"://")
}

// libpqKeywords are the connection parameters that open a PostgreSQL
// keyword/value string ("host=db user=app password=... dbname=billing").
var libpqKeywords = []string{
	"host", "hostaddr", "port", "dbname", "user", "password", "passfile",
	"sslmode", "service", "connect_timeout", "application_name",
}

// isKeywordValue reports whether s starts like a libpq keyword/value
// connection string. Such a string is never taken for a SQLite file name,
// which would put its password in a file name on disk.
func isKeywordValue(s string) bool {
	key, _, ok := strings.Cut(strings.TrimSpace(s), "=")
	if !ok {
		return false
	}
	key = strings.ToLower(strings.TrimSpace(key))
	for _, k := range libpqKeywords {
		if key == k {
			return true
		}
	}
	return false
}

func openPostgres(ctx context.Context, dsn, schema string) (*Store, error) {
	where := describePostgres(dsn)
	secrets := dsnSecrets(dsn)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: invalid PostgreSQL URL %s: %w", where, redactError(err, secrets))
	}
	if cfg.Password != "" {
		secrets = append(secrets, cfg.Password)
	}
	if !isURL(dsn) {
		where = fmt.Sprintf("host=%s port=%d dbname=%s", cfg.Host, cfg.Port, cfg.Database)
	}
	if schema != "" {
		cfg.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
	}
	db := stdlib.OpenDB(*cfg)
	if err := db.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlstore: connect to %s: %w", where, redactError(err, secrets)), db.Close())
	}
	s, err := New(db, Postgres, OwnDB())
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return s, nil
}

func isURL(dsn string) bool { return hasScheme(dsn, "postgres") || hasScheme(dsn, "postgresql") }

// describePostgres names the server and database of dsn for error messages,
// leaving out the user info and the query, either of which may hold a password.
func describePostgres(dsn string) string {
	if !isURL(dsn) {
		return "(keyword/value connection string)"
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable URL)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// dsnSecrets returns the passwords in dsn, to scrub them from driver errors.
func dsnSecrets(dsn string) []string {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil
	}
	var secrets []string
	if p, ok := u.User.Password(); ok && p != "" {
		secrets = append(secrets, p)
	}
	for _, p := range u.Query()["password"] {
		if p != "" {
			secrets = append(secrets, p)
		}
	}
	return secrets
}

// redactedError hides secrets in an error's text and keeps the error for
// errors.Is and errors.As.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func redactError(err error, secrets []string) error {
	msg := err.Error()
	changed := false
	for _, s := range secrets {
		for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s)} {
			if strings.Contains(msg, form) {
				msg = strings.ReplaceAll(msg, form, "xxxxx")
				changed = true
			}
		}
	}
	if !changed {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

func openSQLite(ctx context.Context, target string) (*Store, error) {
	dsn, err := sqliteDSN(target)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open SQLite %q: %w", target, err)
	}
	// One connection: see Open.
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlstore: open SQLite %q: %w", target, err), db.Close())
	}
	s, err := New(db, SQLite, OwnDB())
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return s, nil
}

// sqliteDSN turns one of Open's SQLite forms into a modernc.org/sqlite DSN
// with sqliteParams.
func sqliteDSN(target string) (string, error) {
	path := target
	switch {
	case len(target) >= len("sqlite:") && strings.EqualFold(target[:len("sqlite:")], "sqlite:"):
		// sqlite:///abs, sqlite://rel, sqlite:rel and sqlite::memory:.
		path = strings.TrimPrefix(target[len("sqlite:"):], "//")
	case strings.HasPrefix(target, "file:"):
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		return target + sep + sqliteParams, nil
	case strings.Contains(target, "://"):
		scheme, _, _ := strings.Cut(target, "://")
		return "", fmt.Errorf("sqlstore: unsupported database URL scheme %q: want postgres://, sqlite: or a file path", scheme)
	}
	if path == "" {
		return "", fmt.Errorf("sqlstore: no SQLite file path in %q", target)
	}
	query := sqliteParams
	// The driver splits a plain path from its parameters at the first '?'.
	if p, q, ok := strings.Cut(path, "?"); ok {
		if p == "" {
			return "", fmt.Errorf("sqlstore: no SQLite file path in %q", target)
		}
		path, query = p, q+"&"+sqliteParams
	}
	return path + "?" + query, nil
}
