// Package sqlstore is the billing.Store on database/sql, for PostgreSQL
// (through pgx) and SQLite (modernc.org/sqlite, pure Go, no cgo). Its schema
// is versioned and embedded; Open applies it.
//
// Open a PostgreSQL store, optionally in its own schema:
//
//	store, err := sqlstore.Open(ctx, "postgres://billing:secret@db:5432/app?sslmode=require",
//		sqlstore.WithSchema("billing"))
//	if err != nil {
//		return err
//	}
//	defer store.Close()
//
// or a SQLite file, the embedded default:
//
//	store, err := sqlstore.Open(ctx, "sqlite:///var/lib/app/billing.db")
//
// Money is stored exactly (NUMERIC on PostgreSQL, the decimal's text on
// SQLite), calendar dates as DATE or 'YYYY-MM-DD', and times to the
// microsecond (TIMESTAMPTZ, or INTEGER unix microseconds on SQLite), returned
// in UTC.
//
// Claims are safe across processes: on PostgreSQL ClaimUpdates selects with
// FOR UPDATE SKIP LOCKED and commits before returning, so no row stays locked
// while the provider is called; on SQLite each write holds the database's
// write lock. CompleteUpdate clears a flag only while the invoice's
// update_requested_at still equals the claim's token, so a webhook mark that
// arrives during a fetch is never lost.
//
// Migrations run on Open unless WithoutMigrate is given; Store.Migrate runs
// them on demand. They are recorded in the table billing_schema_version, so
// they never mix with an app's own goose history. A database migrated by a
// newer release fails with ErrSchemaTooNew.
package sqlstore
