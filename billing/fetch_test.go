package billing_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/ratelimit"
)

var base = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

// fakeProvider answers UpdateInvoices from a script.
type fakeProvider struct {
	mock.BillingService // only for the other methods; never Simulated here
	mu                  sync.Mutex
	calls               [][]string
	err                 func(ids []string) error // whole-call error
	omit                map[string]bool          // ids the provider no longer returns
	during              func()                   // runs inside the call
}

func (f *fakeProvider) Simulated() bool { return false }

func (f *fakeProvider) UpdateInvoices(_ context.Context, ids []string) (billing.UpdateResult, error) {
	f.mu.Lock()
	f.calls = append(f.calls, slices.Clone(ids))
	f.mu.Unlock()
	if f.during != nil {
		f.during()
	}
	if f.err != nil {
		if err := f.err(ids); err != nil {
			return billing.UpdateResult{}, err
		}
	}
	var res billing.UpdateResult
	for _, id := range ids {
		if f.omit[id] {
			continue
		}
		res.Updated = append(res.Updated, billing.Invoice{ProviderID: id})
	}
	return res, nil
}

func (f *fakeProvider) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// seed creates n invoices, marked at increasing times, and returns their provider ids.
func seed(t *testing.T, store billing.Store, n int) []string {
	t.Helper()
	ctx := context.Background()
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("prov-%03d", i)
		require.NoError(t, store.CreateInvoice(ctx, billing.Invoice{
			Account: billing.UserAccount("user-1"), Number: fmt.Sprintf("INV-%04d", i+1),
			ProviderID: ids[i], Status: billing.StatusAuthorised, Amount: decimal.RequireFromString("10.00"),
		}))
		_, err := store.MarkUpdateNeeded(ctx, ids[i:i+1], base.Add(time.Duration(i)*time.Second))
		require.NoError(t, err)
	}
	return ids
}

func opts() billing.FetchOptions {
	return billing.FetchOptions{Now: func() time.Time { return base.Add(time.Hour) }}
}

func marked(t *testing.T, store *mock.Store) []string {
	var out []string
	for _, inv := range store.Invoices() {
		if inv.UpdateNeeded {
			out = append(out, inv.Number)
		}
	}
	return out
}

func TestFetchSkipsMockAndNil(t *testing.T) {
	store := mock.NewStore()
	seed(t, store, 2)
	res, err := billing.FetchInvoiceUpdates(context.Background(), mock.NewBillingService(store), store, opts())
	require.NoError(t, err)
	assert.True(t, res.Simulated)
	assert.Len(t, marked(t, store), 2, "a mock service leaves the marks alone")

	_, err = billing.FetchInvoiceUpdates(context.Background(), nil, store, opts())
	assert.ErrorIs(t, err, billing.ErrNoService)
}

func TestFetchNothingMarked(t *testing.T) {
	store := mock.NewStore()
	p := &fakeProvider{}
	res, err := billing.FetchInvoiceUpdates(context.Background(), p, store, opts())
	require.NoError(t, err)
	assert.Zero(t, res.Claimed)
	assert.Zero(t, p.callCount(), "no call to the provider when nothing is marked")
}

func TestFetchLimitAndOneBatchedCall(t *testing.T) {
	store := mock.NewStore()
	ids := seed(t, store, 35)
	p := &fakeProvider{}
	res, err := billing.FetchInvoiceUpdates(context.Background(), p, store, opts())
	require.NoError(t, err)
	assert.Equal(t, 30, res.Claimed)
	require.Equal(t, 1, p.callCount(), "one batched UpdateInvoices call")
	assert.Equal(t, ids[:30], p.calls[0], "oldest marks first")
	assert.Len(t, res.Updated, 30)
	assert.Equal(t, []string{"INV-0031", "INV-0032", "INV-0033", "INV-0034", "INV-0035"}, marked(t, store))

	res, err = billing.FetchInvoiceUpdates(context.Background(), p, store, billing.FetchOptions{Limit: 3, Now: opts().Now})
	require.NoError(t, err)
	assert.Equal(t, []string{"INV-0031", "INV-0032", "INV-0033"}, res.Updated)
}

