package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
)

// creditMarkGroups are the conformance tests of billing.CreditNoteQueue,
// and of what SaveCreditNoteStates keeps of a stored credit note.
func creditMarkGroups() []group {
	return []group{
		{"MarkCreditNotes", []testCase{
			{"UnknownCreditNotesMarked", testMarkCreditNotesUnknown},
			{"TokenStrictlyIncreases", testMarkCreditNotesToken},
			{"Microseconds", testMarkCreditNotesMicroseconds},
			{"ResetsFailures", testMarkCreditNotesResets},
			{"KeepsLease", testMarkCreditNotesKeepsLease},
			{"ZeroTimeRefused", testMarkCreditNotesZeroTime},
		}},
		{"ClaimCreditNotes", []testCase{
			{"OrderAndLimit", testClaimCreditNotesOrder},
			{"NonPositiveLimitOrLease", testClaimCreditNotesNonPositive},
			{"LeasesAndSetAside", testClaimCreditNotesSkips},
			{"ConcurrentDisjoint", testConcurrentCreditNoteClaims},
		}},
		{"CompleteCreditNotes", []testCase{
			{"RemovesMark", testCompleteCreditNotes},
			{"MarkDuringRefreshSurvives", testCompleteCreditNotesRemarked},
			{"Empty", testCompleteCreditNotesEmpty},
		}},
		{"FailCreditNote", []testCase{
			{"CountsAndSetsAside", testFailCreditNote},
			{"NoMaxAttempts", testFailCreditNoteNoMax},
			{"MarkDuringRefresh", testFailCreditNoteRemarked},
			{"NotFound", testFailCreditNoteNotFound},
		}},
		{"ReleaseCreditNotes", []testCase{
			{"ClaimableAtOnce", testReleaseCreditNotes},
		}},
		{"CreditNoteStates", []testCase{
			{"EmptyInvoiceIDKeepsStored", testSaveCreditNoteKeepsInvoiceID},
		}},
	}
}

func markCredits(t *testing.T, s billing.Store, at time.Time, ids ...string) int {
	t.Helper()
	n, err := s.MarkCreditNotes(t.Context(), ids, at)
	require.NoError(t, err, "MarkCreditNotes")
	return n
}

func claimCredits(t *testing.T, s billing.Store, now time.Time, limit int) []billing.CreditNoteClaim {
	t.Helper()
	claims, err := s.ClaimCreditNotes(t.Context(), now, limit, lease)
	require.NoError(t, err, "ClaimCreditNotes")
	return claims
}

func creditClaimIDs(claims []billing.CreditNoteClaim) []string {
	ids := make([]string, len(claims))
	for i, c := range claims {
		ids[i] = c.ProviderID
	}
	return ids
}

func creditMarks(t *testing.T, s billing.Store) []billing.CreditNoteMark {
	t.Helper()
	marks, err := s.CreditNoteMarks(t.Context())
	require.NoError(t, err, "CreditNoteMarks")
	return marks
}

// creditMark returns the mark of credit note n; it must exist.
func creditMark(t *testing.T, s billing.Store, n int) billing.CreditNoteMark {
	t.Helper()
	for _, m := range creditMarks(t, s) {
		if m.ProviderID == creditID(n) {
			return m
		}
	}
	require.FailNow(t, "no mark", "credit note %s is not marked", creditID(n))
	return billing.CreditNoteMark{}
}

func completeCredits(t *testing.T, s billing.Store, claims ...billing.CreditNoteClaim) []bool {
	t.Helper()
	cleared, err := s.CompleteCreditNotes(t.Context(), claims)
	require.NoError(t, err, "CompleteCreditNotes")
	require.Len(t, cleared, len(claims))
	return cleared
}

func failCredit(t *testing.T, s billing.Store, c billing.CreditNoteClaim, reason string, maxAttempts int) billing.CreditNoteMark {
	t.Helper()
	m, err := s.FailCreditNote(t.Context(), c, reason, maxAttempts)
	require.NoError(t, err, "FailCreditNote")
	return m
}

// ---- MarkCreditNotes ----

// A credit note the store has never seen is marked all the same: one made
// by hand in the provider has no row until its refresh.
func testMarkCreditNotesUnknown(t *testing.T, s billing.Store) {
	at := base()
	require.Equal(t, 2, markCredits(t, s, at, creditID(2), "", creditID(1), creditID(2)), "distinct, non-empty ids")
	marks := creditMarks(t, s)
	require.Len(t, marks, 2)
	for i, m := range marks {
		require.Equal(t, creditID(i+1), m.ProviderID, "ties by provider id")
		requireTime(t, at, m.RequestedAt, "RequestedAt")
		require.Zero(t, m.Attempts)
		require.Empty(t, m.Error)
		require.False(t, m.SetAside)
	}
	require.Zero(t, markCredits(t, s, at), "no ids")
	_, err := s.CreditNoteByProviderID(t.Context(), creditID(1))
	require.ErrorIs(t, err, billing.ErrNotFound, "a mark is not a credit note")
}

