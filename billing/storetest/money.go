package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
)

// moneyGroups are the conformance tests of billing.MoneyStore and of the
// invoice's Credited field.
func moneyGroups() []group {
	return []group{
		{"BeginOps", []testCase{
			{"Records", testBeginOpsRecords},
			{"DedupByKey", testBeginOpsDedupByKey},
			{"DedupByFingerprint", testBeginOpsDedupByFingerprint},
			{"KeyReusedForAnotherFingerprint", testBeginOpsKeyConflict},
			{"WithinOneBatch", testBeginOpsWithinBatch},
			{"Atomic", testBeginOpsAtomic},
			{"ParamsRoundTrip", testOpParamsRoundTrip},
			{"Concurrent", testConcurrentBeginOps},
		}},
		{"ClaimOp", []testCase{
			{"Leases", testClaimOpLeases},
			{"NotFound", testClaimOpNotFound},
			{"Concurrent", testConcurrentOpClaims},
		}},
		{"CompleteOps", []testCase{
			{"PaymentSavesRowsAndEvent", testCompletePayment},
			{"CreditNoteAndAllocation", testCompleteCreditNote},
			{"DoneIsIdempotent", testCompleteOpIdempotent},
			{"UnknownKey", testCompleteOpUnknownKey},
			{"UnknownInvoiceReported", testCompleteOpUnknownInvoice},
			{"AtomicPerOperation", testCompleteOpAtomic},
			{"Concurrent", testConcurrentCompleteOps},
		}},
		{"AbandonOp", []testCase{
			{"OnlyPending", testAbandonOpOnlyPending},
		}},
		{"PendingOps", []testCase{
			{"OldestFirstNotDone", testPendingOpsOrder},
		}},
		{"Payments", []testCase{
			{"ByInvoiceOrdered", testPaymentsOfInvoice},
			{"NotFound", testPaymentNotFound},
			{"SaveStates", testSavePaymentStates},
			{"SaveStatesUnknown", testSavePaymentStatesUnknown},
			{"AmountsExact", testPaymentAmountsExact},
		}},
		{"CreditNotes", []testCase{
			{"ByInvoiceOrdered", testCreditNotesOfInvoice},
			{"NotFound", testCreditNoteNotFound},
			{"SaveStates", testSaveCreditNoteStates},
			{"SaveStatesUnknown", testSaveCreditNoteStatesUnknown},
			{"NumberTaken", testSaveCreditNoteNumberTaken},
		}},
		{"InvoiceCredited", []testCase{
			{"StoredAndSaved", testInvoiceCredited},
			{"PartlyPaidVisible", testPartlyPaidVisible},
		}},
	}
}

// ---- helpers for money ----

func opKey(n int) string        { return fmt.Sprintf("50000000-0000-4000-8000-%012d", n) }
func paymentID(n int) string    { return fmt.Sprintf("60000000-0000-4000-8000-%012d", n) }
func creditID(n int) string     { return fmt.Sprintf("70000000-0000-4000-8000-%012d", n) }
func creditNumber(n int) string { return fmt.Sprintf("CN-%04d", n) }

// paymentParams is payment n of invoice inv: 40.00 with reference "Card n".
func paymentParams(inv, n int) billing.MoneyParams {
	return billing.MoneyParams{Payment: &billing.PaymentParams{
		InvoiceID:   providerID(inv),
		Amount:      dec("40.00"),
		Date:        billing.NewDate(2026, time.January, 10),
		Reference:   fmt.Sprintf("Card %d", n),
		AccountCode: "090",
	}}
}

// newOp returns the operation with key n and params p, recorded at at.
func newOp(t *testing.T, n int, p billing.MoneyParams, at time.Time) billing.MoneyOp {
	t.Helper()
	op, err := billing.NewMoneyOp(opKey(n), p, at)
	require.NoError(t, err, "NewMoneyOp")
	return op
}

func beginOps(t *testing.T, s billing.Store, ops ...billing.MoneyOp) []billing.BegunOp {
	t.Helper()
	begun, err := s.BeginOps(t.Context(), ops)
	require.NoError(t, err, "BeginOps")
	require.Len(t, begun, len(ops), "BeginOps results")
	return begun
}

func beginOpsNew(t *testing.T, s billing.Store, ops ...billing.MoneyOp) {
	t.Helper()
	for i, b := range beginOps(t, s, ops...) {
		require.NoError(t, b.Err, "operation %d", i)
		require.True(t, b.New, "operation %d was not new", i)
	}
}

func completeOps(t *testing.T, s billing.Store, cs ...billing.OpCompletion) []billing.OpCompleted {
	t.Helper()
	done, err := s.CompleteOps(t.Context(), cs)
	require.NoError(t, err, "CompleteOps")
	require.Len(t, done, len(cs), "CompleteOps results")
	return done
}

func pendingOpKeys(t *testing.T, s billing.Store) []string {
	t.Helper()
	ops, err := s.PendingOps(t.Context())
	require.NoError(t, err, "PendingOps")
	var keys []string
	for _, op := range ops {
		keys = append(keys, op.Key)
	}
	return keys
}

func requireOp(t *testing.T, want, got billing.MoneyOp) {
	t.Helper()
	require.Equal(t, want.Key, got.Key, "Key")
	require.Equal(t, want.Kind, got.Kind, "Kind")
	require.Equal(t, want.Fingerprint, got.Fingerprint, "Fingerprint")
	requireTime(t, want.CreatedAt, got.CreatedAt, "CreatedAt")
	requireTime(t, want.LeaseUntil, got.LeaseUntil, "LeaseUntil")
	require.Equal(t, want.Done, got.Done, "Done")
	require.Equal(t, want.ProviderID, got.ProviderID, "ProviderID")
	requireMoneyParams(t, want.Params, got.Params)
}

