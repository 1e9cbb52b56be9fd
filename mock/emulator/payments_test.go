package emulator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Decoded payment answers, written for the tests.
type paymentJSON struct {
	PaymentID             string
	PaymentType           string
	Status                string
	Date                  string
	Amount                json.Number
	BankAmount            json.Number
	Reference             string
	UpdatedDateUTC        string
	HasValidationErrors   bool
	StatusAttributeString string
	ValidationErrors      []struct{ Message string }
	Account               struct{ AccountID, Code, Name string }
	Invoice               struct {
		Type, InvoiceID, InvoiceNumber, Status string
		AmountDue, AmountPaid                  json.Number
	}
	CreditNote struct{ CreditNoteID, CreditNoteNumber string }
}

type paymentsJSON struct {
	Payments   []paymentJSON
	Pagination *struct{ Page, PageSize, PageCount, ItemCount int } `json:"pagination"`
}

func (p paymentJSON) messages() []string {
	var out []string
	for _, v := range p.ValidationErrors {
		out = append(out, v.Message)
	}
	return out
}

func paymentsBody(payments ...map[string]any) map[string]any {
	return map[string]any{"Payments": payments}
}

// payment is a payment of amount against invoiceID into the demo bank
// account (090).
func payment(invoiceID, amount string) map[string]any {
	return map[string]any{
		"Invoice":   map[string]any{"InvoiceID": invoiceID},
		"Account":   map[string]any{"Code": "090"},
		"Date":      "2026-02-02",
		"Amount":    json.Number(amount),
		"Reference": "Stripe ch_1",
	}
}

// pay makes one payment through the API and returns it.
func (a *api) pay(body map[string]any) paymentJSON {
	a.t.Helper()
	var out paymentsJSON
	resp := a.call(http.MethodPut, "/Payments", paymentsBody(body), &out)
	require.Equal(a.t, http.StatusOK, resp.StatusCode)
	require.Len(a.t, out.Payments, 1)
	return out.Payments[0]
}

func (a *api) getInvoice(id string) invoiceJSON {
	a.t.Helper()
	var out invoicesJSON
	resp := a.call(http.MethodGet, "/Invoices/"+id, nil, &out)
	require.Equal(a.t, http.StatusOK, resp.StatusCode)
	require.Len(a.t, out.Invoices, 1)
	return out.Invoices[0]
}