func TestFetchKeepsEveryFlagOnTemporaryErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"rate limit", &ratelimit.RateLimitError{RetryAfter: 30 * time.Second, Problem: ratelimit.ProblemMinute}},
		{"cancelled", context.Canceled},
		{"outage", fmt.Errorf("xero: %w", errTemp{})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := mock.NewStore()
			seed(t, store, 4)
			p := &fakeProvider{err: func([]string) error { return tt.err }}
			res, err := billing.FetchInvoiceUpdates(context.Background(), p, store, opts())
			require.ErrorIs(t, err, tt.err)
			assert.Empty(t, res.Updated)
			assert.Empty(t, res.Failed, "no invoice is blamed for a temporary error")
			assert.Equal(t, 1, p.callCount(), "no splitting on a temporary error")
			assert.Len(t, marked(t, store), 4)
			for _, inv := range store.Invoices() {
				assert.Zero(t, inv.UpdateAttempts)
			}
			// The claims were released: the next run may take them at once.
			claims, err := store.ClaimUpdates(context.Background(), base.Add(time.Hour), 10, time.Minute)
			require.NoError(t, err)
			assert.Len(t, claims, 4)
		})
	}
	var rl *ratelimit.RateLimitError
	store := mock.NewStore()
	seed(t, store, 1)
	_, err := billing.FetchInvoiceUpdates(context.Background(), &fakeProvider{err: func([]string) error {
		return &ratelimit.RateLimitError{Problem: ratelimit.ProblemDay}
	}}, store, opts())
	require.ErrorAs(t, err, &rl)
	assert.Equal(t, ratelimit.ProblemDay, rl.Problem)
}

func TestFetchMarkDuringFetchSurvives(t *testing.T) {
	store := mock.NewStore()
	ids := seed(t, store, 3)
	p := &fakeProvider{during: func() {
		_, err := store.MarkUpdateNeeded(context.Background(), ids[1:2], base.Add(time.Hour))
		require.NoError(t, err)
	}}
	res, err := billing.FetchInvoiceUpdates(context.Background(), p, store, opts())
	require.NoError(t, err)
	assert.Equal(t, []string{"INV-0001", "INV-0003"}, res.Updated)
	assert.Equal(t, []string{"INV-0002"}, res.Remarked)
	assert.Equal(t, []string{"INV-0002"}, marked(t, store))
}

func TestFetchBadInvoiceCannotStarveTheRest(t *testing.T) {
	store := mock.NewStore()
	ids := seed(t, store, 8)
	bad := ids[0] // the oldest mark, so it is in every batch
	p := &fakeProvider{err: func(batch []string) error {
		if slices.Contains(batch, bad) {
			return errors.New("xero: 400 ValidationException: bad invoice")
		}
		return nil
	}}
	o := opts()
	o.MaxAttempts = 2
	res, err := billing.FetchInvoiceUpdates(context.Background(), p, store, o)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "INV-0001")
	assert.Len(t, res.Updated, 7, "every other invoice is updated in the same run")
	require.Len(t, res.Failed, 1)
	assert.Equal(t, "INV-0001", res.Failed[0].Number)
	assert.False(t, res.Failed[0].SetAside)
	assert.Equal(t, []string{"INV-0001"}, marked(t, store))

	// Second failure, in a run where another invoice is fetched, sets it
	// aside; it stays marked but is no longer claimed.
	require.NoError(t, store.CreateInvoice(context.Background(), billing.Invoice{
		Account: billing.UserAccount("user-1"), Number: "INV-0100", ProviderID: "prov-100",
	}))
	_, err = store.MarkUpdateNeeded(context.Background(), []string{"prov-100"}, base.Add(time.Minute))
	require.NoError(t, err)
	res, err = billing.FetchInvoiceUpdates(context.Background(), p, store, o)
	require.Error(t, err)
	assert.Equal(t, []string{"INV-0100"}, res.Updated)
	require.Len(t, res.Failed, 1)
	assert.True(t, res.Failed[0].SetAside)
	aside, err := store.SetAsideInvoices(context.Background())
	require.NoError(t, err)
	require.Len(t, aside, 1)
	assert.Equal(t, "INV-0001", aside[0].Number)
	assert.Contains(t, aside[0].UpdateError, "bad invoice")
	assert.True(t, aside[0].UpdateNeeded, "set aside is never silently cleared")

	calls := p.callCount()
	res, err = billing.FetchInvoiceUpdates(context.Background(), p, store, o)
	require.NoError(t, err)
	assert.Zero(t, res.Claimed)
	assert.Equal(t, calls, p.callCount())
}

func TestFetchMissingInvoiceIsRecorded(t *testing.T) {
	store := mock.NewStore()
	ids := seed(t, store, 3)
	p := &fakeProvider{omit: map[string]bool{ids[2]: true}}
	res, err := billing.FetchInvoiceUpdates(context.Background(), p, store, opts())
	require.Error(t, err)
	assert.Equal(t, []string{"INV-0001", "INV-0002"}, res.Updated)
	require.Len(t, res.Failed, 1)
	assert.Equal(t, "not returned by the billing provider", res.Failed[0].Reason)
	inv, err := store.InvoiceByProviderID(context.Background(), ids[2])
	require.NoError(t, err)
	assert.True(t, inv.UpdateNeeded)
	assert.Equal(t, 1, inv.UpdateAttempts)
}