func requireMoneyParams(t *testing.T, want, got billing.MoneyParams) {
	t.Helper()
	require.Equal(t, want.Fingerprint(), got.Fingerprint(), "Params.Fingerprint()")
	wk, err := want.Kind()
	require.NoError(t, err)
	gk, err := got.Kind()
	require.NoError(t, err, "stored params")
	require.Equal(t, wk, gk, "Params kind")
	switch wk {
	case billing.KindPayment:
		w, g := *want.Payment, *got.Payment
		requireDecimal(t, w.Amount, g.Amount, "Payment.Amount")
		w.Amount = g.Amount
		require.Equal(t, w, g, "Payment")
	case billing.KindPaymentReversal:
		require.Equal(t, *want.Reversal, *got.Reversal, "Reversal")
	case billing.KindCreditNote:
		w, g := *want.CreditNote, *got.CreditNote
		requireDecimal(t, w.Amount, g.Amount, "CreditNote.Amount")
		w.Amount = g.Amount
		require.Equal(t, w, g, "CreditNote")
	case billing.KindAllocation:
		w, g := *want.Allocation, *got.Allocation
		requireDecimal(t, w.Amount, g.Amount, "Allocation.Amount")
		w.Amount = g.Amount
		require.Equal(t, w, g, "Allocation")
	case billing.KindRefund:
		w, g := *want.Refund, *got.Refund
		requireDecimal(t, w.Amount, g.Amount, "Refund.Amount")
		w.Amount = g.Amount
		require.Equal(t, w, g, "Refund")
	case billing.KindVoid:
		require.Equal(t, *want.Void, *got.Void, "Void")
	}
}

func requirePayment(t *testing.T, want, got billing.Payment) {
	t.Helper()
	requireDecimal(t, want.Amount, got.Amount, "Payment.Amount "+want.ProviderID)
	require.Truef(t, want.Same(got), "payment: want %+v, got %+v", want, got)
}

func requireCreditNote(t *testing.T, want, got billing.CreditNote) {
	t.Helper()
	require.Equal(t, want.Account, got.Account, "CreditNote.Account")
	require.Truef(t, want.Same(got), "credit note: want %+v, got %+v", want, got)
}

// newPayment is payment n of invoice inv as the provider holds it.
func newPayment(n, inv int, date billing.Date, amount string) billing.Payment {
	return billing.Payment{
		ProviderID:  paymentID(n),
		InvoiceID:   providerID(inv),
		Amount:      dec(amount),
		Date:        date,
		Reference:   fmt.Sprintf("Card %d", n),
		AccountCode: "090",
		Status:      billing.PaymentAuthorised,
	}
}

// newCreditNote is credit note n for invoice inv, allocated in full to it.
func newCreditNote(n, inv int, amount string) billing.CreditNote {
	return billing.CreditNote{
		ProviderID:  creditID(n),
		Number:      creditNumber(n),
		Account:     newInvoice(inv).Account,
		ContactID:   contactID(inv),
		InvoiceID:   providerID(inv),
		Reference:   "Refund of membership",
		Status:      billing.StatusPaid,
		Currency:    "NZD",
		Date:        billing.NewDate(2026, time.January, 12),
		Total:       dec(amount),
		Remaining:   dec("0.00"),
		Allocations: []billing.Allocation{{InvoiceID: providerID(inv), Amount: dec(amount), Date: billing.NewDate(2026, time.January, 12)}},
	}
}

// partlyPaid is invoice n after a payment of 40.00 of its 115.00.
func partlyPaid(n int) billing.Invoice {
	inv := newInvoice(n)
	inv.Paid = dec("40.00")
	inv.Due = dec("75.00")
	return inv
}

// ---- BeginOps ----

func testBeginOpsRecords(t *testing.T, s billing.Store) {
	a := newOp(t, 1, paymentParams(1, 1), base())
	b := newOp(t, 2, billing.MoneyParams{Void: &billing.VoidParams{InvoiceID: providerID(2)}}, base().Add(time.Second))
	b.LeaseUntil = base().Add(time.Minute)
	begun := beginOps(t, s, a, b)
	for i, want := range []billing.MoneyOp{a, b} {
		require.NoError(t, begun[i].Err)
		require.True(t, begun[i].New)
		requireOp(t, want, begun[i].Op)
	}
	pending, err := s.PendingOps(t.Context())
	require.NoError(t, err)
	require.Len(t, pending, 2)
	requireOp(t, a, pending[0])
	requireOp(t, b, pending[1])
}

func testBeginOpsDedupByKey(t *testing.T, s billing.Store) {
	first := newOp(t, 1, paymentParams(1, 1), base())
	beginOpsNew(t, s, first)
	again := first
	again.CreatedAt = base().Add(time.Hour)
	b := beginOps(t, s, again)[0]
	require.NoError(t, b.Err)
	require.False(t, b.New, "a second operation with the same key was recorded")
	requireOp(t, first, b.Op)
	require.Equal(t, []string{first.Key}, pendingOpKeys(t, s))
}

func testBeginOpsDedupByFingerprint(t *testing.T, s billing.Store) {
	first := newOp(t, 1, paymentParams(1, 1), base())
	beginOpsNew(t, s, first)
	// The same logical payment (invoice, reference) with another key and
	// another amount: the first is in force.
	p := paymentParams(1, 1)
	p.Payment.Amount = dec("75.00")
	again := newOp(t, 2, p, base().Add(time.Hour))
	require.Equal(t, first.Fingerprint, again.Fingerprint, "the amount is not part of a payment's fingerprint")
	b := beginOps(t, s, again)[0]
	require.NoError(t, b.Err)
	require.False(t, b.New, "a second operation for the same payment was recorded")
	requireOp(t, first, b.Op)

	// Another reference is another payment; another kind another operation.
	beginOpsNew(t, s, newOp(t, 3, paymentParams(1, 2), base()))
	beginOpsNew(t, s, newOp(t, 4, billing.MoneyParams{Void: &billing.VoidParams{InvoiceID: providerID(1)}}, base()))
	require.Equal(t, []string{opKey(1), opKey(3), opKey(4)}, pendingOpKeys(t, s))
}

