// Package providers builds the billing.Service that a Config selects
// (AMS_BILLING_SERVICE_CLASS): Xero, the generic mock, or the real Xero code
// path against the in-process emulator. It is the one place that knows every
// provider, so package billing itself imports none of them.
package providers