// failingStore fails CompleteUpdates, as a database outage would.
type failingStore struct{ *mock.Store }

func (failingStore) CompleteUpdates(context.Context, []billing.Claim) ([]bool, error) {
	return nil, errors.New("database is down")
}

func TestFetchStoreFailureKeepsFlags(t *testing.T) {
	store := mock.NewStore()
	seed(t, store, 3)
	res, err := billing.FetchInvoiceUpdates(context.Background(), &fakeProvider{}, failingStore{store}, opts())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "database is down")
	assert.Empty(t, res.Failed, "a store failure blames no invoice")
	assert.Len(t, marked(t, store), 3)
	claims, err := store.ClaimUpdates(context.Background(), base.Add(time.Hour), 10, time.Minute)
	require.NoError(t, err)
	assert.Len(t, claims, 3, "claims were released")
}

// TestFetchSystemicErrorSetsNothingAside: an error that no invoice causes
// (revoked credentials, a missing scope) fails every call, however the batch
// is split. No call of the run succeeded, so nothing shows an invoice is to
// blame: the reason is recorded, but no invoice is set aside, and all are
// fetched once the provider answers again.
func TestFetchSystemicErrorSetsNothingAside(t *testing.T) {
	store := mock.NewStore()
	seed(t, store, 4)
	down := true
	p := &fakeProvider{err: func([]string) error {
		if down {
			return errors.New("xero: 403 Forbidden: AuthorizationUnsuccessful")
		}
		return nil
	}}
	o := opts()
	o.MaxAttempts = 2
	for run := range 3 {
		res, err := billing.FetchInvoiceUpdates(context.Background(), p, store, o)
		require.Error(t, err, "run %d", run)
		for _, f := range res.Failed {
			assert.False(t, f.SetAside, "run %d: %s set aside for an error no invoice caused", run, f.Number)
		}
	}
	aside, err := store.SetAsideInvoices(context.Background())
	require.NoError(t, err)
	assert.Empty(t, aside, "a provider-wide failure set invoices aside")
	for _, inv := range store.Invoices() {
		assert.True(t, inv.UpdateNeeded, inv.Number)
		assert.Contains(t, inv.UpdateError, "403", "the reason is recorded")
	}

	down = false
	res, err := billing.FetchInvoiceUpdates(context.Background(), p, store, o)
	require.NoError(t, err)
	assert.Len(t, res.Updated, 4, "every invoice is fetched once the provider recovers")
	assert.Empty(t, marked(t, store))
}

// TestFetchSetsAsideOnceAnotherInvoiceSucceeds: a lone failing invoice is
// not set aside (it starves nobody), but as soon as a run shows that other
// invoices can be fetched, it is.
func TestFetchSetsAsideOnceAnotherInvoiceSucceeds(t *testing.T) {
	store := mock.NewStore()
	ids := seed(t, store, 1)
	bad := ids[0]
	p := &fakeProvider{err: func(batch []string) error {
		if slices.Contains(batch, bad) {
			return errors.New("xero: 400 ValidationException: bad invoice")
		}
		return nil
	}}
	o := opts()
	o.MaxAttempts = 2
	for range 3 {
		res, err := billing.FetchInvoiceUpdates(context.Background(), p, store, o)
		require.Error(t, err)
		require.Len(t, res.Failed, 1)
		assert.False(t, res.Failed[0].SetAside)
	}

	require.NoError(t, store.CreateInvoice(context.Background(), billing.Invoice{
		Account: billing.UserAccount("user-1"), Number: "INV-0100", ProviderID: "prov-100",
	}))
	_, err := store.MarkUpdateNeeded(context.Background(), []string{"prov-100"}, base.Add(time.Minute))
	require.NoError(t, err)
	res, err := billing.FetchInvoiceUpdates(context.Background(), p, store, o)
	require.Error(t, err)
	assert.Equal(t, []string{"INV-0100"}, res.Updated)
	require.Len(t, res.Failed, 1)
	assert.True(t, res.Failed[0].SetAside, "failed %d times, and another invoice was fetched", o.MaxAttempts)
}

// releaseRecordingStore fails CompleteUpdates, as a database that goes
// away mid-run would. Just before failing, another fetcher claims what it
// can.
type releaseRecordingStore struct {
	*mock.Store
	other []billing.Claim
}

