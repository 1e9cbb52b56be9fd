// Package webhook receives Xero webhooks and serves the invoice view.
//
// Handler verifies each delivery's x-xero-signature (base64 HMAC-SHA256 of
// the raw body under the webhook key; several keys while rotating), keeps the
// INVOICE UPDATE events and the CREDITNOTE events of sales credit notes
// (data Type ACCRECCREDIT, or no readable data; ACCPAYCREDIT is a
// supplier's and ignored) of the configured tenant, marks those invoices
// update-needed and those credit notes for a refresh, known to the store
// or not (a billing.WebhookStore: any billing.Store), answers 200 with an
// empty body once the marks are stored, and then triggers a fetch
// (typically billing.FetchAllInvoiceUpdates, which refreshes the credit
// notes and then the invoices they touch) on its own goroutine, bounded by
// Config.FetchTimeout. Each delivery is logged at Info with its counts. A bad or
// missing signature gets 401 with an empty body, which is also how Xero's
// "intent to receive" check expects an endpoint to answer. A failed store
// write gets 500, so Xero delivers the events again.
//
// Sign, Verify and NewSignedRequest sign and check payloads as Xero does, for
// testing an integration end to end.
//
// InvoiceRedirect sends a signed-in customer to the provider's online view of
// one of their invoices.
//
// # Metrics
//
// Handler records OpenTelemetry metrics through Config.MeterProvider, or
// otel.GetMeterProvider() without one (a no-op until the app sets a global
// provider), under the scope "github.com/amsbilling/sdk/webhook". The
// instruments and their attribute sets are made once, in New, so a
// delivery records without allocating. No attribute holds a key, a
// signature, a tenant or an invoice id.
//
//   - webhook.deliveries (counter, {delivery}): deliveries received, with
//     outcome ok (200: the marks stored, or nothing to mark), bad_signature
//     (401: missing or wrong signature, as in Xero's intent-to-receive
//     check), too_large (413), malformed (400: signed, but not a payload),
//     read_failed (400: the body could not be read), store_failed (500: the
//     marks were not stored, so Xero delivers again) or method_not_allowed
//     (405).
//   - webhook.delivery.duration (histogram, s): from receiving a delivery
//     to its answer (the fetch it triggers is not included), by outcome.
//   - billing.invoices.marked (counter, {invoice}): invoices marked
//     update-needed; ids the store does not know are not counted.
//   - billing.credit_notes.marked (counter, {credit_note}): credit notes
//     marked for a refresh, each one of a delivery counted, stored or not.
package webhook
