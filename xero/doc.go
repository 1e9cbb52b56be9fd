// Package xero is the SDK's Xero provider: a client for the Xero Accounting
// API through a Custom Connection, and Service, the billing.Service built on
// it.
//
// # Client
//
// NewClient builds a Client from a xero.Config. Build it once and
// share it: it caches the OAuth2 client-credentials token (refreshed a
// minute before it expires, and again after a 401) and owns the rate
// limiter. By default no scope is requested, since Custom Connections
// created since April 2026 reject an explicit scope and grant the scopes
// ticked on the connection; XERO_SCOPES sends explicit scopes for older
// connections. Token failures are *AuthError values explaining which
// variable to fix (ErrInvalidScope, ErrInvalidClient); a 429 from the token
// endpoint is a *ratelimit.RateLimitError like any other, reported to the
// limiter so later calls are refused locally. Refused credentials (an
// *AuthError that is not an outage, a 401 after a fresh token, a 403) match
// billing.ErrUnauthorized, which stops billing.FetchInvoiceUpdates at once.
//
// Every call:
//
//   - gets its token first, then asks the ratelimit.Limiter; token
//     requests never count against the API budget; a refusal is a
//     *ratelimit.RateLimitError with Local set, and no API request is sent;
//     a limiter that cannot answer is returned as it is, never retried;
//   - sends the bearer token, xero-tenant-id, Accept: application/json and
//     the SDK's User-Agent; writes carry an Idempotency-Key, generated once
//     per call when the caller gives none, so a retry cannot bill twice;
//   - turns HTTP 429 into a *ratelimit.RateLimitError (RetryAfter, Problem)
//     and never retries it; later calls are refused locally until the wait
//     is over;
//   - retries 5xx answers and network errors with exponential backoff and
//     jitter (3 attempts by default), never past the context's deadline;
//   - is bounded even without a deadline: 90s in all, 30s an attempt
//     (WithTimeout);
//   - returns other failures as *APIError, carrying Xero's message,
//     validation messages and warnings; errors.Is(err, ErrNotFound) matches
//     a 404;
//   - takes a record Xero flagged in a 2xx answer (StatusAttributeString
//     ERROR or ValidationErrors) as that record's failure, an *APIError with
//     StatusCode 200, and returns Xero's warnings on a saved record in its
//     Warnings field, logging them too;
//   - reads every list (GetInvoices, InvoicesModifiedSince, FindInvoices,
//     FindContactByAccountNumber) record by record: one it cannot take
//     (flagged, or a date outside 1900-9999, say) is a *RecordError
//     matching billing.ErrUnreadable, logged and counted, and never stops
//     the rest. A search that must not say "none" wrongly does not: the
//     contacts' fails while a bad record may be the one, and FindInvoices
//     returns what it can read of a bad record (Invoice.Partial), or fails
//     naming it.
//
// Errors and logs never contain the client secret or a token. With
// Config.Debug (XERO_DEBUG) every request and response, the token
// endpoint's included, is logged at slog's Debug level with the
// Authorization header, tokens and the secret redacted.
//
// Amounts are decimal.Decimal, sent to Xero as JSON numbers. Invoice, due
// and paid dates are billing.Date calendar dates, read from Xero's
// "/Date(ms+hhmm)/" and "2026-01-31T00:00:00" forms without passing through
// a time zone (see ParseCalendarDate). Dates outside the years 1900-9999 are
// refused, in answers and, before any call, in what is sent (one rule,
// billing.CheckYear). Text is checked before it is sent: contact names are cut to
// Xero's 255 UTF-16 code units, and control characters are refused
// (ErrInvalidContact, billing.ErrInvalidInvoice).
//
// # Metrics
//
// The Client records OpenTelemetry metrics through the MeterProvider given
// by WithMeterProvider, or otel.GetMeterProvider() without one (a no-op
// until the app sets a global provider). The instruments are made once,
// in NewClient, under the scope "github.com/amsbilling/sdk/xero". Names,
// units and the HTTP attributes follow OpenTelemetry's semantic
// conventions; no attribute holds a secret, a token or a record's id, and
// only xero.rate_limit.remaining names the tenant.
//
//   - http.client.request.duration (histogram, s): every HTTP request to
//     the Accounting API and the connections list, one per attempt (a
//     retry is another request), from sending it to reading its whole
//     answer. Attributes http.request.method, http.response.status_code
//     (when an answer came), server.address, server.port, error.type (the
//     status of an answer of 400 or more; timeout, canceled,
//     response_too_large or _OTHER when no usable answer came) and
//     xero.operation, the method and path template with every id a
//     placeholder: "GET /Invoices/{InvoiceID}", "PUT /Invoices",
//     "POST /Invoices/{InvoiceID}/Email", "GET /connections". Its count
//     by xero.operation and status is the calls made to Xero. Token
//     requests are not in it (see xero.token.refreshes); calls refused
//     before sending are not either (see xero.rate_limit.refused).
//   - xero.rate_limit.exceeded (counter, {response}): HTTP 429 answers,
//     the API's and the token endpoint's, by xero.rate_limit.problem:
//     minute, day, concurrent, appminute (Xero's X-Rate-Limit-Problem),
//     unknown when Xero named none, other for any other text.
//   - xero.rate_limit.refused (counter, {call}): calls the Limiter, or
//     the wait after a token 429, refused before any request was sent
//     (a *ratelimit.RateLimitError with Local set), by
//     xero.rate_limit.problem.
//   - xero.rate_limit.remaining (gauge, {call}): what the latest answer
//     that reported it said the tenant has left, with
//     xero.rate_limit.window minute (X-MinLimit-Remaining) or day
//     (X-DayLimit-Remaining) and xero.tenant.id, the Client's tenant, so
//     Clients of several tenants on one provider keep their counts apart;
//     LastRateInfo reads the same headers.
//   - xero.token.refreshes (counter, {request}): access token requests to
//     the identity service, with outcome ok or error.
//   - xero.records.unreadable (counter, {record}): records of list answers
//     that could not be read while the others were (see RecordError), by
//     xero.operation.
//
// Service.DeliverEvents records billing.DeliverEvents' metrics in the
// Client's provider (unless WithDelivery names another).
//
// # Service
//
// Service implements billing.Service on a Client and a billing.Store, and
// billing.BulkService, billing.CreationResolver, billing.EventDeliverer and
// billing.SweepSource:
//
//   - contact sync: "<name> (<id>)" with the id as AccountNumber; the link
//     records what Xero holds, so an unchanged re-sync sends nothing;
//     recovery from "name already assigned" and "account number already
//     exists" answers finds, links and (if archived) restores the contact;
//   - invoice creation (ACCREC, AUTHORISED) exactly once per logical
//     invoice: the creation is recorded before the call, completed from
//     Xero's answer, and, when the answer is lost, resolved by finding the
//     invoice in Xero (ResolveCreations; CreateInvoice with the same
//     parameters) rather than sent again: matched by contact, reference,
//     dates and lines with their account codes; an invoice Xero holds but
//     the SDK reads only in part is adopted with what reads and marked for
//     the fetch job, or, when that cannot be matched, named to the
//     operator and never sent again;
//   - bulk work: SyncContacts, CreateInvoices and EmailInvoices, 50 records
//     a call, a result per record, the store read and written a batch at a
//     time; a run stops early when Xero looks unreachable (the rest
//     billing.NotAttempted), and the emails sent are recorded so a rerun
//     emails nobody twice;
//   - UpdateInvoices: as many ids a request as Xero's URL limit allows, every
//     state saved in one store transaction with an event for each change,
//     then the events delivered to the app's billing.InvoiceHook (at least
//     once, in order per invoice; see WithInvoiceHook);
//   - UpdateCreditNotes, the fetch job's refresh of the credit notes
//     CREDITNOTE webhooks marked (billing.CreditNoteUpdater): about 26 ids
//     a request (where=CreditNoteID==Guid("...") OR ...), one by one only
//     for what a request lacks or a query Xero refused; sales credit notes
//     of a stored invoice saved (the account of the invoice they are
//     allocated to; the stored InvoiceID kept), the others dropped, and the
//     invoices they touch marked for update;
//   - InvoicesModifiedSince, CreditNotesModifiedSince and
//     PaymentsModifiedSince, the sweep's source (If-Modified-Since, pages of
//     1,000): sales invoices, sales credit notes (ACCRECCREDIT), payments of
//     sales invoices (ACCRECPAYMENT) and refunds of sales credit notes
//     (ARCREDITPAYMENT) as the app's copies, what cannot be read in the
//     page's Unreadable;
//   - emails honouring XERO_EMAIL_INVOICES and the whitelist (checked against
//     the synced address), and online invoice URLs.
//
// Service implements billing.MoneyService: RecordPayment and RecordPayments
// (50 a call), ReversePayment, CreditInvoice (a sales credit note allocated
// to the invoice or refunded to the member), VoidInvoice (with or without
// reversing its payments) and ResolveMoneyOps. Each operation is a
// billing.MoneyOp recorded in the store before Xero is called and completed
// with Xero's answer and the invoice's new state in one transaction; a lost
// answer leaves it pending, and resolving it searches Xero (payments by
// invoice and reference, credit notes by contact and reference,
// allocations, reversals and voids by reading the document) before
// anything is sent again, so money moves once.
//
// The Client's money calls (CreatePayments, DeletePayment, GetPayment,
// FindPayments, FindRefunds, PaymentsModifiedSince, CreateCreditNotes,
// AllocateCreditNote, GetCreditNote, FindCreditNotes,
// CreditNotesModifiedSince, VoidInvoice) carry an Idempotency-Key on every
// write and read list answers record by record (MoneyRecordError).
//
// # Configuration
//
// Config holds the XERO_* variables and AMS_BILLING_EMAIL_WHITELIST_REGEX
// with AMS's names; LoadConfig and ConfigFromEnv read and check them, with
// one *billing.ConfigError per bad variable. Choosing the provider from
// AMS_BILLING_SERVICE_CLASS is xero/setup's job.
package xero