func testBeginOpsKeyConflict(t *testing.T, s billing.Store) {
	a := newOp(t, 1, paymentParams(1, 1), base())
	b := newOp(t, 2, paymentParams(2, 2), base().Add(time.Second))
	beginOpsNew(t, s, a, b)

	reused := newOp(t, 3, paymentParams(3, 3), base())
	reused.Key = a.Key
	keyAFingerprintB := b
	keyAFingerprintB.Key = a.Key
	keyBFingerprintA := a
	keyBFingerprintA.Key = b.Key
	begun := beginOps(t, s, reused, keyAFingerprintB, keyBFingerprintA)
	for i, want := range []billing.MoneyOp{a, a, b} {
		require.ErrorIs(t, begun[i].Err, billing.ErrConflict, "case %d", i)
		require.False(t, begun[i].New, "case %d New", i)
		requireOp(t, want, begun[i].Op)
	}
	require.Equal(t, []string{a.Key, b.Key}, pendingOpKeys(t, s))
}

func testBeginOpsWithinBatch(t *testing.T, s billing.Store) {
	a := newOp(t, 1, paymentParams(1, 1), base())
	byFingerprint := a
	byFingerprint.Key = opKey(8)
	c := newOp(t, 2, paymentParams(1, 2), base())
	begun := beginOps(t, s, a, a, byFingerprint, c)
	require.True(t, begun[0].New)
	for i := 1; i <= 2; i++ {
		require.NoError(t, begun[i].Err, "operation %d", i)
		require.False(t, begun[i].New, "operation %d: a duplicate in the same batch was recorded", i)
		requireOp(t, a, begun[i].Op)
	}
	require.True(t, begun[3].New)
	require.ElementsMatch(t, []string{a.Key, c.Key}, pendingOpKeys(t, s))
}

func testBeginOpsAtomic(t *testing.T, s billing.Store) {
	ctx := t.Context()
	good := newOp(t, 1, paymentParams(1, 1), base())
	noKey := newOp(t, 2, paymentParams(2, 1), base())
	noKey.Key = ""
	_, err := s.BeginOps(ctx, []billing.MoneyOp{good, noKey})
	require.Error(t, err, "an operation without a key")
	noFingerprint := newOp(t, 3, paymentParams(3, 1), base())
	noFingerprint.Fingerprint = ""
	_, err = s.BeginOps(ctx, []billing.MoneyOp{good, noFingerprint})
	require.Error(t, err, "an operation without a fingerprint")
	wrongKind := newOp(t, 4, paymentParams(4, 1), base())
	wrongKind.Kind = billing.KindVoid
	_, err = s.BeginOps(ctx, []billing.MoneyOp{good, wrongKind})
	require.Error(t, err, "an operation whose kind is not its parameters'")

	require.Empty(t, pendingOpKeys(t, s), "a refused batch recorded operations")
	_, _, err = s.ClaimOp(ctx, good.Key, base(), lease)
	require.ErrorIs(t, err, billing.ErrNotFound)
	beginOpsNew(t, s, good)
}

func testOpParamsRoundTrip(t *testing.T, s billing.Store) {
	d := billing.NewDate(2028, time.February, 29)
	all := []billing.MoneyParams{
		{Payment: &billing.PaymentParams{InvoiceID: providerID(1), Amount: dec("1234567890123.45"), Date: d, Reference: `Card "x" – Ünïcode, 'q'`, AccountCode: "090"}},
		{Reversal: &billing.ReversalParams{PaymentID: paymentID(1), InvoiceID: providerID(1)}},
		{CreditNote: &billing.CreditNoteParams{InvoiceID: providerID(1), Account: billing.OrganisationAccount(accountID(1)), ContactID: contactID(1),
			Reason: "Cancelled\nmembership", Amount: dec("0.10"), Date: d, AccountCode: "200", Allocate: true, Refund: true}},
		{Allocation: &billing.AllocationParams{CreditNoteID: creditID(1), InvoiceID: providerID(1), Amount: dec("20.5"), Date: d}},
		{Refund: &billing.RefundParams{CreditNoteID: creditID(1), Amount: dec("20.50"), Date: d, Reference: "Refund 1", AccountCode: "091"}},
		{Void: &billing.VoidParams{InvoiceID: providerID(1), ReversePayments: true}},
	}
	var ops []billing.MoneyOp
	for i, p := range all {
		ops = append(ops, newOp(t, i+1, p, base().Add(time.Duration(i)*time.Second+1500*time.Nanosecond)))
	}
	beginOpsNew(t, s, ops...)
	pending, err := s.PendingOps(t.Context())
	require.NoError(t, err)
	require.Len(t, pending, len(ops))
	for i, got := range pending {
		want := ops[i]
		require.Zero(t, got.CreatedAt.Nanosecond()%1000, "CreatedAt has sub-microsecond digits")
		want.CreatedAt = want.CreatedAt.Truncate(time.Microsecond)
		requireOp(t, want, got)
	}
}

// testConcurrentBeginOps: callers recording the same payment at once, some
// with their own key, all get the one recorded, and it is recorded once.
func testConcurrentBeginOps(t *testing.T, s billing.Store) {
	ctx := t.Context()
	const n = 8
	results := make([]billing.BegunOp, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			key := 1
			if i%2 == 1 {
				key = 100 + i
			}
			op, err := billing.NewMoneyOp(opKey(key), paymentParams(1, 1), base().Add(time.Duration(i)*time.Second))
			if err != nil {
				errs[i] = err
				return
			}
			var begun []billing.BegunOp
			begun, errs[i] = s.BeginOps(ctx, []billing.MoneyOp{op})
			if len(begun) == 1 {
				results[i] = begun[0]
			}
		})
	}
	close(start)
	wg.Wait()
	news := 0
	for i := range n {
		require.NoError(t, errs[i], "caller %d", i)
		require.NoError(t, results[i].Err, "caller %d", i)
		if results[i].New {
			news++
		}
	}
	require.Equal(t, 1, news, "the payment was recorded %d times", news)
	keys := pendingOpKeys(t, s)
	require.Len(t, keys, 1)
	for i := range n {
		require.Equal(t, keys[0], results[i].Op.Key, "caller %d got an operation other than the one recorded", i)
	}
}

