// Command create-invoice does what an app's own code does when it bills a
// member: it syncs the member's Xero contact and creates an invoice through
// the SDK, saving both in the app's store, then prints the invoice's online
// link. With examples/xero-emulator and examples/server it completes the
// local webhook loop: pay the invoice on the emulator's page, and the server
// receives the signed webhook and fetches the invoice, now paid.
//
//	go run ./examples/create-invoice -amount 120.00 -reference "Membership 2027"
//
// The member and -reference (default "Demo membership") name the logical
// invoice: killed at any moment and run again with the same arguments it
// bills exactly once, also after Xero has forgotten the idempotency key.
// With XERO_AMOUNT_TYPE=EXCLUSIVE Xero adds tax to -amount.
//
// It is configured from the environment like examples/server (the same
// BILLING_DATABASE_URL, by default the SQLite file billing.db), so the
// server's store knows the invoice. Against real Xero it creates a real
// AUTHORISED invoice (it emails nothing).
//
// Exit status: 0 when the invoice was created (a warning when its online
// link cannot be read), 1 on an error (also when Xero's answer was lost:
// run it again), 2 on a bad configuration or bad flags.
package main
