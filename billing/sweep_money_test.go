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

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
)

// fakeMoney is the provider's credit notes and payments with their
// modification times, served page by page as the sweep's listers do.
type fakeMoney struct {
	creditNotes []billing.CreditNote
	cnModified  []time.Time
	payments    []billing.Payment
	payModified []time.Time
	// unreadable records served on page 1.
	unreadableCN, unreadablePay []billing.UnreadableRecord
	// failPayPage fails the payments' page of this number with failPay.
	failPayPage int
	failPay     error
	askedCN     []time.Time
	askedPay    []time.Time
}

// pageOf serves page (from 1) of the records modified at or after since.
func pageOf[T any](all []T, modified []time.Time, since time.Time, page, size int) (recs []T, latest time.Time, more bool) {
	var idx []int
	for i, m := range modified {
		if !m.Before(since) {
			idx = append(idx, i)
		}
	}
	start := (page - 1) * size
	for _, i := range idx[min(start, len(idx)):min(start+size, len(idx))] {
		recs = append(recs, all[i])
		if modified[i].After(latest) {
			latest = modified[i]
		}
	}
	return recs, latest, start+size < len(idx)
}

func (f *fakeXero) CreditNotesModifiedSince(_ context.Context, since time.Time, page int) (billing.CreditNotePage, error) {
	m := &f.money
	m.askedCN = append(m.askedCN, since)
	recs, latest, more := pageOf(m.creditNotes, m.cnModified, since, page, f.pageSize)
	p := billing.CreditNotePage{CreditNotes: recs, Latest: latest, More: more}
	if page == 1 {
		p.Unreadable = m.unreadableCN
	}
	return p, nil
}

func (f *fakeXero) PaymentsModifiedSince(_ context.Context, since time.Time, page int) (billing.PaymentPage, error) {
	m := &f.money
	m.askedPay = append(m.askedPay, since)
	if page == m.failPayPage {
		return billing.PaymentPage{}, m.failPay
	}
	recs, latest, more := pageOf(m.payments, m.payModified, since, page, f.pageSize)
	p := billing.PaymentPage{Payments: recs, Latest: latest, More: more}
	if page == 1 {
		p.Unreadable = m.unreadablePay
	}
	return p, nil
}

