package emulator_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/webhook"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type creditNoteJSON struct {
	CreditNoteID          string
	CreditNoteNumber      string
	Type                  string
	Status                string
	Reference             string
	Contact               contactJSON
	Date                  string
	FullyPaidOnDate       string
	LineItems             []lineJSON
	SubTotal              json.Number
	TotalTax              json.Number
	Total                 json.Number
	RemainingCredit       json.Number
	HasErrors             bool
	StatusAttributeString string
	ValidationErrors      []struct{ Message string }
	Allocations           []struct {
		AllocationID string
		Amount       json.Number
		Invoice      struct{ InvoiceID string }
	}
	Payments []struct {
		PaymentID string
		Amount    json.Number
	}
}

type creditNotesJSON struct {
	CreditNotes []creditNoteJSON
	Pagination  *struct{ Page, PageSize, PageCount, ItemCount int } `json:"pagination"`
}

type allocationsJSON struct {
	Allocations []struct {
		AllocationID          string
		Amount                json.Number
		Date                  string
		StatusAttributeString string
		Invoice               struct{ InvoiceID string }
		CreditNote            struct{ CreditNoteID string }
		ValidationErrors      []struct{ Message string }
	}
}

func creditNotesBody(notes ...map[string]any) map[string]any {
	return map[string]any{"CreditNotes": notes}
}

// creditNote is an AUTHORISED sales credit note for contactID of amount,
// without tax.
func creditNote(contactID, amount string) map[string]any {
	return map[string]any{
		"Type":            "ACCRECCREDIT",
		"Status":          "AUTHORISED",
		"Contact":         map[string]any{"ContactID": contactID},
		"Date":            "2026-02-03",
		"LineAmountTypes": "NoTax",
		"Reference":       "Membership cancelled",
		"LineItems": []map[string]any{
			{"Description": "Refund of membership", "Quantity": 1, "UnitAmount": json.Number(amount), "AccountCode": "200"},
		},
	}
}

func allocationsBody(invoiceID, amount string) map[string]any {
	return map[string]any{"Allocations": []map[string]any{
		{"Invoice": map[string]any{"InvoiceID": invoiceID}, "Amount": json.Number(amount), "Date": "2026-02-04"},
	}}
}

// refund is a payment of amount out of a credit note, from the bank.
func refund(creditNoteID, amount string) map[string]any {
	return map[string]any{
		"CreditNote": map[string]any{"CreditNoteID": creditNoteID},
		"Account":    map[string]any{"Code": "090"},
		"Date":       "2026-02-05",
		"Amount":     json.Number(amount),
		"Reference":  "Refund to member",
	}
}

func (a *api) createCreditNote(body map[string]any) creditNoteJSON {
	a.t.Helper()
	var out creditNotesJSON
	resp := a.call(http.MethodPut, "/CreditNotes", creditNotesBody(body), &out)
	require.Equal(a.t, http.StatusOK, resp.StatusCode)
	require.Len(a.t, out.CreditNotes, 1)
	return out.CreditNotes[0]
}

func (a *api) getCreditNote(idOrNumber string) creditNoteJSON {
	a.t.Helper()
	var out creditNotesJSON
	resp := a.call(http.MethodGet, "/CreditNotes/"+idOrNumber, nil, &out)
	require.Equal(a.t, http.StatusOK, resp.StatusCode)
	require.Len(a.t, out.CreditNotes, 1)
	return out.CreditNotes[0]
}

