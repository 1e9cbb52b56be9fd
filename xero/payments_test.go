package xero_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/xero"
)

const (
	payID   = "9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"
	payID2  = "9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2e"
	cnID    = "c1c1c1c1-0000-4000-8000-000000000001"
	ctID    = "c0ffee00-0000-4000-8000-000000000001"
	overpay = "Payment amount exceeds the amount outstanding on this document"
)

func paymentObject(id, invoiceID, status, amount, ref string) string {
	return fmt.Sprintf(`{"PaymentID":%q,"Date":"/Date(1772323200000+0000)/","Amount":%s,"BankAmount":%s,"Reference":%q,"CurrencyRate":1.000000,"PaymentType":"ACCRECPAYMENT","Status":%q,"UpdatedDateUTC":"/Date(1772330000000+0000)/","HasAccount":true,"IsReconciled":false,"Account":{"AccountID":"5690f1e8-1d02-4893-90c2-ee1a69eff942","Code":"090"},"Invoice":{"Type":"ACCREC","InvoiceID":%q,"InvoiceNumber":"INV-0002","Contact":{"ContactID":%q,"Name":"Jane"}},"HasValidationErrors":false}`,
		id, amount, amount, ref, status, invoiceID, ctID)
}

// decodeBody reads a recorded JSON body into a generic value, so a test
// sees what went on the wire (numbers stay numbers).
func decodeBody(t *testing.T, body string) map[string]any {
	t.Helper()
	var v map[string]any
	d := json.NewDecoder(strings.NewReader(body))
	d.UseNumber()
	require.NoError(t, d.Decode(&v), body)
	return v
}

func TestCreatePayments(t *testing.T) {
	h := newHarness(t)
	refused := flagged(paymentObject("00000000-0000-0000-0000-000000000000", invID, "AUTHORISED", "500.00", "Card 2"), "ERROR", overpay)
	h.handle(http.MethodPut, "/Payments", respond(200, `{"Payments":[`+paymentObject(payID, invID, "AUTHORISED", "50.00", "Card 1")+`,`+refused+`]}`))

	date := billing.NewDate(2026, time.March, 1)
	els, err := h.client.CreatePayments(context.Background(), []xero.Payment{
		{InvoiceID: invID, AccountCode: "090", Date: date, Amount: decimal.RequireFromString("50.00"), Reference: "Card 1"},
		{InvoiceID: invID, AccountCode: "090", Date: date, Amount: decimal.RequireFromString("500.00"), Reference: "Card 2"},
	}, "key-pay-1")
	require.NoError(t, err)
	require.Len(t, els, 2)
	assert.False(t, els[0].Failed())
	p := els[0].Payment
	assert.Equal(t, payID, p.PaymentID)
	assert.Equal(t, invID, p.InvoiceID)
	assert.Equal(t, "INV-0002", p.InvoiceNumber)
	assert.Equal(t, "090", p.AccountCode)
	assert.Equal(t, date, p.Date, "a calendar date, never moved")
	assert.True(t, p.Amount.Equal(decimal.RequireFromString("50.00")))
	assert.Equal(t, billing.PaymentAuthorised, p.Status)
	assert.Equal(t, xero.PaymentTypeReceived, p.PaymentType)
	assert.True(t, els[1].Failed())
	assert.Equal(t, []string{overpay}, els[1].ValidationErrors)

	calls := h.calls(http.MethodPut, "/Payments")
	require.Len(t, calls, 1)
	u, err := url.Parse(calls[0].URL)
	require.NoError(t, err)
	assert.Equal(t, "false", u.Query().Get("summarizeErrors"))
	assert.Equal(t, "key-pay-1", calls[0].Header.Get("Idempotency-Key"))
	body := decodeBody(t, calls[0].Body)
	sent := body["Payments"].([]any)
	require.Len(t, sent, 2)
	first := sent[0].(map[string]any)
	assert.Equal(t, map[string]any{"InvoiceID": invID}, first["Invoice"])
	assert.Equal(t, map[string]any{"Code": "090"}, first["Account"])
	assert.Equal(t, "2026-03-01", first["Date"])
	assert.Equal(t, json.Number("50"), first["Amount"], "the amount is a JSON number")
	assert.Equal(t, "Card 1", first["Reference"])
	assert.NotContains(t, first, "PaymentID")
	assert.NotContains(t, first, "PaymentType", "read-only fields are never sent")
}

