// Command server is a small app that mounts the SDK's HTTP handlers on its
// own http.ServeMux: Xero's webhook at /billing/xero/webhooks/ and the
// invoice redirect at /billing/invoices/{number}. It is configured only from
// the environment: real Xero, or the emulator through XERO_API_URL and
// XERO_TOKEN_URL (see examples/xero-emulator). The store is
// BILLING_DATABASE_URL, by default the SQLite file billing.db.
//
//	ADDR=127.0.0.1:8000 go run ./examples/server
//
// The webhook endpoint is mounted for real Xero (and the emulator) only:
// the mock providers have no webhook keys and nothing calls them.
//
// At start it runs the cheap checks of xero/doctor (the credentials and the
// tenant in at most 2 Xero calls, the webhook key, the whitelist and the
// store) and logs each failure and warning with the variable to fix; it
// serves either way. examples/doctor prints the full report.
//
// GET /metrics serves the SDK's OpenTelemetry metrics in Prometheus's text
// format (the Xero client's calls and rate limits, the webhook's
// deliveries, the fetch job's runs, and gauges of the work waiting in the
// store, read at each scrape): the server builds an OpenTelemetry SDK
// MeterProvider with the Prometheus exporter on a registry of its own, and
// hands it to every component; the SDK's packages themselves link only
// OpenTelemetry's API. Names follow the exporter's rules:
// http.client.request.duration becomes http_client_request_duration_seconds,
// webhook.deliveries webhook_deliveries_total. The endpoint shows no secret,
// but call counts are the operator's business: expose it to the scraper
// only.
//
// It stops gracefully on SIGINT or SIGTERM: in-flight requests finish, then
// the webhook handler's in-flight fetch; a second signal stops it at once.
// Exit status: 0 after a graceful stop, 1 on an error, 2 on a bad
// configuration.
package main
