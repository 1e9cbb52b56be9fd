// Command doctor checks an app's billing setup and says, for each problem,
// which variable to fix and how. It reads the environment the other
// commands read (AMS_BILLING_SERVICE_CLASS, the XERO_* variables,
// AMS_BILLING_EMAIL_WHITELIST_REGEX and BILLING_DATABASE_URL, which
// defaults to the SQLite file billing.db):
//
//	go run ./examples/doctor           # every check: at most 7 Xero calls
//	go run ./examples/doctor -cheap    # what an app checks at start: at most 2
//
// It prints one line per check, ✓ when it passes, ! for a warning, ✗ when
// it fails (with the variable to fix and how) and - when it could not run:
// the configuration; the token endpoint taking XERO_CLIENT_ID and
// XERO_CLIENT_SECRET (XERO_SCOPES explained on invalid_scope);
// XERO_TENANT_ID among the connection's organisations; XERO_ACCOUNT_CODE
// an active revenue account; XERO_PAYMENT_ACCOUNT_CODE, when set, an
// account payments may go to (or, unset, a line saying payments then need
// -account); XERO_CURRENCY_CODE the base currency or an
// added one; the Demo Company with XERO_EMAIL_INVOICES on; the webhook key
// and the email whitelist; the database, and the work waiting in it
// (marked invoices and the oldest mark's age, invoices set aside, pending
// creations, undelivered events); and the calls Xero leaves for today. No
// line holds a secret. With a mock provider selected it says so and
// checks only the store.
//
// Nothing is changed in Xero or in the invoices, but the database is
// opened as the other commands open it, which applies any migration it
// lacks. Xero's settings reads (accounting.settings.read) are a warning
// when the connection lacks that scope: billing does not need it.
//
// Exit status: 0 when every check passes (warnings allowed; and for -h), 1
// when a check fails, 2 when the configuration cannot be read (the lines
// name every bad variable; a BILLING_DATABASE_URL of an unsupported kind
// is reported on the database line and exits 2 too) or on bad flags.
package main
