// Package setup is the one place that turns an app's environment into a
// billing.Service: it reads AMS_BILLING_SERVICE_CLASS, the XERO_* variables
// and BILLING_DATABASE_URL with AMS's names, and builds the provider they
// select.
//
// Nothing else in the SDK imports it, and it links no test double: an app
// that lets the environment pick the mocks (mock, mock-xero) opts in with
// one line, Options{Mocks: mock.Provide}. A production binary that leaves
// Mocks nil carries neither the mocks nor the Xero emulator.
package setup
