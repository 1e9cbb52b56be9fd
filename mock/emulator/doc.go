// Package emulator is an in-memory Xero for tests, examples and local
// development, in the spirit of stripe-mock: the identity service's token
// endpoint and connections list, and the parts of the Accounting API a
// billing app uses, with Xero's answers, errors, rate limits and webhooks.
// It is written from Xero's OpenAPI descriptions and shares no code with
// the SDK's xero package, so testing that package against it tests
// something.
//
// Run it on a local port with NewServer (Server.Env gives the XERO_*
// settings an app needs), or call it in-process, without sockets, through
// Emulator.Client. Options' zero value gives the demo credentials
// (DefaultClientID, DefaultClientSecret, DefaultTenantID) and Xero's limits.
//
// # Endpoints
//
//	POST /connect/token                       client_credentials, HTTP Basic or form credentials
//	GET  /connections                         the one organisation
//	PUT|POST|GET /api.xro/2.0/Contacts        create | update or create | list
//	GET|POST /api.xro/2.0/Contacts/{id}       read (by ContactID or ContactNumber) | update
//	PUT|POST|GET /api.xro/2.0/Invoices        create | update or create | list
//	GET|POST /api.xro/2.0/Invoices/{id}       read (by InvoiceID or InvoiceNumber) | update
//	POST /api.xro/2.0/Invoices/{id}/Email     204
//	GET  /api.xro/2.0/Invoices/{id}/OnlineInvoice
//	GET  /invoice/{token}                     the online invoice page, with a "pay now" button
//	GET  /                                    an HTML overview of contacts and invoices
//
// # Behaviour
//
// Tokens last Options.TokenTTL (30 minutes) by the emulator's clock; an
// unknown or expired token gets 401 with Xero's problem body (Detail
// "AuthenticationUnsuccessful" or "TokenExpired: ..."), a missing or wrong
// xero-tenant-id 403 (Detail "AuthenticationUnsuccessful"). A token request
// naming a scope gets 400 invalid_scope unless Options.LegacyScopes is set,
// as for Custom Connections created since late April 2026.
//
// Xero answers XML unless asked for JSON; the emulator only speaks JSON, so
// an API request without "Accept: application/json" gets 406 (except Email,
// whose 204 has no body), and a write body that is not application/json
// gets 415.
//
// Validation failures are 400 ValidationException with the records in
// Elements and their ValidationErrors, all or nothing, or per record with
// summarizeErrors=false. Unknown ids are 404 with Xero's plain-text body.
// Messages Xero is known to use are used verbatim (the duplicate contact
// name, "Account Number already exists", "Invoice # must be unique."); the
// others are worded in Xero's style and may differ from Xero's.
//
// Invoices are ACCREC only. New invoices are DRAFT unless a Status is sent,
// and are numbered INV-0001, INV-0002... (from Options.NextInvoiceNumber)
// unless an InvoiceNumber is sent.
// A contact is found by ContactID or, as Xero does, by Name (a new name
// creates a contact). Amounts follow these rules: Quantity defaults to 1
// and keeps 4 places; UnitAmount keeps 2 (4 with unitdp=4); LineAmount is
// Quantity × UnitAmount rounded to 2 places (half away from zero); tax is
// computed per line and rounded to 2 places at the line's tax type's rate.
// The demo organisation's accounts are 200 Sales and 260 Other Revenue
// (tax type OUTPUT2, 15%) and 270 Interest Income (NONE, 0%), plus
// Options.AccountCodes (OUTPUT2); tax types OUTPUT2, NONE, EXEMPTOUTPUT and
// ZERORATEDOUTPUT are known.
//
//	Exclusive: TaxAmount = LineAmount × rate; SubTotal = Σ LineAmount; Total = SubTotal + TotalTax
//	Inclusive: TaxAmount = LineAmount × rate / (1 + rate); Total = Σ LineAmount; SubTotal = Total − TotalTax
//	NoTax:     TaxAmount = 0, TaxType NONE; Total = SubTotal = Σ LineAmount
//
// AmountDue is Total − AmountPaid (zero once VOIDED). Dates are written as
// Xero writes them: "/Date(1769817600000+0000)/" (midnight UTC of the
// calendar date) with DateString "2026-01-31T00:00:00". GET /Invoices
// includes line items only with "page", as Xero does, 100 a page.
//
// The where filter understands equality and Contains/StartsWith/EndsWith
// on the records' string fields, joined with AND/OR (see where.go); string
// comparisons ignore case.
//
// A write carrying an Idempotency-Key (per tenant, at most 128 characters)
// is answered once; the same key again gets the first answer byte for byte
// and changes nothing.
//
// Each tenant has Xero's limits (Options.RateLimit; 60 a minute, 5 at once,
// 5,000 a day) and the app 10,000 a minute (Options.AppPerMinute). Every
// API answer carries X-MinLimit-Remaining, X-DayLimit-Remaining and
// X-AppMinLimit-Remaining; a call over a limit gets 429 with Retry-After
// (seconds) and X-Rate-Limit-Problem (minute, day, concurrent or appminute).
//
// # Simulation, faults and inspection
//
// PayInvoice and VoidInvoice change an invoice as someone working in Xero
// would. Every invoice change (API create or update, payment, void) queues
// an INVOICE event for Options.WebhookURL; a goroutine posts the queued
// events in batches, signed with x-xero-signature (webhook.Sign with
// Options.WebhookKey), retrying anything but 200 after
// Options.WebhookRetryDelay up to Options.WebhookMaxAttempts times.
// FlushWebhooks waits for the queue to drain; Webhooks lists the
// deliveries. Contact events are not sent.
//
// InjectFault makes the next requests fail with a status and a Xero-like
// body, wait, or lose their connection. Requests, Invoices, Contacts and
// Emails show what happened; recorded requests have their Authorization
// header and client secret redacted.
package emulator
