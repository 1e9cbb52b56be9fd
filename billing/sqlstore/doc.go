// Package sqlstore is the billing.Store on database/sql shared by PostgreSQL
// and SQLite: the SQL of both dialects, the embedded, versioned schema and
// its migrations. It links no database driver. Open a store with the
// package of the database you use, which links that driver only:
//
//   - [github.com/amsbilling/sdk/billing/sqlstore/pgstore]: PostgreSQL,
//     through pgx, with a connection pool sized for webhook bursts;
//   - [github.com/amsbilling/sdk/billing/sqlstore/sqlitestore]: SQLite,
//     through modernc.org/sqlite (pure Go, no cgo);
//   - [github.com/amsbilling/sdk/billing/sqlstore/sqlurl]: either, chosen
//     by a URL such as BILLING_DATABASE_URL at run time (links both).
//
// For example:
//
//	store, err := pgstore.Open(ctx, "postgres://billing:secret@db:5432/app?sslmode=require",
//		pgstore.WithSchema("billing"))
//	if err != nil {
//		return err
//	}
//	defer store.Close()
//
// or a SQLite file:
//
//	store, err := sqlitestore.Open(ctx, "sqlite:///var/lib/app/billing.db")
//
// [New] wraps a *sql.DB you opened yourself, with the pgx or the
// modernc.org/sqlite driver.
//
// Money is stored exactly (NUMERIC on PostgreSQL, the decimal's text on
// SQLite), calendar dates as DATE or 'YYYY-MM-DD', and times to the
// microsecond (TIMESTAMPTZ, or INTEGER unix microseconds on SQLite), returned
// in UTC.
//
// Claims are safe across processes: on PostgreSQL ClaimUpdates selects with
// FOR UPDATE SKIP LOCKED and commits before returning, so no row stays locked
// while the provider is called; on SQLite each write holds the database's
// write lock (every write transaction begins with BEGIN IMMEDIATE).
// CompleteUpdate clears a flag only while the invoice's update_requested_at
// still equals the claim's token, so a webhook mark that arrives during a
// fetch is never lost. ClaimEvents leases the same way, and only the oldest
// undelivered event of each invoice, so an invoice's events reach the app in
// order.
//
// The credit-note marks of CREDITNOTE webhooks (MarkCreditNotes, migration
// 00005) are rows of their own, kept whether or not the store holds the
// credit note: MarkCreditNotes is one upsert, ClaimCreditNotes leases as
// ClaimUpdates does, and CompleteCreditNotes deletes a mark only while its
// requested_at still equals the claim's token.
//
// Every change of an invoice's provider state is recorded as an event
// (before and after, as JSON) in the statement or transaction that saves
// it. On PostgreSQL the fetch job's batch calls are one statement, so one
// round trip, each: ClaimUpdates, SaveInvoiceStates (all the states and
// their events), CompleteUpdates and ClaimEvents; a statement is atomic on
// its own, so none of them needs BEGIN and COMMIT. So are the bulk run's
// batch calls (ContactLinksOf, LinkContacts, RecordContactSyncs,
// InvoicesByProviderIDs, BeginCreations of linked accounts,
// CompleteCreations, RecordInvoiceEmails, InvoiceEmails): a few round
// trips for a run of any size, and one write a Xero call. On SQLite they
// are transactions of several statements. Concurrent MarkUpdateNeeded calls
// on PostgreSQL share one statement and its commit: the calls that arrive
// while a round of marks commits go together in the next round, and each
// returns once its round committed, or with that round's error.
//
// Migrations run when a store is opened unless the driver package's
// WithoutMigrate option is given; [Store.Migrate] runs them on demand. They
// are recorded in the table billing_schema_version, so they never mix with
// an app's own goose history. A database migrated by a newer release fails
// with [ErrSchemaTooNew].
package sqlstore
