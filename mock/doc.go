// Package mock provides billing back ends that need no network and no
// database, for tests, examples and local development.
//
// Store is an in-memory billing.Store that honours the full Store contract
// (contact links and what was synced, invoices, update marks, claims and
// leases, recorded creations, invoice events, sweep marks, money
// operations, payments, credit notes and their marks) and passes the
// billing/storetest conformance suite. Times come back in UTC at microsecond
// precision, as from the SQL stores.
//
// BillingService is a generic billing.Service (AMS_BILLING_SERVICE_CLASS=mock)
// that calls no provider: it hands out predictable contact ids, invoice ids
// and invoice numbers, saves invoices in a Store, records every call for
// assertions, and can be told to fail the next call of a method. It
// implements billing.Simulated, so the fetch-invoice-updates job skips it.
//
// XeroBillingService (AMS_BILLING_SERVICE_CLASS=mock-xero) is the real Xero
// service from package xero wired to an in-process Xero API emulator (the
// emulator subpackage), with no network: tests exercise the SDK's own request
// building and parsing with predictable data. It is not billing.Simulated,
// so fetches run through it.
//
// Provide builds either from a setup.Provider: an app that lets
// AMS_BILLING_SERVICE_CLASS select the mocks opts in with
// setup.Options{Mocks: mock.Provide}; one that does not links no test
// double.
package mock