// A payment is applied, or refused with nothing recorded, by Xero's rules.
// The invoice (2 × 10.00 + 15%) has 23.00 due.
func TestPaymentRules(t *testing.T) {
	tests := []struct {
		name   string
		change func(p map[string]any, a *api, inv invoiceJSON)
		// prepare puts the invoice in the state the case needs.
		prepare func(t *testing.T, a *api, inv *invoiceJSON)
		want    string // refusal message; "" when accepted
		status  string // the invoice's status after an accepted payment
		due     string
	}{
		{name: "partial", change: func(p map[string]any, _ *api, _ invoiceJSON) { p["Amount"] = json.Number("10.00") }, status: "AUTHORISED", due: "13.00"},
		{name: "in full", status: "PAID", due: "0.00"},
		{name: "amount as a string, rounded to cents", change: func(p map[string]any, _ *api, _ invoiceJSON) { p["Amount"] = "22.996" }, status: "PAID", due: "0.00"},
		{name: "by invoice number", change: func(p map[string]any, _ *api, inv invoiceJSON) {
			p["Invoice"] = map[string]any{"InvoiceNumber": inv.InvoiceNumber}
		}, status: "PAID", due: "0.00"},
		{name: "number at the top level", change: func(p map[string]any, _ *api, inv invoiceJSON) {
			delete(p, "Invoice")
			p["InvoiceNumber"] = inv.InvoiceNumber
		}, status: "PAID", due: "0.00"},
		{name: "account by id", change: func(p map[string]any, a *api, _ invoiceJSON) {
			p["Account"] = map[string]any{"AccountID": a.accountID("090")}
		}, status: "PAID", due: "0.00"},
		{name: "account enabled for payments", change: func(p map[string]any, _ *api, _ invoiceJSON) {
			p["Account"] = map[string]any{"Code": "880"}
		}, status: "PAID", due: "0.00"},
		{name: "overpayment", change: func(p map[string]any, _ *api, _ invoiceJSON) { p["Amount"] = json.Number("23.01") },
			want: "Payment amount exceeds the amount outstanding on this document"},
		{name: "overpayment after a partial one", prepare: func(t *testing.T, a *api, inv *invoiceJSON) {
			a.pay(payment(inv.InvoiceID, "20"))
		}, change: func(p map[string]any, _ *api, _ invoiceJSON) { p["Amount"] = json.Number("3.01") },
			want: "Payment amount exceeds the amount outstanding on this document"},
		{name: "zero", change: func(p map[string]any, _ *api, _ invoiceJSON) { p["Amount"] = json.Number("0.004") },
			want: "Payment amount must be greater than zero"},
		{name: "negative", change: func(p map[string]any, _ *api, _ invoiceJSON) { p["Amount"] = json.Number("-5") },
			want: "Payment amount must be greater than zero"},
		{name: "no amount", change: func(p map[string]any, _ *api, _ invoiceJSON) { delete(p, "Amount") },
			want: "Payment amount must be greater than zero"},
		{name: "revenue account", change: func(p map[string]any, _ *api, _ invoiceJSON) { p["Account"] = map[string]any{"Code": "200"} },
			want: "Account type is invalid for making a payment to/from"},
		{name: "account no longer enabled for payments", prepare: func(t *testing.T, a *api, _ *invoiceJSON) {
			require.NoError(t, a.e.SetAccountPayable("880", false))
		}, change: func(p map[string]any, _ *api, _ invoiceJSON) { p["Account"] = map[string]any{"Code": "880"} },
			want: "Account type is invalid for making a payment to/from"},
		{name: "archived bank account", prepare: func(t *testing.T, a *api, _ *invoiceJSON) {
			require.NoError(t, a.e.ArchiveAccount("090"))
		}, want: "Account type is invalid for making a payment to/from"},
		{name: "unknown account", change: func(p map[string]any, _ *api, _ invoiceJSON) { p["Account"] = map[string]any{"Code": "999"} },
			want: "Account could not be found"},
		{name: "no account", change: func(p map[string]any, _ *api, _ invoiceJSON) { delete(p, "Account") },
			want: "You must specify an Account code or Account ID for the payment"},
		{name: "unknown invoice", change: func(p map[string]any, _ *api, _ invoiceJSON) {
			p["Invoice"] = map[string]any{"InvoiceID": "0e5a1b2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c"}
		}, want: "Invoice could not be found"},
		{name: "no invoice", change: func(p map[string]any, _ *api, _ invoiceJSON) { delete(p, "Invoice") },
			want: "A payment must be applied to an Invoice or a Credit Note"},
		{name: "paid invoice", prepare: func(t *testing.T, a *api, inv *invoiceJSON) {
			require.NoError(t, a.e.PayInvoice(t.Context(), inv.InvoiceID, decimal.NewFromInt(23), billing.Date{}))
		}, change: func(p map[string]any, _ *api, _ invoiceJSON) { p["Amount"] = json.Number("1") },
			want: "Payments can only be made against Authorised documents"},
		{name: "voided invoice", prepare: func(t *testing.T, a *api, inv *invoiceJSON) {
			require.NoError(t, a.e.VoidInvoice(t.Context(), inv.InvoiceID))
		}, want: "Payments can only be made against Authorised documents"},
		{name: "draft invoice", prepare: func(t *testing.T, a *api, inv *invoiceJSON) {
			draft := invoice(inv.Contact.ContactID)
			draft["Status"] = "DRAFT"
			var out invoicesJSON
			require.Equal(t, http.StatusOK, a.call(http.MethodPut, "/Invoices", invoicesBody(draft), &out).StatusCode)
			*inv = out.Invoices[0]
		}, want: "Payments can only be made against Authorised documents"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t, emulator.Options{PaymentAccountCodes: []string{"880"}})
			inv := a.createInvoice(a.createContact("Ann", "", ""))
			if tt.prepare != nil {
				tt.prepare(t, a, &inv)
			}
			before, _ := a.e.Invoice(inv.InvoiceID)
			paymentsBefore := len(a.e.Payments())
			p := payment(inv.InvoiceID, "23.00")
			if tt.change != nil {
				tt.change(p, a, inv)
			}
			resp, raw := a.raw(http.MethodPut, "/Payments", paymentsBody(p))
			if tt.want != "" {
				require.Equal(t, http.StatusBadRequest, resp.StatusCode, string(raw))
				var e errorJSON
				require.NoError(t, json.Unmarshal(raw, &e))
				assert.Equal(t, "ValidationException", e.Type)
				assert.Contains(t, e.messages(), tt.want)
				assert.Len(t, a.e.Payments(), paymentsBefore, "nothing recorded")
				after, _ := a.e.Invoice(inv.InvoiceID)
				assert.Equal(t, before, after, "the invoice is untouched")
				return
			}
			require.Equal(t, http.StatusOK, resp.StatusCode, string(raw))
			var out paymentsJSON
			require.NoError(t, json.Unmarshal(raw, &out))
			require.Len(t, out.Payments, 1)
			got := out.Payments[0]
			assert.Equal(t, "AUTHORISED", got.Status)
			assert.Equal(t, "ACCRECPAYMENT", got.PaymentType)
			assert.Equal(t, "Stripe ch_1", got.Reference)
			assert.Equal(t, "/Date(1769990400000+0000)/", got.Date, "2026-02-02")
			assert.Equal(t, inv.InvoiceID, got.Invoice.InvoiceID)
			assert.Equal(t, tt.due, got.Invoice.AmountDue.String(), "the answer shows the invoice after the payment")

			view := a.getInvoice(inv.InvoiceID)
			assert.Equal(t, tt.status, view.Status)
			assert.Equal(t, tt.due, view.AmountDue.String())
			paid := decimal.RequireFromString("23").Sub(decimal.RequireFromString(tt.due)).StringFixed(2)
			assert.Equal(t, paid, view.AmountPaid.String())
			if tt.status == "PAID" {
				assert.Equal(t, "/Date(1769990400000+0000)/", view.FullyPaidOnDate)
			} else {
				assert.Empty(t, view.FullyPaidOnDate)
			}
			stored, ok := a.e.Payment(got.PaymentID)
			require.True(t, ok)
			assert.Equal(t, inv.InvoiceID, stored.InvoiceID)
			assert.False(t, stored.ByHand)
		})
	}
}

