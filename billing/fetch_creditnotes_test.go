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
	"github.com/amsbilling/sdk/internal/metrictest"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/ratelimit"
)

// creditProvider is fakeProvider that also refreshes credit notes from a
// script: each credit note touches the invoices in touches (marked for
// update when it is refreshed), is dropped, fails, or is not returned.
type creditProvider struct {
	fakeProvider
	store   billing.Store
	touches map[string][]string // credit note -> invoice provider ids
	drop    map[string]bool
	fail    map[string]error
	omitCN  map[string]bool
	callErr func(ids []string) error // whole-call error
	duringC func()                   // runs inside each UpdateCreditNotes

	cmu     sync.Mutex
	cnCalls [][]string
	order   []string // "credit" and "invoice" calls, in order
}

func (p *creditProvider) UpdateCreditNotes(ctx context.Context, ids []string) (billing.CreditNoteUpdateResult, error) {
	p.cmu.Lock()
	p.cnCalls = append(p.cnCalls, slices.Clone(ids))
	p.order = append(p.order, "credit")
	p.cmu.Unlock()
	if p.duringC != nil {
		p.duringC()
	}
	res := billing.CreditNoteUpdateResult{Failed: map[string]error{}, Calls: 1}
	if p.callErr != nil {
		if err := p.callErr(ids); err != nil {
			return res, err
		}
	}
	var invoices []string
	for _, id := range ids {
		switch {
		case p.drop[id]:
			res.Dropped = append(res.Dropped, id)
		case p.fail[id] != nil:
			res.Failed[id] = p.fail[id]
		case p.omitCN[id]:
		default:
			res.Refreshed = append(res.Refreshed, id)
			invoices = append(invoices, p.touches[id]...)
		}
	}
	if len(invoices) > 0 {
		n, err := p.store.MarkUpdateNeeded(ctx, invoices, base.Add(2*time.Hour))
		if err != nil {
			return res, err
		}
		res.InvoicesMarked = n
	}
	return res, nil
}

func (p *creditProvider) UpdateInvoices(ctx context.Context, ids []string) (billing.UpdateResult, error) {
	p.cmu.Lock()
	p.order = append(p.order, "invoice")
	p.cmu.Unlock()
	return p.fakeProvider.UpdateInvoices(ctx, ids)
}

func (p *creditProvider) creditCalls() [][]string {
	p.cmu.Lock()
	defer p.cmu.Unlock()
	return slices.Clone(p.cnCalls)
}

func cnID(n int) string { return fmt.Sprintf("cn-%03d", n) }

// unmarkedInvoices creates n invoices that are not marked and returns their
// provider ids.
func unmarkedInvoices(t *testing.T, store billing.Store, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("prov-%03d", i)
		require.NoError(t, store.CreateInvoice(context.Background(), billing.Invoice{
			Account: billing.UserAccount("user-1"), Number: fmt.Sprintf("INV-%04d", i+1),
			ProviderID: ids[i], Status: billing.StatusAuthorised, Amount: decimal.RequireFromString("10.00"),
		}))
	}
	return ids
}

// markCreditNotes marks credit notes 1..n at increasing times.
func markCreditNotes(t *testing.T, store billing.Store, n int) {
	t.Helper()
	for i := range n {
		_, err := store.MarkCreditNotes(context.Background(), []string{cnID(i + 1)}, base.Add(time.Duration(i)*time.Second))
		require.NoError(t, err)
	}
}

func creditMarks(t *testing.T, store billing.Store) []billing.CreditNoteMark {
	t.Helper()
	marks, err := store.CreditNoteMarks(context.Background())
	require.NoError(t, err)
	return marks
}

func creditMarkIDs(t *testing.T, store billing.Store) []string {
	var ids []string
	for _, m := range creditMarks(t, store) {
		ids = append(ids, m.ProviderID)
	}
	return ids
}

// The credit notes are refreshed before the invoices, in one call, and the
// invoices they touch are refreshed in the same run; dropped ones are
// unmarked too.
func TestFetchDrainsCreditNoteMarks(t *testing.T) {
	store := mock.NewStore()
	invs := unmarkedInvoices(t, store, 3)
	markCreditNotes(t, store, 3)
	p := &creditProvider{store: store,
		touches: map[string][]string{cnID(1): {invs[0], "unknown-invoice"}, cnID(3): {invs[2], invs[0]}},
		drop:    map[string]bool{cnID(2): true},
	}
	res, err := billing.FetchInvoiceUpdates(context.Background(), p, store, opts())
	require.NoError(t, err)

	cn := res.CreditNotes
	assert.Equal(t, 3, cn.Claimed)
	assert.Equal(t, []string{cnID(1), cnID(3)}, cn.Refreshed)
	assert.Equal(t, []string{cnID(2)}, cn.Dropped)
	assert.Empty(t, cn.Remarked)
	assert.Empty(t, cn.Failed)
	assert.Equal(t, 1, cn.Calls)
	assert.Equal(t, 2, cn.InvoicesMarked)
	assert.Empty(t, creditMarkIDs(t, store), "every mark completed")
	assert.Equal(t, [][]string{{cnID(1), cnID(2), cnID(3)}}, p.creditCalls(), "one call, oldest mark first")

	assert.Equal(t, []string{"credit", "invoice"}, p.order, "credit notes first, then the invoices they touch")
	assert.Equal(t, 2, res.Claimed)
	assert.ElementsMatch(t, []string{"INV-0001", "INV-0003"}, res.Updated)
	assert.Empty(t, marked(t, store))
}

