// Command void-invoice voids an AUTHORISED invoice in Xero (a bill sent by
// mistake), exactly once. It is configured from the environment like the
// other commands (AMS_BILLING_SERVICE_CLASS, XERO_*, and
// BILLING_DATABASE_URL, by default the SQLite file billing.db): the
// invoice must be in that store.
//
//	go run ./examples/void-invoice -invoice INV-0001
//	go run ./examples/void-invoice -invoice INV-0001 -reverse-payments
//
// -invoice takes the invoice's number or Xero's InvoiceID. Xero voids no
// invoice with payments: without -reverse-payments such an invoice is
// refused, the error naming each payment Xero holds for it (made by the
// app or by hand in Xero); with it, each payment is reversed first,
// exactly once, and printed, then the invoice is voided. A rerun after a
// crash or a lost answer finishes the work and repeats none of it; an
// invoice already voided is reported as such without a call.
//
// Exit status: 0 when the invoice is voided (now or before); 1 when it is
// not (payments without -reverse-payments, an unknown invoice, Xero's
// refusal) or the outcome is pending (Xero's answer was lost: run the same
// command again); 2 on bad flags or a bad configuration, before any call.
package main