// accountID returns the AccountID of the account with this code.
func (a *api) accountID(code string) string {
	a.t.Helper()
	var out struct{ Accounts []struct{ AccountID string } }
	resp := a.call(http.MethodGet, "/Accounts?"+url.Values{"where": {`Code=="` + code + `"`}}.Encode(), nil, &out)
	require.Equal(a.t, http.StatusOK, resp.StatusCode)
	require.Len(a.t, out.Accounts, 1)
	return out.Accounts[0].AccountID
}

// A batch: every payment checked against what the ones before it take.
func TestPaymentBatch(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	inv := a.createInvoice(a.createContact("Ann", "", ""))
	batch := paymentsBody(payment(inv.InvoiceID, "10"), payment(inv.InvoiceID, "13"), payment(inv.InvoiceID, "0.01"))

	resp, raw := a.raw(http.MethodPut, "/Payments", batch)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "all or nothing by default")
	var e errorJSON
	require.NoError(t, json.Unmarshal(raw, &e))
	require.Len(t, e.Elements, 1, "the refused payment only")
	assert.Equal(t, []string{"Payment amount exceeds the amount outstanding on this document"}, e.messages())
	assert.Empty(t, a.e.Payments())

	var out paymentsJSON
	resp = a.call(http.MethodPut, "/Payments?summarizeErrors=false", batch, &out)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, out.Payments, 3)
	for i, want := range []string{"OK", "OK", "ERROR"} {
		assert.Equal(t, want, out.Payments[i].StatusAttributeString, i)
	}
	assert.Equal(t, "00000000-0000-0000-0000-000000000000", out.Payments[2].PaymentID)
	assert.True(t, out.Payments[2].HasValidationErrors)
	assert.Equal(t, []string{"Payment amount exceeds the amount outstanding on this document"}, out.Payments[2].messages())
	assert.Len(t, a.e.Payments(), 2)
	assert.Equal(t, "PAID", a.getInvoice(inv.InvoiceID).Status)

	// A batch of 50, each to its own invoice: one call.
	var invoices []map[string]any
	for range 50 {
		invoices = append(invoices, invoice(inv.Contact.ContactID))
	}
	var created invoicesJSON
	require.Equal(t, http.StatusOK, a.call(http.MethodPut, "/Invoices", invoicesBody(invoices...), &created).StatusCode)
	var many []map[string]any
	for _, c := range created.Invoices {
		many = append(many, payment(c.InvoiceID, "23"))
	}
	before := a.e.CallCounts()["PUT /Payments"]
	require.Equal(t, http.StatusOK, a.call(http.MethodPut, "/Payments", paymentsBody(many...), &out).StatusCode)
	assert.Len(t, out.Payments, 50)
	assert.Equal(t, before+1, a.e.CallCounts()["PUT /Payments"])
	assert.Len(t, a.e.Payments(), 52)
}

