package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
)

// ---- helpers for creations ----

func creationKey(n int) string { return fmt.Sprintf("40000000-0000-4000-8000-%012d", n) }

// newParams returns the parameters of invoice n: the account, reference
// and lines of newInvoice(n).
func newParams(n int) billing.CreateInvoiceParams {
	inv := newInvoice(n)
	return billing.CreateInvoiceParams{
		Account:   inv.Account,
		Date:      inv.IssueDate,
		DueDate:   inv.DueDate,
		Reference: inv.Reference,
		LineItems: []billing.LineItem{
			{Description: "Membership", Quantity: dec("1"), UnitAmount: dec("100.00"), AccountCode: "200"},
			{Description: "Joining fee", Quantity: dec("0.5"), UnitAmount: dec("30.00")},
		},
		IdempotencyKey: creationKey(n),
	}
}

// newCreation returns the creation of invoice n, recorded at at.
func newCreation(n int, at time.Time) billing.Creation {
	p := newParams(n)
	return billing.Creation{
		Key:         p.IdempotencyKey,
		Fingerprint: p.Fingerprint(),
		Account:     p.Account,
		ContactID:   contactID(n),
		Params:      p,
		CreatedAt:   at,
	}
}

func begin(t *testing.T, s billing.Store, cs ...billing.Creation) []billing.Begun {
	t.Helper()
	begun, err := s.BeginCreations(t.Context(), cs)
	require.NoError(t, err, "BeginCreations")
	require.Len(t, begun, len(cs), "BeginCreations results")
	return begun
}

// beginNew records creations that must all be new.
func beginNew(t *testing.T, s billing.Store, cs ...billing.Creation) {
	t.Helper()
	for i, b := range begin(t, s, cs...) {
		require.NoError(t, b.Err, "creation %d", i)
		require.True(t, b.New, "creation %d was not new", i)
	}
}

func completeCreations(t *testing.T, s billing.Store, cs ...billing.Completion) []billing.Completed {
	t.Helper()
	done, err := s.CompleteCreations(t.Context(), cs)
	require.NoError(t, err, "CompleteCreations")
	require.Len(t, done, len(cs), "CompleteCreations results")
	return done
}

func pendingCreations(t *testing.T, s billing.Store) []billing.Creation {
	t.Helper()
	cs, err := s.PendingCreations(t.Context())
	require.NoError(t, err, "PendingCreations")
	return cs
}

func pendingKeys(t *testing.T, s billing.Store) []string {
	t.Helper()
	var keys []string
	for _, c := range pendingCreations(t, s) {
		keys = append(keys, c.Key)
	}
	return keys
}

func requireParams(t *testing.T, want, got billing.CreateInvoiceParams) {
	t.Helper()
	require.Equal(t, want.Account, got.Account, "Params.Account")
	require.Equal(t, want.Date, got.Date, "Params.Date")
	require.Equal(t, want.DueDate, got.DueDate, "Params.DueDate")
	require.Equal(t, want.Reference, got.Reference, "Params.Reference")
	require.Equal(t, want.IdempotencyKey, got.IdempotencyKey, "Params.IdempotencyKey")
	require.Len(t, got.LineItems, len(want.LineItems), "Params.LineItems")
	for i, w := range want.LineItems {
		g := got.LineItems[i]
		require.Equal(t, w.Description, g.Description, "line %d Description", i)
		requireDecimal(t, w.Quantity, g.Quantity, fmt.Sprintf("line %d Quantity", i))
		requireDecimal(t, w.UnitAmount, g.UnitAmount, fmt.Sprintf("line %d UnitAmount", i))
		require.Equal(t, w.AccountCode, g.AccountCode, "line %d AccountCode", i)
	}
	require.Equal(t, want.Fingerprint(), got.Fingerprint(), "Params.Fingerprint()")
}

func requireCreation(t *testing.T, want, got billing.Creation) {
	t.Helper()
	require.Equal(t, want.Key, got.Key, "Key")
	require.Equal(t, want.Fingerprint, got.Fingerprint, "Fingerprint")
	require.Equal(t, want.Account, got.Account, "Account")
	require.Equal(t, want.ContactID, got.ContactID, "ContactID")
	requireTime(t, want.CreatedAt, got.CreatedAt, "CreatedAt")
	requireTime(t, want.LeaseUntil, got.LeaseUntil, "LeaseUntil")
	require.Equal(t, want.InvoiceNumber, got.InvoiceNumber, "InvoiceNumber")
	require.Equal(t, want.ProviderID, got.ProviderID, "ProviderID")
	requireParams(t, want.Params, got.Params)
}

