package emulator_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/webhook"
	"github.com/amsbilling/sdk/xero/setup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestServerEnv(t *testing.T) {
	s := emulator.NewServer(emulator.Options{WebhookKey: "whk"})
	t.Cleanup(func() { _ = s.Close() })
	env := s.Env()
	assert.Equal(t, s.URL+"/api.xro/2.0", env["XERO_API_URL"])
	assert.Equal(t, s.URL+"/connect/token", env["XERO_TOKEN_URL"])
	assert.Equal(t, emulator.DefaultClientID, env["XERO_CLIENT_ID"])
	assert.Equal(t, emulator.DefaultClientSecret, env["XERO_CLIENT_SECRET"])
	assert.Equal(t, emulator.DefaultTenantID, env["XERO_TENANT_ID"])
	assert.Equal(t, "whk", env["XERO_WEBHOOK_KEY"])
	assert.True(t, strings.HasPrefix(s.URL, "http://127.0.0.1:"), s.URL)

	// The SDK's configuration accepts it as is.
	cfg, err := setup.LoadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	assert.Equal(t, setup.ProviderXero, cfg.Provider)
	assert.Equal(t, s.APIURL, cfg.Xero.APIURL)

	// And the URLs work over the network.
	a := &api{t: t, e: s.Emulator, hc: &http.Client{}, base: s.URL}
	a.token = a.fetchToken()
	resp, _ := a.raw(http.MethodGet, "/Contacts", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)

}

// Env is a configuration the SDK accepts even when no webhook key was
// chosen: the emulator makes one up, and signs its webhooks with it.
func TestServerEnvWithoutAWebhookKey(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)
	s := emulator.NewServer(emulator.Options{WebhookURL: srv.URL})
	t.Cleanup(func() { _ = s.Close() })
	env := s.Env()
	_, err := setup.LoadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	key := env["XERO_WEBHOOK_KEY"]
	require.NotEmpty(t, key)

	a := &api{t: t, e: s.Emulator, hc: &http.Client{}, base: s.URL}
	a.token = a.fetchToken()
	a.createInvoice(a.createContact("Ann", "", ""))
	require.NoError(t, s.FlushWebhooks(t.Context()))
	d := s.Webhooks()
	require.Len(t, d, 1)
	assert.True(t, d[0].Delivered)
	assert.NoError(t, webhook.Verify([]billing.Secret{billing.NewSecret(key)}, d[0].Body, d[0].Signature))
}

func TestServerClose(t *testing.T) {
	s := emulator.NewServer(emulator.Options{})
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "idempotent")
	_, err := http.Get(s.URL + "/")
	assert.Error(t, err)
}

func TestListenBadAddress(t *testing.T) {
	_, err := emulator.Listen("256.0.0.1:0", emulator.Options{})
	assert.Error(t, err)
}

func TestRequestsAreRecordedRedacted(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	// A token request with the secret in the form.
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {emulator.DefaultClientID}, "client_secret": {emulator.DefaultClientSecret}}
	resp, _ := a.tokenRequest(form, false)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	req := a.request(t.Context(), http.MethodPut, "/Contacts?summarizeErrors=false", contactsBody(map[string]any{"Name": "Ann"}))
	req.Header.Set("Idempotency-Key", "k1")
	resp, _ = a.send(req)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	reqs := a.e.Requests()
	require.Len(t, reqs, 3)
	for _, r := range reqs {
		assert.NotContains(t, string(r.Body), emulator.DefaultClientSecret)
		assert.Contains(t, []string{"", "Basic [redacted]", "Bearer [redacted]"}, r.Header.Get("Authorization"))
	}
	assert.Equal(t, "Basic [redacted]", reqs[0].Header.Get("Authorization"))
	assert.Contains(t, string(reqs[1].Body), "client_secret=%5Bredacted%5D")
	last := reqs[2]
	assert.Equal(t, http.MethodPut, last.Method)
	assert.Equal(t, "/api.xro/2.0/Contacts", last.Path)
	assert.Equal(t, "false", last.Query.Get("summarizeErrors"))
	assert.Equal(t, "Bearer [redacted]", last.Header.Get("Authorization"))
	assert.Equal(t, "k1", last.IdempotencyKey)
	assert.Equal(t, http.StatusOK, last.Status)
	assert.JSONEq(t, `{"Contacts":[{"Name":"Ann"}]}`, string(last.Body))
}

func TestRequestValidator(t *testing.T) {
	a := newAPI(t, emulator.Options{RequestValidator: func(r *http.Request, body []byte) error {
		if r.Method == http.MethodPut && !strings.Contains(string(body), "AccountNumber") {
			return errors.New("AccountNumber is required here")
		}
		return nil
	}})
	var out errorJSON
	resp := a.call(http.MethodPut, "/Contacts", contactsBody(map[string]any{"Name": "Ann"}), &out)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, out.Message, "AccountNumber is required here")
	assert.Empty(t, a.e.Contacts())
	reqs := a.e.Requests()
	assert.Equal(t, "AccountNumber is required here", reqs[len(reqs)-1].ValidationError)

	a.createContact("Ann", "acc", "")
	assert.Len(t, a.e.Contacts(), 1)
}

// The request log names each request's operation, so calls can be counted
// exactly, tokens apart from API calls.
func TestRequestOperations(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	contactID := a.createContact("Ann", "", "ann@example.com")
	inv := a.createInvoice(contactID)
	a.raw(http.MethodGet, "/invoices/"+inv.InvoiceNumber, nil) // any case, by number
	a.raw(http.MethodGet, "/Contacts/"+contactID, nil)
	a.raw(http.MethodGet, "/Contacts/CUST-1", nil)
	a.raw(http.MethodPost, "/Invoices/"+inv.InvoiceID+"/Email", map[string]any{})
	a.raw(http.MethodGet, "/Invoices?page=1", nil)
	a.raw(http.MethodGet, "/Invoices?page=2", nil)
	a.raw(http.MethodGet, "/Accounts", nil)
	a.raw(http.MethodGet, "/Nothing", nil)
	a.fetchToken()

	want := map[string]int{
		"POST /connect/token":              2,
		"PUT /Contacts":                    1,
		"PUT /Invoices":                    1,
		"GET /Invoices/{InvoiceID}":        1,
		"GET /Contacts/{ContactID}":        1,
		"GET /Contacts/{ContactNumber}":    1,
		"POST /Invoices/{InvoiceID}/Email": 1,
		"GET /Invoices":                    2,
		"GET /Accounts":                    1,
		"":                                 1,
	}
	assert.Equal(t, want, a.e.CallCounts())
	assert.Equal(t, 10, a.e.APICalls())

	reqs := a.e.Requests()
	require.Len(t, reqs, 12)
	assert.Equal(t, "POST /connect/token", reqs[0].Operation)
	assert.False(t, reqs[0].API)
	assert.Equal(t, "GET /Invoices/{InvoiceID}", reqs[3].Operation)
	assert.True(t, reqs[3].API)
	assert.Equal(t, "/api.xro/2.0/invoices/INV-0001", reqs[3].Path, "the path as sent")
	assert.True(t, reqs[10].API, "an unknown API path is still an API call")
	assert.Empty(t, reqs[10].Operation)
}