// Deleting a payment gives the invoice its amount back.
func TestDeletePayment(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	inv := a.createInvoice(a.createContact("Ann", "", ""))
	p := a.pay(payment(inv.InvoiceID, "23"))
	require.Equal(t, "PAID", a.getInvoice(inv.InvoiceID).Status)

	tests := []struct {
		name   string
		body   any
		status int
		want   string
	}{
		{"not a deletion", map[string]any{"Status": "AUTHORISED"}, http.StatusBadRequest, "A payment can only be deleted: send a Status of DELETED"},
		{"deleted", map[string]any{"Status": "DELETED"}, http.StatusOK, ""},
		{"deleted again", map[string]any{"Payments": []map[string]any{{"Status": "DELETED"}}}, http.StatusBadRequest, "This payment has already been deleted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, raw := a.raw(http.MethodPost, "/Payments/"+p.PaymentID, tt.body)
			require.Equal(t, tt.status, resp.StatusCode, string(raw))
			if tt.want != "" {
				var e errorJSON
				require.NoError(t, json.Unmarshal(raw, &e))
				assert.Equal(t, []string{tt.want}, e.messages())
				return
			}
			var out paymentsJSON
			require.NoError(t, json.Unmarshal(raw, &out))
			assert.Equal(t, "DELETED", out.Payments[0].Status)
		})
	}
	view := a.getInvoice(inv.InvoiceID)
	assert.Equal(t, "AUTHORISED", view.Status, "restored")
	assert.Equal(t, "23.00", view.AmountDue.String())
	assert.Equal(t, "0.00", view.AmountPaid.String())
	assert.Empty(t, view.FullyPaidOnDate)
	got, _ := a.e.Invoice(inv.InvoiceID)
	assert.Empty(t, got.Payments, "a deleted payment is not on the invoice")

	var listed paymentsJSON
	a.call(http.MethodGet, "/Payments", nil, &listed)
	require.Len(t, listed.Payments, 1, "GET /Payments still lists it")
	assert.Equal(t, "DELETED", listed.Payments[0].Status)

	resp, _ := a.raw(http.MethodPost, "/Payments/0e5a1b2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c", map[string]any{"Status": "DELETED"})
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	// A payment can be made again, and deleted by hand in Xero.
	again := a.pay(payment(inv.InvoiceID, "5"))
	require.NoError(t, a.e.DeletePayment(t.Context(), again.PaymentID))
	assert.ErrorIs(t, a.e.DeletePayment(t.Context(), again.PaymentID), emulator.ErrInvalid)
	assert.ErrorIs(t, a.e.DeletePayment(t.Context(), "0e5a1b2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c"), emulator.ErrNotFound)
	assert.Equal(t, "23.00", a.getInvoice(inv.InvoiceID).AmountDue.String())

	// A reconciled payment cannot be deleted.
	rec := payment(inv.InvoiceID, "5")
	rec["IsReconciled"] = true
	reconciled := a.pay(rec)
	resp, raw := a.raw(http.MethodPost, "/Payments/"+reconciled.PaymentID, map[string]any{"Status": "DELETED"})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, string(raw), "This payment has been reconciled and cannot be deleted")
}