func TestCreateCreditNote(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	contact := a.createContact("Ann", "", "")
	taxed := creditNote(contact, "10")
	taxed["LineAmountTypes"] = "Exclusive"
	cn := a.createCreditNote(taxed)
	assert.Equal(t, "CN-0001", cn.CreditNoteNumber)
	assert.Equal(t, "ACCRECCREDIT", cn.Type)
	assert.Equal(t, "AUTHORISED", cn.Status)
	assert.Equal(t, "Membership cancelled", cn.Reference)
	assert.Equal(t, "10.00", cn.SubTotal.String())
	assert.Equal(t, "1.50", cn.TotalTax.String(), "taxed as an invoice line is")
	assert.Equal(t, "11.50", cn.Total.String())
	assert.Equal(t, "11.50", cn.RemainingCredit.String())
	assert.Equal(t, contact, cn.Contact.ContactID)
	require.Len(t, cn.LineItems, 1)

	byName := creditNote("", "5")
	byName["Contact"] = map[string]any{"Name": "New Member"}
	byName["CreditNoteNumber"] = "CR-77"
	second := a.createCreditNote(byName)
	assert.Equal(t, "CR-77", second.CreditNoteNumber)
	assert.NotEmpty(t, second.Contact.ContactID, "a new name creates a contact, as for invoices")

	assert.Equal(t, cn.CreditNoteID, a.getCreditNote(cn.CreditNoteID).CreditNoteID)
	assert.Equal(t, second.CreditNoteID, a.getCreditNote("cr-77").CreditNoteID, "by number too")
	resp, _ := a.raw(http.MethodGet, "/CreditNotes/0e5a1b2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	stored, ok := a.e.CreditNote("CN-0001")
	require.True(t, ok)
	assert.Equal(t, "11.50", stored.RemainingCredit.StringFixed(2))
	assert.Len(t, a.e.CreditNotes(), 2)
}

func TestCreateCreditNoteValidation(t *testing.T) {
	tests := []struct {
		name   string
		change func(cn map[string]any)
		want   string
	}{
		{"no type", func(cn map[string]any) { delete(cn, "Type") }, "Credit Note Type must be specified."},
		{"purchase credit note", func(cn map[string]any) { cn["Type"] = "ACCPAYCREDIT" }, "The emulator supports sales credit notes (Type ACCRECCREDIT) only."},
		{"created paid", func(cn map[string]any) { cn["Status"] = "PAID" }, "Credit notes can only be created with a status of DRAFT, SUBMITTED or AUTHORISED."},
		{"no lines", func(cn map[string]any) { delete(cn, "LineItems") }, "Credit notes must have at least one line item."},
		{"number taken", func(cn map[string]any) { cn["CreditNoteNumber"] = "CN-0001" }, "Credit Note # must be unique."},
		{"unknown contact", func(cn map[string]any) {
			cn["Contact"] = map[string]any{"ContactID": "0e5a1b2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c"}
		}, "The contact with ContactID 0e5a1b2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c could not be found."},
		{"bad account", func(cn map[string]any) {
			cn["LineItems"] = []map[string]any{{"Description": "x", "UnitAmount": 1, "AccountCode": "090"}}
		}, "Account code '090' is not a valid code for this document."},
		{"currency not added", func(cn map[string]any) { cn["CurrencyCode"] = "EUR" }, "The currency EUR has not been added to this organisation."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t, emulator.Options{})
			contact := a.createContact("Ann", "", "")
			a.createCreditNote(creditNote(contact, "1"))
			body := creditNote(contact, "5")
			tt.change(body)
			resp, raw := a.raw(http.MethodPut, "/CreditNotes", creditNotesBody(body))
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, string(raw))
			var e errorJSON
			require.NoError(t, json.Unmarshal(raw, &e))
			assert.Contains(t, e.messages(), tt.want)
			assert.Len(t, a.e.CreditNotes(), 1, "nothing saved")

			var out creditNotesJSON
			require.Equal(t, http.StatusOK, a.call(http.MethodPut, "/CreditNotes?summarizeErrors=false", creditNotesBody(creditNote(contact, "2"), body), &out).StatusCode)
			require.Len(t, out.CreditNotes, 2)
			assert.Equal(t, "OK", out.CreditNotes[0].StatusAttributeString)
			assert.Equal(t, "ERROR", out.CreditNotes[1].StatusAttributeString)
			assert.True(t, out.CreditNotes[1].HasErrors)
			assert.Len(t, a.e.CreditNotes(), 2, "the valid one is saved")
		})
	}
	a := newAPI(t, emulator.Options{})
	resp, _ := a.raw(http.MethodPut, "/CreditNotes", creditNotesBody(map[string]any{"Type": "REFUND"}))
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

