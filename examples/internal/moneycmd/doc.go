// Package moneycmd is what the money commands (record-payment, credit-note,
// void-invoice) share: their exit statuses, opening the store and the
// service as the other examples do, finding an invoice by number or by
// Xero's id, reading an amount as a decimal, and describing an invoice's
// state after money moved.
package moneycmd
