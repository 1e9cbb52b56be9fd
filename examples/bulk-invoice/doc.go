// Command bulk-invoice is the annual renewal run: it syncs many members'
// Xero contacts and invoices each of them for one billing period, 50
// records a call through the service's billing.BulkService, and with
// -email emails every invoice. It is configured from the environment like
// the other commands (AMS_BILLING_SERVICE_CLASS, XERO_*, and
// BILLING_DATABASE_URL, by default the SQLite file billing.db).
//
//	go run ./examples/bulk-invoice -members 100
//	go run ./examples/bulk-invoice -csv members.csv -reference "Membership 2027" -email
//
// The members are either -members N demo members (ids derived from their
// number, so a rerun is the same members; names "Member N", emails
// memberN@example.com, each billed -amount) or the rows of a CSV file:
//
//	id,name,email,amount
//	0b7e8a52-54a4-4f57-9c1e-1d1f3c2b4a59,Ada Lovelace,ada@example.com,120.00
//
// The header row is optional; every row is checked first (the id a UUID,
// once in the file; a name; the email an address or empty; the amount a
// positive decimal), and a bad row is reported with its line number before
// any call is made.
//
// The member and -reference name the logical invoice: the run records each
// creation before calling Xero, so a rerun after a completed run bills
// nobody and sends nothing (unchanged contacts cost no call, invoices made
// before are "existing"), and a rerun after a crash or a lost answer finds
// what Xero made and finishes the rest, billing each member once. A rerun
// on a later day passes the first run's -date (the run prints it), or the
// invoices are refused as conflicts: still nobody is billed twice. -email
// emails every invoice made or found and records each email Xero accepts,
// so a rerun with -email emails nobody again ("already emailed");
// -force-email sends them all again.
//
// When Xero becomes unreachable (3 calls in a row failing with network
// errors, timeouts or 5xx answers, each after the client's retries) the
// run stops instead of failing the rest record by record: the summary
// counts the records not attempted and says a rerun resumes with them.
//
// The Xero client waits inside its rate limiter instead of failing fast
// (ratelimit.Options{Wait: true}), so a long run uses the whole budget and
// draws no 429. Should one come anyway, or the limiter refuse for a short
// while, the run sits the wait out and goes on; a long wait (the day's
// calls spent) stops it. A service that is not a billing.BulkService (the
// generic mock) is driven one record a call.
//
// It prints a progress line for each call to stderr (operation, records
// done, calls, the budget Xero says is left, ETA) and a summary to stdout:
// the records and outcomes of each operation (created, updated, unchanged,
// existing, pending, failed, not attempted; for emails emailed, already
// emailed, or skipped when XERO_EMAIL_INVOICES or the whitelist says not
// to), the calls by
// operation, the 429s seen and the elapsed time, then every member not
// done with the reason.
//
// Exit status: 0 when every member is done (synced, invoiced, and emailed
// with -email), 1 when some is not or the run stopped (run it again), 2 on
// bad flags, configuration or CSV, before any call.
package main