// paidInvoice is invoice n as the provider reports it once fully paid.
func paidInvoice(n int) billing.Invoice {
	inv := newInvoice(n)
	inv.Status = billing.StatusPaid
	inv.PaidDate = billing.NewDate(2026, time.January, 10)
	inv.Paid = dec("115.00")
	inv.Due = dec("0.00")
	return inv
}

// ---- BeginCreations ----

func testBeginRecords(t *testing.T, s billing.Store) {
	c1, c2 := newCreation(1, base()), newCreation(2, base().Add(time.Second))
	c2.LeaseUntil = base().Add(time.Minute)
	begun := begin(t, s, c1, c2)
	for i, want := range []billing.Creation{c1, c2} {
		require.NoError(t, begun[i].Err, "creation %d", i)
		require.True(t, begun[i].New, "creation %d New", i)
		requireCreation(t, want, begun[i].Creation)
		require.False(t, begun[i].Creation.Done(), "a new creation is done")
	}
	pending := pendingCreations(t, s)
	require.Len(t, pending, 2)
	requireCreation(t, c1, pending[0])
	requireCreation(t, c2, pending[1])
}

func testBeginDedupByKey(t *testing.T, s billing.Store) {
	first := newCreation(1, base())
	beginNew(t, s, first)
	again := first
	again.CreatedAt = base().Add(time.Hour)
	again.ContactID = contactID(9)
	b := begin(t, s, again)[0]
	require.NoError(t, b.Err)
	require.False(t, b.New, "a second creation with the same key was recorded")
	requireCreation(t, first, b.Creation)
	require.Equal(t, []string{first.Key}, pendingKeys(t, s))
}

func testBeginDedupByFingerprint(t *testing.T, s billing.Store) {
	first := newCreation(1, base())
	beginNew(t, s, first)
	// The same logical invoice asked for with another idempotency key.
	again := first
	again.Key = creationKey(9)
	again.Params.IdempotencyKey = creationKey(9)
	again.CreatedAt = base().Add(time.Hour)
	require.Equal(t, first.Fingerprint, again.Params.Fingerprint(), "the key is not part of the fingerprint")
	b := begin(t, s, again)[0]
	require.NoError(t, b.Err)
	require.False(t, b.New, "a second creation of the same invoice was recorded")
	requireCreation(t, first, b.Creation)
	require.Equal(t, []string{first.Key}, pendingKeys(t, s))

	// Another reference is another invoice.
	other := again
	other.Params.Reference = "Membership 1, second instalment"
	other.Fingerprint = other.Params.Fingerprint()
	beginNew(t, s, other)
	require.Equal(t, []string{first.Key, other.Key}, pendingKeys(t, s))
}

func testBeginKeyConflict(t *testing.T, s billing.Store) {
	a, b := newCreation(1, base()), newCreation(2, base().Add(time.Second))
	beginNew(t, s, a, b)

	// a's key with a fingerprint nobody has.
	reused := newCreation(3, base().Add(time.Minute))
	reused.Key = a.Key
	// a's key with b's fingerprint, and b's key with a's: the key decides.
	keyAFingerprintB := b
	keyAFingerprintB.Key = a.Key
	keyBFingerprintA := a
	keyBFingerprintA.Key = b.Key
	begun := begin(t, s, reused, keyAFingerprintB, keyBFingerprintA)
	for i, want := range []billing.Creation{a, a, b} {
		require.ErrorIs(t, begun[i].Err, billing.ErrConflict, "case %d", i)
		require.False(t, begun[i].New, "case %d New", i)
		requireCreation(t, want, begun[i].Creation)
	}
	require.Equal(t, []string{a.Key, b.Key}, pendingKeys(t, s))
}