// Allocating a credit note to an invoice, by Xero's rules. The invoice has
// 23.00 due, the credit note 11.50 of credit.
func TestAllocations(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, a *api, invoiceID, creditNoteID string)
		amount  string
		other   bool // the invoice is another contact's
		want    string
		// after an accepted allocation
		invoiceStatus, due, credited, cnStatus, remaining string
	}{
		{name: "part", amount: "5", invoiceStatus: "AUTHORISED", due: "18.00", credited: "5.00", cnStatus: "AUTHORISED", remaining: "6.50"},
		{name: "all the credit", amount: "11.50", invoiceStatus: "AUTHORISED", due: "11.50", credited: "11.50", cnStatus: "PAID", remaining: "0.00"},
		{name: "all that is due", prepare: func(t *testing.T, a *api, invoiceID, _ string) {
			require.NoError(t, a.e.PayInvoice(t.Context(), invoiceID, decimal.NewFromInt(20), billing.Date{}))
		}, amount: "3", invoiceStatus: "PAID", due: "0.00", credited: "3.00", cnStatus: "AUTHORISED", remaining: "8.50"},
		{name: "more than the credit", amount: "11.51", want: "The allocation amount exceeds the remaining credit on this credit note."},
		{name: "more than is due", prepare: func(t *testing.T, a *api, invoiceID, _ string) {
			require.NoError(t, a.e.PayInvoice(t.Context(), invoiceID, decimal.NewFromInt(20), billing.Date{}))
		}, amount: "3.01", want: "Credit Note cannot be allocated as amount is greater than amount outstanding"},
		{name: "paid invoice", prepare: func(t *testing.T, a *api, invoiceID, _ string) {
			require.NoError(t, a.e.PayInvoice(t.Context(), invoiceID, decimal.NewFromInt(23), billing.Date{}))
		}, amount: "1", want: "The invoice you are trying to allocate to has already been paid off"},
		{name: "voided invoice", prepare: func(t *testing.T, a *api, invoiceID, _ string) {
			require.NoError(t, a.e.VoidInvoice(t.Context(), invoiceID))
		}, amount: "1", want: "Credit notes can only be allocated to AUTHORISED invoices."},
		{name: "used-up credit note", prepare: func(t *testing.T, a *api, _, creditNoteID string) {
			a.pay(refund(creditNoteID, "11.50"))
		}, amount: "1", want: "Only AUTHORISED credit notes can be allocated."},
		{name: "another contact's invoice", other: true, amount: "1", want: "The credit note and the invoice must be for the same contact."},
		{name: "zero", amount: "0", want: "The allocation Amount must be greater than zero."},
		{name: "negative", amount: "-1", want: "The allocation Amount must be greater than zero."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t, emulator.Options{})
			contact := a.createContact("Ann", "", "")
			inv := a.createInvoice(contact)
			taxed := creditNote(contact, "10")
			taxed["LineAmountTypes"] = "Exclusive"
			cn := a.createCreditNote(taxed)
			if tt.prepare != nil {
				tt.prepare(t, a, inv.InvoiceID, cn.CreditNoteID)
			}
			target := inv.InvoiceID
			if tt.other {
				target = a.createInvoice(a.createContact("Bob", "", "")).InvoiceID
			}
			invBefore, _ := a.e.Invoice(target)
			cnBefore, _ := a.e.CreditNote(cn.CreditNoteID)
			resp, raw := a.raw(http.MethodPut, "/CreditNotes/"+cn.CreditNoteID+"/Allocations", allocationsBody(target, tt.amount))
			if tt.want != "" {
				require.Equal(t, http.StatusBadRequest, resp.StatusCode, string(raw))
				var e errorJSON
				require.NoError(t, json.Unmarshal(raw, &e))
				assert.Contains(t, e.messages(), tt.want)
				invAfter, _ := a.e.Invoice(target)
				cnAfter, _ := a.e.CreditNote(cn.CreditNoteID)
				assert.Equal(t, invBefore, invAfter, "nothing half-recorded")
				assert.Equal(t, cnBefore, cnAfter)
				return
			}
			require.Equal(t, http.StatusOK, resp.StatusCode, string(raw))
			var out allocationsJSON
			require.NoError(t, json.Unmarshal(raw, &out))
			require.Len(t, out.Allocations, 1)
			assert.NotEmpty(t, out.Allocations[0].AllocationID)
			assert.Equal(t, inv.InvoiceID, out.Allocations[0].Invoice.InvoiceID)
			assert.Equal(t, cn.CreditNoteID, out.Allocations[0].CreditNote.CreditNoteID)

			var invOut struct {
				Invoices []struct {
					Status, FullyPaidOnDate   string
					AmountDue, AmountCredited json.Number
					CreditNotes               []struct {
						CreditNoteID, CreditNoteNumber string
						AppliedAmount                  json.Number
					}
				}
			}
			a.call(http.MethodGet, "/Invoices/"+inv.InvoiceID, nil, &invOut)
			view := invOut.Invoices[0]
			assert.Equal(t, tt.invoiceStatus, view.Status)
			assert.Equal(t, tt.due, view.AmountDue.String())
			assert.Equal(t, tt.credited, view.AmountCredited.String())
			require.Len(t, view.CreditNotes, 1)
			assert.Equal(t, "CN-0001", view.CreditNotes[0].CreditNoteNumber)
			assert.Equal(t, decimal.RequireFromString(tt.amount).StringFixed(2), view.CreditNotes[0].AppliedAmount.String())
			if tt.invoiceStatus == "PAID" {
				assert.Equal(t, "/Date(1770163200000+0000)/", view.FullyPaidOnDate, "the allocation's date, 2026-02-04")
			}

			got := a.getCreditNote(cn.CreditNoteID)
			assert.Equal(t, tt.cnStatus, got.Status)
			assert.Equal(t, tt.remaining, got.RemainingCredit.String())
			require.Len(t, got.Allocations, 1)
			assert.Equal(t, inv.InvoiceID, got.Allocations[0].Invoice.InvoiceID)
		})
	}
}

