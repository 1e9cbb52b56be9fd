// Package sqlitestore opens a [sqlstore.Store] on SQLite through
// modernc.org/sqlite (pure Go, no cgo). It does not link pgx: an app that
// stores its billing data in SQLite imports this package and builds no
// PostgreSQL driver.
//
//	store, err := sqlitestore.Open(ctx, "sqlite:///var/lib/app/billing.db")
//	if err != nil {
//		return err
//	}
//	defer store.Close()
//
// [Open] creates the file if it is missing and applies the embedded
// migrations (unless [WithoutMigrate] is given). Every connection waits up to
// 5 seconds for another process's lock (busy_timeout) instead of failing
// with SQLITE_BUSY, enforces foreign keys and uses WAL, and every read-write
// transaction begins with BEGIN IMMEDIATE, so it holds the write lock from
// its first statement and never fails half way for want of it. The store
// uses a single connection: the goroutines of one process take turns, and
// a :memory: database is shared by all of them.
//
// SQLite serialises writes and suits one app process; several replicas
// sharing a database want PostgreSQL
// ([github.com/amsbilling/sdk/billing/sqlstore/pgstore]).
package sqlitestore
