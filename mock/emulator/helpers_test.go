package emulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/stretchr/testify/require"
)

// base is the made-up host the in-process client is pointed at.
const base = "http://xero.emulator"

// clock is a settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 31, 9, 30, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// api drives an emulator through its in-process client, like an app would.
type api struct {
	t     *testing.T
	e     *emulator.Emulator
	hc    *http.Client
	base  string
	token string
}

func newEmulator(t *testing.T, opts emulator.Options) *emulator.Emulator {
	t.Helper()
	e := emulator.New(opts)
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// newAPI returns a client holding a fresh access token.
func newAPI(t *testing.T, opts emulator.Options) *api {
	t.Helper()
	e := newEmulator(t, opts)
	a := &api{t: t, e: e, hc: e.Client(), base: base}
	a.token = a.fetchToken()
	return a
}

func (a *api) fetchToken() string {
	a.t.Helper()
	resp, body := a.tokenRequest(url.Values{"grant_type": {"client_credentials"}}, true)
	require.Equal(a.t, http.StatusOK, resp.StatusCode, string(body))
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(a.t, json.Unmarshal(body, &tok))
	return tok.AccessToken
}

func (a *api) tokenRequest(form url.Values, basic bool) (*http.Response, []byte) {
	a.t.Helper()
	req, err := http.NewRequest(http.MethodPost, a.base+emulator.TokenPath, strings.NewReader(form.Encode()))
	require.NoError(a.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(emulator.DefaultClientID, emulator.DefaultClientSecret)
	}
	return a.send(req)
}

func (a *api) send(req *http.Request) (*http.Response, []byte) {
	a.t.Helper()
	resp, err := a.hc.Do(req)
	require.NoError(a.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(a.t, err)
	return resp, body
}

// request builds an API request with a token, the tenant and JSON headers.
func (a *api) request(ctx context.Context, method, path string, body any) *http.Request {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, ok := body.([]byte)
		if !ok {
			var err error
			b, err = json.Marshal(body)
			require.NoError(a.t, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+emulator.APIPath+path, rd)
	require.NoError(a.t, err)
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Xero-Tenant-Id", a.e.TenantID())
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

func decodeJSON(b []byte, out any) error { return json.Unmarshal(b, out) }

// call sends an API request and decodes a JSON answer into out (if not nil).
func (a *api) call(method, path string, body any, out any) *http.Response {
	a.t.Helper()
	resp, raw := a.send(a.request(context.Background(), method, path, body))
	if out != nil && len(raw) > 0 {
		require.NoError(a.t, json.Unmarshal(raw, out), string(raw))
	}
	return resp
}

// raw sends an API request and returns the answer's body.
func (a *api) raw(method, path string, body any) (*http.Response, []byte) {
	a.t.Helper()
	return a.send(a.request(context.Background(), method, path, body))
}

// Decoded answers, written for the tests (not shared with the emulator).
type contactJSON struct {
	ContactID           string
	Name                string
	AccountNumber       string
	EmailAddress        string
	ContactStatus       string
	IsCustomer          bool
	HasValidationErrors bool
	ValidationErrors    []struct{ Message string }
}

type lineJSON struct {
	Description string
	Quantity    json.Number
	UnitAmount  json.Number
	LineAmount  json.Number
	TaxAmount   json.Number
	TaxType     string
	AccountCode string
}

type invoiceJSON struct {
	InvoiceID            string
	InvoiceNumber        string
	Type                 string
	Status               string
	Reference            string
	CurrencyCode         string
	LineAmountTypes      string
	Contact              contactJSON
	Date                 string
	DateString           string
	DueDate              string
	DueDateString        string
	FullyPaidOnDate      string
	LineItems            []lineJSON
	SubTotal             json.Number
	TotalTax             json.Number
	Total                json.Number
	AmountDue            json.Number
	AmountPaid           json.Number
	UpdatedDateUTC       string
	UpdatedDateUTCString string
	HasErrors            bool
	ValidationErrors     []struct{ Message string }
}

type errorJSON struct {
	ErrorNumber int
	Type        string
	Message     string
	Elements    []struct {
		ValidationErrors []struct{ Message string }
	}
}

func (e errorJSON) messages() []string {
	var out []string
	for _, el := range e.Elements {
		for _, v := range el.ValidationErrors {
			out = append(out, v.Message)
		}
	}
	return out
}

type contactsJSON struct {
	Contacts []contactJSON
}

type invoicesJSON struct {
	Invoices   []invoiceJSON
	Pagination *struct {
		Page, PageSize, PageCount, ItemCount int
	} `json:"pagination"`
}

func contactsBody(contacts ...map[string]any) map[string]any {
	return map[string]any{"Contacts": contacts}
}

func invoicesBody(invoices ...map[string]any) map[string]any {
	return map[string]any{"Invoices": invoices}
}

// createContact creates a contact and returns its id.
func (a *api) createContact(name, accountNumber, email string) string {
	a.t.Helper()
	var out contactsJSON
	resp := a.call(http.MethodPut, "/Contacts", contactsBody(map[string]any{
		"Name": name, "AccountNumber": accountNumber, "EmailAddress": email,
	}), &out)
	require.Equal(a.t, http.StatusOK, resp.StatusCode)
	require.Len(a.t, out.Contacts, 1)
	return out.Contacts[0].ContactID
}

// invoice is a valid AUTHORISED invoice for contactID: one line of
// 2 × 10.00 on account 200, exclusive of tax.
func invoice(contactID string) map[string]any {
	return map[string]any{
		"Type":            "ACCREC",
		"Contact":         map[string]any{"ContactID": contactID},
		"Date":            "2026-01-31",
		"DueDate":         "2026-02-14",
		"LineAmountTypes": "Exclusive",
		"Status":          "AUTHORISED",
		"CurrencyCode":    "NZD",
		"Reference":       "Membership 2026",
		"LineItems": []map[string]any{
			{"Description": "Annual membership", "Quantity": 2, "UnitAmount": 10, "AccountCode": "200"},
		},
	}
}

// createInvoice creates invoice(contactID) and returns the answer.
func (a *api) createInvoice(contactID string) invoiceJSON {
	a.t.Helper()
	var out invoicesJSON
	resp := a.call(http.MethodPut, "/Invoices", invoicesBody(invoice(contactID)), &out)
	require.Equal(a.t, http.StatusOK, resp.StatusCode)
	require.Len(a.t, out.Invoices, 1)
	return out.Invoices[0]
}