// Several allocations in one request are checked against what the ones
// before them take.
func TestAllocationBatch(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	contact := a.createContact("Ann", "", "")
	first, second := a.createInvoice(contact), a.createInvoice(contact)
	cn := a.createCreditNote(creditNote(contact, "30"))
	body := map[string]any{"Allocations": []map[string]any{
		{"Invoice": map[string]any{"InvoiceID": first.InvoiceID}, "Amount": 20, "Date": "2026-02-04"},
		{"Invoice": map[string]any{"InvoiceNumber": second.InvoiceNumber}, "Amount": 10, "Date": "2026-02-04"},
		{"Invoice": map[string]any{"InvoiceID": first.InvoiceID}, "Amount": 0.01, "Date": "2026-02-04"},
	}}
	resp, _ := a.raw(http.MethodPut, "/CreditNotes/"+cn.CreditNoteID+"/Allocations", body)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "30.00", a.getCreditNote(cn.CreditNoteID).RemainingCredit.String())

	var out allocationsJSON
	require.Equal(t, http.StatusOK, a.call(http.MethodPut, "/CreditNotes/"+cn.CreditNoteID+"/Allocations?summarizeErrors=false", body, &out).StatusCode)
	require.Len(t, out.Allocations, 3)
	assert.Equal(t, "OK", out.Allocations[0].StatusAttributeString)
	assert.Equal(t, "OK", out.Allocations[1].StatusAttributeString)
	assert.Equal(t, "ERROR", out.Allocations[2].StatusAttributeString)
	got := a.getCreditNote(cn.CreditNoteID)
	assert.Equal(t, "PAID", got.Status)
	assert.Equal(t, "0.00", got.RemainingCredit.String())
	assert.Equal(t, "3.00", a.getInvoice(first.InvoiceID).AmountDue.String())
	assert.Equal(t, "13.00", a.getInvoice(second.InvoiceID).AmountDue.String())

	resp, _ = a.raw(http.MethodPut, "/CreditNotes/0e5a1b2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c/Allocations", body)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

