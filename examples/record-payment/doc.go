// Command record-payment records payments the app took (a card charge, a
// direct debit...) against invoices in Xero, each exactly once, and can
// reverse one. It is configured from the environment like the other
// commands (AMS_BILLING_SERVICE_CLASS, XERO_*, and BILLING_DATABASE_URL, by
// default the SQLite file billing.db): the invoice must be in that store.
//
//	go run ./examples/record-payment -invoice INV-0001 -amount 50.00 -reference "stripe ch_3Nx"
//	go run ./examples/record-payment -invoice INV-0001 -amount 50.00 -date 2026-12-05 -account 090 -reference "dd 42"
//	go run ./examples/record-payment -csv payments.csv
//	go run ./examples/record-payment -reverse -invoice INV-0001 -reference "stripe ch_3Nx"
//
// -invoice takes the invoice's number or Xero's InvoiceID. -amount is read
// as a decimal (at most two decimals, positive). -date defaults to today
// (UTC). The money goes to -account, or XERO_PAYMENT_ACCOUNT_CODE: a bank
// account, or one with payments enabled.
//
// The invoice and -reference name the logical payment: the payment is
// recorded in the store before Xero is called, so running the command
// again, after a crash, a lost answer, or a completed run, records nothing
// twice ("Already recorded"); Xero is searched before anything is sent
// again. A reversed payment stays the logical payment of its reference:
// paying again needs a new reference.
//
// -csv records a file of payments in one run, 50 a call (1,000 payments
// are 20 calls):
//
//	invoice,amount,date,reference
//	INV-0001,115.00,2026-12-05,dd 1
//	INV-0002,50.00,,dd 2
//
// The header is required; an empty date is today. Every row is checked
// first, and a bad one is reported with its row number before any call.
// A line per row says what became of it (created, existing, failed with
// Xero's or the store's reason, pending, not attempted), then the counts.
// Rerunning the same file records only what is not recorded yet.
//
// -reverse deletes, in Xero, the payment of -invoice with -reference,
// exactly once; the invoice is owed again.
//
// After each payment or reversal it prints the invoice as Xero computed
// it: status, amount due, paid and credited.
//
// Exit status: 0 when every payment asked for is recorded (now or before)
// or reversed; 1 when one failed (an unknown or voided invoice, more than
// is due, an account that takes no payments...) or is pending (Xero's
// answer was lost: run the same command again); 2 on bad flags, a bad CSV
// file, a bad configuration (no XERO_PAYMENT_ACCOUNT_CODE and no -account
// included), before any call.
package main
