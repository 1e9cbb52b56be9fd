package xero_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/internal/xerolimit"
	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/xero"
)

const contactID = "c0ffee00-0000-4000-8000-000000000001"

func TestCreateContactSendsXeroRequest(t *testing.T) {
	h := newHarness(t, withClientOptions(xero.WithUserAgent("myapp/1.2")))
	h.handle(http.MethodPut, "/Contacts", respond(200, contactJSON(contactID, "Jane Doe (u-1)", "u-1", "jane@example.com")))

	got, err := h.client.CreateContact(context.Background(), xero.Contact{Name: "Jane Doe (u-1)", AccountNumber: "u-1", EmailAddress: "jane@example.com"})
	require.NoError(t, err)
	assert.Equal(t, xero.Contact{ContactID: contactID, Name: "Jane Doe (u-1)", AccountNumber: "u-1", EmailAddress: "jane@example.com", ContactStatus: "ACTIVE"}, got)

	calls := h.calls(http.MethodPut, "/Contacts")
	require.Len(t, calls, 1)
	r := calls[0]
	assert.Equal(t, "Bearer tok-1", r.Header.Get("Authorization"))
	assert.Equal(t, tenantID, r.Header.Get("xero-tenant-id"))
	assert.Equal(t, "application/json", r.Header.Get("Accept"))
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	assert.Equal(t, "myapp/1.2 amsbilling-sdk-go/"+xero.Version, r.Header.Get("User-Agent"))
	assert.NotEmpty(t, r.Header.Get("Idempotency-Key"))
	assert.JSONEq(t, `{"Contacts":[{"Name":"Jane Doe (u-1)","AccountNumber":"u-1","EmailAddress":"jane@example.com"}]}`, r.Body)
}

func TestTokenRequestAndReuse(t *testing.T) {
	h := newHarness(t)
	h.handle(http.MethodGet, "/Contacts/"+contactID, respond(200, contactJSON(contactID, "A", "a", "")))

	for range 3 {
		_, err := h.client.GetContact(context.Background(), contactID)
		require.NoError(t, err)
	}
	require.Equal(t, 1, h.tokenCount(), "one token serves every call until it nears expiry")

	tr := h.tokenReqs[0]
	assert.Equal(t, "Basic "+base64.StdEncoding.EncodeToString([]byte(clientID+":"+clientSecret)), tr.Header.Get("Authorization"))
	form, err := url.ParseQuery(tr.Body)
	require.NoError(t, err)
	assert.Equal(t, "client_credentials", form.Get("grant_type"))
	assert.NotContains(t, form, "scope", "no scope by default")
	assert.NotContains(t, tr.Body, clientSecret, "HTTP Basic, not form credentials")
	assert.True(t, strings.HasPrefix(tr.Header.Get("User-Agent"), "amsbilling-sdk-go/"))
}

func TestTokenFetchedOnceForConcurrentCalls(t *testing.T) {
	h := newHarness(t)
	h.handle(http.MethodGet, "/Contacts/"+contactID, respond(200, contactJSON(contactID, "A", "a", "")))
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			_, err := h.client.GetContact(context.Background(), contactID)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.Equal(t, 1, h.tokenCount())
}

func TestTokenRefreshedNearExpiry(t *testing.T) {
	h := newHarness(t)
	h.tokenTTL = 30 // inside the refresh margin: every call needs a new one
	h.handle(http.MethodGet, "/Contacts/"+contactID, respond(200, contactJSON(contactID, "A", "a", "")))
	for range 2 {
		_, err := h.client.GetContact(context.Background(), contactID)
		require.NoError(t, err)
	}
	assert.Equal(t, 2, h.tokenCount())
	assert.Equal(t, "Bearer tok-2", h.calls(http.MethodGet, "/Contacts/"+contactID)[1].Header.Get("Authorization"))
}

func TestScopesSentWhenConfigured(t *testing.T) {
	h := newHarness(t, withConfig(func(c *xero.Config) {
		c.Scopes = []string{"accounting.contacts", "accounting.invoices"}
	}))
	h.handle(http.MethodGet, "/Contacts/"+contactID, respond(200, contactJSON(contactID, "A", "a", "")))
	_, err := h.client.GetContact(context.Background(), contactID)
	require.NoError(t, err)
	form, err := url.ParseQuery(h.tokenReqs[0].Body)
	require.NoError(t, err)
	assert.Equal(t, "accounting.contacts accounting.invoices", form.Get("scope"))
}

func TestTokenErrors(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		is       error
		mentions []string
	}{
		{"invalid scope", 400, `{"error":"invalid_scope"}`, xero.ErrInvalidScope, []string{"XERO_SCOPES", "April 2026", "tick"}},
		{"invalid client", 400, `{"error":"invalid_client"}`, xero.ErrInvalidClient, []string{"XERO_CLIENT_ID", "XERO_CLIENT_SECRET"}},
		{"other", 400, `{"error":"unsupported_grant_type","error_description":"nope"}`, nil, []string{"unsupported_grant_type", "nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.tokenAnswer = func(int) (int, string) { return tt.status, tt.body }
			h.handle(http.MethodGet, "/Contacts/"+contactID, respond(200, contactJSON(contactID, "A", "a", "")))

			_, err := h.client.GetContact(context.Background(), contactID)
			require.Error(t, err)
			var ae *xero.AuthError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tt.status, ae.StatusCode)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
			for _, m := range tt.mentions {
				assert.Contains(t, err.Error(), m)
			}
			assert.NotContains(t, err.Error(), clientSecret)
			assert.Equal(t, 0, h.apiCalls(), "no API call without a token")
			assert.Equal(t, 1, h.tokenCount(), "a refused token request is not retried")
		})
	}
}