// A refund is a payment out of the credit note.
func TestRefund(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	contact := a.createContact("Ann", "", "")
	cn := a.createCreditNote(creditNote(contact, "20"))

	p := a.pay(refund(cn.CreditNoteID, "15"))
	assert.Equal(t, "ARCREDITPAYMENT", p.PaymentType)
	assert.Equal(t, cn.CreditNoteID, p.CreditNote.CreditNoteID)
	assert.Equal(t, "ACCRECCREDIT", p.Invoice.Type, "Xero names the credit note under Invoice too")
	assert.Equal(t, cn.CreditNoteID, p.Invoice.InvoiceID)
	got := a.getCreditNote(cn.CreditNoteID)
	assert.Equal(t, "AUTHORISED", got.Status)
	assert.Equal(t, "5.00", got.RemainingCredit.String())
	require.Len(t, got.Payments, 1)

	over := refund(cn.CreditNoteID, "5.01")
	resp, raw := a.raw(http.MethodPut, "/Payments", paymentsBody(over))
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, string(raw), "Payment amount exceeds the amount outstanding on this document")

	byNumber := refund("", "5")
	byNumber["CreditNote"] = map[string]any{"CreditNoteNumber": cn.CreditNoteNumber}
	a.pay(byNumber)
	got = a.getCreditNote(cn.CreditNoteID)
	assert.Equal(t, "PAID", got.Status)
	assert.Equal(t, "0.00", got.RemainingCredit.String())
	assert.Equal(t, "/Date(1770249600000+0000)/", got.FullyPaidOnDate, "2026-02-05")

	resp, raw = a.raw(http.MethodPut, "/Payments", paymentsBody(refund(cn.CreditNoteID, "1")))
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, string(raw), "Payments can only be made against Authorised documents")

	// Deleting a refund gives the credit back.
	require.Equal(t, http.StatusOK, a.call(http.MethodPost, "/Payments/"+p.PaymentID, map[string]any{"Status": "DELETED"}, nil).StatusCode)
	got = a.getCreditNote(cn.CreditNoteID)
	assert.Equal(t, "AUTHORISED", got.Status)
	assert.Equal(t, "15.00", got.RemainingCredit.String())
	assert.Empty(t, got.FullyPaidOnDate)

	// By hand in Xero, and listed by credit note.
	_, err := a.e.RecordPayment(t.Context(), emulator.ManualPayment{CreditNoteID: cn.CreditNoteNumber, Amount: decimal.NewFromInt(2)})
	require.NoError(t, err)
	var listed paymentsJSON
	a.call(http.MethodGet, "/Payments?"+url.Values{"where": {`CreditNote.CreditNoteID==Guid("` + cn.CreditNoteID + `") AND Status=="AUTHORISED"`}}.Encode(), nil, &listed)
	assert.Len(t, listed.Payments, 2)
}

// Voids: refused once money is applied, in Xero's words.
func TestVoidWithMoneyApplied(t *testing.T) {
	const refusal = "This document cannot be edited as it has a payment or credit note allocated to it."
	tests := []struct {
		name    string
		prepare func(t *testing.T, a *api, inv invoiceJSON)
		want    string
	}{
		{name: "no payments"},
		{name: "a payment", prepare: func(t *testing.T, a *api, inv invoiceJSON) { a.pay(payment(inv.InvoiceID, "1")) }, want: refusal},
		{name: "a credit note", prepare: func(t *testing.T, a *api, inv invoiceJSON) {
			cn := a.createCreditNote(creditNote(inv.Contact.ContactID, "1"))
			require.Equal(t, http.StatusOK, a.call(http.MethodPut, "/CreditNotes/"+cn.CreditNoteID+"/Allocations", allocationsBody(inv.InvoiceID, "1"), nil).StatusCode)
		}, want: refusal},
		{name: "a payment since deleted", prepare: func(t *testing.T, a *api, inv invoiceJSON) {
			p := a.pay(payment(inv.InvoiceID, "1"))
			require.NoError(t, a.e.DeletePayment(t.Context(), p.PaymentID))
		}},
		{name: "paid", prepare: func(t *testing.T, a *api, inv invoiceJSON) { a.pay(payment(inv.InvoiceID, "23")) }, want: "Invoice not of valid status for modification"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t, emulator.Options{})
			inv := a.createInvoice(a.createContact("Ann", "", ""))
			if tt.prepare != nil {
				tt.prepare(t, a, inv)
			}
			before, _ := a.e.Invoice(inv.InvoiceID)
			resp, raw := a.raw(http.MethodPost, "/Invoices/"+inv.InvoiceID, invoicesBody(map[string]any{"InvoiceID": inv.InvoiceID, "Status": "VOIDED"}))
			if tt.want != "" {
				require.Equal(t, http.StatusBadRequest, resp.StatusCode, string(raw))
				var e errorJSON
				require.NoError(t, json.Unmarshal(raw, &e))
				assert.Equal(t, []string{tt.want}, e.messages())
				after, _ := a.e.Invoice(inv.InvoiceID)
				assert.Equal(t, before, after)
				if tt.want == refusal {
					assert.ErrorIs(t, a.e.VoidInvoice(t.Context(), inv.InvoiceID), emulator.ErrInvalid, "nor by hand")
				}
				return
			}
			require.Equal(t, http.StatusOK, resp.StatusCode, string(raw))
			view := a.getInvoice(inv.InvoiceID)
			assert.Equal(t, "VOIDED", view.Status)
			assert.Equal(t, "0.00", view.AmountDue.String())
		})
	}
}

