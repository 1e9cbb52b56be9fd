package billing_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/internal/metrictest"
	"github.com/amsbilling/sdk/mock"
)

// fakeXero is a provider holding invoices with modification times; it
// serves them page by page, as InvoicesModifiedSince does.
type fakeXero struct {
	invoices []billing.Invoice
	modified []time.Time
	pageSize int
	asked    []time.Time // the since of each page asked
	byID     [][]string  // the ids of each UpdateInvoices
	store    *mock.Store
	fail     error
	// unreadable are the indexes of invoices served as unreadable, and
	// strangers unreadable invoices the store does not know, on page 1.
	unreadable map[int]bool
	strangers  []billing.UnreadableInvoice
	// failUpdate fails UpdateInvoices.
	failUpdate error
	money      fakeMoney
}

func (f *fakeXero) InvoicesModifiedSince(_ context.Context, since time.Time, page int) (billing.ModifiedPage, error) {
	f.asked = append(f.asked, since)
	if f.fail != nil {
		return billing.ModifiedPage{}, f.fail
	}
	var all []int
	for i, m := range f.modified {
		if !m.Before(since) {
			all = append(all, i)
		}
	}
	start := (page - 1) * f.pageSize
	var p billing.ModifiedPage
	if page == 1 {
		p.Unreadable = append(p.Unreadable, f.strangers...)
	}
	for _, i := range all[min(start, len(all)):min(start+f.pageSize, len(all))] {
		if f.unreadable[i] {
			p.Unreadable = append(p.Unreadable, billing.UnreadableInvoice{ProviderID: f.invoices[i].ProviderID,
				Err: fmt.Errorf("%w: its date is the year 1", billing.ErrUnreadable)})
			continue
		}
		p.Invoices = append(p.Invoices, f.invoices[i])
		if f.modified[i].After(p.Latest) {
			p.Latest = f.modified[i]
		}
	}
	p.More = start+f.pageSize < len(all)
	return p, nil
}

func (f *fakeXero) UpdateInvoices(ctx context.Context, ids []string) (billing.UpdateResult, error) {
	f.byID = append(f.byID, slices.Clone(ids))
	if f.failUpdate != nil {
		return billing.UpdateResult{}, f.failUpdate
	}
	var states []billing.Invoice
	for _, id := range ids {
		for _, inv := range f.invoices {
			if inv.ProviderID == id {
				states = append(states, inv)
			}
		}
	}
	res := billing.UpdateResult{Failed: map[string]error{}}
	saved, err := f.store.SaveInvoiceStates(ctx, states)
	if err != nil {
		return res, err
	}
	for _, s := range saved {
		res.Updated = append(res.Updated, s.After)
		if s.Changed {
			res.Changed = append(res.Changed, s.After.Number)
		}
	}
	return res, nil
}

// sweepFixture: n invoices known to the store and to Xero, AUTHORISED,
// issued on consecutive days from 2026-11-01, modified an hour apart.
func sweepFixture(t *testing.T, n int) (*fakeXero, *mock.Store) {
	t.Helper()
	store := mock.NewStore()
	f := &fakeXero{pageSize: 3, store: store}
	for i := range n {
		inv := billing.Invoice{Account: billing.UserAccount("u"), Number: fmt.Sprintf("INV-%04d", i+1), ProviderID: fmt.Sprintf("id-%03d", i),
			Status: billing.StatusAuthorised, IssueDate: billing.NewDate(2026, 11, 1+i), Amount: decimal.NewFromInt(10), Due: decimal.NewFromInt(10)}
		require.NoError(t, store.CreateInvoice(context.Background(), inv))
		f.invoices = append(f.invoices, inv)
		f.modified = append(f.modified, base.Add(time.Duration(i)*time.Hour))
	}
	return f, store
}

func pay(f *fakeXero, i int, at time.Time) {
	f.invoices[i].Status, f.invoices[i].Paid, f.invoices[i].Due = billing.StatusPaid, decimal.NewFromInt(10), decimal.Zero
	f.modified[i] = at
}