func TestTokenServerErrorRetried(t *testing.T) {
	h := newHarness(t)
	h.tokenAnswer = func(n int) (int, string) {
		if n == 1 {
			return 503, `upstream unavailable`
		}
		return 200, `{"access_token":"tok-ok","expires_in":1800,"token_type":"Bearer"}`
	}
	h.handle(http.MethodGet, "/Contacts/"+contactID, respond(200, contactJSON(contactID, "A", "a", "")))
	_, err := h.client.GetContact(context.Background(), contactID)
	require.NoError(t, err)
	assert.Equal(t, 2, h.tokenCount())
	assert.Equal(t, "Bearer tok-ok", h.calls(http.MethodGet, "/Contacts/"+contactID)[0].Header.Get("Authorization"))
}

// OAuth's own "try later" codes come with a 5xx; they are outages, not
// configuration errors, so they are retried like a bare 5xx.
func TestTokenOAuthServerErrorsRetried(t *testing.T) {
	for _, code := range []string{"server_error", "temporarily_unavailable"} {
		t.Run(code, func(t *testing.T) {
			h := newHarness(t)
			h.tokenAnswer = func(n int) (int, string) {
				if n == 1 {
					return 503, `{"error":"` + code + `"}`
				}
				return 200, `{"access_token":"tok-ok","expires_in":1800,"token_type":"Bearer"}`
			}
			h.handle(http.MethodGet, "/Contacts/"+contactID, respond(200, contactJSON(contactID, "A", "a", "")))
			_, err := h.client.GetContact(context.Background(), contactID)
			require.NoError(t, err)
			assert.Equal(t, 2, h.tokenCount())
		})
	}
}

// A 429 from the identity service is a rate limit like any other: a
// *ratelimit.RateLimitError, never retried, temporary for the fetch job.
func TestTokenEndpointRateLimited(t *testing.T) {
	h := newHarness(t)
	var mu sync.Mutex
	tokenCalls := 0
	h.mt.RegisterResponder(http.MethodPost, tokenURL, func(*http.Request) (*http.Response, error) {
		mu.Lock()
		tokenCalls++
		mu.Unlock()
		resp := httpmock.NewStringResponse(429, `{"error":"rate_limit_exceeded"}`)
		resp.Header.Set("Content-Type", "application/json")
		resp.Header.Set("Retry-After", "30")
		return resp, nil
	})
	h.handle(http.MethodGet, "/Contacts/"+contactID, respond(200, contactJSON(contactID, "A", "a", "")))

	_, err := h.client.GetContact(context.Background(), contactID)
	var rl *ratelimit.RateLimitError
	require.ErrorAs(t, err, &rl)
	assert.Equal(t, 30*time.Second, rl.RetryAfter)
	assert.False(t, rl.Local)
	assert.True(t, billing.IsTemporary(err))
	assert.Equal(t, 1, tokenCalls, "429 is never retried")
	assert.Empty(t, h.calls(http.MethodGet, "/Contacts/"+contactID))
}

func Test401RefreshesTokenOnce(t *testing.T) {
	unauthorized := respond(401, `{"Type":null,"Title":"Unauthorized","Status":401,"Detail":"AuthenticationUnsuccessful","Instance":"x","Extensions":{}}`)
	ok := respond(200, contactJSON(contactID, "A", "a", ""))

	t.Run("then success", func(t *testing.T) {
		h := newHarness(t)
		h.handle(http.MethodGet, "/Contacts/"+contactID, sequence(unauthorized, ok))
		_, err := h.client.GetContact(context.Background(), contactID)
		require.NoError(t, err)
		calls := h.calls(http.MethodGet, "/Contacts/"+contactID)
		require.Len(t, calls, 2)
		assert.Equal(t, "Bearer tok-1", calls[0].Header.Get("Authorization"))
		assert.Equal(t, "Bearer tok-2", calls[1].Header.Get("Authorization"))
		assert.Equal(t, 2, h.tokenCount())

		// The new token is kept.
		_, err = h.client.GetContact(context.Background(), contactID)
		require.NoError(t, err)
		assert.Equal(t, 2, h.tokenCount())
	})
	t.Run("twice", func(t *testing.T) {
		h := newHarness(t)
		h.handle(http.MethodGet, "/Contacts/"+contactID, unauthorized)
		_, err := h.client.GetContact(context.Background(), contactID)
		var ae *xero.APIError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, 401, ae.StatusCode)
		assert.ErrorIs(t, err, xero.ErrUnauthorized)
		assert.Equal(t, "xero: 401 Unauthorized: AuthenticationUnsuccessful", err.Error())
		assert.Len(t, h.calls(http.MethodGet, "/Contacts/"+contactID), 2)
		assert.Equal(t, 2, h.tokenCount())
	})
	t.Run("on a write keeps the idempotency key", func(t *testing.T) {
		h := newHarness(t)
		h.handle(http.MethodPut, "/Contacts", sequence(unauthorized, ok))
		_, err := h.client.CreateContact(context.Background(), xero.Contact{Name: "A"})
		require.NoError(t, err)
		calls := h.calls(http.MethodPut, "/Contacts")
		require.Len(t, calls, 2)
		assert.Equal(t, calls[0].Header.Get("Idempotency-Key"), calls[1].Header.Get("Idempotency-Key"))
		assert.Equal(t, calls[0].Body, calls[1].Body)
	})
}

