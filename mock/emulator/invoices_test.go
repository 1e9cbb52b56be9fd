package emulator_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCreateInvoice(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	contactID := a.createContact("Ann Lee", "acc-1", "ann@example.com")
	inv := a.createInvoice(contactID)

	_, err := uuid.Parse(inv.InvoiceID)
	require.NoError(t, err)
	assert.Equal(t, "INV-0001", inv.InvoiceNumber)
	assert.Equal(t, "ACCREC", inv.Type)
	assert.Equal(t, "AUTHORISED", inv.Status)
	assert.Equal(t, "Membership 2026", inv.Reference)
	assert.Equal(t, "NZD", inv.CurrencyCode)
	assert.Equal(t, contactID, inv.Contact.ContactID)
	assert.Equal(t, "Ann Lee", inv.Contact.Name)
	assert.Equal(t, "/Date(1769817600000+0000)/", inv.Date)
	assert.Equal(t, "2026-01-31T00:00:00", inv.DateString)
	assert.Equal(t, "/Date(1771027200000+0000)/", inv.DueDate)
	assert.Equal(t, "2026-02-14T00:00:00", inv.DueDateString)
	assert.Regexp(t, `^/Date\(\d+\+0000\)/$`, inv.UpdatedDateUTC)
	assert.Empty(t, inv.FullyPaidOnDate)
	require.Len(t, inv.LineItems, 1)
	li := inv.LineItems[0]
	assert.Equal(t, "2.0000", li.Quantity.String())
	assert.Equal(t, "10.00", li.UnitAmount.String())
	assert.Equal(t, "20.00", li.LineAmount.String())
	assert.Equal(t, "3.00", li.TaxAmount.String())
	assert.Equal(t, "OUTPUT2", li.TaxType)
	assert.Equal(t, "20.00", inv.SubTotal.String())
	assert.Equal(t, "3.00", inv.TotalTax.String())
	assert.Equal(t, "23.00", inv.Total.String())
	assert.Equal(t, "23.00", inv.AmountDue.String())
	assert.Equal(t, "0.00", inv.AmountPaid.String())

	second := a.createInvoice(contactID)
	assert.Equal(t, "INV-0002", second.InvoiceNumber)

	stored, ok := a.e.Invoice(inv.InvoiceID)
	require.True(t, ok)
	assert.Equal(t, billing.NewDate(2026, 1, 31), stored.Date)
	assert.True(t, decimal.RequireFromString("23").Equal(stored.Total))
	contacts := a.e.Contacts()
	require.Len(t, contacts, 1)
	assert.True(t, contacts[0].IsCustomer)
}

func TestInvoiceAmounts(t *testing.T) {
	lines := []map[string]any{
		{"Description": "Membership", "Quantity": 1, "UnitAmount": "115.00", "AccountCode": "200"},
		{"Description": "Badge", "Quantity": 3, "UnitAmount": 1.85, "AccountCode": "200"},
		{"Description": "Interest", "Quantity": 1, "UnitAmount": 2.5, "AccountCode": "270"},
	}
	tests := []struct {
		amountTypes          string
		subTotal, tax, total string
		lineTax              []string
		lineAmounts          []string
		taxTypes             []string
	}{
		// 115.00×15% = 17.25; 5.55×15% = 0.8325 → 0.83; interest has no tax.
		{amountTypes: "Exclusive", subTotal: "123.05", tax: "18.08", total: "141.13",
			lineTax: []string{"17.25", "0.83", "0.00"}, lineAmounts: []string{"115.00", "5.55", "2.50"}, taxTypes: []string{"OUTPUT2", "OUTPUT2", "NONE"}},
		// 115.00×0.15/1.15 = 15.00; 5.55×0.15/1.15 = 0.7239 → 0.72.
		{amountTypes: "Inclusive", subTotal: "107.33", tax: "15.72", total: "123.05",
			lineTax: []string{"15.00", "0.72", "0.00"}, lineAmounts: []string{"115.00", "5.55", "2.50"}, taxTypes: []string{"OUTPUT2", "OUTPUT2", "NONE"}},
		{amountTypes: "NoTax", subTotal: "123.05", tax: "0.00", total: "123.05",
			lineTax: []string{"0.00", "0.00", "0.00"}, lineAmounts: []string{"115.00", "5.55", "2.50"}, taxTypes: []string{"NONE", "NONE", "NONE"}},
	}
	for _, tt := range tests {
		t.Run(tt.amountTypes, func(t *testing.T) {
			a := newAPI(t, emulator.Options{})
			body := invoice(a.createContact("Ann", "", ""))
			body["LineAmountTypes"] = tt.amountTypes
			body["LineItems"] = lines
			var out invoicesJSON
			resp := a.call(http.MethodPut, "/Invoices", invoicesBody(body), &out)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			inv := out.Invoices[0]
			assert.Equal(t, tt.amountTypes, inv.LineAmountTypes)
			assert.Equal(t, tt.subTotal, inv.SubTotal.String())
			assert.Equal(t, tt.tax, inv.TotalTax.String())
			assert.Equal(t, tt.total, inv.Total.String())
			assert.Equal(t, tt.total, inv.AmountDue.String())
			for i, li := range inv.LineItems {
				assert.Equal(t, tt.lineTax[i], li.TaxAmount.String(), "line %d", i)
				assert.Equal(t, tt.lineAmounts[i], li.LineAmount.String(), "line %d", i)
				assert.Equal(t, tt.taxTypes[i], li.TaxType, "line %d", i)
			}
		})
	}
}

