package emulator

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// issueTestToken asks e for an access token the way a client would.
func issueTestToken(t *testing.T, e *Emulator) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequest(http.MethodPost, "http://xero.emulator"+TokenPath, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(DefaultClientID, DefaultClientSecret)
	rp := e.token(req, []byte(form.Encode()))
	require.Equal(t, http.StatusOK, rp.status, string(rp.body))
	_, rest, _ := strings.Cut(string(rp.body), `"access_token":"`)
	tok, _, _ := strings.Cut(rest, `"`)
	require.NotEmpty(t, tok)
	return tok
}

func bearerOK(e *Emulator, tok string) bool {
	r, _ := http.NewRequest(http.MethodGet, "http://xero.emulator"+ConnectionsPath, nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	_, ok := e.checkBearer(r)
	return ok
}

// A client that asks for a token per call cannot grow the emulator's
// memory without bound: past the limit the oldest live token gives way.
func TestLiveTokensAreBounded(t *testing.T) {
	e := New(Options{})
	t.Cleanup(func() { _ = e.Close() })
	e.bounds.tokens = 3

	var toks []string
	for range 5 {
		toks = append(toks, issueTestToken(t, e))
	}
	e.mu.Lock()
	live, order := len(e.tokens), len(e.tokenOrder)
	e.mu.Unlock()
	assert.Equal(t, 3, live)
	assert.Equal(t, 3, order)
	for i, tok := range toks {
		assert.Equal(t, i >= 2, bearerOK(e, tok), "token %d", i)
	}
}

// The list of emailed invoices is bounded like the other records of what
// happened.
func TestEmailsAreBounded(t *testing.T) {
	e := New(Options{})
	t.Cleanup(func() { _ = e.Close() })
	e.bounds.emails = 2
	e.mu.Lock()
	c := &Contact{ContactID: e.entityID(idContact), Name: "Ann", EmailAddress: "ann@example.com", ContactStatus: contactActive}
	e.contacts = append(e.contacts, c)
	e.contactByID[c.ContactID] = c
	inv := &Invoice{InvoiceID: e.entityID(idInvoice), InvoiceNumber: "INV-0001", Type: "ACCREC", Status: "AUTHORISED", ContactID: c.ContactID}
	e.invoices = append(e.invoices, inv)
	e.invoiceByID[inv.InvoiceID] = inv
	for range 5 {
		rp := e.emailInvoice(&apiCall{segs: []string{"Invoices", inv.InvoiceID, "Email"}})
		require.Equal(t, http.StatusNoContent, rp.status)
	}
	e.mu.Unlock()
	assert.Len(t, e.Emails(), 2)
}

// Expired idempotency keys are forgotten as new ones come, so memory holds
// only the keys still within IdempotencyTTL (and at most the bound).
func TestIdempotencyKeysAreBounded(t *testing.T) {
	now := time.Date(2026, 1, 31, 9, 0, 0, 0, time.UTC)
	e := New(Options{Now: func() time.Time { return now }, IdempotencyTTL: time.Minute})
	t.Cleanup(func() { _ = e.Close() })
	e.bounds.idempotencyKeys = 3
	e.mu.Lock()
	defer e.mu.Unlock()
	key := func(s string) idemKey { return idemKey{tenant: e.opts.TenantID, key: s} }
	for _, k := range []string{"a", "b", "c", "d"} {
		e.rememberIdem(key(k), reply{status: 200}, now)
	}
	assert.Len(t, e.idem, 3, "the bound")
	assert.NotContains(t, e.idem, key("a"))

	now = now.Add(time.Minute)
	e.rememberIdem(key("b"), reply{status: 201}, now) // b again, after it expired
	e.rememberIdem(key("e"), reply{status: 200}, now)
	assert.Len(t, e.idem, 2, "c and d expired")
	assert.Equal(t, 201, e.idem[key("b")].rp.status)
	assert.Len(t, e.idemOrder, 2)
}

// CallCounts stay exact past the bound of the request log.
func TestCallCountsOutliveTheLog(t *testing.T) {
	e := New(Options{})
	t.Cleanup(func() { _ = e.Close() })
	e.bounds.requests = 2
	hc := e.Client()
	for range 5 {
		resp, err := hc.Get("http://xero.emulator/")
		require.NoError(t, err)
		resp.Body.Close()
	}
	assert.Len(t, e.Requests(), 2)
	assert.Equal(t, map[string]int{"GET /": 5}, e.CallCounts())
	assert.Zero(t, e.APICalls())
}
