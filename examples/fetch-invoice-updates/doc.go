// Command fetch-invoice-updates is AMS's fetch_invoice_updates
// management command, for cron. It first resolves the invoice creations a
// crash or a lost answer left pending, and the money operations (payments,
// credit notes, voids) likewise, then fetches the invoices that
// webhooks marked as changed and saves their new state (payment status,
// amounts, dates), then delivers the app's pending invoice events. Credit
// notes that CREDITNOTE webhooks marked are refreshed first, and the
// invoices they touch with them. With -sweep it also repairs webhooks Xero
// never delivered: the invoices, credit notes and payments modified in Xero
// since the last sweep (a payment made in Xero by hand included), with a
// line for each kind. It prints AMS's lines: "Fetching updates to invoices
// for Xero billing..." first, "Updated N invoice(s):" with each as
// "  - INV-0001", and "Done" last; a run that refreshed credit notes adds
// "Refreshed N credit note(s) from Xero (...)" before the invoices.
//
// It is configured from the environment (see the README's configuration
// table) plus BILLING_DATABASE_URL, which defaults to the SQLite file
// billing.db in the working directory.
//
//	fetch-invoice-updates            # up to 30 invoices
//	fetch-invoice-updates -limit 10  # up to 10
//	fetch-invoice-updates -all       # until nothing is marked, 50 a request
//	fetch-invoice-updates -sweep     # also what was modified in Xero since the last sweep
//
// Exit status: 0 on success (and, with -all, on a clean stop at a rate
// limit; and for -h; with -sweep only when the store is in step with Xero
// afterwards), 1 on an error, 2 on a bad configuration (an unsupported
// BILLING_DATABASE_URL included) or bad flags or arguments.
package main
