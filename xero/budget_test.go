package xero_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/xero"
)

// slotLimiter grants every call and records how many slots were held at
// each moment the test asks.
type slotLimiter struct {
	recordingLimiter
}

func (l *slotLimiter) held() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acquired - l.released
}

// TestTokenFailureUsesNoAPIBudget: the token endpoint failing must not spend
// the tenant's API calls. The token is fetched before the limiter is asked,
// so a call that gets no token takes no slot and counts against no window.
func TestTokenFailureUsesNoAPIBudget(t *testing.T) {
	h := newHarness(t)
	h.tokenAnswer = func(int) (int, string) { return 500, `{"error":"server_error"}` }
	h.handle(http.MethodGet, "/Contacts/"+contactID, respond(200, contactJSON(contactID, "A", "a", "")))

	for range 5 {
		_, err := h.client.GetContact(context.Background(), contactID)
		require.Error(t, err)
	}
	assert.Equal(t, 15, h.tokenCount(), "each call tries the token three times")
	assert.Equal(t, 0, h.apiCalls())
	st := h.limiter.Status(tenantID)
	assert.Zero(t, st.UsedMinute, "no API call was made, so none is counted")
	assert.Zero(t, st.UsedDay)
	assert.Zero(t, st.InFlight)
}

// TestTokenFetchHoldsNoSlot: while the token is being fetched no
// concurrency slot is held, so a slow identity service cannot block the
// tenant's five slots.
func TestTokenFetchHoldsNoSlot(t *testing.T) {
	lim := &slotLimiter{}
	h := newHarness(t, withClientOptions(xero.WithLimiter(lim)))
	var mu sync.Mutex
	var heldDuringToken []int
	h.tokenAnswer = func(n int) (int, string) {
		mu.Lock()
		heldDuringToken = append(heldDuringToken, lim.held())
		mu.Unlock()
		return 200, `{"access_token":"tok","expires_in":1800,"token_type":"Bearer"}`
	}
	h.handle(http.MethodGet, "/Contacts/"+contactID, respond(200, contactJSON(contactID, "A", "a", "")))

	_, err := h.client.GetContact(context.Background(), contactID)
	require.NoError(t, err)
	assert.Equal(t, []int{0}, heldDuringToken)
	assert.Equal(t, 1, lim.acquired, "one slot, for the API call")
	assert.Equal(t, 1, lim.released)
}

// TestTokenEndpoint429PausesCalls: a 429 from the identity service is
// recorded with the limiter like any 429, so the calls after it fail fast
// locally: no second token request, no API request.
func TestTokenEndpoint429PausesCalls(t *testing.T) {
	h := newHarness(t)
	h.tokenAnswer = func(int) (int, string) { return 429, `{"error":"rate_limit_exceeded"}` }
	h.handle(http.MethodGet, "/Contacts/"+contactID, respond(200, contactJSON(contactID, "A", "a", "")))

	_, err := h.client.GetContact(context.Background(), contactID)
	var rl *ratelimit.RateLimitError
	require.ErrorAs(t, err, &rl)
	assert.False(t, rl.Local, "the first one is Xero's answer")
	assert.Equal(t, tenantID, rl.Tenant)

	st := h.limiter.Status(tenantID)
	assert.False(t, st.PausedUntil.IsZero(), "the limiter knows of the 429")

	for range 3 {
		_, err = h.client.GetContact(context.Background(), contactID)
		var local *ratelimit.RateLimitError
		require.ErrorAs(t, err, &local)
		assert.True(t, local.Local, "later calls are refused locally")
		assert.Positive(t, local.RetryAfter)
	}
	assert.Equal(t, 1, h.tokenCount(), "no token request while paused")
	assert.Equal(t, 0, h.apiCalls())
}

// brokenLimiter cannot answer: every Acquire fails as a Redis outage would.
type brokenLimiter struct {
	mu    sync.Mutex
	calls int
}

type limiterDown struct{}

func (limiterDown) Error() string   { return "limiter store unavailable" }
func (limiterDown) Temporary() bool { return true }

func (l *brokenLimiter) Acquire(context.Context, string) (func(), error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	return nil, limiterDown{}
}
func (*brokenLimiter) Observe(string, int, http.Header) {}

// TestLimiterFailureNotRetried: a limiter that cannot answer is not a
// network failure of the request (none was sent): the client returns its
// error at once, without retrying or logging "retrying request".
func TestLimiterFailureNotRetried(t *testing.T) {
	lim := &brokenLimiter{}
	h := newHarness(t, withClientOptions(xero.WithLimiter(lim)))
	h.handle(http.MethodGet, "/Contacts/"+contactID, respond(200, contactJSON(contactID, "A", "a", "")))

	_, err := h.client.GetContact(context.Background(), contactID)
	require.ErrorIs(t, err, limiterDown{})
	assert.True(t, billing.IsTemporary(err), "still temporary for the fetch job")
	var te *xero.TransportError
	assert.False(t, errors.As(err, &te), "not reported as a network failure")
	assert.Equal(t, 1, lim.calls, "asked once")
	assert.Equal(t, 0, h.apiCalls())
	assert.NotContains(t, h.logs.String(), "retrying request")
}