func TestCreatePaymentsRefusedLocally(t *testing.T) {
	h := newHarness(t)
	one := xero.Payment{InvoiceID: invID, Amount: decimal.NewFromInt(1), Reference: "r"}
	cases := map[string][]xero.Payment{
		"none":           nil,
		"51":             make([]xero.Payment, 51),
		"with an id":     {{PaymentID: payID, InvoiceID: invID}},
		"both targets":   {{InvoiceID: invID, CreditNoteID: cnID}},
		"neither":        {{Amount: decimal.NewFromInt(1)}},
		"one bad of two": {one, {}},
	}
	for name, ps := range cases {
		_, err := h.client.CreatePayments(context.Background(), ps, "k")
		require.Error(t, err, name)
	}
	assert.Equal(t, 0, h.apiCalls(), "nothing was sent")
}

func TestDeletePayment(t *testing.T) {
	h := newHarness(t)
	h.handle(http.MethodPost, "/Payments/"+payID, respond(200, `{"Payments":[`+paymentObject(payID, invID, "DELETED", "50.00", "Card 1")+`]}`))
	p, err := h.client.DeletePayment(context.Background(), payID, "key-del-1")
	require.NoError(t, err)
	assert.Equal(t, billing.PaymentDeleted, p.Status)
	calls := h.calls(http.MethodPost, "/Payments/"+payID)
	require.Len(t, calls, 1)
	assert.JSONEq(t, `{"Status":"DELETED"}`, calls[0].Body)
	assert.Equal(t, "key-del-1", calls[0].Header.Get("Idempotency-Key"))

	_, err = h.client.DeletePayment(context.Background(), "../Invoices", "k")
	require.Error(t, err)
	assert.Equal(t, 1, h.apiCalls(), "a bad id is refused before any call")
}

// TestMoneyWritesCarryAKey: a write without a key still sends one, the
// same on every retry, so a retried write cannot move money twice.
func TestMoneyWritesCarryAKey(t *testing.T) {
	h := newHarness(t)
	h.handle(http.MethodPost, "/Payments/"+payID, sequence(respond(503, "busy"), respond(200, `{"Payments":[`+paymentObject(payID, invID, "DELETED", "50.00", "Card 1")+`]}`)))
	_, err := h.client.DeletePayment(context.Background(), payID, "")
	require.NoError(t, err)
	calls := h.calls(http.MethodPost, "/Payments/"+payID)
	require.Len(t, calls, 2)
	key := calls[0].Header.Get("Idempotency-Key")
	assert.NotEmpty(t, key)
	assert.Equal(t, key, calls[1].Header.Get("Idempotency-Key"))
}

func TestFindPayments(t *testing.T) {
	h := newHarness(t)
	bad := `{"PaymentID":"` + payID2 + `","Date":"not a date","Amount":1.00,"Status":"AUTHORISED"}`
	h.handle(http.MethodGet, "/Payments", sequence(
		respond(200, `{"pagination":{"page":1,"pageSize":1000,"pageCount":2,"itemCount":3},"Payments":[`+paymentObject(payID, invID, "AUTHORISED", "50.00", `Card "1"`)+`,`+bad+`]}`),
		respond(200, `{"pagination":{"page":2,"pageSize":1000,"pageCount":2,"itemCount":3},"Payments":[`+paymentObject(payID, invID, "DELETED", "50.00", `Card "1"`)+`]}`),
	))
	ps, failed, err := h.client.FindPayments(context.Background(), invID, `Card "1"`)
	require.NoError(t, err)
	require.Len(t, ps, 2, "both pages, the unreadable record apart")
	assert.Equal(t, billing.PaymentDeleted, ps[1].Status)
	require.Len(t, failed, 1)
	assert.Equal(t, payID2, failed[0].ID)
	assert.Contains(t, failed[0].Error(), "payment "+payID2)

	calls := h.calls(http.MethodGet, "/Payments")
	require.Len(t, calls, 2)
	u, err := url.Parse(calls[0].URL)
	require.NoError(t, err)
	assert.Equal(t, `Invoice.InvoiceID==Guid("`+invID+`")&&Reference=="Card ""1"""`, u.Query().Get("where"))
	assert.Equal(t, "1", u.Query().Get("page"))
	u, _ = url.Parse(calls[1].URL)
	assert.Equal(t, "2", u.Query().Get("page"))

	_, _, err = h.client.FindPayments(context.Background(), "INV-1", "r")
	require.Error(t, err, "an invoice id that is not a GUID")
}

