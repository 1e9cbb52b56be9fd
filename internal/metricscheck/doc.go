// Package metricscheck holds no code: its test runs a scripted billing
// day on the emulator (contacts and invoices created, a lost answer, a
// payment, a webhook delivery and a forged one, a fetch run, a 429 and the
// local refusal after it) with one OpenTelemetry MeterProvider shared by
// the Xero client, the webhook handler, the fetch job and ObserveStore,
// and checks every metric the SDK records against what happened: the
// client's requests against the emulator's own log, and no attribute
// holding a secret or an id (but the tenant's, on the one gauge of its
// remaining calls).
package metricscheck
