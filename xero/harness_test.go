package xero_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/xero"
)

const (
	apiURL       = "https://xero.test/api.xro/2.0"
	tokenURL     = "https://identity.test/connect/token"
	connURL      = "https://xero.test/connections"
	tenantID     = "6f1a7a0e-0d3c-4a6e-9a39-1f1c0b0e7c11"
	clientID     = "CLIENT0ID0FOR0TESTS"
	clientSecret = "sup3r-s3cret-client-value-XYZ"
)

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type recorded struct {
	Method string
	URL    string
	Header http.Header
	Body   string
}

// harness is a Client wired to an httpmock transport with a token endpoint
// that hands out tok-1, tok-2, ...
type harness struct {
	t       *testing.T
	mt      *httpmock.MockTransport
	cfg     xero.Config
	client  *xero.Client
	limiter *ratelimit.Local
	logs    *syncBuffer

	mu        sync.Mutex
	requests  []recorded // API and connections requests
	tokenReqs []recorded
	// tokenAnswer, when set, replaces the token endpoint's answer.
	tokenAnswer func(n int) (int, string)
	tokenTTL    int
}

type harnessOption func(*harness, *[]xero.Option)

func withConfig(f func(*xero.Config)) harnessOption {
	return func(h *harness, _ *[]xero.Option) { f(&h.cfg) }
}

func withClientOptions(opts ...xero.Option) harnessOption {
	return func(_ *harness, o *[]xero.Option) { *o = append(*o, opts...) }
}

func testConfig() xero.Config {
	return xero.Config{
		ClientID:      clientID,
		ClientSecret:  billing.NewSecret(clientSecret),
		TenantID:      tenantID,
		AccountCode:   "200",
		AmountType:    xero.AmountInclusive,
		Currency:      "NZD",
		EmailInvoices: true,
		APIURL:        apiURL,
		TokenURL:      tokenURL,
	}
}

func newHarness(t *testing.T, hopts ...harnessOption) *harness {
	t.Helper()
	h := &harness{
		t:        t,
		mt:       httpmock.NewMockTransport(),
		cfg:      testConfig(),
		limiter:  ratelimit.NewLocal(ratelimit.Options{}),
		logs:     &syncBuffer{},
		tokenTTL: 1800,
	}
	opts := []xero.Option{
		xero.WithHTTPClient(&http.Client{Transport: h.mt}),
		xero.WithLimiter(h.limiter),
		xero.WithRetries(3, time.Millisecond),
		xero.WithLogger(slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
	}
	for _, o := range hopts {
		o(h, &opts)
	}
	h.mt.RegisterResponder(http.MethodPost, tokenURL, h.tokenEndpoint)
	c, err := xero.NewClient(h.cfg, opts...)
	require.NoError(t, err)
	h.client = c
	return h
}

func record(req *http.Request) recorded {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
	}
	return recorded{Method: req.Method, URL: req.URL.String(), Header: req.Header.Clone(), Body: string(body)}
}

func (h *harness) tokenEndpoint(req *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.tokenReqs = append(h.tokenReqs, record(req))
	n := len(h.tokenReqs)
	answer, ttl := h.tokenAnswer, h.tokenTTL
	h.mu.Unlock()
	status, body := http.StatusOK, fmt.Sprintf(`{"access_token":"tok-%d","expires_in":%d,"token_type":"Bearer","scope":"accounting.contacts"}`, n, ttl)
	if answer != nil {
		status, body = answer(n)
	}
	resp := httpmock.NewStringResponse(status, body)
	resp.Header.Set("Content-Type", "application/json")
	return resp, nil
}

// handle registers a responder for method and path (under the API URL, or
// absolute), recording each request.
func (h *harness) handle(method, path string, r httpmock.Responder) {
	u := path
	if !strings.HasPrefix(path, "https://") {
		u = apiURL + path
	}
	h.mt.RegisterResponder(method, u, func(req *http.Request) (*http.Response, error) {
		h.mu.Lock()
		h.requests = append(h.requests, record(req))
		h.mu.Unlock()
		return r(req)
	})
}

// calls returns the recorded API requests whose method and path match.
func (h *harness) calls(method, path string) []recorded {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []recorded
	for _, r := range h.requests {
		u := strings.TrimPrefix(r.URL, apiURL)
		u, _, _ = strings.Cut(u, "?")
		if r.Method == method && (u == path || r.URL == path) {
			out = append(out, r)
		}
	}
	return out
}

func (h *harness) tokenCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.tokenReqs)
}

// apiCalls is the number of HTTP requests other than token requests, as
// httpmock counted them.
func (h *harness) apiCalls() int {
	return h.mt.GetTotalCallCount() - h.tokenCount()
}

// respond builds a responder with a status, a body and header pairs.
func respond(status int, body string, headers ...string) httpmock.Responder {
	return func(*http.Request) (*http.Response, error) {
		resp := httpmock.NewStringResponse(status, body)
		resp.Header.Set("Content-Type", "application/json; charset=utf-8")
		for i := 0; i+1 < len(headers); i += 2 {
			resp.Header.Set(headers[i], headers[i+1])
		}
		return resp, nil
	}
}

// sequence answers with each responder in turn, repeating the last.
func sequence(rs ...httpmock.Responder) httpmock.Responder {
	var mu sync.Mutex
	n := 0
	return func(req *http.Request) (*http.Response, error) {
		mu.Lock()
		r := rs[min(n, len(rs)-1)]
		n++
		mu.Unlock()
		return r(req)
	}
}

func contactJSON(id, name, acct, email string) string {
	return fmt.Sprintf(`{"Contacts":[{"ContactID":%q,"ContactStatus":"ACTIVE","Name":%q,"AccountNumber":%q,"EmailAddress":%q,"UpdatedDateUTC":"/Date(1551399321043+0000)/"}]}`, id, name, acct, email)
}

func invoiceObject(id, number, status string, total, paid, due string) string {
	return fmt.Sprintf(`{"Type":"ACCREC","InvoiceID":%q,"InvoiceNumber":%q,"Reference":"Membership 2026","Contact":{"ContactID":"c0ffee00-0000-4000-8000-000000000001","Name":"Jane"},"DateString":"2026-01-31T00:00:00","Date":"/Date(1769817600000+0000)/","DueDateString":"2026-02-28T00:00:00","DueDate":"/Date(1772236800000+0000)/","Status":%q,"LineAmountTypes":"Inclusive","SubTotal":%s,"TotalTax":0.00,"Total":%s,"AmountPaid":%s,"AmountDue":%s,"AmountCredited":0.00,"CurrencyCode":"NZD","UpdatedDateUTC":"/Date(1769850000000+0000)/","LineItems":[{"LineItemID":"11111111-2222-4333-8444-555555555555","Description":"Annual membership","Quantity":1.0000,"UnitAmount":%s,"AccountCode":"200","TaxType":"OUTPUT2","TaxAmount":0.00,"LineAmount":%s}]}`,
		id, number, status, total, total, paid, due, total, total)
}

const validation400 = `{"ErrorNumber":10,"Type":"ValidationException","Message":"A validation exception occurred","Elements":[{"ValidationErrors":[{"Message":"%s"}]}]}`
