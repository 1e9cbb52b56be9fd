package xero

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/amsbilling/sdk/billing"
)

// Payment types Xero reports for money received.
const (
	PaymentTypeReceived = "ACCRECPAYMENT"   // a payment of a sales invoice
	PaymentTypeRefund   = "ARCREDITPAYMENT" // a sales credit note paid back
)

// Payment is a Xero payment: against an invoice (InvoiceID) or, paying a
// credit note back, against a credit note (CreditNoteID). The account is
// named by AccountCode or AccountID. Fields below Status are Xero's to fill:
// read from answers, never sent.
type Payment struct {
	PaymentID    string
	InvoiceID    string
	CreditNoteID string
	AccountCode  string
	AccountID    string
	Date         billing.Date
	Amount       decimal.Decimal
	Reference    string
	Status       string // billing.PaymentAuthorised or billing.PaymentDeleted

	InvoiceNumber    string
	CreditNoteNumber string
	PaymentType      string // e.g. PaymentTypeReceived
	IsReconciled     bool
	UpdatedDateUTC   time.Time
	// Warnings are Xero's warnings on the payment it saved.
	Warnings []string
	// Invoice is what the answer says of the invoice paid (or, for a
	// refund, the credit note) as Xero computed it after the payment; nil
	// when the answer carries none.
	Invoice *PaidDocument
}

// PaidDocument is the state of a paid invoice or credit note as a payment
// answer carries it. Xero's answers name only some fields: a nil amount or
// a zero date was not in the answer.
type PaidDocument struct {
	Status          string
	Total           *decimal.Decimal
	AmountDue       *decimal.Decimal
	AmountPaid      *decimal.Decimal
	AmountCredited  *decimal.Decimal
	FullyPaidOnDate billing.Date
}