func (s *releaseRecordingStore) CompleteUpdates(ctx context.Context, _ []billing.Claim) ([]bool, error) {
	claims, err := s.Store.ClaimUpdates(ctx, base.Add(time.Hour), 10, time.Hour)
	if err != nil {
		return nil, err
	}
	s.other = claims
	return nil, errors.New("database is down")
}

// TestFetchStoreFailureReleasesItsClaims: the claims of a batch end in one
// store transaction, so when the store fails nothing was ended: while the
// run held them nobody else could claim them, and afterwards every one is
// released (a webhook's re-mark during the fetch included).
func TestFetchStoreFailureReleasesItsClaims(t *testing.T) {
	store := mock.NewStore()
	ids := seed(t, store, 3)
	p := &fakeProvider{during: func() {
		_, err := store.MarkUpdateNeeded(context.Background(), ids[:1], base.Add(time.Hour))
		require.NoError(t, err)
	}}
	s := &releaseRecordingStore{Store: store}
	_, err := billing.FetchInvoiceUpdates(context.Background(), p, s, opts())
	require.ErrorContains(t, err, "database is down")
	assert.Empty(t, s.other, "the run's leases held while it ran")

	claims, err := store.ClaimUpdates(context.Background(), base.Add(time.Hour), 10, time.Hour)
	require.NoError(t, err)
	assert.Len(t, claims, 3, "every claim of the failed batch was released")
}

func TestFetchNilStoreIsAnError(t *testing.T) {
	p := &fakeProvider{}
	var res billing.FetchResult
	var err error
	require.NotPanics(t, func() {
		res, err = billing.FetchInvoiceUpdates(context.Background(), p, nil, opts())
	})
	require.Error(t, err)
	assert.Zero(t, res.Claimed)
	assert.Zero(t, p.callCount())
}

// TestFetchRateLimitWhileSplitting: a rate limit part way through the
// search for a bad invoice stops the run; what was fetched stays fetched,
// and everything else, the suspect included, is released unblamed.
func TestFetchRateLimitWhileSplitting(t *testing.T) {
	store := mock.NewStore()
	ids := seed(t, store, 4)
	var calls int
	p := &fakeProvider{err: func(batch []string) error {
		calls++
		switch {
		case calls == 5:
			return &ratelimit.RateLimitError{RetryAfter: time.Minute, Problem: ratelimit.ProblemMinute}
		case slices.Contains(batch, ids[0]):
			return errors.New("xero: 400 ValidationException: bad invoice")
		}
		return nil
	}}
	res, err := billing.FetchInvoiceUpdates(context.Background(), p, store, opts())
	var rl *ratelimit.RateLimitError
	require.ErrorAs(t, err, &rl)
	assert.Equal(t, [][]string{ids, ids[:2], ids[:1], ids[1:2], ids[2:]}, p.calls)
	assert.Equal(t, []string{"INV-0002"}, res.Updated)
	assert.Empty(t, res.Failed, "the run stopped before blaming anyone")
	assert.Equal(t, []string{"INV-0001", "INV-0003", "INV-0004"}, marked(t, store))
	for _, inv := range store.Invoices() {
		assert.Zero(t, inv.UpdateAttempts, inv.Number)
	}
	claims, err := store.ClaimUpdates(context.Background(), base.Add(time.Hour), 10, time.Minute)
	require.NoError(t, err)
	assert.Len(t, claims, 3, "every claim not ended was released")
}

// TestFetchProviderReturningNothingSetsNothingAside: a provider that answers
// but returns none of the invoices asked for (the wrong organisation, say)
// proves nothing about any one invoice: the failures are recorded, nothing is
// set aside.
func TestFetchProviderReturningNothingSetsNothingAside(t *testing.T) {
	store := mock.NewStore()
	ids := seed(t, store, 3)
	omit := map[string]bool{}
	for _, id := range ids {
		omit[id] = true
	}
	p := &fakeProvider{omit: omit}
	o := opts()
	o.MaxAttempts = 1
	res, err := billing.FetchInvoiceUpdates(context.Background(), p, store, o)
	require.Error(t, err)
	require.Len(t, res.Failed, 3)
	for _, f := range res.Failed {
		assert.False(t, f.SetAside, f.Number)
		assert.Equal(t, "not returned by the billing provider", f.Reason)
	}
	aside, err := store.SetAsideInvoices(context.Background())
	require.NoError(t, err)
	assert.Empty(t, aside)
	assert.Len(t, marked(t, store), 3)
}

