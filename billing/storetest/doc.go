// Package storetest is the conformance suite for billing.Store.
//
// Every store (the in-memory mock.Store, the PostgreSQL and SQLite stores in
// billing/sqlstore, or one an app writes for its own database) runs it from
// a test in its own package:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) billing.Store {
//			return newEmptyStore(t)
//		})
//	}
//
// The suite checks the contract documented on billing.Store and nothing
// more: contact links, invoice creation and lookups, exact decimal and date
// round trips, the update-needed marks and their strictly increasing tokens,
// claims with leases, completing, failing and releasing claims (one by one
// and in batches), set-aside invoices, the events recorded with every change
// of state and their delivery queue, invoice creations, sweep marks, the
// batch methods of bulk runs (links, syncs, invoices by id, the email log,
// creations of linked accounts), the money store (operations, payments,
// credit notes, and what a refresh of a credit note keeps), the credit-note
// marks of CREDITNOTE webhooks and their queue, and the concurrency
// guarantees (disjoint claims, no lost marks, events in order per invoice).
// It works with explicit times instead of the clock and never sleeps.
package storetest
