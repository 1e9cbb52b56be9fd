// Package doctor checks an app's billing setup end to end and says, for
// each problem, which variable to fix and how: the configuration, the
// Custom Connection's credentials and tenant, XERO_ACCOUNT_CODE,
// XERO_PAYMENT_ACCOUNT_CODE (when set) and XERO_CURRENCY_CODE against the
// organisation's settings, the Demo Company
// with emails on, the webhook key and email whitelist, the store and the
// work waiting in it, and the day's rate budget. It is what
// examples/doctor prints, and what an app can run at start (Cheap) or
// behind a status page (Run).
//
// Each check is one Check with a Status (✓ Pass, ! Warn, ✗ Fail, - Skip):
//
//	✓ credentials: the token endpoint accepted XERO_CLIENT_ID "91E5..." and its secret
//	✗ tenant: XERO_TENANT_ID 1a2b... is not among the connection's organisations: "Acme Ltd" (6f9a...) — fix XERO_TENANT_ID: set it to ...
//
// Run makes at most 7 Xero calls and Cheap at most 2 (see each); Xero's
// settings reads (GET /Accounts, /Currencies, /Organisation) need the
// accounting.settings.read scope, whose absence is a warning: billing does
// not need it. Nothing is changed, in Xero or in the store. No check's
// text holds a secret: the client secret and the webhook keys are
// described, never quoted, and Xero's and the store's errors are redacted
// by the client and the store.
package doctor