func TestPaymentsModifiedSince(t *testing.T) {
	h := newHarness(t)
	h.handle(http.MethodGet, "/Payments", respond(200, `{"Payments":[`+paymentObject(payID, invID, "AUTHORISED", "50.00", "Card 1")+`]}`))
	since := time.Date(2026, 3, 1, 10, 30, 15, 900_000_000, time.FixedZone("NZDT", 13*3600))
	ps, failed, more, err := h.client.PaymentsModifiedSince(context.Background(), since, 1)
	require.NoError(t, err)
	assert.Len(t, ps, 1)
	assert.Empty(t, failed)
	assert.False(t, more, "a short page is the last")
	calls := h.calls(http.MethodGet, "/Payments")
	require.Len(t, calls, 1)
	assert.Equal(t, "2026-02-28T21:30:15Z", calls[0].Header.Get("If-Modified-Since"))
	_, _, _, err = h.client.PaymentsModifiedSince(context.Background(), since, 0)
	require.Error(t, err)
}

func TestGetPayment(t *testing.T) {
	h := newHarness(t)
	h.handle(http.MethodGet, "/Payments/"+payID, respond(200, `{"Payments":[`+paymentObject(payID, invID, "AUTHORISED", "50.00", "Card 1")+`]}`))
	p, err := h.client.GetPayment(context.Background(), payID)
	require.NoError(t, err)
	assert.Equal(t, payID, p.PaymentID)
	h.handle(http.MethodGet, "/Payments/"+payID2, respond(200, `{"Payments":[]}`))
	_, err = h.client.GetPayment(context.Background(), payID2)
	require.Error(t, err)
}

func TestVoidInvoice(t *testing.T) {
	h := newHarness(t)
	h.handle(http.MethodPost, "/Invoices/"+invID, respond(200, `{"Invoices":[`+invoiceObject(invID, "INV-1", "VOIDED", "10.00", "0.00", "0.00")+`]}`))
	inv, err := h.client.VoidInvoice(context.Background(), invID, "key-void-1")
	require.NoError(t, err)
	assert.Equal(t, billing.StatusVoided, inv.Status)
	calls := h.calls(http.MethodPost, "/Invoices/"+invID)
	require.Len(t, calls, 1)
	assert.JSONEq(t, `{"Invoices":[{"InvoiceID":"`+invID+`","Status":"VOIDED"}]}`, calls[0].Body)
	assert.Equal(t, "key-void-1", calls[0].Header.Get("Idempotency-Key"))

	// Xero refuses an invoice with payments: the message reaches the caller,
	// the secret never does.
	h.handle(http.MethodPost, "/Invoices/"+invID, respond(400, fmt.Sprintf(validation400, "Invoice not of valid status for modification; "+clientSecret)))
	_, err = h.client.VoidInvoice(context.Background(), invID, "key-void-2")
	var ae *xero.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 400, ae.StatusCode)
	assert.Contains(t, err.Error(), "not of valid status")
	assert.NotContains(t, err.Error(), clientSecret)
}

func TestAccountTakesPayments(t *testing.T) {
	cases := []struct {
		a    xero.Account
		want bool
	}{
		{xero.Account{Type: xero.AccountTypeBank, Status: xero.AccountStatusActive}, true},
		{xero.Account{Type: "CURRENT", Status: xero.AccountStatusActive, EnablePaymentsToAccount: true}, true},
		{xero.Account{Type: "REVENUE", Status: xero.AccountStatusActive}, false},
		{xero.Account{Type: xero.AccountTypeBank, Status: xero.AccountStatusArchived}, false},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, c.a.TakesPayments(), "%+v", c.a)
	}
	var a xero.Account
	require.NoError(t, json.Unmarshal([]byte(`{"Code":"880","Type":"CURRENT","Status":"ACTIVE","EnablePaymentsToAccount":true}`), &a))
	assert.True(t, a.TakesPayments())
}
