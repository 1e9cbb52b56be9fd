package billing_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
)

// changeTwice saves two changes to each of n invoices: AUTHORISED -> part
// paid -> PAID, so every invoice has two events in order.
func changeTwice(t *testing.T, store *mock.Store, n int) []string {
	t.Helper()
	ids := seed(t, store, n)
	for _, step := range []struct {
		status string
		paid   string
	}{{billing.StatusAuthorised, "40"}, {billing.StatusPaid, "100"}} {
		for _, id := range ids {
			inv, err := store.InvoiceByProviderID(context.Background(), id)
			require.NoError(t, err)
			inv.Status, inv.Amount, inv.Paid = step.status, decimal.NewFromInt(100), decimal.RequireFromString(step.paid)
			inv.Due = inv.Amount.Sub(inv.Paid)
			_, _, err = store.SaveInvoiceState(context.Background(), inv)
			require.NoError(t, err)
		}
	}
	return ids
}

// A hook that fails three times, then works: every event reaches the app
// exactly once successfully, with the same id on every attempt, and one
// invoice's events in order.
func TestDeliverEventsRetriesWithBackoffInOrder(t *testing.T) {
	store := mock.NewStore()
	changeTwice(t, store, 3)
	now := base
	failures := 3
	attempts := map[string]int{}
	var delivered []billing.InvoiceChange
	hook := func(_ context.Context, c billing.InvoiceChange) error {
		attempts[c.EventID]++
		if failures > 0 {
			failures--
			return errors.New("membership service down")
		}
		delivered = append(delivered, c)
		return nil
	}
	o := billing.DeliverOptions{Now: func() time.Time { return now }}
	for range 10 {
		_, err := billing.DeliverEvents(context.Background(), store, hook, o)
		require.NoError(t, err)
		now = now.Add(time.Hour) // past any backoff
	}
	require.Len(t, delivered, 6, "two events for each of three invoices")
	seen := map[string]bool{}
	last := map[string]string{}
	for _, c := range delivered {
		assert.False(t, seen[c.EventID], "delivered successfully once: %s", c.EventID)
		seen[c.EventID] = true
		if prev, ok := last[c.After.Number]; ok {
			assert.Equal(t, billing.StatusAuthorised, prev, "the part payment comes before the payment")
		}
		last[c.After.Number] = c.After.Status
	}
	total := 0
	for _, n := range attempts {
		total += n
	}
	assert.Equal(t, 6+3, total, "three failed attempts, retried under the same ids")
	pending, err := store.PendingEvents(context.Background(), 0)
	require.NoError(t, err)
	assert.Empty(t, pending)
}

// A failed event waits for its backoff; the invoice's later event waits for
// it, other invoices do not.
func TestDeliverEventsBackoffBlocksOnlyThatInvoice(t *testing.T) {
	store := mock.NewStore()
	changeTwice(t, store, 2)
	now := base
	var got []string
	hook := func(_ context.Context, c billing.InvoiceChange) error {
		if c.After.Number == "INV-0001" {
			return errors.New("no")
		}
		got = append(got, c.After.Number+" "+c.After.Status)
		return nil
	}
	o := billing.DeliverOptions{Now: func() time.Time { return now }}
	res, err := billing.DeliverEvents(context.Background(), store, hook, o)
	require.NoError(t, err)
	assert.Equal(t, billing.DeliveryResult{Delivered: 2, Failed: 1}, res)
	assert.Equal(t, []string{"INV-0002 AUTHORISED", "INV-0002 PAID"}, got)

	res, err = billing.DeliverEvents(context.Background(), store, hook, o)
	require.NoError(t, err)
	assert.Zero(t, res, "INV-0001's first event waits out its backoff")
	pending, err := store.PendingEvents(context.Background(), 0)
	require.NoError(t, err)
	require.Len(t, pending, 2)
	assert.Equal(t, 1, pending[0].Attempts)
	assert.Equal(t, "no", pending[0].LastError)
	assert.Equal(t, base.Add(30*time.Second), pending[0].NextAttemptAt)
}

func TestDeliverEventsHookPanicIsAFailure(t *testing.T) {
	store := mock.NewStore()
	changeTwice(t, store, 1)
	res, err := billing.DeliverEvents(context.Background(), store, func(context.Context, billing.InvoiceChange) error { panic("boom") }, billing.DeliverOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Failed)
	pending, err := store.PendingEvents(context.Background(), 0)
	require.NoError(t, err)
	assert.Contains(t, pending[0].LastError, "boom")
}

// With no hook nobody is told, and events do not pile up.
func TestDeliverEventsWithoutHookTakesThem(t *testing.T) {
	store := mock.NewStore()
	changeTwice(t, store, 2)
	res, err := billing.DeliverEvents(context.Background(), store, nil, billing.DeliverOptions{})
	require.NoError(t, err)
	assert.Equal(t, 4, res.Delivered)
}