// ---- ClaimOp ----

func testClaimOpLeases(t *testing.T, s billing.Store) {
	ctx := t.Context()
	op := newOp(t, 1, paymentParams(1, 1), base())
	op.LeaseUntil = base().Add(time.Minute) // the first call's own lease
	beginOpsNew(t, s, op)

	_, ok, err := s.ClaimOp(ctx, op.Key, base().Add(30*time.Second), lease)
	require.NoError(t, err)
	require.False(t, ok, "the first call's lease was taken")

	got, ok, err := s.ClaimOp(ctx, op.Key, base().Add(time.Minute), lease)
	require.NoError(t, err)
	require.True(t, ok, "an expired lease kept the operation")
	requireTime(t, base().Add(time.Minute+lease), got.LeaseUntil, "LeaseUntil")

	_, ok, err = s.ClaimOp(ctx, op.Key, base().Add(2*time.Minute), lease)
	require.NoError(t, err)
	require.False(t, ok, "a running lease was taken")

	done := completeOps(t, s, billing.OpCompletion{Key: op.Key, ProviderID: paymentID(1)})
	require.NoError(t, done[0].Err)
	got, ok, err = s.ClaimOp(ctx, op.Key, base().Add(time.Hour), lease)
	require.NoError(t, err)
	require.False(t, ok, "a done operation was leased")
	require.True(t, got.Done)
	require.Equal(t, paymentID(1), got.ProviderID)
	require.True(t, got.LeaseUntil.IsZero(), "a done operation keeps its lease")
}

func testClaimOpNotFound(t *testing.T, s billing.Store) {
	ctx := t.Context()
	_, _, err := s.ClaimOp(ctx, opKey(1), base(), lease)
	require.ErrorIs(t, err, billing.ErrNotFound)
	beginOpsNew(t, s, newOp(t, 1, paymentParams(1, 1), base()))
	_, _, err = s.ClaimOp(ctx, opKey(2), base(), lease)
	require.ErrorIs(t, err, billing.ErrNotFound)
}

func testConcurrentOpClaims(t *testing.T, s billing.Store) {
	ctx := t.Context()
	op := newOp(t, 1, paymentParams(1, 1), base())
	beginOpsNew(t, s, op)
	const n = 8
	held := make([]bool, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			_, held[i], errs[i] = s.ClaimOp(ctx, op.Key, base(), lease)
		})
	}
	close(start)
	wg.Wait()
	holders := 0
	for i := range n {
		require.NoError(t, errs[i], "resolver %d", i)
		if held[i] {
			holders++
		}
	}
	require.Equal(t, 1, holders, "resolvers holding the lease")
}

// ---- CompleteOps ----

func testCompletePayment(t *testing.T, s billing.Store) {
	ctx := t.Context()
	create(t, s, newInvoice(1), newInvoice(2))
	op := newOp(t, 1, paymentParams(1, 1), base())
	op.LeaseUntil = base().Add(time.Minute)
	beginOpsNew(t, s, op)

	pay := newPayment(1, 1, billing.NewDate(2026, time.January, 10), "40.00")
	done := completeOps(t, s, billing.OpCompletion{
		Key: op.Key, ProviderID: pay.ProviderID,
		Payments: []billing.Payment{pay},
		Invoices: []billing.Invoice{partlyPaid(1)},
	})
	require.NoError(t, done[0].Err)
	want := op
	want.Done, want.ProviderID, want.LeaseUntil = true, pay.ProviderID, time.Time{}
	requireOp(t, want, done[0].Op)
	require.Len(t, done[0].Invoices, 1)
	saved := done[0].Invoices[0]
	require.NoError(t, saved.Err)
	require.True(t, saved.Changed)
	requireInvoice(t, newInvoice(1), saved.Before)
	requireInvoice(t, partlyPaid(1), saved.After)

	require.Empty(t, pendingOpKeys(t, s), "a done operation is pending")
	got, err := s.PaymentByProviderID(ctx, pay.ProviderID)
	require.NoError(t, err)
	requirePayment(t, pay, got)
	ps, err := s.PaymentsOfInvoice(ctx, providerID(1))
	require.NoError(t, err)
	require.Len(t, ps, 1)
	requirePayment(t, pay, ps[0])
	inv := get(t, s, 1)
	requireInvoice(t, partlyPaid(1), inv)
	require.True(t, inv.IsPartlyPaid(), "a partly paid invoice is not visible as such")

	evs := pendingEvents(t, s)
	require.Len(t, evs, 1, "one event for the invoice the payment changed")
	requireInvoice(t, newInvoice(1), evs[0].Change.Before)
	requireInvoice(t, partlyPaid(1), evs[0].Change.After)
	requireInvoice(t, newInvoice(2), get(t, s, 2))
}