func money(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// moneyFixture is sweepFixture(4) after a first sweep, at base+10h, then
// money moved in Xero at base+11h with no webhook: a payment of 4 on
// INV-0002 and a credit note allocating 3 to INV-0003 and 2 to INV-0002,
// neither of whose modification times moved (as for Xero's edits that do
// not count); INV-0004 paid in full, its modification time moved; a
// refund of 1 out of the credit note; a payment and a credit note of
// invoices that are not the app's.
func moneyFixture(t *testing.T) (*fakeXero, *mock.Store, billing.SweepOptions) {
	t.Helper()
	f, store := sweepFixture(t, 4)
	now := base.Add(10 * time.Hour)
	o := billing.SweepOptions{Tenant: "t1", Now: func() time.Time { return now }}
	_, err := billing.Sweep(context.Background(), f, store, o)
	require.NoError(t, err)
	f.byID = nil

	at := base.Add(11 * time.Hour)
	d := billing.NewDate(2026, 11, 2)
	f.invoices[1].Paid, f.invoices[1].Credited, f.invoices[1].Due = money("4"), money("2"), money("4")
	f.invoices[2].Credited, f.invoices[2].Due = money("3"), money("7")
	pay(f, 3, at)
	m := &f.money
	m.creditNotes = []billing.CreditNote{
		{ProviderID: "cn-1", Number: "CN-0001", ContactID: "c-1", Status: billing.StatusAuthorised, Currency: "NZD", Date: d,
			Total: money("6"), Remaining: money("0"), Allocations: []billing.Allocation{
				{InvoiceID: "id-002", Amount: money("3"), Date: d}, {InvoiceID: "id-001", Amount: money("2"), Date: d}}},
		{ProviderID: "cn-x", Number: "CN-0002", ContactID: "c-x", Status: billing.StatusAuthorised, Currency: "NZD", Date: d,
			Total: money("5"), Remaining: money("0"), Allocations: []billing.Allocation{{InvoiceID: "not-ours", Amount: money("5"), Date: d}}},
	}
	m.cnModified = []time.Time{at, at}
	m.payments = []billing.Payment{
		{ProviderID: "p-1", InvoiceID: "id-001", Amount: money("4"), Date: d, Reference: "by hand", AccountCode: "090", Status: billing.PaymentAuthorised},
		{ProviderID: "p-x", InvoiceID: "not-ours", Amount: money("9"), Date: d, AccountCode: "090", Status: billing.PaymentAuthorised},
		{ProviderID: "p-3", InvoiceID: "id-003", Amount: money("10"), Date: d, AccountCode: "090", Status: billing.PaymentAuthorised},
		{ProviderID: "r-1", CreditNoteID: "cn-1", Amount: money("1"), Date: d, Reference: "refund", AccountCode: "090", Status: billing.PaymentAuthorised},
	}
	m.payModified = []time.Time{at, at, at, at}
	now = base.Add(12 * time.Hour)
	return f, store, o
}

// A payment and a credit note made in Xero by hand reach the store with no
// webhook; the invoices they touch are refreshed once, in one batch, those
// the invoice pages saved excepted; what is not the app's is ignored; a
// second sweep changes nothing and asks for no invoice by id.
func TestSweepMoneyRepairsTouchedInvoices(t *testing.T) {
	f, store, o := moneyFixture(t)
	ctx := context.Background()

	res, err := billing.Sweep(ctx, f, store, o)
	require.NoError(t, err)
	assert.True(t, res.InStep())
	assert.Equal(t, [][]string{{"id-002", "id-001"}}, f.byID, "each touched invoice once; INV-0004 came with the invoice pages")
	assert.Equal(t, 2, res.Repaired)
	assert.ElementsMatch(t, []string{"INV-0004", "INV-0003", "INV-0002"}, res.Changed)
	assert.Equal(t, billing.MoneySweep{Since: time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC), Pages: 1, Seen: 2, Saved: 1, Changed: 1, Ignored: 1,
		Failed: map[string]error{}}, res.CreditNotes)
	assert.Equal(t, billing.MoneySweep{Since: time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC), Pages: 2, Seen: 4, Saved: 3, Changed: 3, Ignored: 1,
		Failed: map[string]error{}}, res.Payments, "the refund is kept: its credit note was saved first")

	inv, err := store.InvoiceByProviderID(ctx, "id-001")
	require.NoError(t, err)
	assert.Equal(t, []string{"4", "2", "4"}, []string{inv.Paid.String(), inv.Credited.String(), inv.Due.String()}, "paid, credited, due as Xero says")
	inv, err = store.InvoiceByProviderID(ctx, "id-002")
	require.NoError(t, err)
	assert.Equal(t, "7", inv.Due.String())
	ps, err := store.PaymentsOfInvoice(ctx, "id-001")
	require.NoError(t, err)
	require.Len(t, ps, 1)
	assert.True(t, ps[0].Same(f.money.payments[0]))
	cn, err := store.CreditNoteByProviderID(ctx, "cn-1")
	require.NoError(t, err)
	assert.Len(t, cn.Allocations, 2)
	_, err = store.PaymentByProviderID(ctx, "r-1")
	require.NoError(t, err)
	for _, id := range []string{"p-x"} {
		_, err = store.PaymentByProviderID(ctx, id)
		require.ErrorIs(t, err, billing.ErrNotFound, "not the app's")
	}
	_, err = store.CreditNoteByProviderID(ctx, "cn-x")
	require.ErrorIs(t, err, billing.ErrNotFound)
	for name, want := range map[string]time.Time{"modified-credit-notes:t1": base.Add(11 * time.Hour), "modified-payments:t1": base.Add(11 * time.Hour)} {
		mark, err := store.SweepMark(ctx, name)
		require.NoError(t, err)
		assert.Equal(t, want, mark, name)
	}

	f.byID, f.money.askedCN, f.money.askedPay = nil, nil, nil
	res, err = billing.Sweep(ctx, f, store, o)
	require.NoError(t, err)
	assert.Empty(t, f.byID, "nothing changed: nothing refreshed")
	assert.Empty(t, res.Changed)
	assert.Zero(t, res.Repaired)
	assert.Equal(t, []time.Time{base.Add(11*time.Hour - billing.DefaultSweepOverlap)}, f.money.askedCN, "from the mark, less the overlap")
	from := base.Add(11*time.Hour - billing.DefaultSweepOverlap)
	assert.Equal(t, []time.Time{from, from}, f.money.askedPay, "two pages of 3")
	assert.Equal(t, 3, res.Payments.Saved, "seen again within the overlap")
	assert.Zero(t, res.Payments.Changed)
	assert.Zero(t, res.CreditNotes.Changed)
}