func TestInvoiceUnitDecimalPlaces(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	body := invoice(a.createContact("Ann", "", ""))
	body["LineItems"] = []map[string]any{{"Description": "Per-minute rate", "Quantity": 3, "UnitAmount": 0.3333, "AccountCode": "200"}}

	var two, four invoicesJSON
	a.call(http.MethodPut, "/Invoices", invoicesBody(body), &two)
	a.call(http.MethodPut, "/Invoices?unitdp=4", invoicesBody(body), &four)
	assert.Equal(t, "0.33", two.Invoices[0].LineItems[0].UnitAmount.String())
	assert.Equal(t, "0.99", two.Invoices[0].LineItems[0].LineAmount.String())
	assert.Equal(t, "0.3333", four.Invoices[0].LineItems[0].UnitAmount.String())
	assert.Equal(t, "1.00", four.Invoices[0].LineItems[0].LineAmount.String())
}

func TestCreateInvoiceValidation(t *testing.T) {
	tests := []struct {
		name string
		edit func(inv map[string]any)
		want []string
	}{
		{"unknown contact", func(inv map[string]any) {
			inv["Contact"] = map[string]any{"ContactID": "0b7e6a40-5b1c-4e0b-9a55-4a3c2f1d0e9f"}
		}, []string{"The contact with ContactID 0b7e6a40-5b1c-4e0b-9a55-4a3c2f1d0e9f could not be found."}},
		{"no contact", func(inv map[string]any) { delete(inv, "Contact") },
			[]string{"A Contact must be specified for this type of transaction"}},
		{"no line items", func(inv map[string]any) { delete(inv, "LineItems") },
			[]string{"Invoices must have at least one line item."}},
		{"no description", func(inv map[string]any) {
			inv["LineItems"] = []map[string]any{{"Quantity": 1, "UnitAmount": 5, "AccountCode": "200"}}
		}, []string{"The description field is mandatory for each line item."}},
		{"unknown account code", func(inv map[string]any) {
			inv["LineItems"] = []map[string]any{{"Description": "x", "Quantity": 1, "UnitAmount": 5, "AccountCode": "999"}}
		}, []string{"Account code '999' is not a valid code for this document."}},
		{"unknown tax type", func(inv map[string]any) {
			inv["LineItems"] = []map[string]any{{"Description": "x", "Quantity": 1, "UnitAmount": 5, "AccountCode": "200", "TaxType": "OUTPUT9"}}
		}, []string{"The TaxType code 'OUTPUT9' does not exist or cannot be used for this type of transaction."}},
		{"no due date", func(inv map[string]any) { delete(inv, "DueDate") }, []string{"Due Date cannot be empty."}},
		{"created as paid", func(inv map[string]any) { inv["Status"] = "PAID" },
			[]string{"Invoices can only be created with a status of DRAFT, SUBMITTED or AUTHORISED."}},
		{"bill", func(inv map[string]any) { inv["Type"] = "ACCPAY" },
			[]string{"The emulator supports sales invoices (Type ACCREC) only."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t, emulator.Options{})
			body := invoice(a.createContact("Ann", "", ""))
			tt.edit(body)
			var out errorJSON
			resp := a.call(http.MethodPut, "/Invoices", invoicesBody(body), &out)
			require.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Equal(t, 10, out.ErrorNumber)
			assert.Equal(t, "ValidationException", out.Type)
			assert.Equal(t, tt.want, out.messages())
			assert.Empty(t, a.e.Invoices())
		})
	}
}

