package xero_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/xero"
)

// TestDebugLogsRedactSecrets runs a whole debug session and checks that no
// credential reaches the log or an error string.
func TestDebugLogsRedactSecrets(t *testing.T) {
	h := newHarness(t, withConfig(func(c *xero.Config) { c.Debug = true }))
	// Tokens shaped like Xero's JWTs, with a refresh token and id token too.
	tokens := []string{"eyJhbGciOiJSUzI1NiJ9.first-access.sig1", "eyJhbGciOiJSUzI1NiJ9.second-access.sig2"}
	h.tokenAnswer = func(n int) (int, string) {
		return 200, `{"access_token":"` + tokens[n-1] + `","expires_in":1800,"token_type":"Bearer","refresh_token":"refresh-XYZ-123","id_token":"idtok-ABC-456"}`
	}
	unauthorized := respond(401, `{"Type":null,"Title":"Unauthorized","Status":401,"Detail":"AuthenticationUnsuccessful"}`)
	h.handle(http.MethodPut, "/Contacts", sequence(unauthorized, respond(200, contactJSON(contactID, "Jane (u-1)", "u-1", "jane@example.com"))))
	invID := "0e4b2a4e-7d5b-4d8e-8a55-2c5d8f1b9f01"
	h.handle(http.MethodPut, "/Invoices", sequence(
		respond(200, `{"Invoices":[`+invoiceObject(invID, "INV-1", "AUTHORISED", "10.00", "0.00", "10.00")+`]}`),
		// An error body that echoes a credential must not carry it on.
		respond(400, `{"ErrorNumber":10,"Type":"ValidationException","Message":"bad token `+tokens[1]+` and secret `+clientSecret+`","Elements":[{"ValidationErrors":[{"Message":"Authorization: Bearer `+tokens[1]+`"}]}]}`),
	))
	h.handle(http.MethodGet, connURL, respond(200, `[]`))

	ctx := context.Background()
	var errs []error
	_, err := h.client.CreateContact(ctx, xero.Contact{Name: "Jane (u-1)", AccountNumber: "u-1", EmailAddress: "jane@example.com"})
	require.NoError(t, err)
	inv := xero.Invoice{Type: "ACCREC", Contact: xero.Contact{ContactID: contactID}, LineItems: []xero.LineItem{{Description: "x", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.NewFromInt(10)}}}
	_, err = h.client.CreateInvoice(ctx, inv, "")
	require.NoError(t, err)
	_, err = h.client.CreateInvoice(ctx, inv, "")
	require.Error(t, err)
	errs = append(errs, err)
	errs = append(errs, h.client.CheckConnection(ctx))

	// A token failure in debug mode too.
	h2 := newHarness(t, withConfig(func(c *xero.Config) { c.Debug = true }))
	h2.tokenAnswer = func(int) (int, string) {
		return 400, `{"error":"invalid_client","error_description":"client ` + clientSecret + ` rejected"}`
	}
	_, err = h2.client.GetContact(ctx, contactID)
	require.ErrorIs(t, err, xero.ErrInvalidClient)
	errs = append(errs, err)

	basic := base64.StdEncoding.EncodeToString([]byte(clientID + ":" + clientSecret))
	basicEscaped := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(clientID) + ":" + url.QueryEscape(clientSecret)))
	forbidden := []string{clientSecret, tokens[0], tokens[1], "Bearer " + tokens[0], "Bearer " + tokens[1],
		"refresh-XYZ-123", "idtok-ABC-456", basic, basicEscaped, "first-access", "second-access"}

	logs := h.logs.String() + h2.logs.String()
	for _, secret := range forbidden {
		assert.NotContains(t, logs, secret)
		for _, e := range errs {
			if e != nil {
				assert.NotContains(t, e.Error(), secret)
			}
		}
	}

	// The log is still useful: every exchange is there, token endpoint
	// included, with the redaction marker where credentials were.
	var exchanges []map[string]any
	sc := bufio.NewScanner(strings.NewReader(h.logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &line))
		if line["msg"] == "xero: http exchange" {
			assert.Equal(t, "DEBUG", line["level"])
			exchanges = append(exchanges, line)
		}
	}
	var urls []string
	for _, ex := range exchanges {
		urls = append(urls, ex["method"].(string)+" "+ex["url"].(string))
		assert.Contains(t, ex, "status")
		assert.Contains(t, ex, "duration")
		assert.Contains(t, ex, "response_body")
		if hdrs, ok := ex["request_headers"].(map[string]any); ok && hdrs["Authorization"] != nil {
			assert.Equal(t, "[REDACTED]", hdrs["Authorization"])
		}
	}
	assert.Equal(t, []string{
		"POST " + tokenURL, "PUT " + apiURL + "/Contacts", "POST " + tokenURL, "PUT " + apiURL + "/Contacts",
		"PUT " + apiURL + "/Invoices", "PUT " + apiURL + "/Invoices", "GET " + connURL,
	}, urls)
	assert.Contains(t, logs, `\"access_token\":\"[REDACTED]\"`)
	assert.Contains(t, logs, "jane@example.com", "bodies are logged")
}