// moneyStore is a store whose money saves can fail.
type moneyStore struct {
	*mock.Store
	cnErr, payErr error
	refuse        string // a credit note refused with ErrConflict
}

func (s moneyStore) SaveCreditNoteStates(ctx context.Context, cs []billing.CreditNote) ([]billing.SavedCreditNote, error) {
	if s.cnErr != nil {
		return nil, s.cnErr
	}
	var keep []billing.CreditNote
	for _, c := range cs {
		if c.ProviderID != s.refuse {
			keep = append(keep, c)
		}
	}
	saved, err := s.Store.SaveCreditNoteStates(ctx, keep)
	if err != nil {
		return nil, err
	}
	out := make([]billing.SavedCreditNote, 0, len(cs))
	for _, c := range cs {
		if c.ProviderID == s.refuse {
			out = append(out, billing.SavedCreditNote{Err: fmt.Errorf("number %s: %w", c.Number, billing.ErrConflict)})
			continue
		}
		out, saved = append(out, saved[0]), saved[1:]
	}
	return out, nil
}

func (s moneyStore) SavePaymentStates(ctx context.Context, ps []billing.Payment) ([]billing.SavedPayment, error) {
	if s.payErr != nil {
		return nil, s.payErr
	}
	return s.Store.SavePaymentStates(ctx, ps)
}

// Each kind's mark moves only once its pages are saved: a store or
// provider failure fails the sweep and keeps it, a record the store
// refuses keeps it without failing the sweep.
func TestSweepMoneyMarks(t *testing.T) {
	down := errors.New("database down")
	tests := []struct {
		name     string
		store    func(*mock.Store) billing.SweepStore
		pageSize int
		failPage int
		wantErr  string
		cnMark   bool // whether the credit notes' mark moved
		payMark  bool
		inStep   bool
		stored   []string // payments stored afterwards
	}{
		{name: "saved", store: func(s *mock.Store) billing.SweepStore { return s }, pageSize: 3,
			cnMark: true, payMark: true, inStep: true, stored: []string{"p-1", "p-3", "r-1"}},
		{name: "the store fails on credit notes", store: func(s *mock.Store) billing.SweepStore { return moneyStore{Store: s, cnErr: down} }, pageSize: 3,
			wantErr: "database down"},
		{name: "the store fails on payments", store: func(s *mock.Store) billing.SweepStore { return moneyStore{Store: s, payErr: down} }, pageSize: 3,
			wantErr: "database down", cnMark: true},
		{name: "the provider fails on page 2 of payments", store: func(s *mock.Store) billing.SweepStore { return s }, pageSize: 1, failPage: 2,
			wantErr: "xero is down", cnMark: true, stored: []string{"p-1"}},
		{name: "a credit note the store refuses", store: func(s *mock.Store) billing.SweepStore { return moneyStore{Store: s, refuse: "cn-1"} }, pageSize: 3,
			payMark: true, stored: []string{"p-1", "p-3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, store, o := moneyFixture(t)
			ctx := context.Background()
			f.pageSize = tt.pageSize
			f.money.failPayPage, f.money.failPay = tt.failPage, errors.New("xero is down")
			res, err := billing.Sweep(ctx, f, tt.store(store), o)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tt.inStep, res.InStep())
			}
			for name, moved := range map[string]bool{"modified-credit-notes:t1": tt.cnMark, "modified-payments:t1": tt.payMark} {
				mark, err := store.SweepMark(ctx, name)
				require.NoError(t, err)
				assert.Equal(t, moved, !mark.IsZero(), name)
			}
			for _, id := range []string{"p-1", "p-3", "r-1"} {
				_, err := store.PaymentByProviderID(ctx, id)
				assert.Equal(t, slices.Contains(tt.stored, id), err == nil, id)
			}
		})
	}
}

