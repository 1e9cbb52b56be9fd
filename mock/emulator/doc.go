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
//	PUT|POST|GET /api.xro/2.0/Payments        pay invoices or refund credit notes (both) | list
//	GET|POST /api.xro/2.0/Payments/{id}       read | delete, with {"Status":"DELETED"}
//	PUT|GET /api.xro/2.0/CreditNotes          create | list
//	GET  /api.xro/2.0/CreditNotes/{id}        read (by CreditNoteID or CreditNoteNumber)
//	PUT  /api.xro/2.0/CreditNotes/{id}/Allocations   allocate to invoices
//	GET  /api.xro/2.0/Accounts                the chart of accounts (also /Accounts/{AccountID})
//	GET  /api.xro/2.0/Currencies              the base currency and Options.Currencies
//	GET  /api.xro/2.0/Organisation            the one organisation (Options.DemoCompany)
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
// Validation failures are 400 ValidationException with the refused records
// in Elements and their ValidationErrors, all or nothing (unless
// Options.PartialBatchOnError, which saves the valid records all the same,
// as Xero has been reported to). With summarizeErrors=false a write is
// answered 200 and every record carries StatusAttributeString (OK,
// WARNING, ERROR) and ValidationErrors; the valid ones are saved. A refused
// record has Xero's zero GUID for an id. Xero sets no count on a write's
// records, only 3.5 MB on its body, so the emulator takes any number
// unless Options.MaxBatch sets one; a body over 3.5 MB gets Xero's 413
// (problem body, Title RequestEntityTooLarge, Detail PayloadTooLarge).
// Unknown ids are 404 with Xero's plain-text body, and so is a request URL
// longer than Xero's gateway serves (xerolimit.GatewayMaxURLLength,
// measured as if sent to https://api.xero.com: 53 GUIDs in IDs= with
// encoded commas are too many).
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
// The demo organisation's revenue accounts are 200 Sales and 260 Other
// Revenue (tax type OUTPUT2, 15%) and 270 Interest Income (NONE, 0%), plus
// Options.AccountCodes (OUTPUT2); its chart also has 090 Business Bank
// Account and 610 Accounts Receivable, which invoice lines cannot use, and
// Options.PaymentAccountCodes (EnablePaymentsToAccount). A
// line on an unknown, archived (Options.ArchivedAccountCodes,
// ArchiveAccount) or unusable account is refused with Xero's "Account code
// '999' is not a valid code for this document." An invoice must be in the
// base currency or one of Options.Currencies. Tax types OUTPUT2, NONE,
// EXEMPTOUTPUT and ZERORATEDOUTPUT are known.
//
//	Exclusive: TaxAmount = LineAmount × rate; SubTotal = Σ LineAmount; Total = SubTotal + TotalTax
//	Inclusive: TaxAmount = LineAmount × rate / (1 + rate); Total = Σ LineAmount; SubTotal = Total − TotalTax
//	NoTax:     TaxAmount = 0, TaxType NONE; Total = SubTotal = Σ LineAmount
//
// AmountDue is Total − AmountPaid − AmountCredited (zero once VOIDED).
// Dates are written as Xero writes them: "/Date(1769817600000+0000)/"
// (midnight UTC of the calendar date) with DateString
// "2026-01-31T00:00:00". UpdatedDateUTC
// (with UpdatedDateUTCString, "2026-01-31T09:30:00Z") moves on every
// change: create, edit, email, payment, allocation, void.
//
// GET /Invoices filters by IDs, InvoiceNumbers, ContactIDs, Statuses,
// where, searchTerm and If-Modified-Since, which compares to the second,
// as Xero does: a record modified in the header's second is included. It
// includes line items only with "page", as Xero does; pages hold 100, or
// pageSize up to 1,000 (a larger pageSize is served as 1,000: Xero does not
// say what it does), with pagination {page, pageSize, pageCount,
// itemCount}. Without "page" everything is returned.
//
// The where filter understands == and != on the records' fields,
// Contains/StartsWith/EndsWith on strings, > >= < <= on numbers and on
// DateTime(2026, 01, 31) dates, Guid("..."), true, false and null, joined
// with AND/OR/NOT (see where.go); string comparisons ignore case. So
// Reference=="x" AND Date==DateTime(2026,01,31) AND Total==115.00 works.
//
// # Payments, credit notes and voids
//
// A payment (PUT /Payments, an array; POST /Payments the same) names an
// invoice (Invoice.InvoiceID or InvoiceNumber) or, for a refund, a credit
// note (CreditNote.CreditNoteID or CreditNoteNumber), an account
// (Account.AccountID or Account.Code), an Amount (rounded to cents), a
// Date (default today) and a Reference. The document must be AUTHORISED
// and the amount in (0, what is outstanding], counting the payments before
// it in the same request; the account must be active and a BANK account or
// have EnablePaymentsToAccount. A payment to an invoice raises its
// AmountPaid; when nothing is due it is PAID with FullyPaidOnDate the
// payment's date. A refund lowers the credit note's RemainingCredit; it is
// PAID at zero. POST /Payments/{id} with Status DELETED reverses one (not a
// reconciled one): the document gets the amount back and is AUTHORISED
// again. GET /Payments lists deleted payments too, and filters with where
// (Reference, Amount, Status, Invoice.InvoiceID, CreditNote.CreditNoteID,
// Account.Code...), order, paging and If-Modified-Since; a refund names its
// credit note under Invoice (Type ACCRECCREDIT), as Xero's answers do, and
// under CreditNote.
//
// Credit notes are sales ones (ACCRECCREDIT), numbered CN-0001..., their
// lines and totals computed as an invoice's; DRAFT unless a Status is sent.
// PUT /CreditNotes/{id}/Allocations allocates an AUTHORISED credit note to
// AUTHORISED invoices of its contact and currency: each allocation takes
// Amount off the invoice's AmountDue (into AmountCredited, and its
// CreditNotes list) and off RemainingCredit, up to the smaller of the two.
// An invoice with payments or credit allocated cannot be voided or have its
// lines changed.
//
// Refusals follow the rules for invoices (a 400 ValidationException, or
// per record with summarizeErrors=false). These messages are Xero's own:
// "Payment amount exceeds the amount outstanding on this document" (its
// OpenAPI description), "Payments can only be made against Authorised
// documents" and "You must specify an Account code or Account ID for the
// payment" (reported by integrations), "This document cannot be edited as
// it has a payment or credit note allocated to it." (Xero-NetStandard #84),
// "The invoice you are trying to allocate to has already been paid off" and
// "Credit Note cannot be allocated as amount is greater than amount
// outstanding" (xeroizer #320). The others, among them "Account type is
// invalid for making a payment to/from" for an account that cannot take
// payments, are approximations.
//
// A write carrying an Idempotency-Key (per tenant, at most 128 characters)
// is answered once; the same key again within Options.IdempotencyTTL (6
// minutes, as Xero by reports) gets the first answer byte for byte and
// changes nothing; after it the key is new.
//
// The limits are counted as Xero counts them, by the emulator itself
// (Options.RateLimit, type Limits): per tenant 60 a minute, 5 at once and
// 5,000 a day, and 10,000 a minute for the app, in fixed windows that open
// at the first call and reset at fixed boundaries after it, not rolling
// ones. A call counts when it arrives, once it is known to be the
// tenant's; a refused call counts against nothing. Every answer to a
// counted call carries X-MinLimit-Remaining, X-DayLimit-Remaining and
// X-AppMinLimit-Remaining; a call over a limit gets 429 with Retry-After
// (seconds until the window resets; 1 for the concurrent limit) and
// X-Rate-Limit-Problem (minute, day, concurrent or appminute).
// DisableRateLimit switches them off.
//
// # Simulation, faults and inspection
//
// PayInvoice, RecordPayment, DeletePayment, CreateCreditNote,
// AllocateCreditNote and VoidInvoice make or change an invoice or a credit
// note as someone working in Xero would;
// SetAccountPayable switches an account's EnablePaymentsToAccount.
// Every invoice change (API create or update, payment, allocation, void)
// queues an INVOICE event for Options.WebhookURL, and every credit note
// change (create, allocation, refund) a CREDITNOTE event whose data
// carries its Type and Status; a goroutine posts the queued
// events in batches, signed with x-xero-signature (webhook.Sign with
// Options.WebhookKey), retrying anything but 200 after
// Options.WebhookRetryDelay up to Options.WebhookMaxAttempts times.
// FlushWebhooks waits for the queue to drain; Webhooks lists the
// deliveries. SetWebhooksEnabled switches delivery off (the events meanwhile
// are missed for good, leaving a gap in the sequence numbers) and on again.
// Contact events are not sent. ArchiveAccount archives an account.
//
// InjectFault makes the next requests fail with a status and a Xero-like
// body, wait, or lose their connection before anything happens; or be
// processed and then lose their answer (Fault.LoseAnswer: the connection
// drops, a 504 comes back, or a 200 whose body cannot be read), so that
// Xero has the change and the client does not know; or carry Xero's
// Warnings (Fault.Warnings).
//
// Requests, Invoices, Contacts, Payments, CreditNotes and Emails show what
// happened; recorded
// requests have their Authorization header and client secret redacted.
// Each recorded request names its Operation ("GET /Invoices", "POST
// /connect/token") and whether it is an API call; CallCounts and APICalls
// count them exactly, past the request log's bound. RequestValidator and
// ResponseValidator see every request and answer (the OpenAPI contract
// test uses them).
package emulator