func TestAPIErrorsNotRetried(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		want    string
		is      error
		msgs    []string
		errType string
	}{
		{
			name:   "400 validation",
			status: 400,
			body: `{"ErrorNumber":10,"Type":"ValidationException","Message":"A validation exception occurred","Elements":[` +
				`{"ValidationErrors":[{"Message":"Account code '999' is not a valid code for this document."}]},` +
				`{"ValidationErrors":[{"Message":"Email address must be valid."},{"Message":"Account code '999' is not a valid code for this document."}]}]}`,
			want:    "xero: 400 ValidationException: A validation exception occurred: Account code '999' is not a valid code for this document.; Email address must be valid.",
			msgs:    []string{"Account code '999' is not a valid code for this document.", "Email address must be valid."},
			errType: "ValidationException",
		},
		{
			name:    "403 forbidden",
			status:  403,
			body:    `{"Type":null,"Title":"Forbidden","Status":403,"Detail":"AuthorizationUnsuccessful","Instance":"f","Extensions":{}}`,
			want:    "xero: 403 Forbidden: AuthorizationUnsuccessful",
			is:      xero.ErrForbidden,
			errType: "Forbidden",
		},
		{
			name:   "404 plain text",
			status: 404,
			body:   "The resource you're looking for cannot be found",
			want:   "xero: 404: The resource you're looking for cannot be found",
			is:     xero.ErrNotFound,
		},
		{
			name:   "404 empty",
			status: 404,
			want:   "xero: 404: Not Found",
			is:     xero.ErrNotFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.handle(http.MethodGet, "/Contacts/"+contactID, respond(tt.status, tt.body, "Xero-Correlation-Id", "corr-1"))
			_, err := h.client.GetContact(context.Background(), contactID)
			var ae *xero.APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tt.want, err.Error())
			assert.Equal(t, tt.status, ae.StatusCode)
			assert.Equal(t, tt.errType, ae.Type)
			assert.Equal(t, tt.msgs, ae.ValidationErrors)
			assert.Equal(t, http.MethodGet, ae.Method)
			assert.Equal(t, "/api.xro/2.0/Contacts/"+contactID, ae.Path)
			assert.Equal(t, "corr-1", ae.CorrelationID)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
			assert.Equal(t, tt.status == 404, errors.Is(err, xero.ErrNotFound))
			assert.Equal(t, 1, h.apiCalls(), "4xx is never retried")
			assert.False(t, billing.IsTemporary(err), "a 4xx blames the request")
		})
	}
}

func TestRateLimit429(t *testing.T) {
	tests := []struct {
		name        string
		headers     []string
		wantRetry   time.Duration
		wantProblem ratelimit.Problem
	}{
		{"with Retry-After", []string{"Retry-After", "30", "X-Rate-Limit-Problem", "minute", "X-MinLimit-Remaining", "0"}, 30 * time.Second, ratelimit.ProblemMinute},
		{"without Retry-After", []string{"X-Rate-Limit-Problem", "concurrent"}, 0, ratelimit.ProblemConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.handle(http.MethodPut, "/Invoices", respond(429, `{"Title":"Too Many Requests"}`, tt.headers...))
			h.handle(http.MethodGet, "/Contacts/"+contactID, respond(200, contactJSON(contactID, "A", "a", "")))

			_, err := h.client.CreateInvoice(context.Background(), xero.Invoice{Type: "ACCREC"}, "key-1")
			var rl *ratelimit.RateLimitError
			require.ErrorAs(t, err, &rl)
			assert.ErrorIs(t, err, ratelimit.ErrRateLimited)
			assert.False(t, rl.Local)
			assert.Equal(t, tt.wantRetry, rl.RetryAfter)
			assert.Equal(t, tt.wantProblem, rl.Problem)
			assert.Equal(t, tenantID, rl.Tenant)
			assert.Equal(t, 1, h.apiCalls(), "429 is never retried")

			// Later calls fail fast without touching the network.
			before := h.mt.GetTotalCallCount()
			_, err = h.client.GetContact(context.Background(), contactID)
			var local *ratelimit.RateLimitError
			require.ErrorAs(t, err, &local)
			assert.True(t, local.Local)
			assert.Positive(t, local.RetryAfter)
			assert.Equal(t, before, h.mt.GetTotalCallCount())
		})
	}
}

