package xero_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/xero"
)

func creditNoteObject(id, status, total, remaining string) string {
	return fmt.Sprintf(`{"CreditNoteID":%q,"CreditNoteNumber":"CN-0001","Type":"ACCRECCREDIT","Reference":"Cancelled membership","Contact":{"ContactID":%q,"Name":"Jane"},"DateString":"2026-03-02T00:00:00","Date":"/Date(1772409600000+0000)/","Status":%q,"LineAmountTypes":"Inclusive","SubTotal":%s,"TotalTax":0.00,"Total":%s,"RemainingCredit":%s,"CurrencyCode":"NZD","UpdatedDateUTC":"/Date(1772410000000+0000)/","LineItems":[{"Description":"Cancelled membership","Quantity":1.0000,"UnitAmount":%s,"AccountCode":"200","LineAmount":%s}],"Allocations":[{"AllocationID":"a1a1a1a1-0000-4000-8000-000000000001","Amount":5.00,"Date":"/Date(1772409600000+0000)/","Invoice":{"InvoiceID":%q}}]}`,
		id, ctID, status, total, total, remaining, total, total, invID)
}

func TestCreateCreditNotes(t *testing.T) {
	h := newHarness(t)
	h.handle(http.MethodPut, "/CreditNotes", respond(200, `{"CreditNotes":[`+creditNoteObject(cnID, "AUTHORISED", "20.00", "15.00")+`]}`))
	els, err := h.client.CreateCreditNotes(context.Background(), []xero.CreditNote{{
		Type: xero.CreditNoteTypeSales, Status: billing.StatusAuthorised, Reference: "Cancelled membership",
		Contact: xero.Contact{ContactID: ctID}, Date: billing.NewDate(2026, time.March, 2), LineAmountTypes: "Inclusive",
		LineItems: []xero.LineItem{{Description: "Cancelled membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.RequireFromString("20.00"), AccountCode: "200"}},
	}}, "key-cn-1")
	require.NoError(t, err)
	require.Len(t, els, 1)
	require.False(t, els[0].Failed())
	cn := els[0].CreditNote
	assert.Equal(t, cnID, cn.CreditNoteID)
	assert.Equal(t, "CN-0001", cn.CreditNoteNumber)
	assert.Equal(t, billing.NewDate(2026, time.March, 2), cn.Date)
	assert.True(t, cn.Total.Equal(decimal.RequireFromString("20")))
	assert.True(t, cn.RemainingCredit.Equal(decimal.RequireFromString("15")))
	require.Len(t, cn.Allocations, 1)
	assert.Equal(t, invID, cn.Allocations[0].InvoiceID)
	assert.True(t, cn.Allocations[0].Amount.Equal(decimal.NewFromInt(5)))

	calls := h.calls(http.MethodPut, "/CreditNotes")
	require.Len(t, calls, 1)
	u, _ := url.Parse(calls[0].URL)
	assert.Equal(t, "false", u.Query().Get("summarizeErrors"))
	assert.Equal(t, "key-cn-1", calls[0].Header.Get("Idempotency-Key"))
	assert.JSONEq(t, `{"CreditNotes":[{"Type":"ACCRECCREDIT","Reference":"Cancelled membership","Contact":{"ContactID":"`+ctID+`"},
		"Date":"2026-03-02","Status":"AUTHORISED","LineAmountTypes":"Inclusive",
		"LineItems":[{"Description":"Cancelled membership","Quantity":1,"UnitAmount":20,"AccountCode":"200"}]}]}`, calls[0].Body)

	_, err = h.client.CreateCreditNotes(context.Background(), []xero.CreditNote{{CreditNoteID: cnID}}, "k")
	require.Error(t, err)
	_, err = h.client.CreateCreditNotes(context.Background(), nil, "k")
	require.Error(t, err)
	assert.Equal(t, 1, h.apiCalls())
}

func TestAllocateCreditNote(t *testing.T) {
	h := newHarness(t)
	path := "/CreditNotes/" + cnID + "/Allocations"
	h.handle(http.MethodPut, path, respond(200, `{"Allocations":[{"AllocationID":"a1a1a1a1-0000-4000-8000-000000000001","Amount":20.00,"Date":"/Date(1772409600000+0000)/","Invoice":{"InvoiceID":"`+invID+`"},"CreditNote":{"CreditNoteID":"`+cnID+`"}}]}`))
	a, err := h.client.AllocateCreditNote(context.Background(), cnID, xero.Allocation{InvoiceID: invID, Amount: decimal.RequireFromString("20.00"), Date: billing.NewDate(2026, time.March, 2)}, "key-al-1")
	require.NoError(t, err)
	assert.Equal(t, "a1a1a1a1-0000-4000-8000-000000000001", a.AllocationID)
	assert.Equal(t, cnID, a.CreditNoteID)
	assert.Equal(t, billing.NewDate(2026, time.March, 2), a.Date)
	calls := h.calls(http.MethodPut, path)
	require.Len(t, calls, 1)
	assert.JSONEq(t, `{"Allocations":[{"Invoice":{"InvoiceID":"`+invID+`"},"Amount":20,"Date":"2026-03-02"}]}`, calls[0].Body)
	assert.Equal(t, "key-al-1", calls[0].Header.Get("Idempotency-Key"))

	// A flagged allocation was not made.
	h.handle(http.MethodPut, path, respond(200, `{"Allocations":[`+flagged(`{"Amount":99.00,"Invoice":{"InvoiceID":"`+invID+`"}}`, "ERROR", "The amount allocated exceeds the remaining credit")+`]}`))
	_, err = h.client.AllocateCreditNote(context.Background(), cnID, xero.Allocation{InvoiceID: invID, Amount: decimal.NewFromInt(99), Date: billing.NewDate(2026, time.March, 2)}, "key-al-2")
	var ae *xero.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, []string{"The amount allocated exceeds the remaining credit"}, ae.ValidationErrors)

	_, err = h.client.AllocateCreditNote(context.Background(), "CN-0001", xero.Allocation{InvoiceID: invID}, "k")
	require.Error(t, err)
}

func TestFindCreditNotes(t *testing.T) {
	h := newHarness(t)
	bad := `{"CreditNoteID":"c1c1c1c1-0000-4000-8000-000000000002","Date":"yesterday"}`
	h.handle(http.MethodGet, "/CreditNotes", respond(200, `{"CreditNotes":[`+creditNoteObject(cnID, "PAID", "20.00", "0.00")+`,`+bad+`]}`))
	cns, failed, err := h.client.FindCreditNotes(context.Background(), ctID, "Cancelled membership")
	require.NoError(t, err)
	require.Len(t, cns, 1)
	require.Len(t, failed, 1)
	assert.Equal(t, "c1c1c1c1-0000-4000-8000-000000000002", failed[0].ID)
	calls := h.calls(http.MethodGet, "/CreditNotes")
	require.Len(t, calls, 1)
	u, _ := url.Parse(calls[0].URL)
	assert.Equal(t, `Contact.ContactID==Guid("`+ctID+`")&&Reference=="Cancelled membership"`, u.Query().Get("where"))
}

func TestCreditNotesModifiedSince(t *testing.T) {
	h := newHarness(t)
	h.handle(http.MethodGet, "/CreditNotes", respond(200, `{"pagination":{"page":1,"pageSize":1000,"pageCount":3,"itemCount":2001},"CreditNotes":[`+creditNoteObject(cnID, "AUTHORISED", "20.00", "20.00")+`]}`))
	cns, _, more, err := h.client.CreditNotesModifiedSince(context.Background(), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), 2)
	require.NoError(t, err)
	assert.Len(t, cns, 1)
	assert.True(t, more, "page 2 of 3")
	calls := h.calls(http.MethodGet, "/CreditNotes")
	require.Len(t, calls, 1)
	assert.Equal(t, "2026-03-01T00:00:00Z", calls[0].Header.Get("If-Modified-Since"))
	u, _ := url.Parse(calls[0].URL)
	assert.Equal(t, "2", u.Query().Get("page"))
}

func TestGetCreditNote(t *testing.T) {
	h := newHarness(t)
	h.handle(http.MethodGet, "/CreditNotes/"+cnID, respond(200, `{"CreditNotes":[`+creditNoteObject(cnID, "AUTHORISED", "20.00", "20.00")+`]}`))
	cn, err := h.client.GetCreditNote(context.Background(), cnID)
	require.NoError(t, err)
	assert.Equal(t, cnID, cn.CreditNoteID)
	assert.Equal(t, ctID, cn.Contact.ContactID)
}
