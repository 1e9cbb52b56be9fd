package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/amsbilling/sdk/billing"
)

// Dialect names the SQL database behind a Store.
type Dialect string

// The supported dialects.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

func (d Dialect) valid() bool { return d == Postgres || d == SQLite }

// Store is a billing.Store on database/sql. Create it with Open, or with New
// for a *sql.DB you manage yourself. It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect Dialect
	schema  string // set by WithSchema; "" means the connection's default
	ownsDB  bool   // Close closes db only when Open created it
	q       *queries
}

var _ billing.Store = (*Store)(nil)

// New returns a Store on db, which the caller keeps owning: Close leaves it
// open. New neither connects nor migrates; call Migrate before first use
// unless the schema is managed elsewhere.
//
// For PostgreSQL, db must use the pgx driver (github.com/jackc/pgx/v5/stdlib).
// For SQLite, db must use modernc.org/sqlite, and the DSN should set what
// Open sets: _txlock=immediate (write transactions take the write lock when
// they begin, so they never fail half way with SQLITE_BUSY),
// _pragma=busy_timeout(5000), _pragma=foreign_keys(1) and
// _pragma=journal_mode(WAL); and db.SetMaxOpenConns(1) keeps the goroutines
// of one process from contending for SQLite's lock (required for :memory:).
func New(db *sql.DB, dialect Dialect) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: nil *sql.DB")
	}
	if !dialect.valid() {
		return nil, fmt.Errorf("sqlstore: unknown dialect %q: want %q or %q", string(dialect), Postgres, SQLite)
	}
	return newStore(db, dialect, "", false), nil
}

func newStore(db *sql.DB, dialect Dialect, schema string, ownsDB bool) *Store {
	return &Store{db: db, dialect: dialect, schema: schema, ownsDB: ownsDB, q: queriesFor(dialect)}
}

// DB returns the underlying database handle, for health checks, pool
// settings, or queries of your own. A SQLite store from Open has a single
// connection: close rows and end transactions taken from DB before calling
// the Store, which would otherwise wait for that connection forever.
func (s *Store) DB() *sql.DB { return s.db }

// Dialect reports which SQL dialect the store speaks.
func (s *Store) Dialect() Dialect { return s.dialect }

// Close closes the database handle if Open created it. A Store from New
// leaves its *sql.DB to the caller.
func (s *Store) Close() error {
	if !s.ownsDB {
		return nil
	}
	return s.db.Close()
}