func testMarkCreditNotesToken(t *testing.T, s billing.Store) {
	at := base()
	markCredits(t, s, at, creditID(1))
	markCredits(t, s, at, creditID(1))
	requireTime(t, at.Add(time.Microsecond), creditMark(t, s, 1).RequestedAt, "same at")
	markCredits(t, s, at.Add(-time.Hour), creditID(1), creditID(2))
	requireTime(t, at.Add(2*time.Microsecond), creditMark(t, s, 1).RequestedAt, "clock stepped back")
	requireTime(t, at.Add(-time.Hour), creditMark(t, s, 2).RequestedAt, "a first mark takes at as given")
	markCredits(t, s, at.Add(time.Hour), creditID(1))
	requireTime(t, at.Add(time.Hour), creditMark(t, s, 1).RequestedAt, "later at")
}

func testMarkCreditNotesMicroseconds(t *testing.T, s billing.Store) {
	at := base().Add(1500 * time.Nanosecond)
	markCredits(t, s, at, creditID(1))
	stored := creditMark(t, s, 1).RequestedAt
	require.Zero(t, stored.Nanosecond()%1000, "RequestedAt %s has sub-microsecond digits", stored.Format(time.RFC3339Nano))
	require.LessOrEqual(t, stored.Sub(at).Abs(), time.Microsecond)
	c := claimCredits(t, s, base().Add(time.Hour), 10)
	require.Len(t, c, 1)
	requireTime(t, stored, c[0].RequestedAt, "the claim's token is the stored time")
	require.Equal(t, []bool{true}, completeCredits(t, s, c...), "the claim's token completes the mark")
}

func testMarkCreditNotesResets(t *testing.T, s billing.Store) {
	markCredits(t, s, base(), creditID(1))
	c := claimCredits(t, s, base(), 1)
	m := failCredit(t, s, c[0], "unreadable", 1)
	require.True(t, m.SetAside)
	require.Empty(t, claimCredits(t, s, base().Add(time.Hour), 10), "set aside")

	markCredits(t, s, base().Add(time.Minute), creditID(1))
	m = creditMark(t, s, 1)
	require.Zero(t, m.Attempts)
	require.Empty(t, m.Error)
	require.False(t, m.SetAside, "a new mark brings it back")
	require.Equal(t, []string{creditID(1)}, creditClaimIDs(claimCredits(t, s, base().Add(time.Hour), 10)))
}

func testMarkCreditNotesKeepsLease(t *testing.T, s billing.Store) {
	markCredits(t, s, base(), creditID(1))
	now := base().Add(time.Minute)
	require.Len(t, claimCredits(t, s, now, 10), 1)
	markCredits(t, s, now, creditID(1))
	require.Empty(t, claimCredits(t, s, now.Add(time.Second), 10), "a mark during a refresh keeps its lease")
	require.Len(t, claimCredits(t, s, now.Add(lease), 10), 1, "the lease runs out as claimed")
}

func testMarkCreditNotesZeroTime(t *testing.T, s billing.Store) {
	_, err := s.MarkCreditNotes(t.Context(), []string{creditID(1)}, time.Time{})
	require.Error(t, err)
	require.Empty(t, creditMarks(t, s))
}

// ---- ClaimCreditNotes ----

func testClaimCreditNotesOrder(t *testing.T, s billing.Store) {
	at := base()
	markCredits(t, s, at.Add(time.Second), creditID(1))
	markCredits(t, s, at, creditID(3), creditID(2))
	markCredits(t, s, at.Add(2*time.Second), creditID(4))
	now := at.Add(time.Hour)
	first := claimCredits(t, s, now, 3)
	require.Equal(t, []string{creditID(2), creditID(3), creditID(1)}, creditClaimIDs(first), "oldest first, ties by id")
	requireTime(t, at, first[0].RequestedAt, "claim RequestedAt")
	require.Zero(t, first[0].Attempts)
	require.Equal(t, []string{creditID(4)}, creditClaimIDs(claimCredits(t, s, now, 3)), "the rest")
	require.Empty(t, claimCredits(t, s, now, 3), "all leased")
}

