package xero

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/shopspring/decimal"

	"github.com/amsbilling/sdk/billing"
)

// CreditNoteTypeSales is Xero's Type for a sales credit note (accounts
// receivable), the one that credits a member's invoice.
const CreditNoteTypeSales = "ACCRECCREDIT"

// CreditNote is a Xero credit note. Fields below LineItems are Xero's to
// fill: read from answers, never sent.
type CreditNote struct {
	CreditNoteID     string
	Type             string // CreditNoteTypeSales
	CreditNoteNumber string // Xero numbers it when empty
	Reference        string
	Contact          Contact // only ContactID is needed to create
	Date             billing.Date
	Status           string // e.g. billing.StatusAuthorised
	LineAmountTypes  string
	CurrencyCode     string
	LineItems        []LineItem

	SubTotal        decimal.Decimal
	TotalTax        decimal.Decimal
	Total           decimal.Decimal
	RemainingCredit decimal.Decimal
	Allocations     []Allocation
	// Payments are the credit note's refunds.
	Payments       []Payment
	UpdatedDateUTC time.Time
	Warnings       []string
}

type creditNoteOut struct {
	Type             string     `json:"Type,omitempty"`
	CreditNoteID     string     `json:"CreditNoteID,omitempty"`
	CreditNoteNumber string     `json:"CreditNoteNumber,omitempty"`
	Reference        string     `json:"Reference,omitempty"`
	Contact          *Contact   `json:"Contact,omitempty"`
	Date             string     `json:"Date,omitempty"`
	Status           string     `json:"Status,omitempty"`
	LineAmountTypes  string     `json:"LineAmountTypes,omitempty"`
	CurrencyCode     string     `json:"CurrencyCode,omitempty"`
	LineItems        []LineItem `json:"LineItems,omitempty"`
}

// MarshalJSON writes the fields Xero accepts on a write, the date as
// "YYYY-MM-DD"; read-only fields are left out.
func (cn CreditNote) MarshalJSON() ([]byte, error) {
	out := creditNoteOut{
		Type: cn.Type, CreditNoteID: cn.CreditNoteID, CreditNoteNumber: cn.CreditNoteNumber,
		Reference: cn.Reference, Date: cn.Date.String(), Status: cn.Status,
		LineAmountTypes: cn.LineAmountTypes, CurrencyCode: cn.CurrencyCode, LineItems: cn.LineItems,
	}
	if !cn.Contact.isZero() {
		c := cn.Contact
		out.Contact = &c
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads a credit note as Xero returns it, dates as calendar
// dates (DateString when present).
func (cn *CreditNote) UnmarshalJSON(b []byte) error {
	var in struct {
		Type, CreditNoteID, CreditNoteNumber, Reference string
		Contact                                         Contact
		Date, DateString                                string
		Status, LineAmountTypes, CurrencyCode           string
		LineItems                                       []LineItem
		SubTotal, TotalTax, Total, RemainingCredit      amount
		Allocations                                     []Allocation
		Payments                                        []Payment
		UpdatedDateUTC                                  string
		Warnings                                        []message
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	out := CreditNote{
		CreditNoteID: in.CreditNoteID, Type: in.Type, CreditNoteNumber: in.CreditNoteNumber,
		Reference: in.Reference, Contact: in.Contact, Status: in.Status,
		LineAmountTypes: in.LineAmountTypes, CurrencyCode: in.CurrencyCode, LineItems: in.LineItems,
		SubTotal: in.SubTotal.dec(), TotalTax: in.TotalTax.dec(), Total: in.Total.dec(),
		RemainingCredit: in.RemainingCredit.dec(), Allocations: in.Allocations, Payments: in.Payments,
		Warnings: messages(nil, in.Warnings),
	}
	var err error
	if out.Date, err = ParseCalendarDate(firstNonEmpty(in.DateString, in.Date)); err != nil {
		return err
	}
	if in.UpdatedDateUTC != "" {
		if out.UpdatedDateUTC, err = ParseDate(in.UpdatedDateUTC); err != nil {
			return err
		}
	}
	*cn = out
	return nil
}

// Allocation is part of a credit note applied to an invoice.
type Allocation struct {
	AllocationID string // Xero's, read from answers
	InvoiceID    string
	CreditNoteID string // read from answers
	Amount       decimal.Decimal
	Date         billing.Date
}

// MarshalJSON writes an allocation as Xero takes it: the invoice by
// reference, the amount as a JSON number, the date as "YYYY-MM-DD".
func (a Allocation) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Invoice idRef  `json:"Invoice"`
		Amount  amount `json:"Amount"`
		Date    string `json:"Date"`
	}{idRef{InvoiceID: a.InvoiceID}, amount(a.Amount), a.Date.String()})
}