// GET /Payments: the filters a client resolves a payment with.
func TestGetPayments(t *testing.T) {
	clk := newClock()
	a := newAPI(t, emulator.Options{Now: clk.Now, TokenTTL: 24 * time.Hour})
	contact := a.createContact("Ann", "", "")
	first, second := a.createInvoice(contact), a.createInvoice(contact)
	p1 := payment(first.InvoiceID, "10")
	p1["Reference"] = "member-1 2026"
	a.pay(p1)
	clk.Add(time.Hour)
	p2 := payment(second.InvoiceID, "5")
	p2["Reference"] = "member-2 2026"
	a.pay(p2)
	require.NoError(t, a.e.PayInvoice(t.Context(), second.InvoiceID, decimal.NewFromInt(1), billing.Date{}))

	tests := []struct {
		name   string
		query  url.Values
		since  time.Time
		refs   []string
		paging bool
	}{
		{name: "all", refs: []string{"member-1 2026", "member-2 2026", ""}},
		{name: "by reference", query: url.Values{"where": {`Reference=="MEMBER-1 2026"`}}, refs: []string{"member-1 2026"}},
		{name: "by invoice", query: url.Values{"where": {`Invoice.InvoiceID==Guid("` + second.InvoiceID + `")`}}, refs: []string{"member-2 2026", ""}},
		{name: "by reference and invoice", query: url.Values{"where": {`Reference=="member-2 2026" AND Invoice.InvoiceID==Guid("` + second.InvoiceID + `")`}}, refs: []string{"member-2 2026"}},
		{name: "by amount", query: url.Values{"where": {`Amount>=5 AND Status=="AUTHORISED"`}}, refs: []string{"member-1 2026", "member-2 2026"}},
		{name: "modified since", since: clk.Now(), refs: []string{"member-2 2026", ""}},
		{name: "a page", query: url.Values{"page": {"2"}, "pageSize": {"2"}}, refs: []string{""}, paging: true},
		{name: "ordered", query: url.Values{"order": {"Amount DESC"}}, refs: []string{"member-1 2026", "member-2 2026", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := a.request(t.Context(), http.MethodGet, "/Payments?"+tt.query.Encode(), nil)
			if !tt.since.IsZero() {
				req.Header.Set("If-Modified-Since", tt.since.Format(time.RFC3339))
			}
			resp, raw := a.send(req)
			require.Equal(t, http.StatusOK, resp.StatusCode, string(raw))
			var out paymentsJSON
			require.NoError(t, json.Unmarshal(raw, &out))
			var refs []string
			for _, p := range out.Payments {
				refs = append(refs, p.Reference)
			}
			assert.Equal(t, tt.refs, refs)
			if tt.paging {
				require.NotNil(t, out.Pagination)
				assert.Equal(t, 3, out.Pagination.ItemCount)
				assert.Equal(t, 2, out.Pagination.PageCount)
			}
		})
	}

	resp, _ := a.raw(http.MethodGet, "/Payments?"+url.Values{"where": {`Colour=="red"`}}.Encode(), nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)

	all := a.e.Payments()
	require.Len(t, all, 3)
	assert.True(t, all[2].ByHand, "PayInvoice is a payment made in Xero")
	assert.Equal(t, "090", all[2].AccountCode)
	var one paymentsJSON
	require.Equal(t, http.StatusOK, a.call(http.MethodGet, "/Payments/"+all[0].PaymentID, nil, &one).StatusCode)
	require.Len(t, one.Payments, 1)
	assert.Equal(t, "member-1 2026", one.Payments[0].Reference)
	assert.Equal(t, "090", one.Payments[0].Account.Code)
	assert.Equal(t, "Business Bank Account", one.Payments[0].Account.Name)
	resp, _ = a.raw(http.MethodGet, "/Payments/0e5a1b2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	// The invoice lists its payments.
	var inv struct {
		Invoices []struct {
			Payments []struct {
				PaymentID, Reference string
				Amount               json.Number
			}
		}
	}
	a.call(http.MethodGet, "/Invoices/"+second.InvoiceID, nil, &inv)
	require.Len(t, inv.Invoices[0].Payments, 2)
	assert.Equal(t, "member-2 2026", inv.Invoices[0].Payments[0].Reference)
	assert.Equal(t, "1.00", inv.Invoices[0].Payments[1].Amount.String())
}

// Payments made in Xero by hand, and the accounts they may go to.
func TestRecordPaymentByHand(t *testing.T) {
	a := newAPI(t, emulator.Options{PaymentAccountCodes: []string{"880"}})
	inv := a.createInvoice(a.createContact("Ann", "", ""))
	ctx := t.Context()

	for _, tt := range []struct {
		code             string
		payable, present bool
	}{{"090", true, true}, {"880", true, true}, {"200", false, true}, {"999", false, false}} {
		payable, ok := a.e.AccountPayable(tt.code)
		assert.Equal(t, tt.present, ok, tt.code)
		assert.Equal(t, tt.payable, payable, tt.code)
	}
	require.NoError(t, a.e.SetAccountPayable("200", true))
	payable, _ := a.e.AccountPayable("200")
	assert.True(t, payable)
	assert.ErrorIs(t, a.e.SetAccountPayable("999", true), emulator.ErrNotFound)
	var accounts struct {
		Accounts []struct {
			Code                    string
			EnablePaymentsToAccount bool
		}
	}
	a.call(http.MethodGet, "/Accounts?"+url.Values{"where": {`EnablePaymentsToAccount==true`}}.Encode(), nil, &accounts)
	var codes []string
	for _, acc := range accounts.Accounts {
		codes = append(codes, acc.Code)
		assert.True(t, acc.EnablePaymentsToAccount)
	}
	assert.Equal(t, []string{"200", "880"}, codes)

	p, err := a.e.RecordPayment(ctx, emulator.ManualPayment{InvoiceID: inv.InvoiceNumber, AccountCode: "880", Amount: decimal.RequireFromString("3"), Reference: "cash at the AGM"})
	require.NoError(t, err)
	assert.True(t, p.ByHand)
	assert.Equal(t, "880", p.AccountCode)
	assert.Equal(t, "20.00", a.getInvoice(inv.InvoiceID).AmountDue.String())

	for _, tt := range []struct {
		name string
		mp   emulator.ManualPayment
		want error
	}{
		{"over what is due", emulator.ManualPayment{InvoiceID: inv.InvoiceID, Amount: decimal.RequireFromString("20.01")}, emulator.ErrInvalid},
		{"not payable", emulator.ManualPayment{InvoiceID: inv.InvoiceID, AccountCode: "260", Amount: decimal.NewFromInt(1)}, emulator.ErrInvalid},
		{"unknown invoice", emulator.ManualPayment{InvoiceID: "INV-9999", Amount: decimal.NewFromInt(1)}, emulator.ErrNotFound},
		{"unknown credit note", emulator.ManualPayment{CreditNoteID: "CN-9999", Amount: decimal.NewFromInt(1)}, emulator.ErrNotFound},
		{"no document", emulator.ManualPayment{Amount: decimal.NewFromInt(1)}, emulator.ErrInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.e.RecordPayment(ctx, tt.mp)
			assert.ErrorIs(t, err, tt.want)
			assert.Len(t, a.e.Payments(), 1)
		})
	}
}

