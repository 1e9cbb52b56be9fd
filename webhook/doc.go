// Package webhook receives Xero webhooks and serves the invoice view.
//
// Handler verifies each delivery's x-xero-signature (base64 HMAC-SHA256 of
// the raw body under the webhook key; several keys while rotating), keeps the
// INVOICE UPDATE events of the configured tenant, marks those invoices
// update-needed in a billing.Store, answers 200 with an empty body once the
// marks are stored, and then triggers a fetch of the marked invoices
// (typically billing.FetchInvoiceUpdates) on its own goroutine. A bad or
// missing signature gets 401 with an empty body, which is also how Xero's
// "intent to receive" check expects an endpoint to answer. A failed store
// write gets 500, so Xero delivers the events again.
//
// Sign, Verify and NewSignedRequest sign and check payloads as Xero does, for
// testing an integration end to end.
//
// InvoiceRedirect sends a signed-in customer to the provider's online view of
// one of their invoices.
package webhook