// UnmarshalJSON reads an allocation as Xero returns it.
func (a *Allocation) UnmarshalJSON(b []byte) error {
	var in struct {
		AllocationID string
		Invoice      struct{ InvoiceID string }
		CreditNote   struct{ CreditNoteID string }
		Amount       amount
		Date         string
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	d, err := ParseCalendarDate(in.Date)
	if err != nil {
		return err
	}
	*a = Allocation{AllocationID: in.AllocationID, InvoiceID: in.Invoice.InvoiceID,
		CreditNoteID: in.CreditNote.CreditNoteID, Amount: in.Amount.dec(), Date: d}
	return nil
}

// CreditNoteElement is one credit note of a batch answer.
type CreditNoteElement struct {
	CreditNote CreditNote
	Element
}

type creditNotesBody struct {
	CreditNotes []CreditNote `json:"CreditNotes"`
}

// CreateCreditNotes creates up to 50 credit notes in one call
// (PUT /CreditNotes?summarizeErrors=false) carrying idempotencyKey, so the
// same request sent again cannot create them twice. A member's credit is
// Type CreditNoteTypeSales, Status AUTHORISED. The answer holds one element
// per credit note, in order: a refused one has its ValidationErrors and was
// not created; the others were.
func (c *Client) CreateCreditNotes(ctx context.Context, cns []CreditNote, idempotencyKey string) ([]CreditNoteElement, error) {
	if err := batchSize(len(cns)); err != nil {
		return nil, err
	}
	for _, cn := range cns {
		if cn.CreditNoteID != "" {
			return nil, errors.New("xero: CreateCreditNotes: CreditNoteID must be empty")
		}
	}
	var out struct{ CreditNotes []json.RawMessage }
	if err := c.doJSON(ctx, http.MethodPut, c.endpoint("/CreditNotes", batchQuery), idempotencyKey, creditNotesBody{cns}, &out); err != nil {
		return nil, err
	}
	if len(out.CreditNotes) != len(cns) {
		return nil, fmt.Errorf("xero: PUT /CreditNotes: %d credit notes sent, %d answered", len(cns), len(out.CreditNotes))
	}
	els := make([]CreditNoteElement, len(cns))
	for i, raw := range out.CreditNotes {
		var st elementStatus
		_ = json.Unmarshal(raw, &st)
		els[i].Element = st.element()
		if err := json.Unmarshal(raw, &els[i].CreditNote); err != nil {
			els[i].Err = fmt.Errorf("xero: credit note %d of the answer: %w", i+1, err)
		}
	}
	return els, nil
}

// AllocateCreditNote applies part of a credit note to an invoice
// (PUT /CreditNotes/{CreditNoteID}/Allocations), carrying idempotencyKey,
// and returns the allocation Xero made. Xero refuses more than the credit
// note's remaining credit or the invoice's amount due.
func (c *Client) AllocateCreditNote(ctx context.Context, creditNoteID string, a Allocation, idempotencyKey string) (Allocation, error) {
	if !isGUID(creditNoteID) {
		return Allocation{}, fmt.Errorf("xero: AllocateCreditNote: credit note id %q is not a GUID", clip(creditNoteID, 64))
	}
	if !isGUID(a.InvoiceID) {
		return Allocation{}, fmt.Errorf("xero: AllocateCreditNote: invoice id %q is not a GUID", clip(a.InvoiceID, 64))
	}
	body := struct {
		Allocations []Allocation `json:"Allocations"`
	}{[]Allocation{a}}
	u := c.endpoint("/CreditNotes/"+url.PathEscape(creditNoteID)+"/Allocations", nil)
	r, err := c.jsonRequest(http.MethodPut, u, idempotencyKey, body)
	if err != nil {
		return Allocation{}, err
	}
	res, err := c.send(ctx, r)
	if err != nil {
		return Allocation{}, err
	}
	var out struct{ Allocations []json.RawMessage }
	if err := c.decode(r, res, &out); err != nil {
		return Allocation{}, err
	}
	if len(out.Allocations) == 0 {
		return Allocation{}, errors.New("xero: PUT /CreditNotes/{CreditNoteID}/Allocations: the response holds no allocation")
	}
	var got Allocation
	var warnings []string
	if err := c.readRecord(ctx, r, res, out.Allocations[0], &got, &warnings); err != nil {
		return Allocation{}, err
	}
	return got, nil
}

// GetCreditNote fetches one credit note (GET /CreditNotes/{CreditNoteID}).
func (c *Client) GetCreditNote(ctx context.Context, creditNoteID string) (CreditNote, error) {
	if !isGUID(creditNoteID) {
		return CreditNote{}, fmt.Errorf("xero: GetCreditNote: credit note id %q is not a GUID", clip(creditNoteID, 64))
	}
	r, err := c.jsonRequest(http.MethodGet, c.endpoint("/CreditNotes/"+url.PathEscape(creditNoteID), nil), "", nil)
	if err != nil {
		return CreditNote{}, err
	}
	res, raws, _, err := c.getList(ctx, r, "CreditNotes", 1)
	if err != nil {
		return CreditNote{}, err
	}
	if len(raws) == 0 {
		return CreditNote{}, errors.New("xero: GET /CreditNotes/{CreditNoteID}: the response holds no credit note")
	}
	var cn CreditNote
	if err := c.readRecord(ctx, r, res, raws[0], &cn, &cn.Warnings); err != nil {
		return CreditNote{}, err
	}
	return cn, nil
}

// FindCreditNotes returns the credit notes of the contact with this
// reference (GET /CreditNotes?where=Contact.ContactID==Guid("...")&&
// Reference=="..."), every status included, following pages. An empty
// reference matches every credit note of the contact. It is how a credit
// note whose answer was lost finds what Xero made. Each record is read on
// its own: one that cannot be taken is in failed.
func (c *Client) FindCreditNotes(ctx context.Context, contactID, reference string) (creditNotes []CreditNote, failed []*MoneyRecordError, err error) {
	if !isGUID(contactID) {
		return nil, nil, fmt.Errorf("xero: FindCreditNotes: contact id %q is not a GUID", clip(contactID, 64))
	}
	where := guidWhere("Contact.ContactID", contactID)
	if reference != "" {
		where += `&&Reference=="` + escapeWhere(reference) + `"`
	}
	for page := 1; ; page++ {
		r := request{method: http.MethodGet, url: c.endpoint("/CreditNotes", pagedQuery(where, page)), tenant: true}
		got, bad, more, err := c.creditNotePage(ctx, r, page)
		if err != nil {
			return nil, nil, err
		}
		creditNotes, failed = append(creditNotes, got...), append(failed, bad...)
		if !more {
			return creditNotes, failed, nil
		}
	}
}

// CreditNotesModifiedSince returns page (from 1) of the organisation's
// credit notes modified at or after since (GET /CreditNotes with
// If-Modified-Since, read in UTC to the second), in pages of Xero's largest
// size, and whether another page follows.
func (c *Client) CreditNotesModifiedSince(ctx context.Context, since time.Time, page int) (creditNotes []CreditNote, failed []*MoneyRecordError, more bool, err error) {
	if page < 1 {
		return nil, nil, false, errors.New("xero: CreditNotesModifiedSince: page starts at 1")
	}
	r := request{method: http.MethodGet, url: c.endpoint("/CreditNotes", pagedQuery("", page)), tenant: true, ifModifiedSince: modifiedSince(since)}
	return c.creditNotePage(ctx, r, page)
}

func (c *Client) creditNotePage(ctx context.Context, r request, page int) ([]CreditNote, []*MoneyRecordError, bool, error) {
	res, raws, more, err := c.getList(ctx, r, "CreditNotes", page)
	if err != nil {
		return nil, nil, false, err
	}
	got, bad := readMoneyRecords(ctx, c, r, res, raws, "credit note", "CreditNoteID", func(cn *CreditNote) *[]string { return &cn.Warnings })
	return got, bad, more, nil
}
