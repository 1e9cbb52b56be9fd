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

// Store is a billing.Store on database/sql. Create it with pgstore.Open,
// sqlitestore.Open or sqlurl.Open, or with New for a *sql.DB you open
// yourself. It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect Dialect
	ownsDB  bool // Close closes db (OwnDB)
	q       *queries
	marks   *markGroup // PostgreSQL's group commit of MarkUpdateNeeded
}

var _ billing.Store = (*Store)(nil)

// Option configures New.
type Option func(*Store)

// OwnDB hands db to the Store: Store.Close closes it. pgstore.Open and
// sqlitestore.Open use it for the *sql.DB they open.
func OwnDB() Option { return func(s *Store) { s.ownsDB = true } }

// New returns a Store on db. Unless OwnDB is given the caller keeps owning
// db: Close leaves it open. New neither connects nor migrates; call Migrate
// before first use unless the schema is managed elsewhere.
//
// For PostgreSQL, db must use the pgx driver (github.com/jackc/pgx/v5/stdlib).
// For SQLite, db must use modernc.org/sqlite, and the DSN should set what
// sqlitestore.Open sets: _txlock=immediate (write transactions take the
// write lock when they begin, so they never fail half way with
// SQLITE_BUSY), _pragma=busy_timeout(5000), _pragma=foreign_keys(1) and
// _pragma=journal_mode(WAL); and db.SetMaxOpenConns(1) keeps the goroutines
// of one process from contending for SQLite's lock (required for :memory:).
func New(db *sql.DB, dialect Dialect, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: nil *sql.DB")
	}
	if !dialect.valid() {
		return nil, fmt.Errorf("sqlstore: unknown dialect %q: want %q or %q", string(dialect), Postgres, SQLite)
	}
	s := &Store{db: db, dialect: dialect, q: queriesFor(dialect), marks: &markGroup{}}
	for _, opt := range opts {
		opt(s)
	}
	return s, nil
}

// DB returns the underlying database handle, for health checks, pool
// settings, or queries of your own. A SQLite store from sqlitestore.Open
// has a single connection: close rows and end transactions taken from DB
// before calling the Store, which would otherwise wait for that connection
// forever.
func (s *Store) DB() *sql.DB { return s.db }

// Dialect reports which SQL dialect the store speaks.
func (s *Store) Dialect() Dialect { return s.dialect }

// Close closes the database handle if the Store owns it (OwnDB, and every
// Store an Open function returns). A Store from New without OwnDB leaves its
// *sql.DB to the caller.
func (s *Store) Close() error {
	if !s.ownsDB {
		return nil
	}
	return s.db.Close()
}