// A lost answer on each new write: Xero applied it; the retry with the
// same Idempotency-Key gets the first answer and changes nothing more.
func TestLostAnswersOnMoneyWrites(t *testing.T) {
	type write struct {
		name, method string
		// prepare makes what the write needs and returns its path and body.
		prepare func(a *api, inv invoiceJSON) (string, any)
		// state is what a duplicate would change.
		state func(a *api) any
	}
	moneyState := func(a *api) any {
		inv := a.e.Invoices()[0]
		var credit []string
		for _, cn := range a.e.CreditNotes() {
			credit = append(credit, cn.Status+" "+cn.RemainingCredit.String())
		}
		return []any{len(a.e.Payments()), inv.Status, inv.AmountDue.String(), credit}
	}
	writes := []write{
		{"PUT /Payments", http.MethodPut, func(_ *api, inv invoiceJSON) (string, any) {
			return "/Payments", paymentsBody(payment(inv.InvoiceID, "5"))
		}, moneyState},
		{"POST /Payments/{PaymentID}", http.MethodPost, func(a *api, inv invoiceJSON) (string, any) {
			p := a.pay(payment(inv.InvoiceID, "5"))
			return "/Payments/" + p.PaymentID, map[string]any{"Status": "DELETED"}
		}, moneyState},
		{"PUT /CreditNotes", http.MethodPut, func(_ *api, inv invoiceJSON) (string, any) {
			return "/CreditNotes", creditNotesBody(creditNote(inv.Contact.ContactID, "5"))
		}, moneyState},
		{"PUT /CreditNotes/{CreditNoteID}/Allocations", http.MethodPut, func(a *api, inv invoiceJSON) (string, any) {
			cn := a.createCreditNote(creditNote(inv.Contact.ContactID, "10"))
			return "/CreditNotes/" + cn.CreditNoteID + "/Allocations", allocationsBody(inv.InvoiceID, "5")
		}, moneyState},
		{"refund", http.MethodPut, func(a *api, inv invoiceJSON) (string, any) {
			cn := a.createCreditNote(creditNote(inv.Contact.ContactID, "10"))
			return "/Payments", paymentsBody(refund(cn.CreditNoteID, "5"))
		}, moneyState},
		{"void", http.MethodPost, func(_ *api, inv invoiceJSON) (string, any) {
			return "/Invoices/" + inv.InvoiceID, invoicesBody(map[string]any{"InvoiceID": inv.InvoiceID, "Status": "VOIDED"})
		}, moneyState},
	}
	losses := []emulator.AnswerLoss{emulator.AnswerDropped, emulator.AnswerTimedOut, emulator.AnswerGarbled}
	for _, w := range writes {
		for _, loss := range losses {
			t.Run(w.name+" "+lossName(loss), func(t *testing.T) {
				a := newAPI(t, emulator.Options{})
				inv := a.createInvoice(a.createContact("Ann", "", ""))
				path, body := w.prepare(a, inv)
				before := w.state(a)
				a.e.InjectFault(emulator.Fault{Path: emulator.APIPath + path, LoseAnswer: loss})
				send := func() (*http.Response, error) {
					req := a.request(t.Context(), w.method, path, body)
					req.Header.Set("Idempotency-Key", "lost-answer")
					return a.hc.Do(req)
				}
				resp, err := send()
				if loss == emulator.AnswerDropped {
					require.ErrorIs(t, err, emulator.ErrDropped)
				} else {
					require.NoError(t, err)
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					assert.False(t, resp.StatusCode == http.StatusOK && json.Valid(b), "the answer is lost")
				}
				applied := w.state(a)
				require.NotEqual(t, before, applied, "Xero has the change")

				resp, err = send()
				require.NoError(t, err)
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				assert.Equal(t, http.StatusOK, resp.StatusCode, string(b))
				assert.True(t, json.Valid(b), "the retry gets the first answer, whole")
				assert.Equal(t, applied, w.state(a), "and changes nothing more")
			})
		}
	}
}