func TestLimiterRefusalSendsNothing(t *testing.T) {
	refused := &ratelimit.RateLimitError{RetryAfter: time.Minute, Problem: ratelimit.ProblemDay, Local: true, Tenant: tenantID}
	h := newHarness(t, withClientOptions(xero.WithLimiter(refusingLimiter{refused})))
	h.handle(http.MethodGet, "/Contacts/"+contactID, respond(200, contactJSON(contactID, "A", "a", "")))
	for range 3 {
		_, err := h.client.GetContact(context.Background(), contactID)
		assert.Same(t, refused, err, "the limiter's error comes back unchanged")
	}
	assert.Equal(t, 0, h.apiCalls(), "no API request")
	// The token comes before the limiter (token requests spend no API
	// budget), and it is kept: one token request at most.
	assert.Equal(t, 1, h.tokenCount())
}

type refusingLimiter struct{ err error }

func (l refusingLimiter) Acquire(context.Context, string) (func(), error) { return nil, l.err }
func (refusingLimiter) Observe(string, int, http.Header)                  {}

// recordingLimiter grants every call and records what it observed.
type recordingLimiter struct {
	mu       sync.Mutex
	acquired int
	released int
	observed []int
}

func (l *recordingLimiter) Acquire(context.Context, string) (func(), error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acquired++
	return func() { l.mu.Lock(); l.released++; l.mu.Unlock() }, nil
}

func (l *recordingLimiter) Observe(_ string, status int, _ http.Header) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.observed = append(l.observed, status)
}

func TestLimiterSeesEveryAttempt(t *testing.T) {
	rec := &recordingLimiter{}
	h := newHarness(t, withClientOptions(xero.WithLimiter(rec)))
	h.handle(http.MethodGet, "/Contacts/"+contactID, sequence(respond(503, ""), respond(200, contactJSON(contactID, "A", "a", ""))))
	_, err := h.client.GetContact(context.Background(), contactID)
	require.NoError(t, err)
	assert.Equal(t, 2, rec.acquired)
	assert.Equal(t, 2, rec.released)
	assert.Equal(t, []int{503, 200}, rec.observed)
}

func TestServerErrorsRetried(t *testing.T) {
	t.Run("then success, same key and body", func(t *testing.T) {
		h := newHarness(t)
		h.handle(http.MethodPut, "/Invoices", sequence(respond(503, "busy"), respond(502, ""), respond(200, `{"Invoices":[`+invoiceObject("0e4b2a4e-7d5b-4d8e-8a55-2c5d8f1b9f01", "INV-1", "AUTHORISED", "10.00", "0.00", "10.00")+`]}`)))
		inv, err := h.client.CreateInvoice(context.Background(), xero.Invoice{Type: "ACCREC", Contact: xero.Contact{ContactID: contactID}}, "")
		require.NoError(t, err)
		assert.Equal(t, "INV-1", inv.InvoiceNumber)
		calls := h.calls(http.MethodPut, "/Invoices")
		require.Len(t, calls, 3)
		key := calls[0].Header.Get("Idempotency-Key")
		require.NotEmpty(t, key)
		for _, c := range calls[1:] {
			assert.Equal(t, key, c.Header.Get("Idempotency-Key"), "one key for every attempt")
			assert.Equal(t, calls[0].Body, c.Body, "the body is replayed")
		}
	})
	t.Run("exhausted", func(t *testing.T) {
		h := newHarness(t)
		h.handle(http.MethodGet, "/Contacts/"+contactID, respond(500, `{"ErrorNumber":500,"Type":"UnknownErrorException","Message":"An error occurred"}`))
		_, err := h.client.GetContact(context.Background(), contactID)
		var ae *xero.APIError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, 500, ae.StatusCode)
		assert.Equal(t, "xero: 500 UnknownErrorException: An error occurred", err.Error())
		assert.Equal(t, 3, h.apiCalls())
		assert.True(t, billing.IsTemporary(err), "an outage keeps fetch-job claims instead of blaming invoices")
	})
	t.Run("attempts configurable", func(t *testing.T) {
		h := newHarness(t, withClientOptions(xero.WithRetries(1, time.Millisecond)))
		h.handle(http.MethodGet, "/Contacts/"+contactID, respond(500, ""))
		_, err := h.client.GetContact(context.Background(), contactID)
		require.Error(t, err)
		assert.Equal(t, 1, h.apiCalls())
	})
	t.Run("network error", func(t *testing.T) {
		h := newHarness(t)
		h.handle(http.MethodGet, "/Contacts/"+contactID, sequence(httpmock.NewErrorResponder(errors.New("connection reset by peer")), respond(200, contactJSON(contactID, "A", "a", ""))))
		_, err := h.client.GetContact(context.Background(), contactID)
		require.NoError(t, err)
		assert.Equal(t, 2, h.apiCalls())
	})
	t.Run("network error exhausted", func(t *testing.T) {
		h := newHarness(t)
		h.handle(http.MethodGet, "/Contacts/"+contactID, httpmock.NewErrorResponder(errors.New("connection reset by peer")))
		_, err := h.client.GetContact(context.Background(), contactID)
		require.ErrorContains(t, err, "connection reset by peer")
		assert.Equal(t, 3, h.apiCalls())
		var te *xero.TransportError
		require.ErrorAs(t, err, &te)
		assert.Equal(t, http.MethodGet, te.Method)
		assert.True(t, billing.IsTemporary(err))
	})
}

