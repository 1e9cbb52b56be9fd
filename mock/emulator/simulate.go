package emulator

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/amsbilling/sdk/billing"
	"github.com/shopspring/decimal"
)

// PayInvoice applies a payment of amount on date to an AUTHORISED invoice,
// as if the customer paid and someone reconciled it in Xero: a payment to
// the Business Bank Account (DefaultPaymentAccountCode) without a
// reference, which GET /Payments lists (RecordPayment chooses them). A
// payment that covers what is due makes the invoice PAID with
// FullyPaidOnDate = date. A zero date means today. It queues an INVOICE
// UPDATE webhook. It fails with ErrNotFound for an unknown invoice and
// ErrInvalid when the invoice is not AUTHORISED or amount, rounded to
// cents, is not in (0, AmountDue].
func (e *Emulator) PayInvoice(ctx context.Context, invoiceID string, amount decimal.Decimal, date billing.Date) error {
	if invoiceID == "" {
		return fmt.Errorf("%w: invoice %q", ErrNotFound, invoiceID)
	}
	_, err := e.RecordPayment(ctx, ManualPayment{InvoiceID: invoiceID, Amount: amount, Date: date})
	return err
}

// authorisedInvoice finds the invoice a simulated change applies to, which
// must be AUTHORISED ("only AUTHORISED invoices <action>"). e.mu must be held.
func (e *Emulator) authorisedInvoice(invoiceID, action string) (*Invoice, error) {
	inv := e.findInvoice(invoiceID)
	if inv == nil {
		return nil, fmt.Errorf("%w: invoice %q", ErrNotFound, invoiceID)
	}
	if inv.Status != billing.StatusAuthorised {
		return nil, fmt.Errorf("%w: invoice %s is %s; only AUTHORISED invoices %s", ErrInvalid, inv.InvoiceNumber, inv.Status, action)
	}
	return inv, nil
}

// VoidInvoice voids an AUTHORISED invoice with no payments or credit, as if someone
// voided it in Xero; AmountDue becomes zero. It queues an INVOICE UPDATE
// webhook. It fails with ErrNotFound or ErrInvalid.
func (e *Emulator) VoidInvoice(ctx context.Context, invoiceID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	inv, err := e.authorisedInvoice(invoiceID, "can be voided")
	if err != nil {
		return err
	}
	if moneyApplied(inv) {
		return fmt.Errorf("%w: invoice %s: %s", ErrInvalid, inv.InvoiceNumber, msgMoneyApplied)
	}
	now := e.now()
	inv.Status = billing.StatusVoided
	inv.AmountDue = decimal.Zero
	inv.UpdatedDateUTC = now
	e.queueEvent(inv.InvoiceID, "UPDATE", now)
	return nil
}

// Invoices returns copies of every invoice, in creation order.
func (e *Emulator) Invoices() []Invoice {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Invoice, len(e.invoices))
	for i, inv := range e.invoices {
		out[i] = inv.clone()
	}
	return out
}

// Invoice returns a copy of the invoice with this id (or number).
func (e *Emulator) Invoice(idOrNumber string) (Invoice, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	inv := e.findInvoice(idOrNumber)
	if inv == nil {
		return Invoice{}, false
	}
	return inv.clone(), true
}

// Contacts returns copies of every contact, in creation order.
func (e *Emulator) Contacts() []Contact {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Contact, len(e.contacts))
	for i, c := range e.contacts {
		out[i] = *c
	}
	return out
}

// Emails returns the invoices the emulator was asked to email, oldest first.
func (e *Emulator) Emails() []Email {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.emails)
}

// Requests returns the requests received, oldest first (the latest 10,000).
func (e *Emulator) Requests() []Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Request, len(e.requests))
	for i, r := range e.requests {
		r.Header = r.Header.Clone()
		r.Query = cloneValues(r.Query)
		r.Body = bytes.Clone(r.Body)
		out[i] = r
	}
	return out
}

// CallCounts returns how many requests the emulator has received since New,
// by Request.Operation: "GET /Invoices", "PUT /Contacts"... for the
// Accounting API (templates relative to APIPath, capitalised as Xero's),
// "POST /connect/token" for tokens, "" for paths it does not serve. Every
// request counts, whatever its answer (a 429, a fault, a 404), and unlike
// Requests the counts are exact however many requests there were. Take two
// snapshots and subtract to count what one piece of work cost.
func (e *Emulator) CallCounts() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.callCounts)
}

// APICalls returns how many Accounting API requests (Request.API) the
// emulator has received since New: CallCounts without tokens, connections
// and pages.
func (e *Emulator) APICalls() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.apiCalls
}

