// Command create-invoice does what an app's own code does when it bills a
// member: it syncs the member's Xero contact and creates an invoice through
// the SDK, saving both in the app's store, then prints the invoice's online
// link. With examples/xero-emulator and examples/server it completes the
// local webhook loop: pay the invoice on the emulator's page, and the server
// receives the signed webhook and fetches the invoice, now paid.
//
//	go run ./examples/create-invoice -amount 120.00
//
// It is configured from the environment like examples/server (the same
// BILLING_DATABASE_URL, by default the SQLite file billing.db), so the
// server's store knows the invoice. Against real Xero it creates a real
// AUTHORISED invoice (it emails nothing).
//
// Exit status: 0 when the invoice was created, 1 on an error, 2 on a bad
// configuration or bad flags.
package main