func testCompleteCreditNote(t *testing.T, s billing.Store) {
	ctx := t.Context()
	create(t, s, newInvoice(1))
	p := billing.MoneyParams{CreditNote: &billing.CreditNoteParams{InvoiceID: providerID(1), Account: newInvoice(1).Account,
		ContactID: contactID(1), Reason: "Refund of membership", Amount: dec("20.00"), Date: billing.NewDate(2026, time.January, 12)}}
	op := newOp(t, 1, p, base())
	beginOpsNew(t, s, op)

	cn := newCreditNote(1, 1, "20.00")
	credited := newInvoice(1)
	credited.Credited = dec("20.00")
	credited.Due = dec("95.00")
	done := completeOps(t, s, billing.OpCompletion{Key: op.Key, ProviderID: cn.ProviderID,
		CreditNotes: []billing.CreditNote{cn}, Invoices: []billing.Invoice{credited}})
	require.NoError(t, done[0].Err)
	require.True(t, done[0].Op.Done)

	got, err := s.CreditNoteByProviderID(ctx, cn.ProviderID)
	require.NoError(t, err)
	requireCreditNote(t, cn, got)
	of, err := s.CreditNotesOfInvoice(ctx, providerID(1))
	require.NoError(t, err)
	require.Len(t, of, 1)
	requireCreditNote(t, cn, of[0])
	inv := get(t, s, 1)
	requireDecimal(t, dec("20.00"), inv.Credited, "Credited")
	requireDecimal(t, dec("95.00"), inv.Due, "Due")
	evs := pendingEvents(t, s)
	require.Len(t, evs, 1)
	requireDecimal(t, dec("0"), evs[0].Change.Before.Credited, "event Before.Credited")
	requireDecimal(t, dec("20.00"), evs[0].Change.After.Credited, "event After.Credited")
}

func testCompleteOpIdempotent(t *testing.T, s billing.Store) {
	ctx := t.Context()
	create(t, s, newInvoice(1))
	op := newOp(t, 1, paymentParams(1, 1), base())
	beginOpsNew(t, s, op)
	pay := newPayment(1, 1, billing.NewDate(2026, time.January, 10), "40.00")
	first := completeOps(t, s, billing.OpCompletion{Key: op.Key, ProviderID: pay.ProviderID,
		Payments: []billing.Payment{pay}, Invoices: []billing.Invoice{partlyPaid(1)}})
	require.NoError(t, first[0].Err)

	other := newPayment(2, 1, billing.NewDate(2026, time.January, 11), "75.00")
	again := completeOps(t, s, billing.OpCompletion{Key: op.Key, ProviderID: other.ProviderID,
		Payments: []billing.Payment{other}, Invoices: []billing.Invoice{paidInvoice(1)}})
	require.NoError(t, again[0].Err)
	requireOp(t, first[0].Op, again[0].Op)
	require.Empty(t, again[0].Invoices, "a done operation saved invoices")
	_, err := s.PaymentByProviderID(ctx, other.ProviderID)
	require.ErrorIs(t, err, billing.ErrNotFound, "a done operation saved payments")
	requireInvoice(t, partlyPaid(1), get(t, s, 1))
	require.Len(t, pendingEvents(t, s), 1)
}

func testCompleteOpUnknownKey(t *testing.T, s billing.Store) {
	create(t, s, newInvoice(1))
	op := newOp(t, 1, paymentParams(1, 1), base())
	beginOpsNew(t, s, op)
	done := completeOps(t, s,
		billing.OpCompletion{Key: opKey(9), ProviderID: paymentID(9), Payments: []billing.Payment{newPayment(9, 1, billing.NewDate(2026, time.January, 1), "1.00")}},
		billing.OpCompletion{Key: op.Key, ProviderID: paymentID(1)})
	require.ErrorIs(t, done[0].Err, billing.ErrNotFound)
	require.NoError(t, done[1].Err, "an unknown key stopped the others")
	require.True(t, done[1].Op.Done)
	_, err := s.PaymentByProviderID(t.Context(), paymentID(9))
	require.ErrorIs(t, err, billing.ErrNotFound, "an unknown operation's payment was saved")
}

func testCompleteOpUnknownInvoice(t *testing.T, s billing.Store) {
	create(t, s, newInvoice(1))
	op := newOp(t, 1, paymentParams(1, 1), base())
	beginOpsNew(t, s, op)
	done := completeOps(t, s, billing.OpCompletion{Key: op.Key, ProviderID: paymentID(1),
		Invoices: []billing.Invoice{newInvoice(7), partlyPaid(1)}})
	require.NoError(t, done[0].Err)
	require.Len(t, done[0].Invoices, 2)
	require.ErrorIs(t, done[0].Invoices[0].Err, billing.ErrNotFound)
	require.NoError(t, done[0].Invoices[1].Err)
	require.True(t, done[0].Invoices[1].Changed)
	requireInvoice(t, partlyPaid(1), get(t, s, 1))
	require.Empty(t, pendingOpKeys(t, s))
}

// testCompleteOpAtomic: a completion that cannot be saved (a credit note
// number another holds) saves nothing of itself, and the batch's others
// are saved.
func testCompleteOpAtomic(t *testing.T, s billing.Store) {
	ctx := t.Context()
	create(t, s, newInvoice(1), newInvoice(2))
	taken := newCreditNote(1, 1, "10.00")
	res, err := s.SaveCreditNoteStates(ctx, []billing.CreditNote{taken})
	require.NoError(t, err)
	require.NoError(t, res[0].Err)

	bad := newOp(t, 1, paymentParams(2, 1), base())
	good := newOp(t, 2, paymentParams(1, 1), base())
	beginOpsNew(t, s, bad, good)
	clash := newCreditNote(2, 2, "5.00")
	clash.Number = taken.Number
	pay := newPayment(5, 2, billing.NewDate(2026, time.January, 10), "40.00")
	done := completeOps(t, s,
		billing.OpCompletion{Key: bad.Key, ProviderID: clash.ProviderID, CreditNotes: []billing.CreditNote{clash},
			Payments: []billing.Payment{pay}, Invoices: []billing.Invoice{partlyPaid(2)}},
		billing.OpCompletion{Key: good.Key, ProviderID: paymentID(1), Payments: []billing.Payment{newPayment(1, 1, billing.NewDate(2026, time.January, 10), "40.00")},
			Invoices: []billing.Invoice{partlyPaid(1)}})
	require.ErrorIs(t, done[0].Err, billing.ErrConflict)
	require.NoError(t, done[1].Err)

	_, err = s.CreditNoteByProviderID(ctx, clash.ProviderID)
	require.ErrorIs(t, err, billing.ErrNotFound, "the failed completion's credit note was saved")
	_, err = s.PaymentByProviderID(ctx, pay.ProviderID)
	require.ErrorIs(t, err, billing.ErrNotFound, "the failed completion's payment was saved")
	requireInvoice(t, newInvoice(2), get(t, s, 2))
	require.Equal(t, []string{bad.Key}, pendingOpKeys(t, s), "the failed operation stays pending")
	requireInvoice(t, partlyPaid(1), get(t, s, 1))
	evs := pendingEvents(t, s)
	require.Len(t, evs, 1)
	require.Equal(t, number(1), evs[0].Change.After.Number)
}