func cloneValues(v map[string][]string) map[string][]string {
	out := make(map[string][]string, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// Fault makes the next Count matching requests fail or slow down.
type Fault struct {
	// Count is how many requests the fault applies to; zero means one.
	Count int
	// Status, when set, answers with this status and a Xero-like body
	// instead of processing the request: 400 ValidationException, 401/403
	// Xero's problem body, 404 text, 429 with Retry-After (60 unless Header
	// says otherwise) and X-Rate-Limit-Problem: minute, 500
	// UnknownErrorException, 503 text. Nothing is changed.
	Status int
	// Header adds headers to a Status answer.
	Header http.Header
	// Latency delays the answer (the request keeps its rate-limit slot
	// meanwhile); the wait ends early when the client gives up.
	Latency time.Duration
	// Drop closes the connection without an answer (after Latency), before
	// the request is processed. The in-process client returns ErrDropped.
	Drop bool
	// DropResponse processes the request, then closes the connection
	// instead of answering: the change is made but the client never hears
	// of it, the case idempotency keys exist for. It is LoseAnswer:
	// AnswerDropped.
	DropResponse bool
	// LoseAnswer processes the request (a write is applied, and its answer
	// kept for an idempotent retry), then loses the answer on its way back
	// as it says: Xero has the change, the client does not know. It
	// applies to requests the fault does not stop (no Status, no Drop).
	LoseAnswer AnswerLoss
	// Warnings, for a write the fault lets through, are attached to every
	// record of the answer as Xero's Warnings (with summarizeErrors=false a
	// record saved with warnings has StatusAttributeString WARNING), so a
	// client's handling of them can be tested.
	Warnings []string
	// Path limits the fault to request paths with this prefix (case
	// ignored), e.g. "/api.xro/2.0/Invoices"; empty matches every request.
	Path string
}

// AnswerLoss is what becomes of the answer to a request a Fault lets
// through, once the request has been processed.
type AnswerLoss int

const (
	// AnswerKept sends the answer: no loss.
	AnswerKept AnswerLoss = iota
	// AnswerDropped closes the connection instead of answering (the
	// in-process client returns ErrDropped).
	AnswerDropped
	// AnswerTimedOut answers 504 Gateway Timeout (plain text, without
	// Xero's headers), as a gateway does when it gives up waiting.
	AnswerTimedOut
	// AnswerGarbled sends the real status and headers with the body cut in
	// half: a 200 for a successful write, whose JSON cannot be read.
	AnswerGarbled
)

// InjectFault queues f. Faults apply in the order injected; a request takes
// the first one whose Path matches.
func (e *Emulator) InjectFault(f Fault) {
	if f.Count <= 0 {
		f.Count = 1
	}
	f.Header = f.Header.Clone()
	f.Warnings = slices.Clone(f.Warnings)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = append(e.faults, &f)
}

// ClearFaults removes every queued fault.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = nil
}

// takeFault consumes one use of the first fault matching path.
func (e *Emulator) takeFault(path string) *Fault {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, f := range e.faults {
		if f.Path != "" && !hasPrefixFold(path, f.Path) {
			continue
		}
		f.Count--
		if f.Count <= 0 {
			e.faults = slices.Delete(e.faults, i, i+1)
		}
		c := *f
		return &c
	}
	return nil
}

// faultReply is the answer of a Status fault.
func faultReply(f *Fault) reply {
	var rp reply
	switch f.Status {
	case http.StatusBadRequest:
		rp = validationReply([]any{map[string]any{"ValidationErrors": validationErrors([]string{"A validation error was injected by the emulator."})}})
	case http.StatusUnauthorized:
		rp = authProblem(f.Status, "AuthenticationUnsuccessful")
	case http.StatusForbidden:
		rp = authProblem(f.Status, "AuthenticationUnsuccessful")
	case http.StatusNotFound:
		rp = notFound()
	case http.StatusTooManyRequests:
		rp = textReply(f.Status, "Rate limit exceeded")
		rp.header = http.Header{}
		rp.header.Set("Retry-After", "60")
		rp.header.Set("X-Rate-Limit-Problem", "minute")
		rp.header.Set("X-MinLimit-Remaining", "0")
	case http.StatusInternalServerError:
		rp = jsonReply(f.Status, apiError{
			ErrorNumber: 500,
			Type:        "UnknownErrorException",
			Message:     "An error occurred in Xero. Check the API Status page http://status.developer.xero.com for current service status.",
		})
	default:
		rp = textReply(f.Status, strconv.Itoa(f.Status)+" "+strings.TrimSpace(http.StatusText(f.Status)))
	}
	if rp.header == nil {
		rp.header = http.Header{}
	}
	for k, vs := range f.Header {
		rp.header[http.CanonicalHeaderKey(k)] = slices.Clone(vs)
	}
	return rp
}