// A CREDITNOTE webhook that arrives during the refresh keeps its mark.
func TestFetchCreditNoteMarkedDuringRefresh(t *testing.T) {
	store := mock.NewStore()
	markCreditNotes(t, store, 2)
	p := &creditProvider{store: store, duringC: func() {
		_, err := store.MarkCreditNotes(context.Background(), []string{cnID(2)}, base.Add(time.Hour))
		require.NoError(t, err)
	}}
	res, err := billing.FetchInvoiceUpdates(context.Background(), p, store, opts())
	require.NoError(t, err)
	assert.Equal(t, []string{cnID(1)}, res.CreditNotes.Refreshed)
	assert.Equal(t, []string{cnID(2)}, res.CreditNotes.Remarked)
	assert.Equal(t, []string{cnID(2)}, creditMarkIDs(t, store), "the newer mark stays for the next run")
}

// A credit note that cannot be read fails an attempt each run and is set
// aside after MaxAttempts, so it never blocks the queue; the others are
// refreshed meanwhile.
func TestFetchCreditNoteSetAside(t *testing.T) {
	store := mock.NewStore()
	markCreditNotes(t, store, 2)
	unreadable := fmt.Errorf("credit note %s: %w", cnID(1), billing.ErrUnreadable)
	p := &creditProvider{store: store, fail: map[string]error{cnID(1): unreadable}}
	o := opts()
	o.MaxAttempts = 2

	res, err := billing.FetchInvoiceUpdates(context.Background(), p, store, o)
	require.Error(t, err)
	assert.False(t, billing.IsTemporary(err), "a credit note's failure is not an outage")
	assert.Contains(t, err.Error(), cnID(1))
	assert.Equal(t, []string{cnID(2)}, res.CreditNotes.Refreshed)
	require.Len(t, res.CreditNotes.Failed, 1)
	assert.Equal(t, billing.CreditNoteFailure{ProviderID: cnID(1), Reason: unreadable.Error()}, res.CreditNotes.Failed[0])

	res, err = billing.FetchInvoiceUpdates(context.Background(), p, store, o)
	require.Error(t, err)
	require.Len(t, res.CreditNotes.Failed, 1)
	assert.True(t, res.CreditNotes.Failed[0].SetAside, "second failure of two")
	marks := creditMarks(t, store)
	require.Len(t, marks, 1)
	assert.Equal(t, 2, marks[0].Attempts)
	assert.Equal(t, unreadable.Error(), marks[0].Error)
	assert.True(t, marks[0].SetAside)

	res, err = billing.FetchInvoiceUpdates(context.Background(), p, store, o)
	require.NoError(t, err)
	assert.Zero(t, res.CreditNotes.Claimed, "a set-aside credit note is not claimed")
	assert.Len(t, p.creditCalls(), 2)
}

// A call refused for one credit note's sake is halved until that one is
// alone; it fails, the others are refreshed.
func TestFetchCreditNotesBisect(t *testing.T) {
	store := mock.NewStore()
	markCreditNotes(t, store, 4)
	bad := cnID(3)
	p := &creditProvider{store: store, callErr: func(ids []string) error {
		if slices.Contains(ids, bad) {
			return errors.New("400 ValidationException")
		}
		return nil
	}}
	res, err := billing.FetchInvoiceUpdates(context.Background(), p, store, opts())
	require.Error(t, err)
	assert.Equal(t, []string{cnID(1), cnID(2), cnID(4)}, res.CreditNotes.Refreshed)
	require.Len(t, res.CreditNotes.Failed, 1)
	assert.Equal(t, bad, res.CreditNotes.Failed[0].ProviderID)
	assert.Equal(t, "400 ValidationException", res.CreditNotes.Failed[0].Reason)
	assert.Equal(t, [][]string{{cnID(1), cnID(2), cnID(3), cnID(4)}, {cnID(1), cnID(2)}, {cnID(3), cnID(4)}, {cnID(3)}, {cnID(4)}}, p.creditCalls())
	assert.Equal(t, 5, res.CreditNotes.Calls)
	assert.Equal(t, []string{bad}, creditMarkIDs(t, store))
}