func TestFetchAllTakesEveryBatch(t *testing.T) {
	store := mock.NewStore()
	seed(t, store, 7)
	p := &fakeProvider{}
	o := opts()
	o.Limit = 3
	res, err := billing.FetchAllInvoiceUpdates(context.Background(), p, store, o)
	require.NoError(t, err)
	assert.Equal(t, 7, res.Claimed)
	assert.Len(t, res.Updated, 7)
	assert.Equal(t, 3, p.callCount(), "batches of 3, 3 and 1")
	assert.Empty(t, marked(t, store))

	res, err = billing.FetchAllInvoiceUpdates(context.Background(), p, store, o)
	require.NoError(t, err)
	assert.Zero(t, res.Claimed)
	assert.Equal(t, 3, p.callCount(), "one empty claim, no call")
}

func TestFetchAllStopsOnRateLimitKeepingMarks(t *testing.T) {
	store := mock.NewStore()
	seed(t, store, 6)
	calls := 0
	p := &fakeProvider{err: func([]string) error {
		calls++
		if calls > 1 {
			return &ratelimit.RateLimitError{Problem: ratelimit.ProblemMinute, RetryAfter: time.Minute}
		}
		return nil
	}}
	o := opts()
	o.Limit = 2
	res, err := billing.FetchAllInvoiceUpdates(context.Background(), p, store, o)
	require.ErrorIs(t, err, ratelimit.ErrRateLimited)
	assert.Len(t, res.Updated, 2, "the first batch is kept")
	assert.Len(t, marked(t, store), 4, "the rest stay marked")
	assert.Equal(t, 2, p.callCount())
}

func TestFetchAllStopsWithoutProgress(t *testing.T) {
	store := mock.NewStore()
	ids := seed(t, store, 2)
	// Every fetch sees a newer mark: nothing is ever cleared.
	p := &fakeProvider{during: func() {
		_, err := store.MarkUpdateNeeded(context.Background(), ids, base.Add(2*time.Hour))
		require.NoError(t, err)
	}}
	o := opts()
	o.Limit = 2
	res, err := billing.FetchAllInvoiceUpdates(context.Background(), p, store, o)
	require.NoError(t, err)
	assert.Empty(t, res.Updated)
	assert.Len(t, res.Remarked, 2)
	assert.Equal(t, 1, p.callCount(), "no spinning on invoices that keep changing")
}

func TestFetchAllSkipsMock(t *testing.T) {
	store := mock.NewStore()
	seed(t, store, 1)
	res, err := billing.FetchAllInvoiceUpdates(context.Background(), mock.NewBillingService(store), store, opts())
	require.NoError(t, err)
	assert.True(t, res.Simulated)
}

// providerAuthError is how a provider's own error type matches
// billing.ErrUnauthorized.
type providerAuthError struct{}

func (providerAuthError) Error() string        { return "provider: client credentials refused" }
func (providerAuthError) Is(target error) bool { return target == billing.ErrUnauthorized }

// TestFetchStopsOnUnauthorized: an error matching ErrUnauthorized stops the
// run at once, even part way through splitting a batch: no invoice is
// blamed, every claim is released and the one error says why.
func TestFetchStopsOnUnauthorized(t *testing.T) {
	tests := []struct {
		name      string
		err       func(call int) error
		wantCalls int
	}{
		{"sentinel wrapped", func(int) error { return fmt.Errorf("provider: %w", billing.ErrUnauthorized) }, 1},
		{"provider's type", func(int) error { return providerAuthError{} }, 1},
		// A blamable error splits the batch; the credentials then fail.
		{"while splitting", func(call int) error {
			if call == 1 {
				return errors.New("provider: 400 bad request")
			}
			return providerAuthError{}
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := mock.NewStore()
			seed(t, store, 6)
			calls := 0
			p := &fakeProvider{err: func([]string) error { calls++; return tt.err(calls) }}
			res, err := billing.FetchInvoiceUpdates(context.Background(), p, store, opts())
			require.ErrorIs(t, err, billing.ErrUnauthorized)
			assert.Contains(t, err.Error(), "refused the app's credentials")
			assert.Equal(t, tt.wantCalls, p.callCount())
			assert.Empty(t, res.Failed)
			for _, inv := range store.Invoices() {
				assert.True(t, inv.UpdateNeeded, inv.Number)
				assert.Zero(t, inv.UpdateAttempts, inv.Number)
			}
			claims, err := store.ClaimUpdates(context.Background(), base.Add(time.Hour), 10, time.Minute)
			require.NoError(t, err)
			assert.Len(t, claims, 6, "the claims were released")
		})
	}
}
