// Command xero-emulator runs the SDK's Xero API emulator on a local port and
// prints the environment variables that point an app at it, so an app (or
// examples/server) can be developed and demonstrated with no Xero account.
//
//	go run ./examples/xero-emulator -addr 127.0.0.1:4010 -webhook-url http://127.0.0.1:8000/billing/xero/webhooks/
//
// Then, in another shell, export the printed variables and start the app.
// It stops on SIGINT or SIGTERM. Exit status: 0 after a signal (and for
// -h), 1 when it cannot listen, 2 on bad flags.
package main