func testBeginWithinBatch(t *testing.T, s billing.Store) {
	c1 := newCreation(1, base())
	byFingerprint := c1
	byFingerprint.Key = creationKey(8)
	c2 := newCreation(2, base())
	begun := begin(t, s, c1, c1, byFingerprint, c2)
	require.True(t, begun[0].New)
	for i := 1; i <= 2; i++ {
		require.NoError(t, begun[i].Err, "creation %d", i)
		require.False(t, begun[i].New, "creation %d: a duplicate in the same batch was recorded", i)
		requireCreation(t, c1, begun[i].Creation)
	}
	require.True(t, begun[3].New)
	require.ElementsMatch(t, []string{c1.Key, c2.Key}, pendingKeys(t, s))
}

func testBeginAtomic(t *testing.T, s billing.Store) {
	ctx := t.Context()
	good := newCreation(1, base())
	badAccount := newCreation(2, base())
	badAccount.Account = billing.Account{}
	begun, err := s.BeginCreations(ctx, []billing.Creation{good, badAccount})
	require.ErrorIs(t, err, billing.ErrInvalidAccount)
	require.Empty(t, begun)

	noKey := newCreation(3, base())
	noKey.Key = ""
	_, err = s.BeginCreations(ctx, []billing.Creation{good, noKey})
	require.Error(t, err, "a creation without a key")
	noFingerprint := newCreation(4, base())
	noFingerprint.Fingerprint = ""
	_, err = s.BeginCreations(ctx, []billing.Creation{good, noFingerprint})
	require.Error(t, err, "a creation without a fingerprint")

	require.Empty(t, pendingCreations(t, s), "a refused batch recorded creations")
	_, _, err = s.ClaimCreation(ctx, good.Key, base(), lease)
	require.ErrorIs(t, err, billing.ErrNotFound)
	beginNew(t, s, good)
}

func testCreationParamsRoundTrip(t *testing.T, s billing.Store) {
	c := newCreation(1, base().Add(1500*time.Nanosecond).In(time.FixedZone("NZDT", 13*60*60)))
	c.Account = billing.OrganisationAccount(accountID(7))
	c.Params.Account = c.Account
	c.Params.Date = billing.NewDate(2028, time.February, 29)
	c.Params.DueDate = billing.NewDate(2028, time.March, 31)
	c.Params.Reference = `Membership "2028" – Ünïcode, commas, 'quotes'`
	c.Params.LineItems = []billing.LineItem{
		{Description: "cents", Quantity: dec("1"), UnitAmount: dec("1234567.89"), AccountCode: "200"},
		{Description: "sum of tenths", Quantity: dec("0.1").Add(dec("0.2")), UnitAmount: dec("0.30")},
		{Description: "19 significant digits", Quantity: dec("3"), UnitAmount: dec("12345678901234567.89")},
		{Description: "credit", Quantity: dec("1.000"), UnitAmount: dec("-150.00"), AccountCode: "4-100"},
		{Description: "free", Quantity: dec("2"), UnitAmount: decimal.Zero},
	}
	c.Fingerprint = c.Params.Fingerprint()
	c.LeaseUntil = base().Add(time.Minute)
	beginNew(t, s, c)

	pending := pendingCreations(t, s)
	require.Len(t, pending, 1)
	got := pending[0]
	require.Zero(t, got.CreatedAt.Nanosecond()%1000, "CreatedAt %s has sub-microsecond digits", got.CreatedAt.Format(time.RFC3339Nano))
	require.LessOrEqual(t, got.CreatedAt.Sub(c.CreatedAt).Abs(), time.Microsecond, "CreatedAt")
	want := c
	want.CreatedAt = got.CreatedAt
	requireCreation(t, want, got)

	claimed, ok, err := s.ClaimCreation(t.Context(), c.Key, base().Add(time.Hour), lease)
	require.NoError(t, err)
	require.True(t, ok)
	requireParams(t, c.Params, claimed.Params)
}