func testClaimCreditNotesNonPositive(t *testing.T, s billing.Store) {
	markCredits(t, s, base(), creditID(1))
	claims, err := s.ClaimCreditNotes(t.Context(), base(), 0, lease)
	require.NoError(t, err)
	require.Empty(t, claims)
	claims, err = s.ClaimCreditNotes(t.Context(), base(), -1, lease)
	require.NoError(t, err)
	require.Empty(t, claims)
	_, err = s.ClaimCreditNotes(t.Context(), base(), 1, 0)
	require.Error(t, err, "a lease of 0")
	require.Len(t, claimCredits(t, s, base(), 1), 1, "nothing was leased")
}

func testClaimCreditNotesSkips(t *testing.T, s billing.Store) {
	markCredits(t, s, base(), creditID(1), creditID(2))
	now := base().Add(time.Minute)
	claims := claimCredits(t, s, now, 10)
	require.Len(t, claims, 2)
	failCredit(t, s, claims[1], "poisoned", 1)
	require.Empty(t, claimCredits(t, s, now.Add(lease-time.Second), 10), "leased")
	again := claimCredits(t, s, now.Add(lease), 10)
	require.Equal(t, []string{creditID(1)}, creditClaimIDs(again), "the lease ran out; the set-aside one is skipped")
	require.Equal(t, 0, again[0].Attempts)
}

