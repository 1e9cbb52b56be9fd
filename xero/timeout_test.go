package xero_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/xero"
)

// deadlines records, for each request, how far away its context's deadline
// was (or that it had none).
type deadlines struct {
	mu        sync.Mutex
	remaining []time.Duration
	missing   int
}

func (d *deadlines) note(req *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if dl, ok := req.Context().Deadline(); ok {
		d.remaining = append(d.remaining, time.Until(dl))
	} else {
		d.missing++
	}
}

// TestCallWithoutDeadlineIsBounded: a caller's context without a deadline
// still gives every attempt one (30s by default), so a stalled Xero cannot
// hold a call for the HTTP client's timeout times the attempts.
func TestCallWithoutDeadlineIsBounded(t *testing.T) {
	h := newHarness(t)
	var d deadlines
	ok := respond(200, contactJSON(contactID, "A", "a", ""))
	h.handle(http.MethodGet, "/Contacts/"+contactID, func(req *http.Request) (*http.Response, error) {
		d.note(req)
		return ok(req)
	})
	_, err := h.client.GetContact(context.Background(), contactID)
	require.NoError(t, err)
	assert.Zero(t, d.missing, "an attempt without a deadline")
	require.Len(t, d.remaining, 1)
	assert.LessOrEqual(t, d.remaining[0], 30*time.Second)
	assert.Positive(t, d.remaining[0])
}

// TestStalledXeroGivesUpWithinTheBound: against a Xero that never answers,
// a call without a deadline ends when the client's total bound passes,
// after the attempts that fit in it, with an error that says so.
func TestStalledXeroGivesUpWithinTheBound(t *testing.T) {
	h := newHarness(t, withClientOptions(xero.WithTimeout(time.Second, 100*time.Millisecond), xero.WithRetries(100, time.Millisecond)))
	var d deadlines
	h.handle(http.MethodGet, "/Contacts/"+contactID, func(req *http.Request) (*http.Response, error) {
		d.note(req)
		<-req.Context().Done() // stalled until the client gives up
		return nil, req.Context().Err()
	})
	_, err := h.client.GetContact(context.Background(), contactID)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "WithTimeout")
	assert.True(t, billing.IsTemporary(err))
	d.mu.Lock()
	defer d.mu.Unlock()
	assert.Zero(t, d.missing)
	assert.GreaterOrEqual(t, len(d.remaining), 2, "an attempt that stalls is retried while the bound allows")
	assert.Less(t, len(d.remaining), 100, "the total bound stops the retries")
	for _, r := range d.remaining {
		assert.LessOrEqual(t, r, 100*time.Millisecond, "each attempt has its own bound")
	}
}

// TestCallersSoonerDeadlineWins: a caller's sooner deadline wins.
func TestCallersSoonerDeadlineWins(t *testing.T) {
	h := newHarness(t)
	var d deadlines
	ok := respond(200, contactJSON(contactID, "A", "a", ""))
	h.handle(http.MethodGet, "/Contacts/"+contactID, func(req *http.Request) (*http.Response, error) {
		d.note(req)
		return ok(req)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := h.client.GetContact(ctx, contactID)
	require.NoError(t, err)
	require.Len(t, d.remaining, 1)
	assert.LessOrEqual(t, d.remaining[0], 5*time.Second)
}