func TestNoDebugLogsWithoutDebug(t *testing.T) {
	h := newHarness(t)
	h.handle(http.MethodGet, "/Contacts/"+contactID, respond(200, contactJSON(contactID, "A", "a", "")))
	_, err := h.client.GetContact(context.Background(), contactID)
	require.NoError(t, err)
	assert.NotContains(t, h.logs.String(), "http exchange")
}

func TestDebugLogsNetworkErrors(t *testing.T) {
	h := newHarness(t, withConfig(func(c *xero.Config) { c.Debug = true }), withClientOptions(xero.WithRetries(1, time.Millisecond)))
	_, err := h.client.GetContact(context.Background(), contactID) // no responder: a transport error
	require.Error(t, err)
	assert.Contains(t, h.logs.String(), "xero: http request failed")
	assert.NotContains(t, h.logs.String(), "tok-1")
}

func TestDebugKeepsLargeBodiesWhole(t *testing.T) {
	h := newHarness(t, withConfig(func(c *xero.Config) { c.Debug = true }))
	parts := make([]string, 150)
	for i := range parts {
		parts[i] = invoiceObject(guid(i), fmt.Sprintf("INV-%04d", i), "AUTHORISED", "10.00", "0.00", "10.00")
	}
	h.handle(http.MethodGet, "/Invoices", respond(200, `{"Invoices":[`+strings.Join(parts, ",")+`]}`))
	got, _, _, err := h.client.InvoicesModifiedSince(context.Background(), time.Now().Add(-time.Hour), 1)
	require.NoError(t, err)
	assert.Len(t, got, 150, "the caller reads the whole body although the log shows only its start")
	assert.Contains(t, h.logs.String(), "…(truncated)")
}

// TestDebugLogsShortSecret: with a one-letter client secret the debug log
// keeps its words ("request", "status", the token URL...) whole, and the
// secret never appears where it is actually sent: the Basic credentials of
// the token request, or the identity service's echo of it.
func TestDebugLogsShortSecret(t *testing.T) {
	const secret = "s"
	h := newHarness(t, withConfig(func(c *xero.Config) {
		c.Debug = true
		c.ClientSecret = billing.NewSecret(secret)
	}))
	h.tokenAnswer = func(int) (int, string) {
		return 400, `{"error":"invalid_client","error_description":"client secret s is not valid"}`
	}
	_, err := h.client.GetContact(context.Background(), contactID)
	require.ErrorIs(t, err, xero.ErrInvalidClient)

	logs := h.logs.String()
	for _, word := range []string{"xero: http exchange", tokenURL, "request_headers", "status", "invalid_client", "is not valid"} {
		assert.Contains(t, logs, word)
	}
	basic := base64.StdEncoding.EncodeToString([]byte(clientID + ":" + secret))
	assert.NotContains(t, logs, basic)
	assert.Contains(t, logs, `client secret [REDACTED] is not valid`)
	assert.NotContains(t, err.Error(), " s ")
	require.Len(t, h.tokenReqs, 1)
	assert.Equal(t, "Basic "+basic, h.tokenReqs[0].Header.Get("Authorization"), "the secret is sent, only the log hides it")
}
