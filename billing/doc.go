// Package billing is the provider-neutral core of the SDK: the domain types
// (accounts, contacts, invoices), the Service interface every billing
// provider implements, the Store interface every persistence backend
// implements, the hook that tells an app an invoice changed, and the job that
// fetches invoice and credit-note updates marked by webhooks.
//
// billing imports none of its sibling packages: the Xero implementation and
// its configuration live in package xero, provider selection from the
// environment in xero/setup, stores in billing/sqlstore and mock, and the
// webhook receiver in package webhook.
//
// Consumers take the narrow interface they use: the webhook handler a
// WebhookStore (UpdateMarker and CreditNoteMarker), the invoice redirect an
// InvoiceFinder and an InvoiceLinker, the fetch job an UpdateQueue and an
// InvoiceUpdater (and, to refresh the credit notes CREDITNOTE webhooks
// mark, a CreditNoteQueue and a CreditNoteUpdater when the store and the
// service are those too). Store and Service are
// their unions, so any store or service fits, and a test fakes only what the
// code under test calls.
//
// Money is always a decimal.Decimal and calendar dates are Date values, never
// time.Time, so an invoice's due date can never move through a time zone.
//
// Money that moves after an invoice is billed (a payment recorded, reversed
// or refunded, a credit note raised and allocated, an invoice voided) is a
// MoneyOp: recorded in the MoneyStore before the provider is called,
// completed from the provider's answer together with the payments, credit
// notes and invoice states it produced, and resolved, never repeated
// blindly, when the answer is lost, as an invoice Creation is. The invoice's
// amounts paid, due and credited are always the provider's, never computed
// locally.
//
// Sweep repairs what webhooks missed: the invoices, credit notes and
// payments the provider modified since the last sweep (each kind with its
// own mark), and now and then every open invoice by id. A payment or
// credit note made in the provider by hand reaches the store, and the
// invoices it touches are refreshed, so their amounts and status are the
// provider's.
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
//   - Metrics are OpenTelemetry's, and a component takes the app's
//     metric.MeterProvider where it takes its other settings: an option
//     of a client (xero.WithMeterProvider), a field of a config struct
//     (webhook.Config, FetchOptions, SweepOptions, DeliverOptions,
//     ObserveOptions: MeterProvider). Without one it uses
//     otel.GetMeterProvider(), a no-op until the app sets a global
//     provider; the SDK never sets one, and its packages depend on
//     OpenTelemetry's API only, never its SDK or an exporter. No
//     attribute holds a secret, a token or a record's id.
//
// # Metrics
//
// Under the scope "github.com/amsbilling/sdk/billing" (instruments of a
// job are made at each run, from the options' provider; providers return
// the same instrument for the same name, and a run's store and provider
// calls cost far more):
//
//   - billing.fetch.runs (counter, {run}): FetchInvoiceUpdates runs (each
//     batch of FetchAllInvoiceUpdates is one; a simulated service's are
//     not counted), with outcome ok; invoice_failed (the run finished, some
//     invoices or credit notes failed and stay marked); stopped (a rate limit, an outage, a
//     cancelled context or a store failure: every claim stays marked);
//     unauthorized (ErrUnauthorized); error (anything else, such as the
//     store refusing the claim).
//   - billing.fetch.invoices (counter, {invoice}): the invoices of those
//     runs, with outcome updated (fetched and unmarked), remarked (fetched,
//     but marked again meanwhile, so still marked) or failed.
//   - billing.fetch.credit_notes (counter, {credit_note}): the credit notes
//     of those runs, with outcome refreshed (saved and unmarked), dropped
//     (unmarked, not kept: gone, not a sales credit note, or of no stored
//     invoice), remarked or failed.
//   - billing.events.delivered, billing.events.failed (counters, {event}):
//     events DeliverEvents handed to the InvoiceHook that it took, or that
//     it refused (an error or a panic: they stay pending).
//   - billing.sweep.runs (counter, {run}): Sweep runs, with outcome ok,
//     out_of_step (finished, not InStep), stopped, unauthorized
//     or error, as for the fetch job.
//   - billing.sweep.invoices (counter, {invoice}): invoices a sweep changed
//     (outcome changed: a webhook was missed; those refreshed for a
//     payment or credit note included), could not bring in step (outcome
//     failed) or could not read (outcome unreadable).
//
// ObserveStore adds gauges read from a Store at each collection, its reads
// bounded together by ObserveOptions.Timeout (2s); a read that fails or
// runs out of time leaves its gauges out of that collection and is logged:
//
//   - billing.marks.pending (gauge, {invoice}): marked invoices waiting for
//     the fetch job (CountMarked; set-aside ones excluded).
//   - billing.marks.oldest_age (gauge, s): how long the oldest of them has
//     waited; 0 when none waits.
//   - billing.events.pending (gauge, {event}): events not yet taken by the
//     InvoiceHook (PendingEvents, at most MaxObservedEvents counted).
//   - billing.creations.pending (gauge, {creation}): invoice creations
//     whose outcome at the provider is not known yet (PendingCreations).
//   - billing.invoices.set_aside (gauge, {invoice}): invoices whose fetch
//     failed too often (SetAsideInvoices).
package billing
