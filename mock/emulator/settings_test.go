package emulator_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type accountJSON struct {
	AccountID, Code, Name, Type, Status, TaxType, Class, SystemAccount string
}

type accountsJSON struct{ Accounts []accountJSON }

func codes(accounts []accountJSON) []string {
	out := []string{}
	for _, a := range accounts {
		out = append(out, a.Code)
	}
	return out
}

func TestGetAccounts(t *testing.T) {
	a := newAPI(t, emulator.Options{AccountCodes: []string{"4000"}, ArchivedAccountCodes: []string{"260", "4100"}})
	tests := []struct {
		name  string
		query url.Values
		want  []string
	}{
		{"the chart, by code", nil, []string{"090", "200", "260", "270", "4000", "4100", "610"}},
		{"by code", url.Values{"where": {`Code=="200"`}}, []string{"200"}},
		{"revenue", url.Values{"where": {`Type=="REVENUE"`}}, []string{"200", "260", "270", "4000", "4100"}},
		{"active revenue", url.Values{"where": {`Type=="REVENUE" AND Status=="ACTIVE"`}}, []string{"200", "270", "4000"}},
		{"archived", url.Values{"where": {`Status=="ARCHIVED"`}}, []string{"260", "4100"}},
		{"tax type", url.Values{"where": {`TaxType=="NONE" && Class=="REVENUE"`}}, []string{"270"}},
		{"system account", url.Values{"where": {`SystemAccount=="DEBTORS"`}}, []string{"610"}},
		{"order", url.Values{"order": {"Name DESC"}}, []string{"200", "4100", "4000", "260", "270", "090", "610"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out accountsJSON
			resp := a.call(http.MethodGet, "/Accounts?"+tt.query.Encode(), nil, &out)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, tt.want, codes(out.Accounts))
		})
	}

	var out accountsJSON
	a.call(http.MethodGet, "/Accounts?"+url.Values{"where": {`Code=="200"`}}.Encode(), nil, &out)
	require.Len(t, out.Accounts, 1)
	sales := out.Accounts[0]
	assert.Equal(t, accountJSON{AccountID: sales.AccountID, Code: "200", Name: "Sales", Type: "REVENUE", Status: "ACTIVE", TaxType: "OUTPUT2", Class: "REVENUE"}, sales)
	_, err := uuid.Parse(sales.AccountID)
	require.NoError(t, err)

	var one accountsJSON
	resp := a.call(http.MethodGet, "/Accounts/"+sales.AccountID, nil, &one)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, []accountJSON{sales}, one.Accounts)
	resp, _ = a.raw(http.MethodGet, "/Accounts/"+uuid.NewString(), nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	var bad errorJSON
	resp = a.call(http.MethodGet, "/Accounts?"+url.Values{"where": {`Colour=="red"`}}.Encode(), nil, &bad)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "QueryParseException", bad.Type)
}

// An invoice line on an account that is unknown, archived, or not one a
// sales invoice may use is refused with Xero's message.
func TestInvoiceAccountCodes(t *testing.T) {
	tests := []struct {
		code string
		ok   bool
	}{
		{"200", true},
		{"270", true},
		{"4000", true},
		{"999", false},
		{"260", false},  // archived by option
		{"4100", false}, // added archived
		{"090", false},  // a bank account
		{"610", false},  // a system account
	}
	a := newAPI(t, emulator.Options{AccountCodes: []string{"4000"}, ArchivedAccountCodes: []string{"260", "4100"}})
	contactID := a.createContact("Ann", "", "")
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			body := invoice(contactID)
			body["LineItems"] = []map[string]any{{"Description": "x", "Quantity": 1, "UnitAmount": 5, "AccountCode": tt.code}}
			var bad errorJSON
			resp := a.call(http.MethodPut, "/Invoices", invoicesBody(body), &bad)
			if tt.ok {
				assert.Equal(t, http.StatusOK, resp.StatusCode)
				return
			}
			require.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Equal(t, []string{"Account code '" + tt.code + "' is not a valid code for this document."}, bad.messages())
		})
	}

	require.NoError(t, a.e.ArchiveAccount("200"))
	var bad errorJSON
	resp := a.call(http.MethodPut, "/Invoices", invoicesBody(invoice(contactID)), &bad)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, []string{"Account code '200' is not a valid code for this document."}, bad.messages())
	var out accountsJSON
	a.call(http.MethodGet, "/Accounts?"+url.Values{"where": {`Code=="200"`}}.Encode(), nil, &out)
	assert.Equal(t, "ARCHIVED", out.Accounts[0].Status)
	assert.ErrorIs(t, a.e.ArchiveAccount("999"), emulator.ErrNotFound)
}

func TestGetCurrencies(t *testing.T) {
	type currency struct{ Code, Description string }
	var out struct{ Currencies []currency }
	a := newAPI(t, emulator.Options{Currencies: []string{"usd", "NZD", "XXXX", "AUD"}})
	resp := a.call(http.MethodGet, "/Currencies", nil, &out)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, []currency{{"NZD", "New Zealand Dollar"}, {"USD", "United States Dollar"}, {"AUD", "Australian Dollar"}}, out.Currencies)

	a.call(http.MethodGet, "/Currencies?"+url.Values{"where": {`Code=="AUD"`}}.Encode(), nil, &out)
	assert.Equal(t, []currency{{"AUD", "Australian Dollar"}}, out.Currencies)

	// Invoices may be in those currencies only.
	contactID := a.createContact("Ann", "", "")
	for code, ok := range map[string]bool{"NZD": true, "USD": true, "GBP": false} {
		body := invoice(contactID)
		body["CurrencyCode"] = code
		var bad errorJSON
		resp := a.call(http.MethodPut, "/Invoices", invoicesBody(body), &bad)
		if ok {
			assert.Equal(t, http.StatusOK, resp.StatusCode, code)
			continue
		}
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, code)
		assert.Equal(t, []string{"The currency GBP has not been added to this organisation."}, bad.messages())
	}

	b := newAPI(t, emulator.Options{Currency: "gbp"})
	b.call(http.MethodGet, "/Currencies", nil, &out)
	assert.Equal(t, []currency{{"GBP", "British Pound"}}, out.Currencies)
}

func TestGetOrganisation(t *testing.T) {
	type org struct {
		Name, BaseCurrency, CountryCode, OrganisationID, Version, Timezone, Class, APIKey string
		IsDemoCompany                                                                     bool
	}
	tests := []struct {
		name string
		opts emulator.Options
		want org
	}{
		{"default", emulator.Options{}, org{Name: emulator.DefaultTenantName, BaseCurrency: "NZD", CountryCode: "NZ", OrganisationID: emulator.DefaultTenantID,
			Version: "NZ", Timezone: "NEWZEALANDSTANDARDTIME", Class: "PREMIUM"}},
		{"demo company in Australia", emulator.Options{DemoCompany: true, Currency: "AUD", TenantName: "Demo Company (AU)"},
			org{Name: "Demo Company (AU)", BaseCurrency: "AUD", CountryCode: "AU", OrganisationID: emulator.DefaultTenantID,
				Version: "AU", Timezone: "AUSEASTERNSTANDARDTIME", Class: "DEMO", IsDemoCompany: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t, tt.opts)
			var out struct{ Organisations []org }
			resp := a.call(http.MethodGet, "/Organisation", nil, &out)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Len(t, out.Organisations, 1)
			got := out.Organisations[0]
			assert.Len(t, got.APIKey, 30)
			got.APIKey = ""
			assert.Equal(t, tt.want, got)
		})
	}
}