func TestMalformedJSONIsADecodeError(t *testing.T) {
	h := newHarness(t)
	h.handle(http.MethodGet, "/Contacts/"+contactID, respond(200, `{"Contacts":[{"ContactID":`))
	_, err := h.client.GetContact(context.Background(), contactID)
	require.ErrorContains(t, err, "decoding the 200 response")
	var se *json.SyntaxError
	assert.True(t, errors.As(err, &se) || strings.Contains(err.Error(), "unexpected end of JSON input"))
	assert.Equal(t, 1, h.apiCalls(), "a bad body is not retried")
}

func TestContextHandling(t *testing.T) {
	t.Run("cancelled before the call", func(t *testing.T) {
		h := newHarness(t)
		h.handle(http.MethodGet, "/Contacts/"+contactID, respond(200, contactJSON(contactID, "A", "a", "")))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := h.client.GetContact(ctx, contactID)
		require.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, 0, h.mt.GetTotalCallCount())
	})
	t.Run("cancelled during backoff", func(t *testing.T) {
		// A total bound longer than the backoff, so the client sleeps.
		h := newHarness(t, withClientOptions(xero.WithRetries(3, time.Hour), xero.WithTimeout(3*time.Hour, 0)))
		ctx, cancel := context.WithCancel(context.Background())
		h.handle(http.MethodGet, "/Contacts/"+contactID, func(*http.Request) (*http.Response, error) {
			// Cancel once the client is in its hour-long backoff.
			time.AfterFunc(20*time.Millisecond, cancel)
			return httpmock.NewStringResponse(500, ""), nil
		})
		_, err := h.client.GetContact(ctx, contactID)
		require.ErrorIs(t, err, context.Canceled)
		var ae *xero.APIError
		require.ErrorAs(t, err, &ae, "the last answer is kept")
		assert.Equal(t, 1, h.apiCalls())
	})
	t.Run("deadline before the next attempt", func(t *testing.T) {
		h := newHarness(t, withClientOptions(xero.WithRetries(3, time.Hour)))
		h.handle(http.MethodGet, "/Contacts/"+contactID, respond(500, ""))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := h.client.GetContact(ctx, contactID)
		var ae *xero.APIError
		require.ErrorAs(t, err, &ae)
		assert.NotErrorIs(t, err, context.DeadlineExceeded, "gives up at once instead of sleeping into the deadline")
		assert.Equal(t, 1, h.apiCalls())
	})
}

func TestFindContactByAccountNumber(t *testing.T) {
	h := newHarness(t)
	var mu sync.Mutex
	var wheres []string
	h.handle(http.MethodGet, "/Contacts", func(req *http.Request) (*http.Response, error) {
		where := req.URL.Query().Get("where")
		mu.Lock()
		wheres = append(wheres, where)
		mu.Unlock()
		if where == `AccountNumber=="u-1"` {
			return respond(200, contactJSON(contactID, "Jane (u-1)", "u-1", "j@example.com"))(req)
		}
		return respond(200, `{"Contacts":[]}`)(req)
	})

	got, err := h.client.FindContactByAccountNumber(context.Background(), "u-1")
	require.NoError(t, err)
	assert.Equal(t, contactID, got.ContactID)

	_, err = h.client.FindContactByAccountNumber(context.Background(), `we"ird\acct`)
	require.ErrorIs(t, err, xero.ErrNotFound)
	assert.True(t, errors.Is(err, xero.ErrNotFound))
	var ae *xero.APIError
	assert.False(t, errors.As(err, &ae), "not found is not an API failure")

	// A quote is doubled: classic .NET dynamic LINQ, which Xero's parser may
	// be, ends the literal at \" and answers QueryParseException.
	assert.Equal(t, []string{`AccountNumber=="u-1"`, `AccountNumber=="we""ird\\acct"`}, wheres)
}

func TestFindContactPassesFailuresUp(t *testing.T) {
	h := newHarness(t)
	h.handle(http.MethodGet, "/Contacts", respond(503, ""))
	_, err := h.client.FindContactByAccountNumber(context.Background(), "u-1")
	require.Error(t, err)
	assert.False(t, errors.Is(err, xero.ErrNotFound))
	var ae *xero.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 503, ae.StatusCode)
}

func TestPathIDsEscaped(t *testing.T) {
	h := newHarness(t)
	var mu sync.Mutex
	var paths []string
	h.mt.RegisterNoResponder(func(req *http.Request) (*http.Response, error) {
		mu.Lock()
		paths = append(paths, req.URL.EscapedPath())
		mu.Unlock()
		return httpmock.NewStringResponse(404, ""), nil
	})
	_, _ = h.client.GetContact(context.Background(), "a/b?c")
	_, _ = h.client.UpdateContact(context.Background(), xero.Contact{ContactID: "x y", Name: "n"})
	_ = h.client.EmailInvoice(context.Background(), "../Contacts")
	_, _ = h.client.OnlineInvoiceURL(context.Background(), "id#1")
	assert.Equal(t, []string{
		"/api.xro/2.0/Contacts/a%2Fb%3Fc",
		"/api.xro/2.0/Contacts/x%20y",
		"/api.xro/2.0/Invoices/..%2FContacts/Email",
		"/api.xro/2.0/Invoices/id%231/OnlineInvoice",
	}, paths)
}

