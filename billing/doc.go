// Package billing is the provider-neutral core of the SDK: the domain types
// (accounts, contacts, invoices), the Service interface every billing
// provider implements, the Store interface every persistence backend
// implements, the hook that tells an app an invoice changed, and the job that
// fetches invoice updates marked by webhooks.
//
// billing imports none of its sibling packages: the Xero implementation and
// its configuration live in package xero, provider selection from the
// environment in xero/setup, stores in billing/sqlstore and mock, and the
// webhook receiver in package webhook.
//
// Consumers take the narrow interface they use: the webhook handler an
// UpdateMarker, the invoice redirect an InvoiceFinder and an InvoiceLinker,
// the fetch job an UpdateQueue and an InvoiceUpdater. Store and Service are
// their unions, so any store or service fits, and a test fakes only what the
// code under test calls.
//
// Money is always a decimal.Decimal and calendar dates are Date values, never
// time.Time, so an invoice's due date can never move through a time zone.
//
// # Conventions across the SDK
//
//   - Long-lived clients that grow settings over time (xero.Client,
//     xero.Service) take functional options; handlers and jobs that are
//     configured once take a config struct (webhook.Config, FetchOptions,
//     ratelimit.Options, emulator.Options), whose zero fields mean the
//     documented defaults.
//   - A logger is always optional and discards by default: the SDK never
//     writes to slog.Default behind the app's back.
//   - I/O takes a context.Context first; errors match with errors.Is and
//     errors.As (ErrNotFound, ErrInvalidConfig, *ConfigError...).
package billing
