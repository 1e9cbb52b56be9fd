package emulator_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type tokenJSON struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	TokenType   string `json:"token_type"`
	Scope       string `json:"scope"`
	Error       string `json:"error"`
}

func TestTokenEndpoint(t *testing.T) {
	grant := url.Values{"grant_type": {"client_credentials"}}
	withForm := func(extra url.Values) url.Values {
		v := url.Values{}
		for k, vs := range grant {
			v[k] = vs
		}
		for k, vs := range extra {
			v[k] = vs
		}
		return v
	}
	tests := []struct {
		name      string
		legacy    bool
		form      url.Values
		basic     bool
		wantCode  int
		wantError string
		wantScope string
	}{
		{name: "basic auth", form: grant, basic: true, wantCode: 200, wantScope: "accounting.contacts accounting.invoices accounting.payments accounting.settings.read"},
		{name: "form credentials", form: withForm(url.Values{"client_id": {emulator.DefaultClientID}, "client_secret": {emulator.DefaultClientSecret}}), wantCode: 200},
		{name: "wrong secret", form: withForm(url.Values{"client_id": {emulator.DefaultClientID}, "client_secret": {"nope"}}), wantCode: 400, wantError: "invalid_client"},
		{name: "no credentials", form: grant, wantCode: 400, wantError: "invalid_client"},
		{name: "wrong grant", form: url.Values{"grant_type": {"authorization_code"}}, basic: true, wantCode: 400, wantError: "unsupported_grant_type"},
		{name: "explicit scope refused by a 2026 connection", form: withForm(url.Values{"scope": {"accounting.transactions"}}), basic: true, wantCode: 400, wantError: "invalid_scope"},
		{name: "explicit scope on a legacy connection", legacy: true, form: withForm(url.Values{"scope": {"accounting.transactions accounting.contacts"}}), basic: true, wantCode: 200, wantScope: "accounting.transactions accounting.contacts"},
		{name: "unknown scope on a legacy connection", legacy: true, form: withForm(url.Values{"scope": {"accounting.everything"}}), basic: true, wantCode: 400, wantError: "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEmulator(t, emulator.Options{LegacyScopes: tt.legacy})
			a := &api{t: t, e: e, hc: e.Client(), base: base}
			resp, body := a.tokenRequest(tt.form, tt.basic)
			require.Equal(t, tt.wantCode, resp.StatusCode, string(body))
			var tok tokenJSON
			require.NoError(t, json.Unmarshal(body, &tok))
			assert.Equal(t, tt.wantError, tok.Error)
			assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
			if tt.wantCode == http.StatusOK {
				assert.NotEmpty(t, tok.AccessToken)
				assert.Equal(t, 1800, tok.ExpiresIn)
				assert.Equal(t, "Bearer", tok.TokenType)
				if tt.wantScope != "" {
					assert.Equal(t, tt.wantScope, tok.Scope)
				}
			}
		})
	}
}

func TestTokenEndpointRefusesGET(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	req, err := http.NewRequest(http.MethodGet, base+emulator.TokenPath, nil)
	require.NoError(t, err)
	resp, _ := a.send(req)
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, http.MethodPost, resp.Header.Get("Allow"))
}