func TestUpdateContact(t *testing.T) {
	h := newHarness(t)
	h.handle(http.MethodPost, "/Contacts/"+contactID, respond(200, contactJSON(contactID, "New (u-1)", "u-1", "new@example.com")))
	got, err := h.client.UpdateContact(context.Background(), xero.Contact{ContactID: contactID, Name: "New (u-1)", AccountNumber: "u-1", EmailAddress: "new@example.com"})
	require.NoError(t, err)
	assert.Equal(t, "new@example.com", got.EmailAddress)
	calls := h.calls(http.MethodPost, "/Contacts/"+contactID)
	require.Len(t, calls, 1)
	assert.NotEmpty(t, calls[0].Header.Get("Idempotency-Key"))
	assert.JSONEq(t, `{"Contacts":[{"ContactID":"`+contactID+`","Name":"New (u-1)","AccountNumber":"u-1","EmailAddress":"new@example.com"}]}`, calls[0].Body)

	_, err = h.client.UpdateContact(context.Background(), xero.Contact{Name: "no id"})
	require.Error(t, err)
	_, err = h.client.CreateContact(context.Background(), xero.Contact{ContactID: contactID})
	require.Error(t, err)
}

func TestCreateInvoiceRequest(t *testing.T) {
	h := newHarness(t)
	id := "0e4b2a4e-7d5b-4d8e-8a55-2c5d8f1b9f01"
	h.handle(http.MethodPut, "/Invoices", respond(200, `{"Invoices":[`+invoiceObject(id, "INV-0042", "AUTHORISED", "115.50", "0.00", "115.50")+`]}`))
	in := xero.Invoice{
		Type:            xero.InvoiceTypeSales,
		Contact:         xero.Contact{ContactID: contactID},
		Date:            billing.NewDate(2026, time.January, 31),
		DueDate:         billing.NewDate(2026, time.February, 28),
		Status:          billing.StatusAuthorised,
		LineAmountTypes: "Inclusive",
		CurrencyCode:    "NZD",
		Reference:       "Membership 2026",
		LineItems: []xero.LineItem{{
			Description: "Annual membership",
			Quantity:    decimal.RequireFromString("1"),
			UnitAmount:  decimal.RequireFromString("115.50"),
			AccountCode: "200",
			LineAmount:  decimal.RequireFromString("999"), // read-only: never sent
		}},
		Total:     decimal.RequireFromString("999"), // read-only: never sent
		AmountDue: decimal.RequireFromString("999"),
	}
	got, err := h.client.CreateInvoice(context.Background(), in, "caller-key-1")
	require.NoError(t, err)

	calls := h.calls(http.MethodPut, "/Invoices")
	require.Len(t, calls, 1)
	assert.Equal(t, "caller-key-1", calls[0].Header.Get("Idempotency-Key"))
	assert.JSONEq(t, `{"Invoices":[{
		"Type":"ACCREC","Contact":{"ContactID":"`+contactID+`"},
		"Date":"2026-01-31","DueDate":"2026-02-28","Status":"AUTHORISED",
		"LineAmountTypes":"Inclusive","CurrencyCode":"NZD","Reference":"Membership 2026",
		"LineItems":[{"Description":"Annual membership","Quantity":1,"UnitAmount":115.5,"AccountCode":"200"}]}]}`, calls[0].Body)
	assert.Contains(t, calls[0].Body, `"UnitAmount":115.5`, "amounts are JSON numbers, not strings")

	assert.Equal(t, id, got.InvoiceID)
	assert.Equal(t, "INV-0042", got.InvoiceNumber)
	assert.Equal(t, billing.NewDate(2026, time.January, 31), got.Date)
	assert.Equal(t, billing.NewDate(2026, time.February, 28), got.DueDate)
	assert.True(t, got.Total.Equal(decimal.RequireFromString("115.50")))
	assert.True(t, got.AmountDue.Equal(decimal.RequireFromString("115.50")))
	assert.True(t, got.AmountPaid.IsZero())
	require.Len(t, got.LineItems, 1)
	assert.True(t, got.LineItems[0].LineAmount.Equal(decimal.RequireFromString("115.50")))
	assert.Equal(t, time.Date(2026, 1, 31, 9, 0, 0, 0, time.UTC), got.UpdatedDateUTC.UTC())

	_, err = h.client.CreateInvoice(context.Background(), in, strings.Repeat("k", 129))
	require.ErrorContains(t, err, "idempotency key")

	// A key no HTTP header can carry is the caller's mistake: refused
	// unsent, not retried and not reported as a temporary outage.
	before := h.mt.GetTotalCallCount()
	_, err = h.client.CreateInvoice(context.Background(), in, "order-7\r\nX-Injected: 1")
	require.ErrorContains(t, err, "idempotency key")
	assert.False(t, billing.IsTemporary(err))
	assert.Equal(t, before, h.mt.GetTotalCallCount())
}

func TestEmailInvoice(t *testing.T) {
	h := newHarness(t)
	id := "0e4b2a4e-7d5b-4d8e-8a55-2c5d8f1b9f01"
	h.handle(http.MethodPost, "/Invoices/"+id+"/Email", respond(204, ""))
	require.NoError(t, h.client.EmailInvoice(context.Background(), id))
	calls := h.calls(http.MethodPost, "/Invoices/"+id+"/Email")
	require.Len(t, calls, 1)
	assert.JSONEq(t, `{}`, calls[0].Body)
	assert.NotEmpty(t, calls[0].Header.Get("Idempotency-Key"))

	require.Error(t, h.client.EmailInvoice(context.Background(), ""))
}