func TestGetCreditNotes(t *testing.T) {
	clk := newClock()
	a := newAPI(t, emulator.Options{Now: clk.Now, TokenTTL: 24 * time.Hour})
	ann, bob := a.createContact("Ann", "", ""), a.createContact("Bob", "", "")
	a.createCreditNote(creditNote(ann, "10"))
	clk.Add(time.Hour)
	second := creditNote(bob, "20")
	second["Reference"] = "Overcharge"
	a.createCreditNote(second)
	draft := creditNote(ann, "5")
	draft["Status"] = "DRAFT"
	a.createCreditNote(draft)

	tests := []struct {
		name    string
		query   url.Values
		since   time.Time
		numbers []string
		lines   bool
	}{
		{name: "all", numbers: []string{"CN-0001", "CN-0002", "CN-0003"}},
		{name: "by reference", query: url.Values{"where": {`Reference=="overcharge"`}}, numbers: []string{"CN-0002"}},
		{name: "by contact and status", query: url.Values{"where": {`Contact.ContactID==Guid("` + ann + `") AND Status=="AUTHORISED"`}}, numbers: []string{"CN-0001"}},
		{name: "by remaining credit", query: url.Values{"where": {`RemainingCredit>=10 AND Type=="ACCRECCREDIT"`}}, numbers: []string{"CN-0001", "CN-0002"}},
		{name: "modified since", since: clk.Now(), numbers: []string{"CN-0002", "CN-0003"}},
		{name: "a page, with lines", query: url.Values{"page": {"1"}, "pageSize": {"2"}}, numbers: []string{"CN-0001", "CN-0002"}, lines: true},
		{name: "ordered", query: url.Values{"order": {"Total DESC"}}, numbers: []string{"CN-0002", "CN-0001", "CN-0003"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := a.request(t.Context(), http.MethodGet, "/CreditNotes?"+tt.query.Encode(), nil)
			if !tt.since.IsZero() {
				req.Header.Set("If-Modified-Since", tt.since.Format(time.RFC3339))
			}
			resp, raw := a.send(req)
			require.Equal(t, http.StatusOK, resp.StatusCode, string(raw))
			var out creditNotesJSON
			require.NoError(t, json.Unmarshal(raw, &out))
			var numbers []string
			for _, cn := range out.CreditNotes {
				numbers = append(numbers, cn.CreditNoteNumber)
				assert.Equal(t, tt.lines, len(cn.LineItems) > 0)
			}
			assert.Equal(t, tt.numbers, numbers)
			assert.Equal(t, tt.lines, out.Pagination != nil)
		})
	}
	resp, _ := a.raw(http.MethodGet, "/CreditNotes?"+url.Values{"where": {`Colour=="red"`}}.Encode(), nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

// CREDITNOTE events carry the credit note's type and status; a payment,
// an allocation or a refund is an UPDATE of what it changed.
func TestCreditNoteWebhooks(t *testing.T) {
	rc := &receiver{}
	a := newWebhookAPI(t, rc, emulator.Options{})
	ctx := t.Context()
	contact := a.createContact("Ann", "", "")
	inv := a.createInvoice(contact)
	cn := a.createCreditNote(creditNote(contact, "10"))
	require.NoError(t, a.e.FlushWebhooks(ctx))
	a.pay(payment(inv.InvoiceID, "3"))
	require.NoError(t, a.e.FlushWebhooks(ctx))
	require.Equal(t, http.StatusOK, a.call(http.MethodPut, "/CreditNotes/"+cn.CreditNoteID+"/Allocations", allocationsBody(inv.InvoiceID, "6"), nil).StatusCode)
	require.NoError(t, a.e.FlushWebhooks(ctx))
	a.pay(refund(cn.CreditNoteID, "4"))
	require.NoError(t, a.e.FlushWebhooks(ctx))

	type seen struct{ category, eventType, id, data string }
	var got []seen
	for _, p := range rc.payloads() {
		for _, ev := range p.Events {
			got = append(got, seen{ev.EventCategory, ev.EventType, ev.ResourceID, string(ev.Data)})
		}
	}
	assert.Equal(t, []seen{
		{"INVOICE", "CREATE", inv.InvoiceID, ""},
		{"CREDITNOTE", "CREATE", cn.CreditNoteID, `{"Type":"ACCRECCREDIT","Status":"AUTHORISED"}`},
		{"INVOICE", "UPDATE", inv.InvoiceID, ""},
		{"INVOICE", "UPDATE", inv.InvoiceID, ""},
		{"CREDITNOTE", "UPDATE", cn.CreditNoteID, `{"Type":"ACCRECCREDIT","Status":"AUTHORISED"}`},
		{"CREDITNOTE", "UPDATE", cn.CreditNoteID, `{"Type":"ACCRECCREDIT","Status":"PAID"}`},
	}, got)
	var last webhook.Payload
	for _, p := range rc.payloads() {
		if len(p.Events) > 0 && p.Events[0].EventCategory == emulator.CategoryCreditNote {
			last = p
		}
	}
	require.NotEmpty(t, last.Events)
	assert.Equal(t, "https://api.xero.com/api.xro/2.0/CreditNotes/"+cn.CreditNoteID, last.Events[0].ResourceURL)
}

// A credit note allocated in Xero by hand.
func TestAllocateCreditNoteByHand(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	contact := a.createContact("Ann", "", "")
	inv := a.createInvoice(contact)
	cn := a.createCreditNote(creditNote(contact, "30"))
	ctx := t.Context()

	got, err := a.e.AllocateCreditNote(ctx, cn.CreditNoteNumber, inv.InvoiceNumber, decimal.NewFromInt(20), billing.NewDate(2026, 2, 6))
	require.NoError(t, err)
	assert.NotEmpty(t, got.AllocationID)
	assert.Equal(t, inv.InvoiceID, got.InvoiceID)
	assert.Equal(t, "3.00", a.getInvoice(inv.InvoiceID).AmountDue.String())
	stored, _ := a.e.Invoice(inv.InvoiceID)
	require.Len(t, stored.Allocations, 1)
	assert.Equal(t, "20.00", stored.AmountCredited.StringFixed(2))

	for _, tt := range []struct {
		name            string
		creditNote, inv string
		amount          string
		want            error
	}{
		{"more than is due", cn.CreditNoteID, inv.InvoiceID, "3.01", emulator.ErrInvalid},
		{"unknown credit note", "CN-9999", inv.InvoiceID, "1", emulator.ErrNotFound},
		{"unknown invoice", cn.CreditNoteID, "INV-9999", "1", emulator.ErrNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.e.AllocateCreditNote(ctx, tt.creditNote, tt.inv, decimal.RequireFromString(tt.amount), billing.Date{})
			assert.ErrorIs(t, err, tt.want)
		})
	}
	assert.Equal(t, "10.00", a.getCreditNote(cn.CreditNoteID).RemainingCredit.String())
}