func TestCustomCredentialsAndTokenTTL(t *testing.T) {
	clk := newClock()
	e := newEmulator(t, emulator.Options{ClientID: "ID", ClientSecret: "S3CRET", TokenTTL: 10 * time.Minute, Now: clk.Now})
	a := &api{t: t, e: e, hc: e.Client(), base: base}
	req, err := http.NewRequest(http.MethodPost, base+emulator.TokenPath, strings.NewReader("grant_type=client_credentials"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("ID", "S3CRET")
	resp, body := a.send(req)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var tok tokenJSON
	require.NoError(t, json.Unmarshal(body, &tok))
	assert.Equal(t, 600, tok.ExpiresIn)
	a.token = tok.AccessToken

	resp, _ = a.raw(http.MethodGet, "/Contacts", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	clk.Add(10 * time.Minute)
	resp, body = a.raw(http.MethodGet, "/Contacts", nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	var p struct {
		Title  string
		Status int
		Detail string
	}
	require.NoError(t, json.Unmarshal(body, &p))
	assert.Equal(t, "Unauthorized", p.Title)
	assert.Equal(t, 401, p.Status)
	assert.True(t, strings.HasPrefix(p.Detail, "TokenExpired: "), p.Detail)
}

func TestBearerAndTenantChecks(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	tests := []struct {
		name       string
		edit       func(*http.Request)
		wantStatus int
		wantTitle  string
	}{
		{"no token", func(r *http.Request) { r.Header.Del("Authorization") }, 401, "Unauthorized"},
		{"unknown token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer made-up") }, 401, "Unauthorized"},
		{"basic instead of bearer", func(r *http.Request) { r.SetBasicAuth("a", "b") }, 401, "Unauthorized"},
		{"no tenant", func(r *http.Request) { r.Header.Del("Xero-Tenant-Id") }, 403, "Forbidden"},
		{"wrong tenant", func(r *http.Request) { r.Header.Set("Xero-Tenant-Id", uuid.NewString()) }, 403, "Forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := a.request(t.Context(), http.MethodGet, "/Contacts", nil)
			tt.edit(req)
			resp, body := a.send(req)
			require.Equal(t, tt.wantStatus, resp.StatusCode, string(body))
			var p struct {
				Type       *string
				Title      string
				Status     int
				Detail     string
				Instance   string
				Extensions map[string]any
			}
			require.NoError(t, json.Unmarshal(body, &p))
			assert.Nil(t, p.Type)
			assert.Equal(t, tt.wantTitle, p.Title)
			assert.Equal(t, tt.wantStatus, p.Status)
			assert.Equal(t, "AuthenticationUnsuccessful", p.Detail)
			assert.NotEmpty(t, p.Instance)
			assert.Empty(t, resp.Header.Get("X-MinLimit-Remaining"), "refused calls do not count")
		})
	}
}

func TestConnections(t *testing.T) {
	a := newAPI(t, emulator.Options{TenantName: "Acme Ltd"})
	req, err := http.NewRequest(http.MethodGet, base+emulator.ConnectionsPath, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, body := a.send(req)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var conns []map[string]string
	require.NoError(t, json.Unmarshal(body, &conns))
	require.Len(t, conns, 1)
	c := conns[0]
	assert.Equal(t, emulator.DefaultTenantID, c["tenantId"])
	assert.Equal(t, "ORGANISATION", c["tenantType"])
	assert.Equal(t, "Acme Ltd", c["tenantName"])
	for _, k := range []string{"id", "authEventId"} {
		_, err := uuid.Parse(c[k])
		assert.NoError(t, err, k)
	}
	assert.NotEmpty(t, c["createdDateUtc"])
	assert.NotEmpty(t, c["updatedDateUtc"])

	req.Header.Set("Authorization", "Bearer nope")
	resp, _ = a.send(req)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

func TestContentNegotiation(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	req := a.request(t.Context(), http.MethodGet, "/Contacts", nil)
	req.Header.Del("Accept")
	resp, body := a.send(req)
	assert.Equal(t, http.StatusNotAcceptable, resp.StatusCode)
	assert.Contains(t, string(body), "Accept: application/json")

	req = a.request(t.Context(), http.MethodPut, "/Contacts", contactsBody(map[string]any{"Name": "A"}))
	req.Header.Set("Content-Type", "application/xml")
	resp, _ = a.send(req)
	assert.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
	assert.Empty(t, a.e.Contacts())
}

func TestUnknownPathsAndMethods(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	resp, body := a.raw(http.MethodGet, "/Items", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "The resource you're looking for cannot be found", string(body))

	resp, _ = a.raw(http.MethodDelete, "/Invoices", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, "GET, PUT, POST", resp.Header.Get("Allow"))

	// Xero's paths are not case-sensitive.
	resp, _ = a.raw(http.MethodGet, "/contacts", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}