// A record the store refuses is reported by id.
func TestSweepMoneyRefusedIsReported(t *testing.T) {
	f, store, o := moneyFixture(t)
	res, err := billing.Sweep(context.Background(), f, moneyStore{Store: store, refuse: "cn-1"}, o)
	require.NoError(t, err)
	require.Contains(t, res.CreditNotes.Failed, "cn-1")
	assert.ErrorIs(t, res.CreditNotes.Failed["cn-1"], billing.ErrConflict)
	assert.False(t, res.InStep())
}

// Credit notes and payments that cannot be read are reported and logged,
// never fail the sweep, and do not hold the marks.
func TestSweepMoneyUnreadable(t *testing.T) {
	f, store, o := moneyFixture(t)
	var logs bytes.Buffer
	o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	f.money.unreadableCN = []billing.UnreadableRecord{{ProviderID: "cn-bad", Err: fmt.Errorf("%w: its date is the year 1", billing.ErrUnreadable)}}
	f.money.unreadablePay = []billing.UnreadableRecord{{Err: fmt.Errorf("%w: no id", billing.ErrUnreadable)}}

	res, err := billing.Sweep(context.Background(), f, store, o)
	require.NoError(t, err)
	assert.Equal(t, f.money.unreadableCN, res.CreditNotes.Unreadable)
	assert.Equal(t, f.money.unreadablePay, res.Payments.Unreadable)
	assert.Equal(t, 3, res.CreditNotes.Seen, "two read, one not")
	assert.Equal(t, 3, res.Payments.Saved, "the readable ones are saved")
	assert.True(t, res.InStep(), "which invoice they are about cannot be read")
	assert.Contains(t, logs.String(), "level=WARN msg=\"billing: sweep: a credit note the provider sent cannot be read; only reported\" provider_id=cn-bad")
	assert.Contains(t, logs.String(), "level=WARN msg=\"billing: sweep: a payment the provider sent cannot be read; only reported\" provider_id=\"\"")
	for _, name := range []string{"modified-credit-notes:t1", "modified-payments:t1"} {
		mark, err := store.SweepMark(context.Background(), name)
		require.NoError(t, err)
		assert.Equal(t, base.Add(11*time.Hour), mark, name)
	}
}

// A refresh that fails leaves the touched invoices marked for the fetch
// job, so the failure loses nothing, and fails the sweep.
func TestSweepMoneyRepairFailureMarksTheInvoices(t *testing.T) {
	f, store, o := moneyFixture(t)
	ctx := context.Background()
	f.failUpdate = errors.New("xero is down")
	_, err := billing.Sweep(ctx, f, store, o)
	require.ErrorContains(t, err, "xero is down")
	for _, id := range []string{"id-001", "id-002"} {
		inv, err := store.InvoiceByProviderID(ctx, id)
		require.NoError(t, err)
		assert.True(t, inv.UpdateNeeded, id)
	}
	n, _, err := store.CountMarked(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "only the touched ones")
}

// The repair asks opts.Batch ids a call.
func TestSweepMoneyRepairBatches(t *testing.T) {
	f, store, o := moneyFixture(t)
	o.Batch = 1
	res, err := billing.Sweep(context.Background(), f, store, o)
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"id-002"}, {"id-001"}}, f.byID)
	assert.Equal(t, 2, res.Repaired)
}