func TestCreateInvoiceUnreadable(t *testing.T) {
	tests := []struct {
		name  string
		field string
		value any
	}{
		{"status outside the enum", "Status", "APPROVED"},
		{"line amount types outside the enum", "LineAmountTypes", "Gross"},
		{"date", "Date", "31/01/2026"},
		{"quantity", "LineItems", []map[string]any{{"Description": "x", "Quantity": "lots"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t, emulator.Options{})
			body := invoice(a.createContact("Ann", "", ""))
			body[tt.field] = tt.value
			var out errorJSON
			resp := a.call(http.MethodPut, "/Invoices", invoicesBody(body), &out)
			require.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Equal(t, "PostDataInvalidException", out.Type)
			assert.True(t, strings.HasPrefix(out.Message, "JSON for post data was invalid,"), out.Message)
		})
	}
}

func TestInvoiceNumbers(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	contactID := a.createContact("Ann", "", "")
	body := invoice(contactID)
	body["InvoiceNumber"] = "INV-0001"
	var out invoicesJSON
	require.Equal(t, http.StatusOK, a.call(http.MethodPut, "/Invoices", invoicesBody(body), &out).StatusCode)
	assert.Equal(t, "INV-0001", out.Invoices[0].InvoiceNumber)

	var bad errorJSON
	require.Equal(t, http.StatusBadRequest, a.call(http.MethodPut, "/Invoices", invoicesBody(body), &bad).StatusCode)
	assert.Equal(t, []string{"Invoice # must be unique."}, bad.messages())

	// Generated numbers skip the one taken.
	assert.Equal(t, "INV-0002", a.createInvoice(contactID).InvoiceNumber)
}

func TestInvoiceContactByName(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	existing := a.createContact("Ann Lee", "acc-1", "")
	body := invoice("")
	body["Contact"] = map[string]any{"Name": "Ann Lee"}
	var out invoicesJSON
	require.Equal(t, http.StatusOK, a.call(http.MethodPut, "/Invoices", invoicesBody(body), &out).StatusCode)
	assert.Equal(t, existing, out.Invoices[0].Contact.ContactID)

	body["Contact"] = map[string]any{"Name": "New Person"}
	require.Equal(t, http.StatusOK, a.call(http.MethodPut, "/Invoices", invoicesBody(body), &out).StatusCode)
	assert.NotEqual(t, existing, out.Invoices[0].Contact.ContactID)
	assert.Len(t, a.e.Contacts(), 2, "Xero creates a contact for a new name")
}

func TestGetInvoices(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	contactID := a.createContact("Ann", "", "")
	var batch []map[string]any
	for range 150 {
		batch = append(batch, invoice(contactID))
	}
	var created invoicesJSON
	require.Equal(t, http.StatusOK, a.call(http.MethodPut, "/Invoices", map[string]any{"Invoices": batch}, &created).StatusCode)
	require.Len(t, created.Invoices, 150)
	first, last := created.Invoices[0], created.Invoices[149]

	t.Run("by ids, unknown ones absent", func(t *testing.T) {
		ids := first.InvoiceID + "," + uuid.NewString() + "," + last.InvoiceID
		var out invoicesJSON
		resp := a.call(http.MethodGet, "/Invoices?"+url.Values{"IDs": {ids}}.Encode(), nil, &out)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Len(t, out.Invoices, 2)
		assert.Equal(t, first.InvoiceID, out.Invoices[0].InvoiceID)
		assert.Equal(t, last.InvoiceID, out.Invoices[1].InvoiceID)
		assert.Empty(t, out.Invoices[0].LineItems, "no line items without page")
		assert.Nil(t, out.Pagination)
	})
	t.Run("pages of 100 with line items", func(t *testing.T) {
		var p1, p2 invoicesJSON
		a.call(http.MethodGet, "/Invoices?page=1", nil, &p1)
		a.call(http.MethodGet, "/Invoices?page=2", nil, &p2)
		assert.Len(t, p1.Invoices, 100)
		assert.Len(t, p2.Invoices, 50)
		assert.NotEmpty(t, p1.Invoices[0].LineItems)
		require.NotNil(t, p2.Pagination)
		assert.Equal(t, 150, p2.Pagination.ItemCount)
		assert.Equal(t, 2, p2.Pagination.PageCount)
	})
	t.Run("where and statuses", func(t *testing.T) {
		var out invoicesJSON
		a.call(http.MethodGet, "/Invoices?"+url.Values{"where": {`InvoiceNumber=="INV-0150"`}}.Encode(), nil, &out)
		require.Len(t, out.Invoices, 1)
		assert.Equal(t, last.InvoiceID, out.Invoices[0].InvoiceID)
		a.call(http.MethodGet, "/Invoices?Statuses=PAID,VOIDED", nil, &out)
		assert.Empty(t, out.Invoices)
	})
}

