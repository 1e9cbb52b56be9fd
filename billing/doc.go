// Package billing is the provider-neutral core of the SDK: the domain types
// (accounts, contacts, invoices), the Service interface every billing provider
// implements, the Store interface every persistence backend implements,
// configuration loaded from the environment, provider selection, the hook that
// tells an app an invoice changed, and the job that fetches invoice updates
// marked by webhooks.
//
// billing imports none of its sibling packages: the Xero implementation lives
// in package xero, stores in billing/sqlstore and mock, and the webhook
// receiver in package webhook.
//
// Money is always a decimal.Decimal and calendar dates are Date values, never
// time.Time, so an invoice's due date can never move through a time zone.
package billing
