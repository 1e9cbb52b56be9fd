package billing_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/internal/metrictest"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/ratelimit"
)

// claimFails is a store whose queue cannot be read.
type claimFails struct{ *mock.Store }

func (claimFails) ClaimUpdates(context.Context, time.Time, int, time.Duration) ([]billing.Claim, error) {
	return nil, errors.New("database unreachable")
}

// Every run is counted once with its outcome, and its invoices by what
// became of them.
func TestFetchMetrics(t *testing.T) {
	tests := []struct {
		name     string
		provider func(store *mock.Store, ids []string) billing.InvoiceUpdater
		store    func(*mock.Store) billing.UpdateQueue
		runs     map[string]float64
		invoices map[string]float64
	}{
		{
			name:     "ok",
			provider: func(*mock.Store, []string) billing.InvoiceUpdater { return &fakeProvider{} },
			runs:     map[string]float64{"outcome=ok": 1},
			invoices: map[string]float64{"outcome=updated": 3},
		},
		{
			name: "marked again meanwhile",
			provider: func(store *mock.Store, ids []string) billing.InvoiceUpdater {
				return &fakeProvider{during: func() {
					_, _ = store.MarkUpdateNeeded(context.Background(), ids[1:2], base.Add(time.Hour))
				}}
			},
			runs:     map[string]float64{"outcome=ok": 1},
			invoices: map[string]float64{"outcome=updated": 2, "outcome=remarked": 1},
		},
		{
			name: "an invoice failed",
			provider: func(_ *mock.Store, ids []string) billing.InvoiceUpdater {
				return &fakeProvider{omit: map[string]bool{ids[2]: true}}
			},
			runs:     map[string]float64{"outcome=invoice_failed": 1},
			invoices: map[string]float64{"outcome=updated": 2, "outcome=failed": 1},
		},
		{
			name: "rate limited",
			provider: func(*mock.Store, []string) billing.InvoiceUpdater {
				return &fakeProvider{err: func([]string) error { return &ratelimit.RateLimitError{Problem: ratelimit.ProblemMinute} }}
			},
			runs:     map[string]float64{"outcome=stopped": 1},
			invoices: map[string]float64{},
		},
		{
			name: "credentials refused",
			provider: func(*mock.Store, []string) billing.InvoiceUpdater {
				return &fakeProvider{err: func([]string) error { return fmt.Errorf("xero: 401: %w", billing.ErrUnauthorized) }}
			},
			runs:     map[string]float64{"outcome=unauthorized": 1},
			invoices: map[string]float64{},
		},
		{
			name:     "store unreadable",
			provider: func(*mock.Store, []string) billing.InvoiceUpdater { return &fakeProvider{} },
			store:    func(s *mock.Store) billing.UpdateQueue { return claimFails{s} },
			runs:     map[string]float64{"outcome=error": 1},
			invoices: map[string]float64{},
		},
		{
			name:     "simulated: not counted",
			provider: func(store *mock.Store, _ []string) billing.InvoiceUpdater { return mock.NewBillingService(store) },
			runs:     map[string]float64{},
			invoices: map[string]float64{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := metrictest.New(t)
			store := mock.NewStore()
			ids := seed(t, store, 3)
			var q billing.UpdateQueue = store
			if tt.store != nil {
				q = tt.store(store)
			}
			o := opts()
			o.MeterProvider = r
			_, _ = billing.FetchInvoiceUpdates(t.Context(), tt.provider(store, ids), q, o)
			s := r.Collect(t)
			assert.Equal(t, tt.runs, s.Series("billing.fetch.runs"))
			assert.Equal(t, tt.invoices, s.Series("billing.fetch.invoices"))
		})
	}
}

// FetchAllInvoiceUpdates counts each batch as a run.
func TestFetchAllMetricsCountBatches(t *testing.T) {
	r := metrictest.New(t)
	store := mock.NewStore()
	seed(t, store, 5)
	o := opts()
	o.Limit, o.MeterProvider = 2, r
	_, err := billing.FetchAllInvoiceUpdates(t.Context(), &fakeProvider{}, store, o)
	require.NoError(t, err)
	s := r.Collect(t)
	assert.Equal(t, map[string]float64{"outcome=ok": 3}, s.Series("billing.fetch.runs"))
	assert.Equal(t, map[string]float64{"outcome=updated": 5}, s.Series("billing.fetch.invoices"))
}

func TestDeliverEventsMetrics(t *testing.T) {
	tests := []struct {
		name              string
		hook              billing.InvoiceHook
		delivered, failed float64
	}{
		{"taken", func(context.Context, billing.InvoiceChange) error { return nil }, 4, 0},
		{"refused", func(context.Context, billing.InvoiceChange) error { return errors.New("membership service down") }, 0, 2},
		{"panicked", func(context.Context, billing.InvoiceChange) error { panic("bug") }, 0, 2},
		{"no hook", nil, 4, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := metrictest.New(t)
			store := mock.NewStore()
			changeTwice(t, store, 2) // two invoices, two events each
			_, err := billing.DeliverEvents(t.Context(), store, tt.hook, billing.DeliverOptions{MeterProvider: r, Now: func() time.Time { return base }})
			require.NoError(t, err)
			s := r.Collect(t)
			assert.Equal(t, tt.delivered, s.Sum("billing.events.delivered"))
			assert.Equal(t, tt.failed, s.Sum("billing.events.failed"), "an invoice's later event waits for its first")
		})
	}
}