func lossName(l emulator.AnswerLoss) string {
	return map[emulator.AnswerLoss]string{emulator.AnswerDropped: "dropped", emulator.AnswerTimedOut: "504", emulator.AnswerGarbled: "garbled"}[l]
}

// The new calls count against the limits and in CallCounts.
func TestMoneyCallsAreCounted(t *testing.T) {
	a := newAPI(t, emulator.Options{RateLimit: emulator.Limits{PerMinute: 4}})
	before := a.e.CallCounts()
	for _, path := range []string{"/Payments", "/CreditNotes", "/Payments"} {
		resp, _ := a.raw(http.MethodGet, path, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	resp, _ := a.raw(http.MethodPut, "/CreditNotes/0e5a1b2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c/Allocations", allocationsBody("0e5a1b2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c", "1"))
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "0", resp.Header.Get("X-MinLimit-Remaining"))
	resp, _ = a.raw(http.MethodPut, "/Payments", paymentsBody(payment("0e5a1b2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c", "1")))
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "the fifth call in the minute")

	after := a.e.CallCounts()
	assert.Equal(t, 2, after["GET /Payments"]-before["GET /Payments"])
	assert.Equal(t, 1, after["GET /CreditNotes"]-before["GET /CreditNotes"])
	assert.Equal(t, 1, after["PUT /CreditNotes/{CreditNoteID}/Allocations"]-before["PUT /CreditNotes/{CreditNoteID}/Allocations"])
	assert.Equal(t, 1, after["PUT /Payments"]-before["PUT /Payments"])
}

