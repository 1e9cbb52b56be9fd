// Command credit-note credits part or all of an invoice with a sales
// credit note (ACCRECCREDIT, AUTHORISED) for the invoice's contact, and
// allocates it to the invoice, or with -refund pays it back to the member
// (a payment against the credit note), each step exactly once. It is
// configured from the environment like the other commands
// (AMS_BILLING_SERVICE_CLASS, XERO_*, and BILLING_DATABASE_URL, by default
// the SQLite file billing.db): the invoice must be in that store.
//
//	go run ./examples/credit-note -invoice INV-0001 -amount 20.00 -reason "Early renewal discount"
//	go run ./examples/credit-note -invoice INV-0001 -amount 115.00 -reason "Membership cancelled" -refund
//	go run ./examples/credit-note -invoice INV-0001 -amount 115.00 -reason "Membership cancelled" -refund -account 090
//
// -invoice takes the invoice's number or Xero's InvoiceID; -amount, tax
// included, is read as a decimal (at most two decimals, positive); -reason
// is the credit note's line and reference. The line goes to
// XERO_ACCOUNT_CODE; a refund is paid from -account, or
// XERO_PAYMENT_ACCOUNT_CODE (a bank account, or one with payments enabled).
//
// The invoice, the reason and the amount name the logical credit note: a
// rerun, after a crash, a lost answer or a completed run, makes no second
// credit note and no second allocation or refund, and finishes whichever
// step was left pending. What Xero would refuse in the second step is
// refused before the first, so no credit note is left without its
// allocation or refund: an allocation of more than is due, a refund of
// more than was billed, a refund account Xero takes no payments into
// (checked with GET /Accounts when the connection may read settings).
//
// It prints the credit note (number, id, amount), what was allocated or
// refunded, and the invoice as Xero now computes it: status, amount due,
// paid and credited.
//
// Exit status: 0 when the invoice is credited (now or before); 1 when it
// failed (an unknown or voided invoice, more than is due...) or is pending
// (Xero's answer was lost: run the same command again); 2 on bad flags or
// a bad configuration (-refund with no -account and no
// XERO_PAYMENT_ACCOUNT_CODE included), before any call.
package main