// testConcurrentCompleteOps: resolvers completing one operation at once
// save it once: one event, one payment.
func testConcurrentCompleteOps(t *testing.T, s billing.Store) {
	ctx := t.Context()
	create(t, s, newInvoice(1))
	op := newOp(t, 1, paymentParams(1, 1), base())
	beginOpsNew(t, s, op)
	const n = 6
	errs := make([]error, n)
	results := make([][]billing.OpCompleted, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			results[i], errs[i] = s.CompleteOps(ctx, []billing.OpCompletion{{Key: op.Key, ProviderID: paymentID(1),
				Payments: []billing.Payment{newPayment(1, 1, billing.NewDate(2026, time.January, 10), "40.00")},
				Invoices: []billing.Invoice{partlyPaid(1)}}})
		})
	}
	close(start)
	wg.Wait()
	savers := 0
	for i := range n {
		require.NoError(t, errs[i], "resolver %d", i)
		require.Len(t, results[i], 1)
		require.NoError(t, results[i][0].Err, "resolver %d", i)
		require.True(t, results[i][0].Op.Done)
		if len(results[i][0].Invoices) > 0 {
			savers++
		}
	}
	require.Equal(t, 1, savers, "resolvers that saved the operation")
	require.Len(t, pendingEvents(t, s), 1)
}

// ---- AbandonOp and PendingOps ----

func testAbandonOpOnlyPending(t *testing.T, s billing.Store) {
	ctx := t.Context()
	create(t, s, newInvoice(1))
	a := newOp(t, 1, paymentParams(1, 1), base())
	b := newOp(t, 2, paymentParams(1, 2), base())
	beginOpsNew(t, s, a, b)
	require.NoError(t, s.AbandonOp(ctx, a.Key))
	require.Equal(t, []string{b.Key}, pendingOpKeys(t, s))
	_, _, err := s.ClaimOp(ctx, a.Key, base(), lease)
	require.ErrorIs(t, err, billing.ErrNotFound, "an abandoned operation is still recorded")
	// The same payment may be asked for again.
	beginOpsNew(t, s, newOp(t, 3, paymentParams(1, 1), base()))

	done := completeOps(t, s, billing.OpCompletion{Key: b.Key, ProviderID: paymentID(2)})
	require.NoError(t, done[0].Err)
	require.NoError(t, s.AbandonOp(ctx, b.Key))
	got, _, err := s.ClaimOp(ctx, b.Key, base(), lease)
	require.NoError(t, err, "a done operation was abandoned")
	require.True(t, got.Done)
	require.NoError(t, s.AbandonOp(ctx, opKey(99)), "an unknown key")
}

func testPendingOpsOrder(t *testing.T, s billing.Store) {
	late := newOp(t, 1, paymentParams(1, 1), base().Add(time.Hour))
	early := newOp(t, 2, paymentParams(1, 2), base())
	tieA := newOp(t, 3, paymentParams(1, 3), base().Add(time.Minute))
	tieB := newOp(t, 4, paymentParams(1, 4), base().Add(time.Minute))
	doneOp := newOp(t, 5, paymentParams(1, 5), base().Add(-time.Hour))
	beginOpsNew(t, s, late, early, tieA)
	beginOpsNew(t, s, tieB, doneOp)
	completeOps(t, s, billing.OpCompletion{Key: doneOp.Key, ProviderID: paymentID(5)})
	require.Equal(t, []string{early.Key, tieA.Key, tieB.Key, late.Key}, pendingOpKeys(t, s))
}

// ---- payments ----

func testPaymentsOfInvoice(t *testing.T, s billing.Store) {
	ctx := t.Context()
	create(t, s, newInvoice(1), newInvoice(2))
	jan := func(d int) billing.Date { return billing.NewDate(2026, time.January, d) }
	p3 := newPayment(3, 1, jan(5), "10.00")
	p1 := newPayment(1, 1, jan(9), "20.00")
	p2 := newPayment(2, 1, jan(5), "30.00")
	p2.Status = billing.PaymentDeleted
	other := newPayment(4, 2, jan(1), "5.00")
	res, err := s.SavePaymentStates(ctx, []billing.Payment{p1, other, p3, p2})
	require.NoError(t, err)
	for i, r := range res {
		require.NoError(t, r.Err, "payment %d", i)
		require.True(t, r.New, "payment %d", i)
	}
	got, err := s.PaymentsOfInvoice(ctx, providerID(1))
	require.NoError(t, err)
	require.Len(t, got, 3)
	for i, want := range []billing.Payment{p2, p3, p1} { // by date, then id; deleted included
		requirePayment(t, want, got[i])
	}
	none, err := s.PaymentsOfInvoice(ctx, providerID(3))
	require.NoError(t, err)
	require.Empty(t, none)
	none, err = s.PaymentsOfInvoice(ctx, "")
	require.NoError(t, err)
	require.Empty(t, none)
}

func testPaymentNotFound(t *testing.T, s billing.Store) {
	ctx := t.Context()
	_, err := s.PaymentByProviderID(ctx, paymentID(1))
	require.ErrorIs(t, err, billing.ErrNotFound)
	_, err = s.PaymentByProviderID(ctx, "")
	require.ErrorIs(t, err, billing.ErrNotFound)
}