// Options.MaxBatch and Options.PartialBatchOnError hold for the new writes
// as for invoices.
func TestMoneyWriteBatchOptions(t *testing.T) {
	a := newAPI(t, emulator.Options{MaxBatch: 2, PartialBatchOnError: true, SequentialIDs: true})
	contact := a.createContact("Ann", "", "")
	inv := a.createInvoice(contact)
	cn := a.createCreditNote(creditNote(contact, "10"))
	assert.Equal(t, "00000000-0000-4000-b000-000000000001", cn.CreditNoteID, "credit notes have sequential ids of their own")

	three := []struct {
		path string
		body any
	}{
		{"/Payments", paymentsBody(payment(inv.InvoiceID, "1"), payment(inv.InvoiceID, "1"), payment(inv.InvoiceID, "1"))},
		{"/CreditNotes", creditNotesBody(creditNote(contact, "1"), creditNote(contact, "1"), creditNote(contact, "1"))},
		{"/CreditNotes/" + cn.CreditNoteID + "/Allocations", map[string]any{"Allocations": []map[string]any{
			{"Invoice": map[string]any{"InvoiceID": inv.InvoiceID}, "Amount": 1, "Date": "2026-02-04"},
			{"Invoice": map[string]any{"InvoiceID": inv.InvoiceID}, "Amount": 1, "Date": "2026-02-04"},
			{"Invoice": map[string]any{"InvoiceID": inv.InvoiceID}, "Amount": 1, "Date": "2026-02-04"},
		}}},
	}
	for _, tt := range three {
		resp, raw := a.raw(http.MethodPut, tt.path, tt.body)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, tt.path)
		assert.Contains(t, string(raw), "at most 2 records", tt.path)
	}
	assert.Empty(t, a.e.Payments())
	assert.Len(t, a.e.CreditNotes(), 1)

	// A 400 that saved the valid payment all the same, as Xero has been
	// reported to.
	resp, _ := a.raw(http.MethodPut, "/Payments", paymentsBody(payment(inv.InvoiceID, "1"), payment(inv.InvoiceID, "100")))
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Len(t, a.e.Payments(), 1)
	assert.Equal(t, "00000000-0000-4000-a000-000000000003", a.e.Payments()[0].PaymentID, "after the two line items")
	assert.Equal(t, "22.00", a.getInvoice(inv.InvoiceID).AmountDue.String())
}