// When no call of a run works, a failure is recorded but nothing is set
// aside: the provider, not the credit note, may be at fault.
func TestFetchCreditNoteNotSetAsideWithoutAnswer(t *testing.T) {
	store := mock.NewStore()
	markCreditNotes(t, store, 1)
	p := &creditProvider{store: store, callErr: func([]string) error { return errors.New("refused") }}
	o := opts()
	o.MaxAttempts = 1
	res, err := billing.FetchInvoiceUpdates(context.Background(), p, store, o)
	require.Error(t, err)
	require.Len(t, res.CreditNotes.Failed, 1)
	assert.False(t, res.CreditNotes.Failed[0].SetAside)
	marks := creditMarks(t, store)
	require.Len(t, marks, 1)
	assert.Equal(t, 1, marks[0].Attempts)
	assert.False(t, marks[0].SetAside)
}

// A rate limit, an outage or refused credentials stop the run before any
// invoice is fetched: every credit-note claim is released with nothing
// recorded, and the error is returned as it is.
func TestFetchCreditNotesStop(t *testing.T) {
	tests := []struct {
		name string
		err  error
		is   func(error) bool
	}{
		{"rate limit", &ratelimit.RateLimitError{RetryAfter: time.Minute, Problem: ratelimit.ProblemMinute}, billing.IsTemporary},
		{"unauthorized", fmt.Errorf("xero: 403: %w", billing.ErrUnauthorized), func(err error) bool { return errors.Is(err, billing.ErrUnauthorized) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := mock.NewStore()
			seed(t, store, 2)
			markCreditNotes(t, store, 3)
			p := &creditProvider{store: store, callErr: func([]string) error { return tt.err }}
			res, err := billing.FetchInvoiceUpdates(context.Background(), p, store, opts())
			require.Error(t, err)
			assert.True(t, tt.is(err), "%v", err)
			assert.Len(t, p.creditCalls(), 1, "no bisection")
			assert.Zero(t, p.callCount(), "no invoice fetched after the stop")
			assert.Empty(t, res.CreditNotes.Failed)
			for _, m := range creditMarks(t, store) {
				assert.Zero(t, m.Attempts, m.ProviderID)
			}
			claims, err := store.ClaimCreditNotes(context.Background(), base.Add(time.Hour), 10, time.Minute)
			require.NoError(t, err)
			assert.Len(t, claims, 3, "the claims were released")
			assert.Len(t, marked(t, store), 2, "invoices stay marked")
		})
	}
}

// A service that cannot refresh credit notes leaves their marks alone.
func TestFetchWithoutCreditNoteUpdater(t *testing.T) {
	store := mock.NewStore()
	seed(t, store, 1)
	markCreditNotes(t, store, 2)
	res, err := billing.FetchInvoiceUpdates(context.Background(), &fakeProvider{}, store, opts())
	require.NoError(t, err)
	assert.Zero(t, res.CreditNotes.Claimed)
	assert.Equal(t, []string{"INV-0001"}, res.Updated)
	assert.Len(t, creditMarkIDs(t, store), 2)
}

// FetchAllInvoiceUpdates goes on while the credit-note batch is full, even
// with no invoice to fetch.
func TestFetchAllDrainsCreditNotes(t *testing.T) {
	store := mock.NewStore()
	markCreditNotes(t, store, 5)
	p := &creditProvider{store: store}
	o := opts()
	o.Limit = 2
	res, err := billing.FetchAllInvoiceUpdates(context.Background(), p, store, o)
	require.NoError(t, err)
	assert.Equal(t, 5, res.CreditNotes.Claimed)
	assert.Len(t, res.CreditNotes.Refreshed, 5)
	assert.Equal(t, 3, res.CreditNotes.Calls)
	assert.Empty(t, creditMarkIDs(t, store))
}

// A run's credit notes are counted by outcome, and their failures make the
// run's outcome invoice_failed.
func TestFetchCreditNoteMetrics(t *testing.T) {
	store := mock.NewStore()
	markCreditNotes(t, store, 3)
	p := &creditProvider{store: store, drop: map[string]bool{cnID(2): true},
		fail: map[string]error{cnID(3): fmt.Errorf("x: %w", billing.ErrUnreadable)}}
	r := metrictest.New(t)
	o := opts()
	o.MeterProvider = r
	_, err := billing.FetchInvoiceUpdates(context.Background(), p, store, o)
	require.Error(t, err)
	s := r.Collect(t)
	assert.Equal(t, map[string]float64{"outcome=refreshed": 1, "outcome=dropped": 1, "outcome=failed": 1}, s.Series("billing.fetch.credit_notes"))
	assert.Equal(t, map[string]float64{"outcome=invoice_failed": 1}, s.Series("billing.fetch.runs"))
}