// testConcurrentBegins: callers recording the same creation at once all get
// the one recorded, and it is recorded once.
func testConcurrentBegins(t *testing.T, s billing.Store) {
	ctx := t.Context()
	const n = 8
	results := make([]billing.Begun, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			c := newCreation(1, base().Add(time.Duration(i)*time.Second))
			if i%2 == 1 { // half of them with their own key: the same invoice by fingerprint
				c.Key = creationKey(100 + i)
				c.Params.IdempotencyKey = c.Key
			}
			var begun []billing.Begun
			begun, errs[i] = s.BeginCreations(ctx, []billing.Creation{c})
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
	require.Equal(t, 1, news, "the creation was recorded %d times", news)
	pending := pendingCreations(t, s)
	require.Len(t, pending, 1)
	for i := range n {
		require.Equal(t, pending[0].Key, results[i].Creation.Key, "caller %d got a creation other than the one recorded", i)
	}
}

// ---- ClaimCreation ----

func testClaimCreationLeases(t *testing.T, s billing.Store) {
	ctx := t.Context()
	c := newCreation(1, base())
	beginNew(t, s, c)

	got, ok, err := s.ClaimCreation(ctx, c.Key, base(), lease)
	require.NoError(t, err)
	require.True(t, ok, "an unleased creation was not claimed")
	requireTime(t, base().Add(lease), got.LeaseUntil, "LeaseUntil")
	want := c
	want.LeaseUntil = base().Add(lease)
	requireCreation(t, want, got)

	got, ok, err = s.ClaimCreation(ctx, c.Key, base().Add(time.Minute), lease)
	require.NoError(t, err)
	require.False(t, ok, "a running lease was taken")
	requireCreation(t, want, got)

	got, ok, err = s.ClaimCreation(ctx, c.Key, base().Add(lease+time.Second), lease)
	require.NoError(t, err)
	require.True(t, ok, "an expired lease kept the creation")
	requireTime(t, base().Add(2*lease+time.Second), got.LeaseUntil, "LeaseUntil")
	requireTime(t, base().Add(2*lease+time.Second), pendingCreations(t, s)[0].LeaseUntil, "LeaseUntil as stored")

	// A done creation is returned, never leased.
	done := completeCreations(t, s, billing.Completion{Key: c.Key, Created: newInvoice(1), Current: newInvoice(1)})
	require.NoError(t, done[0].Err)
	got, ok, err = s.ClaimCreation(ctx, c.Key, base().Add(time.Hour), lease)
	require.NoError(t, err)
	require.False(t, ok, "a done creation was leased")
	require.True(t, got.Done(), "Done")
	require.Equal(t, number(1), got.InvoiceNumber)
	require.Equal(t, providerID(1), got.ProviderID)
}

// testClaimCreationCreatorLease: the lease BeginCreations records keeps
// resolvers away from the creating call.
func testClaimCreationCreatorLease(t *testing.T, s billing.Store) {
	ctx := t.Context()
	c := newCreation(1, base())
	c.LeaseUntil = base().Add(time.Minute)
	beginNew(t, s, c)
	_, ok, err := s.ClaimCreation(ctx, c.Key, base().Add(30*time.Second), lease)
	require.NoError(t, err)
	require.False(t, ok, "the creating call's lease was taken")
	got, ok, err := s.ClaimCreation(ctx, c.Key, base().Add(2*time.Minute), lease)
	require.NoError(t, err)
	require.True(t, ok)
	requireTime(t, base().Add(2*time.Minute+lease), got.LeaseUntil, "LeaseUntil")
}

func testClaimCreationNotFound(t *testing.T, s billing.Store) {
	ctx := t.Context()
	_, _, err := s.ClaimCreation(ctx, creationKey(1), base(), lease)
	require.ErrorIs(t, err, billing.ErrNotFound)
	beginNew(t, s, newCreation(1, base()))
	_, _, err = s.ClaimCreation(ctx, creationKey(2), base(), lease)
	require.ErrorIs(t, err, billing.ErrNotFound)
}

// testConcurrentCreationClaims: of resolvers claiming one creation at once,
// exactly one holds the lease.
func testConcurrentCreationClaims(t *testing.T, s billing.Store) {
	ctx := t.Context()
	c := newCreation(1, base())
	beginNew(t, s, c)
	const n = 8
	held := make([]bool, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			_, held[i], errs[i] = s.ClaimCreation(ctx, c.Key, base(), lease)
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

// ---- CompleteCreations ----

func testCompleteCreationSaves(t *testing.T, s billing.Store) {
	ctx := t.Context()
	c := newCreation(1, base())
	c.LeaseUntil = base().Add(time.Minute)
	beginNew(t, s, c)
	created := newInvoice(1)

	done := completeCreations(t, s, billing.Completion{Key: c.Key, Created: created, Current: created})
	require.NoError(t, done[0].Err)
	requireInvoice(t, created, done[0].Invoice)
	requireInvoice(t, created, get(t, s, 1))
	got, err := s.InvoiceByProviderID(ctx, providerID(1))
	require.NoError(t, err)
	requireInvoice(t, created, got)
	require.Empty(t, pendingEvents(t, s), "an invoice created as it is now recorded an event")
	require.Empty(t, pendingCreations(t, s), "a done creation is pending")

	// Asked again, by key or by fingerprint, the creation is done: the
	// caller returns the stored invoice instead of billing again.
	byFingerprint := c
	byFingerprint.Key = creationKey(9)
	for i, b := range begin(t, s, c, byFingerprint) {
		require.NoError(t, b.Err, "ask %d", i)
		require.False(t, b.New, "ask %d New", i)
		require.True(t, b.Creation.Done(), "ask %d Done", i)
		require.Equal(t, c.Key, b.Creation.Key, "ask %d Key", i)
		require.Equal(t, number(1), b.Creation.InvoiceNumber, "ask %d InvoiceNumber", i)
		require.Equal(t, providerID(1), b.Creation.ProviderID, "ask %d ProviderID", i)
	}
}

func testCompleteCreationPaidMeanwhile(t *testing.T, s billing.Store) {
	c := newCreation(1, base())
	beginNew(t, s, c)
	created, current := newInvoice(1), paidInvoice(1)

	done := completeCreations(t, s, billing.Completion{Key: c.Key, Created: created, Current: current})
	require.NoError(t, done[0].Err)
	requireInvoice(t, current, done[0].Invoice)
	requireInvoice(t, current, get(t, s, 1))

	evs := pendingEvents(t, s)
	require.Len(t, evs, 1, "the payment made while the answer was lost is one event")
	requireEvent(t, created, current, evs[0])
	require.Equal(t, billing.StatusAuthorised, evs[0].Change.Before.Status)
	require.Equal(t, billing.StatusPaid, evs[0].Change.After.Status)
	require.True(t, evs[0].Change.BecamePaid(), "BecamePaid")
	require.Equal(t, []string{evs[0].ID}, eventIDs(claimEvents(t, s, base(), 10)), "the event is claimable")
}

func eventIDs(evs []billing.InvoiceEvent) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.ID
	}
	return out
}

func testCompleteCreationIdempotent(t *testing.T, s billing.Store) {
	c := newCreation(1, base())
	beginNew(t, s, c)
	comp := billing.Completion{Key: c.Key, Created: newInvoice(1), Current: paidInvoice(1)}
	first := completeCreations(t, s, comp)
	require.NoError(t, first[0].Err)

	voided := newInvoice(1)
	voided.Status = billing.StatusVoided
	for i, again := range []billing.Completion{comp, {Key: c.Key, Created: voided, Current: voided}} {
		done := completeCreations(t, s, again)
		require.NoError(t, done[0].Err, "again %d", i)
		requireInvoice(t, paidInvoice(1), done[0].Invoice)
	}
	requireInvoice(t, paidInvoice(1), get(t, s, 1))
	require.Len(t, pendingEvents(t, s), 1, "completing a done creation recorded an event")
}

func testCompleteCreationNumberTaken(t *testing.T, s billing.Store) {
	ctx := t.Context()
	create(t, s, newInvoice(1))
	c2, c3 := newCreation(2, base()), newCreation(3, base())
	beginNew(t, s, c2, c3)
	clash := newInvoice(2)
	clash.Number = number(1) // the provider numbered it as an invoice we hold

	done := completeCreations(t, s,
		billing.Completion{Key: c2.Key, Created: clash, Current: clash},
		billing.Completion{Key: c3.Key, Created: newInvoice(3), Current: paidInvoice(3)})
	require.ErrorIs(t, done[0].Err, billing.ErrConflict)
	require.NoError(t, done[1].Err, "a failed completion stopped another")
	requireInvoice(t, paidInvoice(3), done[1].Invoice)

	_, err := s.InvoiceByProviderID(ctx, providerID(2))
	require.ErrorIs(t, err, billing.ErrNotFound, "the clashing invoice was saved")
	requireInvoice(t, newInvoice(1), get(t, s, 1))
	require.Equal(t, []string{c2.Key}, pendingKeys(t, s), "the clashing creation stays pending")
	evs := pendingEvents(t, s)
	require.Len(t, evs, 1)
	require.Equal(t, number(3), evs[0].Change.After.Number)
}

func testCompleteCreationUnknownKey(t *testing.T, s billing.Store) {
	c := newCreation(1, base())
	beginNew(t, s, c)
	done := completeCreations(t, s,
		billing.Completion{Key: creationKey(9), Created: newInvoice(9), Current: newInvoice(9)},
		billing.Completion{Key: c.Key, Created: newInvoice(1), Current: newInvoice(1)})
	require.ErrorIs(t, done[0].Err, billing.ErrNotFound)
	require.NoError(t, done[1].Err)
	_, err := s.InvoiceByProviderID(t.Context(), providerID(9))
	require.ErrorIs(t, err, billing.ErrNotFound, "an unknown creation's invoice was saved")
	requireInvoice(t, newInvoice(1), get(t, s, 1))
}

// testCompleteCreationAdopts: an invoice already stored with the provider
// id is the creation's invoice; Current is saved over it.
func testCompleteCreationAdopts(t *testing.T, s billing.Store) {
	stored := newInvoice(1)
	create(t, s, stored)
	c := newCreation(1, base())
	beginNew(t, s, c)
	done := completeCreations(t, s, billing.Completion{Key: c.Key, Created: newInvoice(1), Current: paidInvoice(1)})
	require.NoError(t, done[0].Err)
	requireInvoice(t, paidInvoice(1), done[0].Invoice)
	requireInvoice(t, paidInvoice(1), get(t, s, 1))
	require.Empty(t, pendingCreations(t, s))
	evs := pendingEvents(t, s)
	require.Len(t, evs, 1)
	requireEvent(t, stored, paidInvoice(1), evs[0])
}

// ---- PendingCreations and AbandonCreation ----

func testPendingCreationsOrder(t *testing.T, s billing.Store) {
	c1 := newCreation(1, base().Add(2*time.Minute))
	c2 := newCreation(2, base())
	c3 := newCreation(3, base().Add(time.Minute))
	c4 := newCreation(4, base().Add(30*time.Second))
	beginNew(t, s, c1, c2)
	beginNew(t, s, c3, c4)
	require.Equal(t, []string{c2.Key, c4.Key, c3.Key, c1.Key}, pendingKeys(t, s), "oldest first")

	done := completeCreations(t, s, billing.Completion{Key: c4.Key, Created: newInvoice(4), Current: newInvoice(4)})
	require.NoError(t, done[0].Err)
	require.Equal(t, []string{c2.Key, c3.Key, c1.Key}, pendingKeys(t, s), "a done creation is listed")
}

func testAbandonOnlyPending(t *testing.T, s billing.Store) {
	ctx := t.Context()
	pending, finished := newCreation(1, base()), newCreation(2, base())
	beginNew(t, s, pending, finished)
	done := completeCreations(t, s, billing.Completion{Key: finished.Key, Created: newInvoice(2), Current: newInvoice(2)})
	require.NoError(t, done[0].Err)

	require.NoError(t, s.AbandonCreation(ctx, pending.Key))
	require.NoError(t, s.AbandonCreation(ctx, finished.Key), "abandoning a done creation")
	require.NoError(t, s.AbandonCreation(ctx, creationKey(9)), "abandoning an unknown key")
	require.Empty(t, pendingCreations(t, s))
	_, _, err := s.ClaimCreation(ctx, pending.Key, base(), lease)
	require.ErrorIs(t, err, billing.ErrNotFound, "the abandoned creation is still recorded")

	// The done creation stays recorded: asking again returns its invoice.
	got, ok, err := s.ClaimCreation(ctx, finished.Key, base(), lease)
	require.NoError(t, err)
	require.False(t, ok)
	require.True(t, got.Done())
	b := begin(t, s, finished)[0]
	require.False(t, b.New)
	require.True(t, b.Creation.Done())

	// The app may try the abandoned invoice again, with the same key.
	b = begin(t, s, pending)[0]
	require.True(t, b.New, "an abandoned creation could not be recorded again")
}
