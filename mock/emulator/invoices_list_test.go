package emulator_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// getInvoices lists invoices with query and an If-Modified-Since header
// (none when empty) and returns their numbers.
func (a *api) getInvoices(query url.Values, ifModifiedSince string) (invoicesJSON, []string) {
	a.t.Helper()
	req := a.request(a.t.Context(), http.MethodGet, "/Invoices?"+query.Encode(), nil)
	if ifModifiedSince != "" {
		req.Header.Set("If-Modified-Since", ifModifiedSince)
	}
	var out invoicesJSON
	resp, body := a.send(req)
	require.Equal(a.t, http.StatusOK, resp.StatusCode, string(body))
	require.NoError(a.t, decodeJSON(body, &out))
	numbers := []string{}
	for _, inv := range out.Invoices {
		numbers = append(numbers, inv.InvoiceNumber)
	}
	return out, numbers
}

// If-Modified-Since is compared to the second: an invoice modified in the
// same second as the header is included; any change moves UpdatedDateUTC.
func TestGetInvoicesIfModifiedSince(t *testing.T) {
	clk := newClock() // 09:30:00 UTC
	a := newAPI(t, emulator.Options{Now: clk.Now})
	contactID := a.createContact("Ann", "", "ann@example.com")
	clk.Add(400 * time.Millisecond)
	first := a.createInvoice(contactID) // INV-0001 at 09:30:00.400
	clk.Add(1500 * time.Millisecond)
	a.createInvoice(contactID) // INV-0002 at 09:30:01.900
	clk.Add(1100 * time.Millisecond)
	require.NoError(t, a.e.PayInvoice(t.Context(), first.InvoiceID, decimal.NewFromInt(1), billing.Date{})) // INV-0001 at 09:30:03.000

	tests := []struct {
		header string
		want   []string
	}{
		{"2026-01-31T09:30:00", []string{"INV-0001", "INV-0002"}},
		{"2026-01-31T09:30:01", []string{"INV-0001", "INV-0002"}},
		{"2026-01-31T09:30:01.999", []string{"INV-0001", "INV-0002"}},
		{"2026-01-31T09:30:02", []string{"INV-0001"}},
		{"2026-01-31T09:30:03", []string{"INV-0001"}},
		{"2026-01-31T09:30:04", []string{}},
		{"2026-01-31T22:30:02+13:00", []string{"INV-0001"}},
		{"Sat, 31 Jan 2026 09:30:01 GMT", []string{"INV-0001", "INV-0002"}},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			_, got := a.getInvoices(nil, tt.header)
			assert.Equal(t, tt.want, got)
		})
	}
}

// UpdatedDateUTC (and UpdatedDateUTCString) move on every change.
func TestInvoiceUpdatedDateMoves(t *testing.T) {
	clk := newClock()
	a := newAPI(t, emulator.Options{Now: clk.Now})
	contactID := a.createContact("Ann", "", "ann@example.com")
	inv := a.createInvoice(contactID)
	assert.Equal(t, "/Date(1769851800000+0000)/", inv.UpdatedDateUTC)
	assert.Equal(t, "2026-01-31T09:30:00Z", inv.UpdatedDateUTCString)

	updated := func() time.Time {
		stored, ok := a.e.Invoice(inv.InvoiceID)
		require.True(t, ok)
		return stored.UpdatedDateUTC
	}
	changes := []struct {
		name   string
		change func()
	}{
		{"edit", func() {
			resp := a.call(http.MethodPost, "/Invoices/"+inv.InvoiceID, invoicesBody(map[string]any{"Reference": "Renewal"}), nil)
			require.Equal(t, http.StatusOK, resp.StatusCode)
		}},
		{"email", func() {
			resp, _ := a.raw(http.MethodPost, "/Invoices/"+inv.InvoiceID+"/Email", map[string]any{})
			require.Equal(t, http.StatusNoContent, resp.StatusCode)
		}},
		{"part payment", func() {
			require.NoError(t, a.e.PayInvoice(t.Context(), inv.InvoiceID, decimal.NewFromInt(3), billing.Date{}))
		}},
		{"payment in full", func() {
			require.NoError(t, a.e.PayInvoice(t.Context(), inv.InvoiceID, decimal.NewFromInt(20), billing.Date{}))
		}},
	}
	for _, c := range changes {
		clk.Add(1500 * time.Millisecond)
		c.change()
		assert.Equal(t, clk.Now(), updated(), c.name)
	}

	voided := a.createInvoice(contactID)
	clk.Add(time.Second)
	require.NoError(t, a.e.VoidInvoice(t.Context(), voided.InvoiceID))
	var out invoicesJSON
	a.call(http.MethodGet, "/Invoices/"+voided.InvoiceID, nil, &out)
	assert.Equal(t, clk.Now().Format(time.RFC3339), out.Invoices[0].UpdatedDateUTCString, "void")
}

