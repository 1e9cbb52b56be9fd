package xero

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/amsbilling/sdk/internal/xerolimit"
)

// Element statuses of a batch write with summarizeErrors=false.
const (
	ElementOK      = "OK"
	ElementWarning = "WARNING"
	ElementError   = "ERROR"
)

// Element is what Xero said of one record of a batch write: its status,
// its validation errors (the record was not saved) and its warnings (it
// was).
type Element struct {
	Status           string
	ValidationErrors []string
	Warnings         []string
	// Err is set when the record's answer could not be read.
	Err error
}

// Failed reports whether Xero refused the record, or its answer could not
// be read.
func (e Element) Failed() bool {
	return e.Err != nil || e.Status == ElementError || len(e.ValidationErrors) > 0
}

// Error describes a refused record.
func (e Element) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	if len(e.ValidationErrors) == 0 {
		return "xero: the record was refused"
	}
	return "xero: " + strings.Join(e.ValidationErrors, "; ")
}

type elementStatus struct {
	StatusAttributeString string
	ValidationErrors      []struct{ Message string }
	Warnings              []struct{ Message string }
}

func (s elementStatus) element() Element {
	e := Element{Status: s.StatusAttributeString}
	for _, v := range s.ValidationErrors {
		e.ValidationErrors = append(e.ValidationErrors, v.Message)
	}
	for _, w := range s.Warnings {
		e.Warnings = append(e.Warnings, w.Message)
	}
	return e
}

// ContactElement is one contact of a batch answer.
type ContactElement struct {
	Contact Contact
	Element
}

// InvoiceElement is one invoice of a batch answer.
type InvoiceElement struct {
	Invoice Invoice
	Element
}

// batchQuery asks Xero for one answer per record instead of a 400 for the
// whole request.
var batchQuery = url.Values{"summarizeErrors": {"false"}}

// CreateContacts creates up to 50 contacts in one call
// (PUT /Contacts?summarizeErrors=false). The answer holds one element per
// contact, in order: a refused one (a name already taken, say) has its
// ValidationErrors and was not created; the others were.
func (c *Client) CreateContacts(ctx context.Context, cs []Contact) ([]ContactElement, error) {
	for _, ct := range cs {
		if ct.ContactID != "" {
			return nil, errors.New("xero: CreateContacts: ContactID must be empty; use UpdateContacts")
		}
	}
	return c.contactBatch(ctx, http.MethodPut, cs)
}

// UpdateContacts updates up to 50 contacts, each by its ContactID, in one
// call (POST /Contacts?summarizeErrors=false); empty fields are left as they
// are. The answer holds one element per contact, in order.
func (c *Client) UpdateContacts(ctx context.Context, cs []Contact) ([]ContactElement, error) {
	for _, ct := range cs {
		if ct.ContactID == "" {
			return nil, errors.New("xero: UpdateContacts: every contact needs its ContactID")
		}
	}
	return c.contactBatch(ctx, http.MethodPost, cs)
}

func (c *Client) contactBatch(ctx context.Context, method string, cs []Contact) ([]ContactElement, error) {
	if err := batchSize(len(cs)); err != nil {
		return nil, err
	}
	var out struct{ Contacts []json.RawMessage }
	if err := c.doJSON(ctx, method, c.endpoint("/Contacts", batchQuery), "", contactsBody{cs}, &out); err != nil {
		return nil, err
	}
	if len(out.Contacts) != len(cs) {
		return nil, fmt.Errorf("xero: %s /Contacts: %d records sent, %d answered", method, len(cs), len(out.Contacts))
	}
	els := make([]ContactElement, len(cs))
	for i, raw := range out.Contacts {
		var st elementStatus
		_ = json.Unmarshal(raw, &st) // the record's own fields say more below
		els[i].Element = st.element()
		if err := json.Unmarshal(raw, &els[i].Contact); err != nil {
			els[i].Err = fmt.Errorf("xero: contact %d of the answer: %w", i+1, err)
		}
	}
	return els, nil
}

// CreateInvoices creates up to 50 invoices in one call
// (PUT /Invoices?summarizeErrors=false) carrying idempotencyKey, so the same
// request sent again cannot create them twice. The answer holds one element
// per invoice, in order: a refused one has its ValidationErrors and was not
// created; the others were.
func (c *Client) CreateInvoices(ctx context.Context, invs []Invoice, idempotencyKey string) ([]InvoiceElement, error) {
	if err := batchSize(len(invs)); err != nil {
		return nil, err
	}
	for _, inv := range invs {
		if inv.InvoiceID != "" {
			return nil, errors.New("xero: CreateInvoices: InvoiceID must be empty")
		}
	}
	var out struct{ Invoices []json.RawMessage }
	if err := c.doJSON(ctx, http.MethodPut, c.endpoint("/Invoices", batchQuery), idempotencyKey, invoicesBody{invs}, &out); err != nil {
		return nil, err
	}
	if len(out.Invoices) != len(invs) {
		return nil, fmt.Errorf("xero: PUT /Invoices: %d invoices sent, %d answered", len(invs), len(out.Invoices))
	}
	els := make([]InvoiceElement, len(invs))
	for i, raw := range out.Invoices {
		var st elementStatus
		_ = json.Unmarshal(raw, &st)
		els[i].Element = st.element()
		if err := json.Unmarshal(raw, &els[i].Invoice); err != nil {
			els[i].Err = fmt.Errorf("xero: invoice %d of the answer: %w", i+1, err)
		}
	}
	return els, nil
}

func batchSize(n int) error {
	if n == 0 || n > xerolimit.MaxWriteRecords {
		return fmt.Errorf("xero: a batch holds 1 to %d records, not %d", xerolimit.MaxWriteRecords, n)
	}
	return nil
}

// idChunks splits ids so that prefix followed by each chunk, joined with
// commas, stays within xerolimit.MaxURLLength.
func idChunks(prefix string, ids []string) [][]string {
	var out [][]string
	var cur []string
	n := len(prefix)
	for _, id := range ids {
		add := len(id)
		if len(cur) > 0 {
			add++ // the comma
		}
		if len(cur) > 0 && n+add > xerolimit.MaxURLLength {
			out = append(out, cur)
			cur, n, add = nil, len(prefix), len(id)
		}
		cur = append(cur, id)
		n += add
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}