// A webhook that never came: the sweep finds the payment, saves it with its
// event, and moves the mark; the first sweep starts a day before the oldest
// invoice, so it repairs everything.
func TestSweepRepairsMissedWebhooks(t *testing.T) {
	f, store := sweepFixture(t, 7)
	ctx := context.Background()
	now := base.Add(10 * time.Hour)
	o := billing.SweepOptions{Tenant: "t1", Now: func() time.Time { return now }}

	pay(f, 1, base.Add(8*time.Hour))
	res, err := billing.Sweep(ctx, f, store, o)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC), res.Since, "a day before the oldest issue date")
	assert.Equal(t, 3, res.Pages, "7 invoices in pages of 3")
	assert.Equal(t, []string{"INV-0002"}, res.Changed)
	assert.Equal(t, 6, res.OpenChecked, "the first sweep checks every open invoice too")
	assert.True(t, res.InStep())
	inv, err := store.InvoiceByNumber(ctx, "INV-0002")
	require.NoError(t, err)
	assert.True(t, inv.IsPaid())
	events, err := store.PendingEvents(ctx, 0)
	require.NoError(t, err)
	require.Len(t, events, 1)
	assert.True(t, events[0].Change.BecamePaid())

	// The next sweep asks only from the mark, less the overlap: one page
	// for one change.
	pay(f, 4, base.Add(9*time.Hour))
	f.asked = nil
	res, err = billing.Sweep(ctx, f, store, o)
	require.NoError(t, err)
	assert.Equal(t, []time.Time{base.Add(8*time.Hour - billing.DefaultSweepOverlap)}, f.asked)
	assert.Equal(t, []string{"INV-0005"}, res.Changed)
	assert.Zero(t, res.OpenChecked, "the open check is not due yet")
}

// A sweep that fails part way keeps the mark: the next one asks again.
func TestSweepFailureKeepsTheMark(t *testing.T) {
	f, store := sweepFixture(t, 2)
	ctx := context.Background()
	f.fail = errors.New("xero is down")
	_, err := billing.Sweep(ctx, f, store, billing.SweepOptions{Tenant: "t1"})
	require.ErrorContains(t, err, "xero is down")
	mark, err := store.SweepMark(ctx, "modified:t1")
	require.NoError(t, err)
	assert.True(t, mark.IsZero())
}

// Some Xero edits do not move UpdatedDateUTC: the open check refreshes
// every open invoice by id, in batches, when due.
func TestSweepOpenCheckFindsUnmodifiedChanges(t *testing.T) {
	f, store := sweepFixture(t, 5)
	ctx := context.Background()
	now := base.Add(24 * time.Hour)
	o := billing.SweepOptions{Tenant: "t1", Batch: 2, Now: func() time.Time { return now }}
	_, err := billing.Sweep(ctx, f, store, o)
	require.NoError(t, err)

	f.invoices[3].DueDate = billing.NewDate(2027, 1, 31) // modified time unchanged
	f.byID = nil
	res, err := billing.Sweep(ctx, f, store, o)
	require.NoError(t, err)
	assert.Empty(t, res.Changed, "not due yet")
	assert.Empty(t, f.byID)

	now = now.Add(billing.DefaultSweepOpenEvery)
	res, err = billing.Sweep(ctx, f, store, o)
	require.NoError(t, err)
	assert.Equal(t, []string{"INV-0004"}, res.Changed)
	assert.Equal(t, [][]string{{"id-000", "id-001"}, {"id-002", "id-003"}, {"id-004"}}, f.byID)
}

func TestSweepEmptyStoreAsksNothing(t *testing.T) {
	f := &fakeXero{pageSize: 3, store: mock.NewStore()}
	res, err := billing.Sweep(context.Background(), f, f.store, billing.SweepOptions{})
	require.NoError(t, err)
	assert.Empty(t, f.asked)
	assert.True(t, res.InStep())
}

