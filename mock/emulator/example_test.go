package emulator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/xero/setup"
	"github.com/shopspring/decimal"
)

// NewServer runs the emulator on a local port; Env is the configuration an
// app needs to use it as its Xero.
func ExampleNewServer() {
	s := emulator.NewServer(emulator.Options{WebhookKey: "demo-webhook-key"})
	defer s.Close()

	env := s.Env()
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Println(k)
	}
	fmt.Println(env["XERO_API_URL"] == s.URL+"/api.xro/2.0")

	// An app would call os.Setenv for each pair, or hand the map to
	// setup.LoadConfig:
	cfg, err := setup.LoadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	fmt.Println(cfg.Provider, err)
	// Output:
	// AMS_BILLING_SERVICE_CLASS
	// XERO_ACCOUNT_CODE
	// XERO_AMOUNT_TYPE
	// XERO_API_URL
	// XERO_CLIENT_ID
	// XERO_CLIENT_SECRET
	// XERO_CURRENCY_CODE
	// XERO_TENANT_ID
	// XERO_TOKEN_URL
	// XERO_WEBHOOK_KEY
	// true
	// xero <nil>
}

// Client calls the emulator in-process. Here it is driven by hand, as any
// Xero client would: a token, then the Accounting API.
func ExampleEmulator_Client() {
	e := emulator.New(emulator.Options{})
	defer e.Close()
	hc := e.Client()
	const base = "http://xero.emulator" // any host: nothing leaves the process

	form := url.Values{"grant_type": {"client_credentials"}}
	req, _ := http.NewRequest(http.MethodPost, base+emulator.TokenPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(emulator.DefaultClientID, emulator.DefaultClientSecret)
	resp, err := hc.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()

	body := `{"Contacts":[{"Name":"Ann Lee","AccountNumber":"7f3e"}]}`
	req, _ = http.NewRequest(http.MethodPut, base+emulator.APIPath+"/Contacts", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Xero-Tenant-Id", e.TenantID())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	resp, err = hc.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("X-MinLimit-Remaining"))
	fmt.Println(e.Contacts()[0].Name)
	// Output:
	// 200 59
	// Ann Lee
}

// PayInvoice plays the customer paying; the app hears of it by webhook and
// sees the new state when it fetches the invoice.
func ExampleEmulator_PayInvoice() {
	e := emulator.New(emulator.Options{})
	defer e.Close()
	hc := e.Client()
	const base = "http://xero.emulator"
	ctx := context.Background()
	var tok struct {
		AccessToken string `json:"access_token"`
	}

	call := func(method, path, token, body string) error {
		req, err := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
		if err != nil {
			return err
		}
		if token == "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(emulator.DefaultClientID, emulator.DefaultClientSecret)
		} else {
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Xero-Tenant-Id", e.TenantID())
			req.Header.Set("Accept", "application/json")
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if token == "" {
			return json.NewDecoder(resp.Body).Decode(&tok)
		}
		return nil
	}
	if err := call(http.MethodPost, emulator.TokenPath, "", "grant_type=client_credentials"); err != nil {
		fmt.Println(err)
		return
	}
	err := call(http.MethodPut, emulator.APIPath+"/Invoices", tok.AccessToken, `{"Invoices":[{
		"Type":"ACCREC","Status":"AUTHORISED","Contact":{"Name":"Ann Lee"},
		"Date":"2026-01-31","DueDate":"2026-02-14",
		"LineItems":[{"Description":"Membership","Quantity":1,"UnitAmount":100,"AccountCode":"200"}]}]}`)
	if err != nil {
		fmt.Println(err)
		return
	}

	inv := e.Invoices()[0]
	fmt.Println(inv.InvoiceNumber, inv.Status, inv.Total.StringFixed(2))
	if err := e.PayInvoice(ctx, inv.InvoiceID, inv.AmountDue, billing.NewDate(2026, 2, 2)); err != nil {
		fmt.Println(err)
	}
	inv, _ = e.Invoice(inv.InvoiceID)
	fmt.Println(inv.Status, inv.AmountDue.StringFixed(2), inv.FullyPaidOnDate)
	fmt.Println(e.PayInvoice(ctx, inv.InvoiceID, decimal.NewFromInt(1), billing.Date{}) != nil)
	// Output:
	// INV-0001 AUTHORISED 115.00
	// PAID 0.00 2026-02-02
	// true
}

// exampleCall sends one Accounting API request through hc with a fresh
// token (fetched on first use) and returns the status and body, or the
// transport's error.
func exampleCall(e *emulator.Emulator, hc *http.Client, token *string, method, path, key, body string) (int, string, error) {
	const base = "http://xero.emulator"
	if *token == "" {
		req, _ := http.NewRequest(http.MethodPost, base+emulator.TokenPath, strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(emulator.DefaultClientID, emulator.DefaultClientSecret)
		resp, err := hc.Do(req)
		if err != nil {
			return 0, "", err
		}
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		err = json.NewDecoder(resp.Body).Decode(&tok)
		resp.Body.Close()
		if err != nil {
			return 0, "", err
		}
		*token = tok.AccessToken
	}
	req, _ := http.NewRequest(method, base+emulator.APIPath+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+*token)
	req.Header.Set("Xero-Tenant-Id", e.TenantID())
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// A lost answer: Xero creates the contact, but the client gets a 200 it
// cannot read. Retrying with the same Idempotency-Key gets the first
// answer, whole, and creates nothing more.
func ExampleFault_loseAnswer() {
	e := emulator.New(emulator.Options{})
	defer e.Close()
	hc := e.Client()
	var token string
	e.InjectFault(emulator.Fault{Path: emulator.APIPath + "/Contacts", LoseAnswer: emulator.AnswerGarbled})

	body := `{"Contacts":[{"Name":"Ann Lee"}]}`
	for range 2 {
		status, answer, err := exampleCall(e, hc, &token, http.MethodPut, "/Contacts", "create-ann", body)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(status, json.Valid([]byte(answer)), len(e.Contacts()))
	}
	// Output:
	// 200 false 1
	// 200 true 1
}

// CallCounts counts calls by operation, exactly, to measure what a piece
// of work costs in Xero's limits; the token request is counted apart.
func ExampleEmulator_CallCounts() {
	e := emulator.New(emulator.Options{})
	defer e.Close()
	hc := e.Client()
	var token string
	for _, path := range []string{"/Organisation", "/Invoices?page=1", "/Invoices?page=2"} {
		if _, _, err := exampleCall(e, hc, &token, http.MethodGet, path, "", ""); err != nil {
			fmt.Println(err)
			return
		}
	}
	counts := e.CallCounts()
	ops := slices.Sorted(maps.Keys(counts))
	for _, op := range ops {
		fmt.Println(op, counts[op])
	}
	fmt.Println("API calls:", e.APICalls())
	// Output:
	// GET /Invoices 2
	// GET /Organisation 1
	// POST /connect/token 1
	// API calls: 3
}
