// Command fetch-invoice-updates is AMS's fetch_invoice_updates
// management command, for cron: it fetches the invoices that webhooks marked
// as changed and saves their new state (payment status, amounts, dates).
//
// It is configured from the environment (see the README's configuration
// table) plus BILLING_DATABASE_URL, which defaults to the SQLite file
// billing.db in the working directory.
//
//	fetch-invoice-updates            # up to 30 invoices
//	fetch-invoice-updates -limit 10  # up to 10
//	fetch-invoice-updates -all       # until nothing is marked
//
// Exit status: 0 on success (and, with -all, on a clean stop at a rate
// limit; and for -h), 1 on an error, 2 on a bad configuration or bad flags
// or arguments.
package main