// An invoice the provider sends but that cannot be read never stops the
// sweep. The mark rules: one the store knows is marked for the fetch job
// (Queued); one it does not know, or without an id, is only reported; the
// mark moves as if the page had been read; a page of nothing but
// unreadable invoices does not end the sweep.
func TestSweepUnreadableInvoices(t *testing.T) {
	f, store := sweepFixture(t, 4)
	ctx := context.Background()
	r := metrictest.New(t)
	now := base.Add(10 * time.Hour)
	o := billing.SweepOptions{Tenant: "t1", Now: func() time.Time { return now }, MeterProvider: r}
	f.pageSize = 1
	f.unreadable = map[int]bool{0: true}
	f.strangers = []billing.UnreadableInvoice{
		{ProviderID: "not-ours", Err: fmt.Errorf("%w: a bill", billing.ErrUnreadable)},
		{Err: fmt.Errorf("%w: no id", billing.ErrUnreadable)},
	}
	pay(f, 2, base.Add(8*time.Hour))

	res, err := billing.Sweep(ctx, f, store, o)
	require.NoError(t, err)
	assert.Equal(t, []string{"INV-0003"}, res.Changed, "the paid one behind the unreadable page is repaired")
	assert.Equal(t, 4, res.Pages, "page 1, only unreadable, did not end the sweep")
	assert.Equal(t, 6, res.Seen)
	require.Len(t, res.Unreadable, 3)
	byID := map[string]billing.UnreadableInvoice{}
	for _, u := range res.Unreadable {
		byID[u.ProviderID] = u
		assert.ErrorIs(t, u.Err, billing.ErrUnreadable)
	}
	assert.True(t, byID["id-000"].Queued, "known: queued for the fetch job")
	assert.False(t, byID["not-ours"].Queued)
	assert.False(t, byID[""].Queued)
	assert.False(t, res.InStep(), "a known invoice is not in step")

	known, err := store.InvoiceByProviderID(ctx, "id-000")
	require.NoError(t, err)
	assert.True(t, known.UpdateNeeded)
	assert.Equal(t, now, known.UpdateRequestedAt)
	n, _, err := store.CountMarked(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "nothing else marked, nothing made for the stranger")
	_, err = store.InvoiceByProviderID(ctx, "not-ours")
	require.ErrorIs(t, err, billing.ErrNotFound)

	mark, err := store.SweepMark(ctx, "modified:t1")
	require.NoError(t, err)
	assert.Equal(t, base.Add(8*time.Hour), mark, "the mark moved as if every page had been read")

	s := r.Collect(t)
	assert.Equal(t, 3.0, s.Sum("billing.sweep.invoices", attribute.String("outcome", "unreadable")))
	assert.Equal(t, 1.0, s.Sum("billing.sweep.runs", attribute.String("outcome", "out_of_step")))

	// Only strangers: reported, and the sweep is in step.
	f.unreadable = nil
	res, err = billing.Sweep(ctx, f, store, o)
	require.NoError(t, err)
	assert.Len(t, res.Unreadable, 2)
	assert.True(t, res.InStep(), "what the store does not know is not the app's")
}

// failingMarks is a store whose marks fail.
type failingMarks struct{ *mock.Store }

func (failingMarks) MarkUpdateNeeded(context.Context, []string, time.Time) (int, error) {
	return 0, errors.New("database down")
}

// A store failure while queueing an unreadable invoice fails the sweep,
// and the mark stays, so the next sweep sees the invoice again.
func TestSweepQueueFailureKeepsTheMark(t *testing.T) {
	f, store := sweepFixture(t, 2)
	ctx := context.Background()
	f.unreadable = map[int]bool{1: true}
	_, err := billing.Sweep(ctx, f, failingMarks{store}, billing.SweepOptions{Tenant: "t1"})
	require.ErrorContains(t, err, "database down")
	require.ErrorContains(t, err, "id-001")
	mark, err := store.SweepMark(ctx, "modified:t1")
	require.NoError(t, err)
	assert.True(t, mark.IsZero())
}