func testSavePaymentStates(t *testing.T, s billing.Store) {
	ctx := t.Context()
	create(t, s, newInvoice(1))
	pay := newPayment(1, 1, billing.NewDate(2026, time.January, 10), "40.00")
	res, err := s.SavePaymentStates(ctx, []billing.Payment{pay})
	require.NoError(t, err)
	require.True(t, res[0].New)
	require.True(t, res[0].Changed)

	same := pay
	same.Amount = dec("40.0") // equal by value
	res, err = s.SavePaymentStates(ctx, []billing.Payment{same})
	require.NoError(t, err)
	require.NoError(t, res[0].Err)
	require.False(t, res[0].New)
	require.False(t, res[0].Changed, "an equal payment counted as a change")

	deleted := pay
	deleted.Status = billing.PaymentDeleted
	res, err = s.SavePaymentStates(ctx, []billing.Payment{deleted})
	require.NoError(t, err)
	require.True(t, res[0].Changed)
	requirePayment(t, pay, res[0].Before)
	requirePayment(t, deleted, res[0].After)
	got, err := s.PaymentByProviderID(ctx, pay.ProviderID)
	require.NoError(t, err)
	requirePayment(t, deleted, got)
	require.Empty(t, pendingEvents(t, s), "a payment's save records invoice events")

	empty, err := s.SavePaymentStates(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, empty)
}

func testSavePaymentStatesUnknown(t *testing.T, s billing.Store) {
	ctx := t.Context()
	create(t, s, newInvoice(1))
	cn := newCreditNote(1, 1, "20.00")
	_, err := s.SaveCreditNoteStates(ctx, []billing.CreditNote{cn})
	require.NoError(t, err)

	stranger := newPayment(1, 9, billing.NewDate(2026, time.January, 10), "40.00")
	known := newPayment(2, 1, billing.NewDate(2026, time.January, 10), "40.00")
	refund := billing.Payment{ProviderID: paymentID(3), CreditNoteID: cn.ProviderID, Amount: dec("20.00"),
		Date: billing.NewDate(2026, time.January, 13), Reference: "Refund", AccountCode: "090", Status: billing.PaymentAuthorised}
	strangerRefund := refund
	strangerRefund.ProviderID, strangerRefund.CreditNoteID = paymentID(4), creditID(9)
	res, err := s.SavePaymentStates(ctx, []billing.Payment{stranger, known, refund, strangerRefund})
	require.NoError(t, err)
	require.ErrorIs(t, res[0].Err, billing.ErrNotFound, "a payment of an invoice not stored")
	require.NoError(t, res[1].Err)
	require.NoError(t, res[2].Err, "a refund of a stored credit note")
	require.ErrorIs(t, res[3].Err, billing.ErrNotFound)
	for _, id := range []string{stranger.ProviderID, strangerRefund.ProviderID} {
		_, err = s.PaymentByProviderID(ctx, id)
		require.ErrorIs(t, err, billing.ErrNotFound, "a payment of nothing stored was kept")
	}
	got, err := s.PaymentByProviderID(ctx, refund.ProviderID)
	require.NoError(t, err)
	requirePayment(t, refund, got)
}

func testPaymentAmountsExact(t *testing.T, s billing.Store) {
	ctx := t.Context()
	create(t, s, newInvoice(1))
	var ps []billing.Payment
	for i, a := range []string{"0.01", "0.10", "1234567890123456.78", "99999999999999999.99"} {
		ps = append(ps, newPayment(i+1, 1, billing.NewDate(2026, time.January, i+1), a))
	}
	_, err := s.SavePaymentStates(ctx, ps)
	require.NoError(t, err)
	for _, want := range ps {
		got, err := s.PaymentByProviderID(ctx, want.ProviderID)
		require.NoError(t, err)
		require.Equal(t, want.Amount.String(), got.Amount.String(), "amount stored inexactly")
	}
}

// ---- credit notes ----

func testCreditNotesOfInvoice(t *testing.T, s billing.Store) {
	ctx := t.Context()
	create(t, s, newInvoice(1), newInvoice(2))
	forOne := newCreditNote(3, 1, "10.00")
	forOne.Date = billing.NewDate(2026, time.January, 20)
	allocatedToOne := newCreditNote(1, 2, "15.00")
	allocatedToOne.Allocations = append(allocatedToOne.Allocations,
		billing.Allocation{InvoiceID: providerID(1), Amount: dec("5.00"), Date: billing.NewDate(2026, time.January, 14)})
	onlyTwo := newCreditNote(2, 2, "1.00")
	_, err := s.SaveCreditNoteStates(ctx, []billing.CreditNote{forOne, allocatedToOne, onlyTwo})
	require.NoError(t, err)

	got, err := s.CreditNotesOfInvoice(ctx, providerID(1))
	require.NoError(t, err)
	require.Len(t, got, 2)
	requireCreditNote(t, allocatedToOne, got[0])
	requireCreditNote(t, forOne, got[1])
	got, err = s.CreditNotesOfInvoice(ctx, providerID(2))
	require.NoError(t, err)
	require.Len(t, got, 2)
	requireCreditNote(t, allocatedToOne, got[0]) // same date: by id
	requireCreditNote(t, onlyTwo, got[1])
	got, err = s.CreditNotesOfInvoice(ctx, providerID(3))
	require.NoError(t, err)
	require.Empty(t, got)
}

func testCreditNoteNotFound(t *testing.T, s billing.Store) {
	ctx := t.Context()
	_, err := s.CreditNoteByProviderID(ctx, creditID(1))
	require.ErrorIs(t, err, billing.ErrNotFound)
	_, err = s.CreditNoteByProviderID(ctx, "")
	require.ErrorIs(t, err, billing.ErrNotFound)
}