func TestGetInvoicesPageSize(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	contactID := a.createContact("Ann", "", "")
	batch := make([]map[string]any, 1001)
	for i := range batch {
		batch[i] = invoice(contactID)
	}
	require.Equal(t, http.StatusOK, a.call(http.MethodPut, "/Invoices", map[string]any{"Invoices": batch}, nil).StatusCode)

	tests := []struct {
		query                      url.Values
		n, page, size, pages, item int
	}{
		{url.Values{"page": {"1"}}, 100, 1, 100, 11, 1001},
		{url.Values{"page": {"3"}, "pageSize": {"40"}}, 40, 3, 40, 26, 1001},
		{url.Values{"page": {"1"}, "pageSize": {"1000"}}, 1000, 1, 1000, 2, 1001},
		{url.Values{"page": {"2"}, "pageSize": {"1000"}}, 1, 2, 1000, 2, 1001},
		{url.Values{"page": {"1"}, "pageSize": {"5000"}}, 1000, 1, 1000, 2, 1001}, // served as 1,000
		{url.Values{"page": {"12"}}, 0, 12, 100, 11, 1001},
	}
	for _, tt := range tests {
		t.Run(tt.query.Encode(), func(t *testing.T) {
			out, _ := a.getInvoices(tt.query, "")
			assert.Len(t, out.Invoices, tt.n)
			require.NotNil(t, out.Pagination)
			assert.Equal(t, tt.page, out.Pagination.Page)
			assert.Equal(t, tt.size, out.Pagination.PageSize)
			assert.Equal(t, tt.pages, out.Pagination.PageCount)
			assert.Equal(t, tt.item, out.Pagination.ItemCount)
		})
	}
	out, _ := a.getInvoices(url.Values{"pageSize": {"10"}}, "")
	assert.Len(t, out.Invoices, 1001, "pageSize alone does not page")
	assert.Nil(t, out.Pagination)

	resp, _ := a.raw(http.MethodGet, "/Invoices?page=one", nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestGetInvoicesFilters(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	ann := a.createContact("Ann", "", "")
	bob := a.createContact("Bob", "", "")
	mk := func(contactID, reference, date, status string, unit float64) invoiceJSON {
		body := invoice(contactID)
		body["Reference"], body["Date"], body["Status"] = reference, date, status
		body["LineItems"] = []map[string]any{{"Description": "Membership", "Quantity": 1, "UnitAmount": unit, "AccountCode": "200"}}
		var out invoicesJSON
		require.Equal(t, http.StatusOK, a.call(http.MethodPut, "/Invoices", invoicesBody(body), &out).StatusCode)
		return out.Invoices[0]
	}
	inv1 := mk(ann, "x", "2026-01-31", "AUTHORISED", 100) // 115.00
	inv2 := mk(ann, "x", "2026-02-01", "AUTHORISED", 100) // 115.00
	mk(bob, "y", "2026-01-31", "DRAFT", 200)              // 230.00
	require.NoError(t, a.e.PayInvoice(t.Context(), inv2.InvoiceID, decimal.RequireFromString("115"), billing.Date{}))

	tests := []struct {
		name  string
		query url.Values
		want  []string
	}{
		{"IDs", url.Values{"IDs": {inv2.InvoiceID + "," + uuid.NewString()}}, []string{"INV-0002"}},
		{"ContactIDs", url.Values{"ContactIDs": {bob}}, []string{"INV-0003"}},
		{"Statuses", url.Values{"Statuses": {"DRAFT,PAID"}}, []string{"INV-0002", "INV-0003"}},
		{"InvoiceNumbers", url.Values{"InvoiceNumbers": {"INV-0001,inv-0003"}}, []string{"INV-0001", "INV-0003"}},
		{"IDs and Statuses together", url.Values{"IDs": {inv1.InvoiceID + "," + inv2.InvoiceID}, "Statuses": {"PAID"}}, []string{"INV-0002"}},
		{"reference, date and total", url.Values{"where": {`Reference=="x" AND Date==DateTime(2026,01,31) AND Total==115.00`}}, []string{"INV-0001"}},
		{"date range", url.Values{"where": {`Date>=DateTime(2026, 02, 01) && Date<DateTime(2026, 03, 01)`}}, []string{"INV-0002"}},
		{"total over", url.Values{"where": {`Total>115`}}, []string{"INV-0003"}},
		{"amount due", url.Values{"where": {`AmountDue>0 AND Status=="AUTHORISED"`}}, []string{"INV-0001"}},
		{"contact id", url.Values{"where": {`Contact.ContactID==Guid("` + ann + `")`}}, []string{"INV-0001", "INV-0002"}},
		{"contact id as a string", url.Values{"where": {`Contact.ContactID=="` + bob + `"`}}, []string{"INV-0003"}},
		{"status or", url.Values{"where": {`Status=="PAID" OR Status=="DRAFT"`}}, []string{"INV-0002", "INV-0003"}},
		{"date time with a time", url.Values{"where": {`Date==DateTime(2026,01,31,00,00,00)`}}, []string{"INV-0001", "INV-0003"}},
		{"updated since", url.Values{"where": {`UpdatedDateUTC>=DateTime(2026,01,01)`}}, []string{"INV-0001", "INV-0002", "INV-0003"}},
		{"search term", url.Values{"searchTerm": {"Y"}}, []string{"INV-0003"}},
		{"order", url.Values{"order": {"Total DESC"}}, []string{"INV-0003", "INV-0001", "INV-0002"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := a.getInvoices(tt.query, "")
			assert.Equal(t, tt.want, got)
		})
	}

	for _, where := range []string{`Reference>"x"`, `Date==DateTime(2026,02,30)`, `Date==DateTime(2026,02)`, `Total>=`} {
		var out errorJSON
		resp := a.call(http.MethodGet, "/Invoices?"+url.Values{"where": {where}}.Encode(), nil, &out)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, where)
		assert.Equal(t, "QueryParseException", out.Type, where)
	}
}