func TestSweepMetrics(t *testing.T) {
	tests := []struct {
		name     string
		fail     error
		runs     map[string]float64
		invoices map[string]float64
	}{
		{"a missed payment repaired", nil, map[string]float64{"outcome=ok": 1}, map[string]float64{"outcome=changed": 1}},
		{"provider down", errors.New("xero is down"), map[string]float64{"outcome=error": 1}, map[string]float64{}},
		{"rate limited", &ratelimit.RateLimitError{Problem: ratelimit.ProblemDay}, map[string]float64{"outcome=stopped": 1}, map[string]float64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := metrictest.New(t)
			f, store := sweepFixture(t, 3)
			f.fail = tt.fail
			pay(f, 1, base.Add(8*time.Hour))
			_, _ = billing.Sweep(t.Context(), f, store, billing.SweepOptions{Tenant: "t1", MeterProvider: r})
			s := r.Collect(t)
			assert.Equal(t, tt.runs, s.Series("billing.sweep.runs"))
			assert.Equal(t, tt.invoices, s.Series("billing.sweep.invoices"))
		})
	}
}

// observedFixture is a store with three marks (at base, base+1s, base+2s),
// the oldest of them set aside, one undelivered event and one pending
// creation.
func observedFixture(t *testing.T) *mock.Store {
	t.Helper()
	ctx := context.Background()
	store := mock.NewStore()
	seed(t, store, 3)
	claims, err := store.ClaimUpdates(ctx, base.Add(time.Hour), 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, claims, 1)
	_, err = store.FailUpdate(ctx, claims[0], "refused by the provider", 1)
	require.NoError(t, err)
	inv, err := store.InvoiceByProviderID(ctx, "prov-002")
	require.NoError(t, err)
	inv.Status = billing.StatusPaid
	_, _, err = store.SaveInvoiceState(ctx, inv)
	require.NoError(t, err)
	_, err = store.BeginCreations(ctx, []billing.Creation{{Key: "k1", Fingerprint: "f1", Account: billing.UserAccount("user-1"), CreatedAt: base}})
	require.NoError(t, err)
	return store
}

func TestObserveStore(t *testing.T) {
	r := metrictest.New(t)
	store := observedFixture(t)
	reg, err := billing.ObserveStore(store, billing.ObserveOptions{MeterProvider: r, Now: func() time.Time { return base.Add(time.Hour) }})
	require.NoError(t, err)

	s := r.Collect(t)
	for name, want := range map[string]float64{
		"billing.marks.pending":      2,
		"billing.marks.oldest_age":   3599, // the oldest mark not set aside: base+1s
		"billing.events.pending":     1,
		"billing.creations.pending":  1,
		"billing.invoices.set_aside": 1,
	} {
		got, ok := s.Gauge(name)
		assert.True(t, ok, name)
		assert.Equal(t, want, got, name)
	}
	assert.Equal(t, "s", s["billing.marks.oldest_age"].Unit)

	require.NoError(t, reg.Unregister())
	_, err = store.MarkUpdateNeeded(t.Context(), []string{"prov-001"}, base.Add(2*time.Hour))
	require.NoError(t, err)
	s = r.Collect(t)
	_, ok := s.Gauge("billing.marks.pending")
	assert.False(t, ok, "nothing is read once unregistered")
}

func TestObserveStoreNothingWaiting(t *testing.T) {
	r := metrictest.New(t)
	_, err := billing.ObserveStore(mock.NewStore(), billing.ObserveOptions{MeterProvider: r})
	require.NoError(t, err)
	s := r.Collect(t)
	for _, name := range []string{"billing.marks.pending", "billing.marks.oldest_age", "billing.events.pending", "billing.creations.pending", "billing.invoices.set_aside"} {
		got, ok := s.Gauge(name)
		assert.True(t, ok, name)
		assert.Zero(t, got, name)
	}
}

// slowStore fails or stalls the reads the test names.
type slowStore struct {
	*mock.Store
	countFails  bool
	eventsStall bool
}

func (s slowStore) CountMarked(ctx context.Context) (int, time.Time, error) {
	if s.countFails {
		return 0, time.Time{}, errors.New("database unreachable")
	}
	return s.Store.CountMarked(ctx)
}

func (s slowStore) PendingEvents(ctx context.Context, limit int) ([]billing.InvoiceEvent, error) {
	if s.eventsStall {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return s.Store.PendingEvents(ctx, limit)
}

// A failed or stalled read leaves its gauges out of that collection and is
// logged; the others are observed, and the timeout bounds the wait.
func TestObserveStoreFailedReads(t *testing.T) {
	tests := []struct {
		name    string
		store   slowStore
		missing []string
		logged  string
	}{
		{"count fails", slowStore{countFails: true}, []string{"billing.marks.pending", "billing.marks.oldest_age"}, "database unreachable"},
		{"events stall", slowStore{eventsStall: true}, []string{"billing.events.pending"}, "deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := metrictest.New(t)
			tt.store.Store = observedFixture(t)
			var logs bytes.Buffer
			_, err := billing.ObserveStore(tt.store, billing.ObserveOptions{
				MeterProvider: r, Timeout: 50 * time.Millisecond,
				Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			})
			require.NoError(t, err)
			start := time.Now()
			s := r.Collect(t)
			assert.Less(t, time.Since(start), 5*time.Second)
			for _, name := range []string{"billing.marks.pending", "billing.marks.oldest_age", "billing.events.pending", "billing.creations.pending", "billing.invoices.set_aside"} {
				_, ok := s.Gauge(name)
				assert.Equal(t, !slices.Contains(tt.missing, name), ok, name)
			}
			assert.Contains(t, logs.String(), tt.logged)
		})
	}
}

func TestObserveStoreNeedsAStore(t *testing.T) {
	_, err := billing.ObserveStore(nil, billing.ObserveOptions{})
	assert.Error(t, err)
}