func testSaveCreditNoteStates(t *testing.T, s billing.Store) {
	ctx := t.Context()
	create(t, s, newInvoice(1), newInvoice(2))
	open := newCreditNote(1, 1, "30.00")
	open.Status = billing.StatusAuthorised
	open.Remaining = dec("30.00")
	open.Allocations = nil
	res, err := s.SaveCreditNoteStates(ctx, []billing.CreditNote{open})
	require.NoError(t, err)
	require.NoError(t, res[0].Err)
	require.True(t, res[0].New)

	// Allocated to two invoices, as the sweep reports it: no Account.
	allocated := open
	allocated.Account = billing.Account{}
	allocated.Status = billing.StatusPaid
	allocated.Remaining = dec("0")
	allocated.Allocations = []billing.Allocation{
		{InvoiceID: providerID(2), Amount: dec("10.00"), Date: billing.NewDate(2026, time.January, 13)},
		{InvoiceID: providerID(1), Amount: dec("20.00"), Date: billing.NewDate(2026, time.January, 14)},
	}
	res, err = s.SaveCreditNoteStates(ctx, []billing.CreditNote{allocated})
	require.NoError(t, err)
	require.NoError(t, res[0].Err)
	require.False(t, res[0].New)
	require.True(t, res[0].Changed)
	want := allocated
	want.Account = open.Account
	got, err := s.CreditNoteByProviderID(ctx, open.ProviderID)
	require.NoError(t, err)
	requireCreditNote(t, want, got)
	requireCreditNote(t, want, res[0].After)

	// Unchanged: nothing to report; fewer allocations replace the old.
	res, err = s.SaveCreditNoteStates(ctx, []billing.CreditNote{want})
	require.NoError(t, err)
	require.False(t, res[0].Changed)
	fewer := want
	fewer.Allocations = fewer.Allocations[1:]
	res, err = s.SaveCreditNoteStates(ctx, []billing.CreditNote{fewer})
	require.NoError(t, err)
	require.True(t, res[0].Changed)
	got, err = s.CreditNoteByProviderID(ctx, open.ProviderID)
	require.NoError(t, err)
	requireCreditNote(t, fewer, got)
	two, err := s.CreditNotesOfInvoice(ctx, providerID(2))
	require.NoError(t, err)
	require.Empty(t, two, "a removed allocation still links the credit note")
}

func testSaveCreditNoteStatesUnknown(t *testing.T, s billing.Store) {
	ctx := t.Context()
	create(t, s, newInvoice(1))
	stranger := newCreditNote(1, 9, "10.00")
	allocatedHere := newCreditNote(2, 9, "10.00")
	allocatedHere.InvoiceID = ""
	allocatedHere.Allocations = []billing.Allocation{{InvoiceID: providerID(1), Amount: dec("10.00"), Date: billing.NewDate(2026, time.January, 2)}}
	res, err := s.SaveCreditNoteStates(ctx, []billing.CreditNote{stranger, allocatedHere})
	require.NoError(t, err)
	require.ErrorIs(t, res[0].Err, billing.ErrNotFound)
	require.NoError(t, res[1].Err)
	_, err = s.CreditNoteByProviderID(ctx, stranger.ProviderID)
	require.ErrorIs(t, err, billing.ErrNotFound, "a credit note of nothing stored was kept")
	got, err := s.CreditNoteByProviderID(ctx, allocatedHere.ProviderID)
	require.NoError(t, err)
	requireCreditNote(t, allocatedHere, got)
}

func testSaveCreditNoteNumberTaken(t *testing.T, s billing.Store) {
	ctx := t.Context()
	create(t, s, newInvoice(1))
	first := newCreditNote(1, 1, "10.00")
	second := newCreditNote(2, 1, "5.00")
	second.Number = first.Number
	res, err := s.SaveCreditNoteStates(ctx, []billing.CreditNote{first, second, newCreditNote(3, 1, "1.00")})
	require.NoError(t, err)
	require.NoError(t, res[0].Err)
	require.ErrorIs(t, res[1].Err, billing.ErrConflict)
	require.NoError(t, res[2].Err, "a taken number stopped the others")
	_, err = s.CreditNoteByProviderID(ctx, second.ProviderID)
	require.ErrorIs(t, err, billing.ErrNotFound)
	got, err := s.CreditNoteByProviderID(ctx, first.ProviderID)
	require.NoError(t, err)
	requireCreditNote(t, first, got)
}

// ---- the invoice's Credited ----

func testInvoiceCredited(t *testing.T, s billing.Store) {
	ctx := t.Context()
	inv := newInvoice(1)
	inv.Credited = dec("12.34")
	create(t, s, inv)
	requireInvoice(t, inv, get(t, s, 1))
	requireDecimal(t, dec("12.34"), get(t, s, 1).Credited, "Credited as created")

	more := inv
	more.Credited = dec("20.00")
	saved, err := s.SaveInvoiceStates(ctx, []billing.Invoice{more})
	require.NoError(t, err)
	require.True(t, saved[0].Changed, "a change of Credited alone is a change")
	requireDecimal(t, dec("20.00"), get(t, s, 1).Credited, "Credited as saved")
	evs := pendingEvents(t, s)
	require.Len(t, evs, 1)
	requireDecimal(t, dec("12.34"), evs[0].Change.Before.Credited, "event Before.Credited")
	requireDecimal(t, dec("20.00"), evs[0].Change.After.Credited, "event After.Credited")

	same := more
	same.Credited = dec("20.0")
	saved, err = s.SaveInvoiceStates(ctx, []billing.Invoice{same})
	require.NoError(t, err)
	require.False(t, saved[0].Changed, "Credited equal by value counted as a change")
}

func testPartlyPaidVisible(t *testing.T, s billing.Store) {
	create(t, s, newInvoice(1), newInvoice(2))
	_, err := s.SaveInvoiceStates(t.Context(), []billing.Invoice{partlyPaid(1), paidInvoice(2)})
	require.NoError(t, err)
	require.True(t, get(t, s, 1).IsPartlyPaid())
	require.False(t, get(t, s, 2).IsPartlyPaid(), "a paid invoice")
	open, err := s.OpenInvoices(t.Context())
	require.NoError(t, err)
	require.Equal(t, []string{providerID(1)}, open, "a partly paid invoice is open")
}