func TestGetInvoice(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	inv := a.createInvoice(a.createContact("Ann", "", ""))
	for _, key := range []string{inv.InvoiceID, strings.ToUpper(inv.InvoiceID), inv.InvoiceNumber} {
		var out invoicesJSON
		resp := a.call(http.MethodGet, "/Invoices/"+key, nil, &out)
		require.Equal(t, http.StatusOK, resp.StatusCode, key)
		require.Len(t, out.Invoices, 1)
		assert.Equal(t, inv.InvoiceID, out.Invoices[0].InvoiceID)
		assert.Len(t, out.Invoices[0].LineItems, 1)
	}
	resp, _ := a.raw(http.MethodGet, "/Invoices/"+uuid.NewString(), nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestUpdateInvoice(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	inv := a.createInvoice(a.createContact("Ann", "", ""))

	var out invoicesJSON
	resp := a.call(http.MethodPost, "/Invoices/"+inv.InvoiceID, invoicesBody(map[string]any{"Reference": "Renewal"}), &out)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "Renewal", out.Invoices[0].Reference)
	assert.Equal(t, "23.00", out.Invoices[0].Total.String())

	resp = a.call(http.MethodPost, "/Invoices", invoicesBody(map[string]any{"InvoiceID": inv.InvoiceID, "Status": "VOIDED"}), &out)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "VOIDED", out.Invoices[0].Status)
	assert.Equal(t, "0.00", out.Invoices[0].AmountDue.String())

	var bad errorJSON
	resp = a.call(http.MethodPost, "/Invoices/"+inv.InvoiceID, invoicesBody(map[string]any{"Reference": "Again"}), &bad)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, []string{"Invoice not of valid status for modification"}, bad.messages())
}

