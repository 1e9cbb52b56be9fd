package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock/emulator"
)

// TestQuickstart runs the README's first command as CI sees it: every step
// must happen, in order.
func TestQuickstart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, run(ctx, &out, settings{}), out.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{"Xero emulator running at http://127.0.0.1:", "Store: ", "1. Synced Ada Lovelace (", "2. Created invoice INV-0001 for NZD 242.65",
		"3. Emailed INV-0001 to ada@example.com", "4. Online invoice: http://127.0.0.1:", "5. Paid NZD 242.65",
		"6. Webhook received: signature verified", "7. Fetched invoice updates: 1 updated [INV-0001]",
		"8. Hook: INV-0001 went AUTHORISED -> PAID", "Done: INV-0001 is PAID"}
	require.Len(t, lines, len(want), out.String())
	for i, prefix := range want {
		assert.True(t, strings.HasPrefix(lines[i], prefix), "line %d: %q, want prefix %q", i+1, lines[i], prefix)
	}
}

// failingMarks is a store whose marks always fail, so the app answers
// every webhook that would mark an invoice with 500.
type failingMarks struct{ billing.Store }

func (failingMarks) MarkUpdateNeeded(context.Context, []string, time.Time) (int, error) {
	return 0, errors.New("disk full")
}

// The quickstart claims a step only once it really happened: when the
// payment's webhook is refused, step 6 is not printed (the invoice's
// earlier CREATE webhook, answered 200, does not count) and the run fails.
func TestQuickstartFailsWhenThePaymentWebhookFails(t *testing.T) {
	var out bytes.Buffer
	err := run(t.Context(), &out, settings{
		stepTimeout:  2 * time.Second,
		webhookStore: func(s billing.Store) billing.Store { return failingMarks{s} },
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "webhook for the payment")
	assert.Contains(t, out.String(), "5. Paid")
	assert.NotContains(t, out.String(), "6. Webhook received")
	assert.NotContains(t, out.String(), "Done")
}

// BILLING_DATABASE_URL may name a store that a previous run filled: the
// quickstart still runs, numbering after the invoices already there.
func TestQuickstartTwiceOnOneStore(t *testing.T) {
	db := filepath.Join(t.TempDir(), "billing.db")
	for i, number := range []string{"INV-0001", "INV-0002"} {
		var out bytes.Buffer
		require.NoError(t, run(t.Context(), &out, settings{databaseURL: db}), "run %d: %s", i+1, out.String())
		assert.Contains(t, out.String(), "Done: "+number+" is PAID", "run %d", i+1)
	}
}

// XERO_DEBUG shows the HTTP exchanges, secrets redacted.
func TestQuickstartDebugLogsExchanges(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, logs bytes.Buffer
	require.NoError(t, run(ctx, &out, settings{debug: true, logs: &logs}), out.String())
	assert.Contains(t, logs.String(), "xero: http exchange")
	assert.NotContains(t, logs.String(), emulator.DefaultClientSecret)
	assert.Contains(t, logs.String(), "[REDACTED]")
}