func TestOnlineInvoiceURL(t *testing.T) {
	h := newHarness(t)
	id := "0e4b2a4e-7d5b-4d8e-8a55-2c5d8f1b9f01"
	h.handle(http.MethodGet, "/Invoices/"+id+"/OnlineInvoice", respond(200, `{"OnlineInvoices":[{"OnlineInvoiceUrl":"https://in.xero.com/abc"}]}`))
	u, err := h.client.OnlineInvoiceURL(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, "https://in.xero.com/abc", u)

	h.handle(http.MethodGet, "/Invoices/"+id+"/OnlineInvoice", respond(200, `{"OnlineInvoices":[]}`))
	_, err = h.client.OnlineInvoiceURL(context.Background(), id)
	require.ErrorContains(t, err, "no URL")
}

func guid(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// invoicesByIDs answers GET /Invoices with one invoice per requested id.
func invoicesByIDs(req *http.Request) (*http.Response, error) {
	ids := strings.Split(req.URL.Query().Get("IDs"), ",")
	parts := make([]string, 0, len(ids))
	for _, id := range ids {
		parts = append(parts, invoiceObject(id, "INV-"+id[len(id)-4:], "AUTHORISED", "10.00", "0.00", "10.00"))
	}
	return respond(200, `{"Invoices":[`+strings.Join(parts, ",")+`]}`)(req)
}

// Xero's gateway answers 404 to a URL over about 2,091 characters: every
// request stays within xerolimit.MaxURLLength, 53 GUIDs a request.
func TestGetInvoicesChunksWithinTheURLLimit(t *testing.T) {
	h := newHarness(t)
	h.handle(http.MethodGet, "/Invoices", invoicesByIDs)
	ids := make([]string, 250)
	for i := range ids {
		ids[i] = guid(i)
	}
	got, failed, err := h.client.GetInvoices(context.Background(), append(ids, ids[0], strings.ToUpper(ids[1])))
	require.NoError(t, err)
	assert.Empty(t, failed)
	require.Len(t, got, 250)

	calls := h.calls(http.MethodGet, "/Invoices")
	require.Len(t, calls, 5)
	for i, want := range [][]string{ids[:53], ids[53:106], ids[106:159], ids[159:212], ids[212:]} {
		u, err := url.Parse(calls[i].URL)
		require.NoError(t, err)
		assert.Equal(t, strings.Join(want, ","), u.Query().Get("IDs"))
		assert.Equal(t, "1", u.Query().Get("page"))
		assert.LessOrEqual(t, len(calls[i].URL), xerolimit.MaxURLLength)
	}
}

func TestGetInvoicesFollowsFullPages(t *testing.T) {
	h := newHarness(t)
	wanted := guid(1)
	h.handle(http.MethodGet, "/Invoices", func(req *http.Request) (*http.Response, error) {
		if req.URL.Query().Get("page") == "1" {
			parts := make([]string, 100)
			for i := range parts {
				parts[i] = invoiceObject(guid(1000+i), fmt.Sprintf("X-%d", i), "PAID", "1", "1", "0")
			}
			return respond(200, `{"Invoices":[`+strings.Join(parts, ",")+`]}`)(req)
		}
		return respond(200, `{"Invoices":[`+invoiceObject(wanted, "INV-1", "PAID", "1", "1", "0")+`]}`)(req)
	})
	got, _, err := h.client.GetInvoices(context.Background(), []string{wanted})
	require.NoError(t, err)
	assert.Len(t, got, 101)
	assert.Len(t, h.calls(http.MethodGet, "/Invoices"), 2)
}

// A server that ignores page answers every page with the same full page;
// paging must stop instead of spending the tenant's whole budget.
func TestGetInvoicesStopsWhenPagesRepeat(t *testing.T) {
	h := newHarness(t)
	parts := make([]string, 100)
	for i := range parts {
		parts[i] = invoiceObject(guid(1000+i), fmt.Sprintf("X-%d", i), "PAID", "1", "1", "0")
	}
	h.handle(http.MethodGet, "/Invoices", respond(200, `{"Invoices":[`+strings.Join(parts, ",")+`]}`))
	got, _, err := h.client.GetInvoices(context.Background(), []string{guid(1)})
	require.NoError(t, err)
	assert.Len(t, got, 100, "each invoice once")
	assert.Len(t, h.calls(http.MethodGet, "/Invoices"), 2)
}

func TestGetInvoicesValidatesIDs(t *testing.T) {
	h := newHarness(t)
	_, _, err := h.client.GetInvoices(context.Background(), []string{guid(1), "INV-0001"})
	require.ErrorContains(t, err, "not a GUID")
	assert.Equal(t, 0, h.mt.GetTotalCallCount())

	got, _, err := h.client.GetInvoices(context.Background(), nil)
	require.NoError(t, err)
	assert.Empty(t, got)
	assert.Equal(t, 0, h.mt.GetTotalCallCount())
}

func TestConnections(t *testing.T) {
	h := newHarness(t)
	body := `[{"id":"7cb59f93-2964-421d-bb5e-a0f7a4572a44","tenantId":"` + tenantID + `","tenantName":"Demo Company (NZ)","tenantType":"ORGANISATION","createdDateUtc":"2019-12-07T18:46:19.5165400","updatedDateUtc":"2019-12-07T18:46:19.5187840"}]`
	h.handle(http.MethodGet, connURL, respond(200, body))

	conns, err := h.client.Connections(context.Background())
	require.NoError(t, err)
	require.Len(t, conns, 1)
	assert.Equal(t, "Demo Company (NZ)", conns[0].TenantName)
	assert.Equal(t, tenantID, conns[0].TenantID)
	assert.Equal(t, "ORGANISATION", conns[0].TenantType)
	assert.Equal(t, time.Date(2019, 12, 7, 18, 46, 19, 516540000, time.UTC), conns[0].CreatedDateUTC)

	require.NoError(t, h.client.CheckConnection(context.Background()))

	calls := h.calls(http.MethodGet, connURL)
	require.Len(t, calls, 2)
	assert.Empty(t, calls[0].Header.Get("xero-tenant-id"), "the identity API takes no tenant")
	assert.Equal(t, "Bearer tok-1", calls[0].Header.Get("Authorization"))
}

func TestCheckConnectionWrongTenant(t *testing.T) {
	h := newHarness(t)
	h.handle(http.MethodGet, connURL, respond(200, `[{"id":"1","tenantId":"other-tenant","tenantName":"Other Org","tenantType":"ORGANISATION"}]`))
	err := h.client.CheckConnection(context.Background())
	require.ErrorIs(t, err, xero.ErrTenantNotConnected)
	assert.Contains(t, err.Error(), "XERO_TENANT_ID")
	assert.Contains(t, err.Error(), "Other Org")

	h.handle(http.MethodGet, connURL, respond(200, `[]`))
	err = h.client.CheckConnection(context.Background())
	require.ErrorIs(t, err, xero.ErrTenantNotConnected)
}

func TestConnectionsURLOption(t *testing.T) {
	h := newHarness(t, withClientOptions(xero.WithConnectionsURL("https://identity.test/conns")))
	h.handle(http.MethodGet, "https://identity.test/conns", respond(200, `[]`))
	_, err := h.client.Connections(context.Background())
	require.NoError(t, err)
}

func TestNewClientValidation(t *testing.T) {
	_, err := xero.NewClient(xero.Config{ClientSecret: billing.NewSecret(""), APIURL: "ftp://x", TokenURL: "https://user:pw@identity.test/t"})
	require.ErrorIs(t, err, billing.ErrInvalidConfig)
	for _, want := range []string{"XERO_CLIENT_ID", "XERO_CLIENT_SECRET", "XERO_TENANT_ID", "XERO_API_URL", "XERO_TOKEN_URL"} {
		assert.Contains(t, err.Error(), want)
	}
	assert.NotContains(t, err.Error(), "pw")

	_, err = xero.NewClient(xero.Config{ClientID: "id", ClientSecret: billing.NewSecret("secret-value"), TenantID: "t"})
	require.NoError(t, err, "empty URLs take Xero's defaults")

	cfg := testConfig()
	cfg.TenantID = "t\r\nX-Evil: 1"
	_, err = xero.NewClient(cfg)
	require.ErrorIs(t, err, billing.ErrInvalidConfig)

	// Paths are appended to the API URL, so a query or fragment there would
	// swallow them.
	cfg = testConfig()
	cfg.APIURL = "https://xero.test/api.xro/2.0?unitdp=4"
	_, err = xero.NewClient(cfg)
	require.ErrorIs(t, err, billing.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "XERO_API_URL")

	// A User-Agent no header can carry would fail every call as if the
	// network were down.
	_, err = xero.NewClient(testConfig(), xero.WithUserAgent("myapp/1.0\r\nX-Evil: 1"))
	require.ErrorIs(t, err, billing.ErrInvalidConfig)
}

func TestFindContactByAccountNumberIncludesArchived(t *testing.T) {
	const archivedID = "0a0a0a0a-0000-4000-8000-00000000000a"
	archived := fmt.Sprintf(`{"ContactID":%q,"ContactStatus":"ARCHIVED","Name":"Jane (u-1)","AccountNumber":"u-1"}`, archivedID)
	active := fmt.Sprintf(`{"ContactID":%q,"ContactStatus":"ACTIVE","Name":"Jane (u-1)","AccountNumber":"u-1"}`, contactID)
	tests := []struct {
		name, body, want string
	}{
		{"archived only", `{"Contacts":[` + archived + `]}`, archivedID},
		{"active preferred", `{"Contacts":[` + archived + `,` + active + `]}`, contactID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.handle(http.MethodGet, "/Contacts", respond(200, tt.body))
			got, err := h.client.FindContactByAccountNumber(context.Background(), "u-1")
			require.NoError(t, err)
			assert.Equal(t, tt.want, got.ContactID)
			calls := h.calls(http.MethodGet, "/Contacts")
			require.Len(t, calls, 1)
			assert.Contains(t, calls[0].URL, "includeArchived=true", "Xero keeps an archived contact's account number taken")
		})
	}
}
