package pgstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/amsbilling/sdk/billing/sqlstore"
	"github.com/amsbilling/sdk/billing/sqlstore/internal/dsn"
)

// Option configures Open.
type Option func(*config)

type config struct {
	migrate bool
	schema  string
	pool    Pool
}

// WithoutMigrate makes Open skip applying migrations. Use it when the schema
// is migrated by a separate step (call Store.Migrate there).
func WithoutMigrate() Option { return func(c *config) { c.migrate = false } }

// WithSchema makes the store keep its tables in the named schema, which must
// exist: every connection gets search_path set to it.
func WithSchema(name string) Option { return func(c *config) { c.schema = name } }

// WithPool sizes the connection pool; see Pool for each setting and its
// default. A zero field keeps its default.
func WithPool(p Pool) Option { return func(c *config) { c.pool = p } }

// The pool defaults. Webhooks arrive in bursts (Xero delivers events for many
// invoices at once, several replicas may each take some), so the pool keeps
// every connection it opened idle for reuse (MaxIdleConns defaults to
// MaxOpenConns): a burst that finds idle connections never waits for a new
// one to be dialled. database/sql alone keeps 2 idle connections, so under 32
// concurrent webhook deliveries about one in four dialled anew. The two time
// limits are pgxpool's defaults.
const (
	DefaultMaxOpenConns    = 32
	DefaultConnMaxLifetime = time.Hour
	DefaultConnMaxIdleTime = 30 * time.Minute
)

// Pool sizes the *sql.DB connection pool Open creates. A zero field takes the
// default; a negative one means no limit (or, for MaxIdleConns, keep no idle
// connection).
type Pool struct {
	// MaxOpenConns caps the connections open at once, in use or idle
	// (default DefaultMaxOpenConns). A caller past the cap waits for a
	// connection to come back. Keep MaxOpenConns times the number of
	// replicas below the server's max_connections.
	MaxOpenConns int
	// MaxIdleConns caps the connections kept open while idle, ready for the
	// next burst (default: MaxOpenConns, or DefaultMaxOpenConns when
	// MaxOpenConns has no limit).
	MaxIdleConns int
	// ConnMaxLifetime closes a connection this long after it was opened, so
	// connections move to a restarted or failed-over server and server-side
	// memory is returned (default DefaultConnMaxLifetime).
	ConnMaxLifetime time.Duration
	// ConnMaxIdleTime closes a connection idle this long, so a quiet app
	// gives its connections back to the server (default
	// DefaultConnMaxIdleTime).
	ConnMaxIdleTime time.Duration
}

// resolved returns p with its defaults filled in, in database/sql's terms:
// 0 is no limit for MaxOpenConns and the durations, and no idle connection
// for MaxIdleConns.
func (p Pool) resolved() Pool {
	r := p
	switch {
	case r.MaxOpenConns == 0:
		r.MaxOpenConns = DefaultMaxOpenConns
	case r.MaxOpenConns < 0:
		r.MaxOpenConns = 0
	}
	switch {
	case r.MaxIdleConns == 0 && r.MaxOpenConns > 0:
		r.MaxIdleConns = r.MaxOpenConns
	case r.MaxIdleConns == 0:
		r.MaxIdleConns = DefaultMaxOpenConns
	case r.MaxIdleConns < 0:
		r.MaxIdleConns = 0
	}
	r.ConnMaxLifetime = orDefault(r.ConnMaxLifetime, DefaultConnMaxLifetime)
	r.ConnMaxIdleTime = orDefault(r.ConnMaxIdleTime, DefaultConnMaxIdleTime)
	return r
}

func orDefault(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

// Open connects to the PostgreSQL database connString names, applies the migrations
// (unless WithoutMigrate is given) and returns a Store that owns the
// connection pool; Close it when done.
//
// connString is a URL or a libpq keyword/value string:
//
//	postgres://user:pass@host:5432/db?sslmode=disable  (also postgresql://)
//	host=db user=app password=... dbname=billing
//
// Errors never contain the password.
func Open(ctx context.Context, connString string, opts ...Option) (*sqlstore.Store, error) {
	c := config{migrate: true}
	for _, opt := range opts {
		opt(&c)
	}
	if strings.TrimSpace(connString) == "" {
		return nil, errors.New("pgstore: empty database URL")
	}
	if isURL(connString) {
		// pgx knows the schemes in lower case only, and would take
		// POSTGRES://... for a keyword/value string.
		scheme, rest, _ := strings.Cut(connString, "://")
		connString = strings.ToLower(scheme) + "://" + rest
	}
	where := describe(connString)
	secrets := dsnSecrets(connString)
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("pgstore: invalid PostgreSQL URL %s: %w", where, redactError(err, secrets))
	}
	if cfg.Password != "" {
		secrets = append(secrets, cfg.Password)
	}
	if !isURL(connString) {
		where = fmt.Sprintf("host=%s port=%d dbname=%s", cfg.Host, cfg.Port, cfg.Database)
	}
	if c.schema != "" {
		cfg.RuntimeParams["search_path"] = pgx.Identifier{c.schema}.Sanitize()
	}
	db := stdlib.OpenDB(*cfg)
	p := c.pool.resolved()
	db.SetMaxOpenConns(p.MaxOpenConns)
	db.SetMaxIdleConns(p.MaxIdleConns)
	db.SetConnMaxLifetime(p.ConnMaxLifetime)
	db.SetConnMaxIdleTime(p.ConnMaxIdleTime)
	if err := db.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("pgstore: connect to %s: %w", where, redactError(err, secrets)), db.Close())
	}
	s, err := sqlstore.New(db, sqlstore.Postgres, sqlstore.OwnDB())
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

func isURL(s string) bool { return dsn.IsPostgresURL(s) }

// describe names the server and database of s for error messages, leaving
// out the user info and the query, either of which may hold a password.
func describe(s string) string {
	if !isURL(s) {
		return "(keyword/value connection string)"
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// dsnSecrets returns the passwords in the URL s, to scrub them from driver
// errors.
func dsnSecrets(s string) []string {
	u, err := url.Parse(s)
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