func TestEmailInvoice(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	inv := a.createInvoice(a.createContact("Ann", "acc-1", "ann@example.com"))

	// No Accept header needed: the answer has no body.
	req := a.request(t.Context(), http.MethodPost, "/Invoices/"+inv.InvoiceID+"/Email", map[string]any{})
	req.Header.Del("Accept")
	resp, body := a.send(req)
	require.Equal(t, http.StatusNoContent, resp.StatusCode, string(body))
	assert.Empty(t, body)
	emails := a.e.Emails()
	require.Len(t, emails, 1)
	assert.Equal(t, "ann@example.com", emails[0].To)
	assert.Equal(t, inv.InvoiceNumber, emails[0].InvoiceNumber)
	stored, _ := a.e.Invoice(inv.InvoiceID)
	assert.True(t, stored.SentToContact)

	noEmail := a.createInvoice(a.createContact("Bob", "acc-2", ""))
	var bad errorJSON
	resp = a.call(http.MethodPost, "/Invoices/"+noEmail.InvoiceID+"/Email", map[string]any{}, &bad)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "ValidationException", bad.Type)
	assert.Equal(t, []string{"The contact does not have an email address."}, bad.messages())

	resp, _ = a.raw(http.MethodPost, "/Invoices/"+uuid.NewString()+"/Email", map[string]any{})
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestOnlineInvoice(t *testing.T) {
	s := emulator.NewServer(emulator.Options{})
	t.Cleanup(func() { _ = s.Close() })
	a := &api{t: t, e: s.Emulator, hc: &http.Client{}, base: s.URL}
	a.token = a.fetchToken()
	inv := a.createInvoice(a.createContact("Ann <b>Lee</b>", "", ""))

	var out struct {
		OnlineInvoices []struct {
			OnlineInvoiceURL string `json:"OnlineInvoiceUrl"`
		}
	}
	resp := a.call(http.MethodGet, "/Invoices/"+inv.InvoiceID+"/OnlineInvoice", nil, &out)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, out.OnlineInvoices, 1)
	link := out.OnlineInvoices[0].OnlineInvoiceURL
	assert.True(t, strings.HasPrefix(link, s.URL+"/invoice/"), link)

	// The link is served, escaped, and its button pays the invoice.
	req, err := http.NewRequest(http.MethodGet, link, nil)
	require.NoError(t, err)
	resp, page := a.send(req)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(page), inv.InvoiceNumber)
	assert.Contains(t, string(page), "Ann &lt;b&gt;Lee&lt;/b&gt;")
	assert.Contains(t, string(page), "23.00")

	req, err = http.NewRequest(http.MethodPost, link+"/pay", nil)
	require.NoError(t, err)
	resp, page = a.send(req)
	require.Equal(t, http.StatusOK, resp.StatusCode, "redirected back to the page")
	assert.Contains(t, string(page), "PAID")
	stored, _ := a.e.Invoice(inv.InvoiceID)
	assert.Equal(t, billing.StatusPaid, stored.Status)

	req, err = http.NewRequest(http.MethodGet, s.URL+"/invoice/nope", nil)
	require.NoError(t, err)
	resp, _ = a.send(req)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	// A draft has no online invoice.
	draft := invoice(inv.Contact.ContactID)
	draft["Status"] = "DRAFT"
	var created invoicesJSON
	a.call(http.MethodPut, "/Invoices", invoicesBody(draft), &created)
	var bad errorJSON
	resp = a.call(http.MethodGet, "/Invoices/"+created.Invoices[0].InvoiceID+"/OnlineInvoice", nil, &bad)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "ValidationException", bad.Type)

	// The index lists what the emulator holds.
	req, err = http.NewRequest(http.MethodGet, s.URL+"/", nil)
	require.NoError(t, err)
	resp, page = a.send(req)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(page), inv.InvoiceNumber)
}

func TestSequentialIDs(t *testing.T) {
	a := newAPI(t, emulator.Options{SequentialIDs: true})
	contactID := a.createContact("Ann", "", "")
	assert.Equal(t, "00000000-0000-4000-8000-000000000001", contactID)

	// A rejected write uses up no id.
	bad := invoice(contactID)
	bad["LineItems"] = []map[string]any{{"Quantity": 1}}
	resp, _ := a.raw(http.MethodPut, "/Invoices", invoicesBody(bad))
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)

	inv := a.createInvoice(contactID)
	assert.Equal(t, "00000000-0000-4000-9000-000000000001", inv.InvoiceID)
	stored, _ := a.e.Invoice(inv.InvoiceID)
	assert.Equal(t, "00000000-0000-4000-a000-000000000001", stored.LineItems[0].LineItemID)

	byName := invoice("")
	byName["Contact"] = map[string]any{"Name": "New Person"}
	var out invoicesJSON
	a.call(http.MethodPut, "/Invoices", invoicesBody(byName), &out)
	assert.Equal(t, "00000000-0000-4000-8000-000000000002", out.Invoices[0].Contact.ContactID)
	assert.Equal(t, "00000000-0000-4000-9000-000000000002", out.Invoices[0].InvoiceID)
	for _, id := range []string{contactID, inv.InvoiceID} {
		_, err := uuid.Parse(id)
		assert.NoError(t, err)
	}
}

// Like Xero's invoice settings, the next number can be set; numbers in use
// are still skipped.
func TestNextInvoiceNumber(t *testing.T) {
	a := newAPI(t, emulator.Options{NextInvoiceNumber: 42})
	contactID := a.createContact("Ann", "", "")
	taken := invoice(contactID)
	taken["InvoiceNumber"] = "INV-0043"
	var out invoicesJSON
	require.Equal(t, http.StatusOK, a.call(http.MethodPut, "/Invoices", invoicesBody(taken), &out).StatusCode)
	assert.Equal(t, "INV-0042", a.createInvoice(contactID).InvoiceNumber)
	assert.Equal(t, "INV-0044", a.createInvoice(contactID).InvoiceNumber)
}