// Apply returns inv with the fields d carries.
func (d PaidDocument) Apply(inv billing.Invoice) billing.Invoice {
	if d.Status != "" {
		inv.Status = d.Status
	}
	for _, f := range []struct {
		src *decimal.Decimal
		dst *decimal.Decimal
	}{{d.Total, &inv.Amount}, {d.AmountDue, &inv.Due}, {d.AmountPaid, &inv.Paid}, {d.AmountCredited, &inv.Credited}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	if !d.FullyPaidOnDate.IsZero() {
		inv.PaidDate = d.FullyPaidOnDate
	}
	return inv
}

// Complete reports whether d carries every field Apply can set that a
// payment changes, the date it was fully paid included when it is.
func (d PaidDocument) Complete() bool {
	return d.Status != "" && d.AmountDue != nil && d.AmountPaid != nil && d.AmountCredited != nil &&
		(d.Status != billing.StatusPaid || !d.FullyPaidOnDate.IsZero())
}

func readPaidDocument(raw json.RawMessage) (*PaidDocument, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var in struct {
		Status                                       string
		Total, AmountDue, AmountPaid, AmountCredited *amount
		FullyPaidOnDate                              string
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, err
	}
	d := &PaidDocument{Status: in.Status}
	for _, f := range []struct {
		src *amount
		dst **decimal.Decimal
	}{{in.Total, &d.Total}, {in.AmountDue, &d.AmountDue}, {in.AmountPaid, &d.AmountPaid}, {in.AmountCredited, &d.AmountCredited}} {
		if f.src != nil {
			v := f.src.dec()
			*f.dst = &v
		}
	}
	var err error
	if d.FullyPaidOnDate, err = ParseCalendarDate(in.FullyPaidOnDate); err != nil {
		return nil, err
	}
	return d, nil
}

type idRef struct {
	InvoiceID    string `json:"InvoiceID,omitempty"`
	CreditNoteID string `json:"CreditNoteID,omitempty"`
	AccountID    string `json:"AccountID,omitempty"`
	Code         string `json:"Code,omitempty"`
}

type paymentOut struct {
	PaymentID  string `json:"PaymentID,omitempty"`
	Invoice    *idRef `json:"Invoice,omitempty"`
	CreditNote *idRef `json:"CreditNote,omitempty"`
	Account    *idRef `json:"Account,omitempty"`
	Date       string `json:"Date,omitempty"`
	Amount     amount `json:"Amount"`
	Reference  string `json:"Reference,omitempty"`
	Status     string `json:"Status,omitempty"`
}

// MarshalJSON writes what Xero accepts on a write: the invoice or credit
// note and the account by reference, the date as "YYYY-MM-DD", the amount
// as a JSON number.
func (p Payment) MarshalJSON() ([]byte, error) {
	out := paymentOut{PaymentID: p.PaymentID, Date: p.Date.String(), Amount: amount(p.Amount), Reference: p.Reference, Status: p.Status}
	if p.InvoiceID != "" {
		out.Invoice = &idRef{InvoiceID: p.InvoiceID}
	}
	if p.CreditNoteID != "" {
		out.CreditNote = &idRef{CreditNoteID: p.CreditNoteID}
	}
	if p.AccountCode != "" || p.AccountID != "" {
		out.Account = &idRef{AccountID: p.AccountID, Code: p.AccountCode}
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads a payment as Xero returns it; the date is a calendar
// date.
func (p *Payment) UnmarshalJSON(b []byte) error {
	var in struct {
		PaymentID  string
		Invoice    json.RawMessage
		CreditNote struct {
			CreditNoteID     string
			CreditNoteNumber string
		}
		Account        idRef
		Date           string
		Amount         amount
		Reference      string
		Status         string
		PaymentType    string
		IsReconciled   bool
		UpdatedDateUTC string
		Warnings       []message
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	var doc struct{ InvoiceID, InvoiceNumber string }
	if len(in.Invoice) > 0 && string(in.Invoice) != "null" {
		if err := json.Unmarshal(in.Invoice, &doc); err != nil {
			return err
		}
	}
	out := Payment{
		PaymentID: in.PaymentID, InvoiceID: doc.InvoiceID, CreditNoteID: in.CreditNote.CreditNoteID,
		AccountCode: in.Account.Code, AccountID: in.Account.AccountID, Amount: in.Amount.dec(),
		Reference: in.Reference, Status: in.Status, InvoiceNumber: doc.InvoiceNumber,
		CreditNoteNumber: in.CreditNote.CreditNoteNumber, PaymentType: in.PaymentType,
		IsReconciled: in.IsReconciled, Warnings: messages(nil, in.Warnings),
	}
	var err error
	if out.Date, err = ParseCalendarDate(in.Date); err != nil {
		return err
	}
	if out.CreditNoteID != "" && strings.EqualFold(out.InvoiceID, out.CreditNoteID) {
		// A refund's answer names the credit note in its Invoice too.
		out.InvoiceID, out.InvoiceNumber = "", ""
	}
	if out.Invoice, err = readPaidDocument(in.Invoice); err != nil {
		return fmt.Errorf("the payment's invoice: %w", err)
	}
	if in.UpdatedDateUTC != "" {
		if out.UpdatedDateUTC, err = ParseDate(in.UpdatedDateUTC); err != nil {
			return err
		}
	}
	*p = out
	return nil
}

// PaymentElement is one payment of a batch answer.
type PaymentElement struct {
	Payment Payment
	Element
}

type paymentsBody struct {
	Payments []Payment `json:"Payments"`
}

// CreatePayments records up to 50 payments in one call
// (PUT /Payments?summarizeErrors=false) carrying idempotencyKey, so the same
// request sent again cannot record them twice. The answer holds one element
// per payment, in order: a refused one (more than the amount due, an
// account that takes no payments...) has its ValidationErrors and was not
// recorded; the others were.
func (c *Client) CreatePayments(ctx context.Context, ps []Payment, idempotencyKey string) ([]PaymentElement, error) {
	if err := batchSize(len(ps)); err != nil {
		return nil, err
	}
	for _, p := range ps {
		if p.PaymentID != "" {
			return nil, errors.New("xero: CreatePayments: PaymentID must be empty")
		}
		if (p.InvoiceID == "") == (p.CreditNoteID == "") {
			return nil, errors.New("xero: CreatePayments: every payment names an invoice or a credit note, not both")
		}
	}
	var out struct{ Payments []json.RawMessage }
	if err := c.doJSON(ctx, http.MethodPut, c.endpoint("/Payments", batchQuery), idempotencyKey, paymentsBody{ps}, &out); err != nil {
		return nil, err
	}
	if len(out.Payments) != len(ps) {
		return nil, fmt.Errorf("xero: PUT /Payments: %d payments sent, %d answered", len(ps), len(out.Payments))
	}
	els := make([]PaymentElement, len(ps))
	for i, raw := range out.Payments {
		var st elementStatus
		_ = json.Unmarshal(raw, &st)
		els[i].Element = st.element()
		if err := json.Unmarshal(raw, &els[i].Payment); err != nil {
			els[i].Err = fmt.Errorf("xero: payment %d of the answer: %w", i+1, err)
		}
	}
	return els, nil
}

// onePayment sends r and reads the answer's first payment.
func (c *Client) onePayment(ctx context.Context, r request, op string) (Payment, error) {
	res, err := c.send(ctx, r)
	if err != nil {
		return Payment{}, err
	}
	var body struct{ Payments []json.RawMessage }
	if err := c.decode(r, res, &body); err != nil {
		return Payment{}, err
	}
	if len(body.Payments) == 0 {
		return Payment{}, fmt.Errorf("xero: %s: the response holds no payment", op)
	}
	var p Payment
	if err := c.readRecord(ctx, r, res, body.Payments[0], &p, &p.Warnings); err != nil {
		return Payment{}, err
	}
	if p.PaymentID == "" {
		return Payment{}, fmt.Errorf("xero: %s: the response holds no payment", op)
	}
	return p, nil
}

// DeletePayment reverses a payment (POST /Payments/{PaymentID} with Status
// DELETED), carrying idempotencyKey. Xero then owes the invoice again.
func (c *Client) DeletePayment(ctx context.Context, paymentID, idempotencyKey string) (Payment, error) {
	if !isGUID(paymentID) {
		return Payment{}, fmt.Errorf("xero: DeletePayment: payment id %q is not a GUID", clip(paymentID, 64))
	}
	body := struct {
		Status string `json:"Status"`
	}{billing.PaymentDeleted}
	r, err := c.jsonRequest(http.MethodPost, c.endpoint("/Payments/"+url.PathEscape(paymentID), nil), idempotencyKey, body)
	if err != nil {
		return Payment{}, err
	}
	return c.onePayment(ctx, r, "POST /Payments/{PaymentID}")
}

// GetPayment fetches one payment (GET /Payments/{PaymentID}).
func (c *Client) GetPayment(ctx context.Context, paymentID string) (Payment, error) {
	if !isGUID(paymentID) {
		return Payment{}, fmt.Errorf("xero: GetPayment: payment id %q is not a GUID", clip(paymentID, 64))
	}
	r, err := c.jsonRequest(http.MethodGet, c.endpoint("/Payments/"+url.PathEscape(paymentID), nil), "", nil)
	if err != nil {
		return Payment{}, err
	}
	return c.onePayment(ctx, r, "GET /Payments/{PaymentID}")
}

// FindPayments returns the payments of the invoice with this reference
// (GET /Payments?where=Invoice.InvoiceID==Guid("...")&&Reference=="..."),
// deleted ones included, following pages. An empty reference matches every
// payment of the invoice. It is how a payment whose answer was lost finds
// what Xero recorded. Each record is read on its own: one that cannot be
// taken is in failed.
func (c *Client) FindPayments(ctx context.Context, invoiceID, reference string) (payments []Payment, failed []*MoneyRecordError, err error) {
	if !isGUID(invoiceID) {
		return nil, nil, fmt.Errorf("xero: FindPayments: invoice id %q is not a GUID", clip(invoiceID, 64))
	}
	where := guidWhere("Invoice.InvoiceID", invoiceID)
	if reference != "" {
		where += `&&Reference=="` + escapeWhere(reference) + `"`
	}
	return c.listPayments(ctx, where)
}

// FindRefunds returns the refunds of the credit note with this reference
// (GET /Payments?where=CreditNote.CreditNoteID==Guid("...")&&Reference==
// "..."), deleted ones included, following pages, as FindPayments does for
// an invoice.
func (c *Client) FindRefunds(ctx context.Context, creditNoteID, reference string) (payments []Payment, failed []*MoneyRecordError, err error) {
	if !isGUID(creditNoteID) {
		return nil, nil, fmt.Errorf("xero: FindRefunds: credit note id %q is not a GUID", clip(creditNoteID, 64))
	}
	where := guidWhere("CreditNote.CreditNoteID", creditNoteID)
	if reference != "" {
		where += `&&Reference=="` + escapeWhere(reference) + `"`
	}
	return c.listPayments(ctx, where)
}

// PaymentsModifiedSince returns page (from 1) of the organisation's
// payments modified at or after since (GET /Payments with
// If-Modified-Since, read in UTC to the second), in pages of Xero's largest
// size, and whether another page follows.
func (c *Client) PaymentsModifiedSince(ctx context.Context, since time.Time, page int) (payments []Payment, failed []*MoneyRecordError, more bool, err error) {
	if page < 1 {
		return nil, nil, false, errors.New("xero: PaymentsModifiedSince: page starts at 1")
	}
	q := pagedQuery("", page)
	r := request{method: http.MethodGet, url: c.endpoint("/Payments", q), tenant: true, ifModifiedSince: modifiedSince(since)}
	res, raws, more, err := c.getList(ctx, r, "Payments", page)
	if err != nil {
		return nil, nil, false, err
	}
	payments, failed = readMoneyRecords(ctx, c, r, res, raws, "payment", "PaymentID", func(p *Payment) *[]string { return &p.Warnings })
	return payments, failed, more, nil
}

// listPayments reads every page of GET /Payments?where=...
func (c *Client) listPayments(ctx context.Context, where string) ([]Payment, []*MoneyRecordError, error) {
	var (
		all    []Payment
		failed []*MoneyRecordError
	)
	for p := 1; ; p++ {
		r := request{method: http.MethodGet, url: c.endpoint("/Payments", pagedQuery(where, p)), tenant: true}
		res, raws, more, err := c.getList(ctx, r, "Payments", p)
		if err != nil {
			return nil, nil, err
		}
		got, bad := readMoneyRecords(ctx, c, r, res, raws, "payment", "PaymentID", func(p *Payment) *[]string { return &p.Warnings })
		all, failed = append(all, got...), append(failed, bad...)
		if !more {
			return all, failed, nil
		}
	}
}

// VoidInvoice voids an AUTHORISED invoice without payments
// (POST /Invoices/{InvoiceID} with Status VOIDED), carrying idempotencyKey,
// and returns the invoice as Xero then holds it. Xero refuses an invoice
// with payments (a 400 *APIError saying so): reverse them first.
func (c *Client) VoidInvoice(ctx context.Context, invoiceID, idempotencyKey string) (Invoice, error) {
	if !isGUID(invoiceID) {
		return Invoice{}, fmt.Errorf("xero: VoidInvoice: invoice id %q is not a GUID", clip(invoiceID, 64))
	}
	body := invoicesBody{[]Invoice{{InvoiceID: invoiceID, Status: billing.StatusVoided}}}
	r, err := c.jsonRequest(http.MethodPost, c.endpoint("/Invoices/"+url.PathEscape(invoiceID), nil), idempotencyKey, body)
	if err != nil {
		return Invoice{}, err
	}
	res, recs, err := c.records(ctx, r)
	if err != nil {
		return Invoice{}, err
	}
	if len(recs.Invoices) == 0 {
		return Invoice{}, errors.New("xero: POST /Invoices/{InvoiceID}: the response holds no invoice")
	}
	var inv Invoice
	if err := c.readRecord(ctx, r, res, recs.Invoices[0], &inv, &inv.Warnings); err != nil {
		return Invoice{}, err
	}
	if !strings.EqualFold(inv.InvoiceID, invoiceID) {
		return Invoice{}, errors.New("xero: POST /Invoices/{InvoiceID}: the response holds another invoice")
	}
	return inv, nil
}