func testConcurrentCreditNoteClaims(t *testing.T, s billing.Store) {
	ctx := t.Context()
	const notes, workers = 40, 4
	ids := make([]string, notes)
	for i := range ids {
		ids[i] = creditID(i + 1)
	}
	require.Equal(t, notes, markCredits(t, s, base(), ids...))
	now := base().Add(time.Hour)
	got := make([][]string, workers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			<-start
			for range notes + 1 {
				claims, err := s.ClaimCreditNotes(ctx, now, 3, lease)
				if !assert.NoError(t, err, "ClaimCreditNotes") || len(claims) == 0 {
					return
				}
				got[w] = append(got[w], creditClaimIDs(claims)...)
			}
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	seen := make(map[string]int)
	var all []string
	for w := range workers {
		for _, id := range got[w] {
			seen[id]++
			all = append(all, id)
		}
	}
	for id, n := range seen {
		require.Equal(t, 1, n, "credit note %s claimed %d times", id, n)
	}
	require.ElementsMatch(t, ids, all)
}

// ---- CompleteCreditNotes ----

func testCompleteCreditNotes(t *testing.T, s billing.Store) {
	markCredits(t, s, base(), creditID(1), creditID(2))
	claims := claimCredits(t, s, base(), 10)
	gone := billing.CreditNoteClaim{ProviderID: creditID(9), RequestedAt: base()}
	require.Equal(t, []bool{true, false, true}, completeCredits(t, s, claims[0], gone, claims[1]))
	require.Empty(t, creditMarks(t, s), "completed marks are removed")
	require.Equal(t, []bool{false}, completeCredits(t, s, claims[0]), "completed twice")
}

func testCompleteCreditNotesRemarked(t *testing.T, s billing.Store) {
	markCredits(t, s, base(), creditID(1))
	now := base().Add(time.Minute)
	c := claimCredits(t, s, now, 10)
	require.Len(t, c, 1)
	markCredits(t, s, now, creditID(1)) // the webhook of a change during the refresh
	require.Equal(t, []bool{false}, completeCredits(t, s, c...))
	m := creditMark(t, s, 1)
	requireTime(t, now, m.RequestedAt, "the newer mark stays")
	again := claimCredits(t, s, now, 10)
	require.Equal(t, []string{creditID(1)}, creditClaimIDs(again), "its lease ended: claimable at once")
	require.Equal(t, []bool{true}, completeCredits(t, s, again...))
}

func testCompleteCreditNotesEmpty(t *testing.T, s billing.Store) {
	cleared, err := s.CompleteCreditNotes(t.Context(), nil)
	require.NoError(t, err)
	require.Empty(t, cleared)
}

// ---- FailCreditNote ----

func testFailCreditNote(t *testing.T, s billing.Store) {
	markCredits(t, s, base(), creditID(1))
	c := claimCredits(t, s, base(), 1)[0]
	m := failCredit(t, s, c, "first", 2)
	require.Equal(t, creditID(1), m.ProviderID)
	requireTime(t, base(), m.RequestedAt, "RequestedAt")
	require.Equal(t, 1, m.Attempts)
	require.Equal(t, "first", m.Error)
	require.False(t, m.SetAside)

	c = claimCredits(t, s, base(), 1)[0] // the failure ended the lease
	require.Equal(t, 1, c.Attempts)
	m = failCredit(t, s, c, "second", 2)
	require.Equal(t, 2, m.Attempts)
	require.Equal(t, "second", m.Error)
	require.True(t, m.SetAside)
	require.Empty(t, claimCredits(t, s, base().Add(time.Hour), 1), "set aside")
	require.Equal(t, []billing.CreditNoteMark{m}, normMarks(creditMarks(t, s)), "listed for operators")
}

// normMarks makes marks comparable with require.Equal (times in UTC).
func normMarks(ms []billing.CreditNoteMark) []billing.CreditNoteMark {
	for i := range ms {
		ms[i].RequestedAt = ms[i].RequestedAt.UTC()
	}
	return ms
}

func testFailCreditNoteNoMax(t *testing.T, s billing.Store) {
	markCredits(t, s, base(), creditID(1))
	for i := range 3 {
		c := claimCredits(t, s, base(), 1)
		require.Len(t, c, 1, "attempt %d", i+1)
		m := failCredit(t, s, c[0], "down", 0)
		require.False(t, m.SetAside)
		require.Equal(t, i+1, m.Attempts)
	}
}

func testFailCreditNoteRemarked(t *testing.T, s billing.Store) {
	markCredits(t, s, base(), creditID(1))
	c := claimCredits(t, s, base(), 1)[0]
	markCredits(t, s, base().Add(time.Minute), creditID(1))
	m := failCredit(t, s, c, "stale", 1)
	require.Zero(t, m.Attempts, "a failure of an older mark does not count")
	require.Empty(t, m.Error)
	require.False(t, m.SetAside)
	require.Len(t, claimCredits(t, s, base(), 1), 1, "only the lease ended")
}

func testFailCreditNoteNotFound(t *testing.T, s billing.Store) {
	_, err := s.FailCreditNote(t.Context(), billing.CreditNoteClaim{ProviderID: creditID(1), RequestedAt: base()}, "x", 1)
	require.ErrorIs(t, err, billing.ErrNotFound)
}

// ---- ReleaseCreditNotes ----

func testReleaseCreditNotes(t *testing.T, s billing.Store) {
	markCredits(t, s, base(), creditID(1), creditID(2))
	claims := claimCredits(t, s, base(), 10)
	require.Len(t, claims, 2)
	gone := billing.CreditNoteClaim{ProviderID: creditID(9)}
	require.NoError(t, s.ReleaseCreditNotes(t.Context(), append(claims, gone)))
	require.NoError(t, s.ReleaseCreditNotes(t.Context(), nil))
	again := claimCredits(t, s, base(), 10)
	require.Equal(t, creditClaimIDs(claims), creditClaimIDs(again))
	require.Equal(t, 0, again[0].Attempts, "a release records nothing")
}

// ---- what a refresh keeps ----

// A credit note the app raised for invoice 1, then refreshed from the
// provider, which does not say which invoice it was raised for (and, as
// the sweep, names no account): the store keeps both.
func testSaveCreditNoteKeepsInvoiceID(t *testing.T, s billing.Store) {
	ctx := t.Context()
	create(t, s, newInvoice(1), newInvoice(2))
	raised := newCreditNote(1, 1, "30.00")
	raised.Status, raised.Remaining, raised.Allocations = billing.StatusAuthorised, dec("30.00"), nil
	res, err := s.SaveCreditNoteStates(ctx, []billing.CreditNote{raised})
	require.NoError(t, err)
	require.NoError(t, res[0].Err)

	refreshed := raised
	refreshed.Account, refreshed.InvoiceID = billing.Account{}, ""
	refreshed.Status, refreshed.Remaining = billing.StatusPaid, dec("0")
	refreshed.Allocations = []billing.Allocation{{InvoiceID: providerID(2), Amount: dec("30.00"), Date: billing.NewDate(2026, time.January, 14)}}
	res, err = s.SaveCreditNoteStates(ctx, []billing.CreditNote{refreshed})
	require.NoError(t, err)
	require.NoError(t, res[0].Err)
	require.True(t, res[0].Changed)

	want := refreshed
	want.Account, want.InvoiceID = raised.Account, raised.InvoiceID
	requireCreditNote(t, want, res[0].After)
	got, err := s.CreditNoteByProviderID(ctx, raised.ProviderID)
	require.NoError(t, err)
	requireCreditNote(t, want, got)
	of1, err := s.CreditNotesOfInvoice(ctx, providerID(1))
	require.NoError(t, err)
	require.Len(t, of1, 1, "still listed under the invoice it was raised for")

	// Saved again as refreshed: nothing changed.
	res, err = s.SaveCreditNoteStates(ctx, []billing.CreditNote{refreshed})
	require.NoError(t, err)
	require.False(t, res[0].Changed, "an empty InvoiceID counted as a change")
}
