// Command quickstart shows the whole SDK working with no Xero account and no
// setup: it starts the built-in Xero emulator, keeps its records in an
// embedded SQLite file, and walks through a membership invoice's life:
// contact sync, invoice, email, online link, payment, the signed webhook, the
// fetch of the update, and the app's hook hearing that the invoice is paid.
//
//	go run ./examples/quickstart
//
// Each step prints one line. It exits 0 only if every step really happened.
// BILLING_DATABASE_URL picks another store (e.g. a PostgreSQL URL); by
// default a fresh SQLite file in a temporary directory is used and removed.
package main
