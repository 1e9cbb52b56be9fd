package storetest

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
)

// ---- helpers for events ----

// change saves a new Reference for invoice n, which records one event, and
// returns the invoice before and after.
func change(t *testing.T, s billing.Store, n int, reference string) (before, after billing.Invoice) {
	t.Helper()
	inv := get(t, s, n)
	inv.Reference = reference
	before, after, err := s.SaveInvoiceState(t.Context(), inv)
	require.NoError(t, err, "SaveInvoiceState %s", inv.Number)
	return before, after
}

func pendingEvents(t *testing.T, s billing.Store) []billing.InvoiceEvent {
	t.Helper()
	evs, err := s.PendingEvents(t.Context(), 0)
	require.NoError(t, err, "PendingEvents")
	return evs
}

func claimEvents(t *testing.T, s billing.Store, now time.Time, limit int) []billing.InvoiceEvent {
	t.Helper()
	evs, err := s.ClaimEvents(t.Context(), now, limit, lease)
	require.NoError(t, err, "ClaimEvents")
	return evs
}

func delivered(t *testing.T, s billing.Store, evs ...billing.InvoiceEvent) {
	t.Helper()
	for _, ev := range evs {
		require.NoError(t, s.EventDelivered(t.Context(), ev.ID), "EventDelivered %s", ev.ID)
	}
}

// references lists the After.Reference of each event: the tests name every
// change by its reference.
func references(evs []billing.InvoiceEvent) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Change.After.Reference
	}
	return out
}

// requireEvent checks an event as first recorded: its id, the change it
// carries, and no delivery attempt yet.
func requireEvent(t *testing.T, before, after billing.Invoice, ev billing.InvoiceEvent) {
	t.Helper()
	require.NotEmpty(t, ev.ID, "event ID")
	require.Equal(t, ev.ID, ev.Change.EventID, "Change.EventID")
	requireInvoice(t, before, ev.Change.Before)
	requireInvoice(t, after, ev.Change.After)
	require.False(t, ev.CreatedAt.IsZero(), "CreatedAt")
	require.Zero(t, ev.Attempts, "Attempts")
	require.Empty(t, ev.LastError, "LastError")
	require.True(t, ev.NextAttemptAt.IsZero(), "NextAttemptAt %s", ev.NextAttemptAt)
}

// ---- contact sync ----

func testContactSyncRoundTrip(t *testing.T, s billing.Store) {
	ctx := t.Context()
	user := billing.UserAccount(accountID(1))
	org := billing.OrganisationAccount(accountID(1))
	_, err := s.LinkContact(ctx, user, contactID(1))
	require.NoError(t, err)
	_, err = s.LinkContact(ctx, org, contactID(2))
	require.NoError(t, err)

	got, err := s.ContactLink(ctx, user)
	require.NoError(t, err)
	require.Equal(t, billing.ContactLink{Account: user, ContactID: contactID(1)}, got, "no sync recorded yet")

	require.NoError(t, s.RecordContactSync(ctx, user, "fp-1", "member@example.org"))
	want := billing.ContactLink{Account: user, ContactID: contactID(1), Fingerprint: "fp-1", Email: "member@example.org"}
	got, err = s.ContactLink(ctx, user)
	require.NoError(t, err)
	require.Equal(t, want, got)

	// LinkContact returns the link in force, sync included.
	got, err = s.LinkContact(ctx, user, contactID(3))
	require.NoError(t, err)
	require.Equal(t, want, got)

	// A later sync replaces the earlier one, and an empty email is kept.
	require.NoError(t, s.RecordContactSync(ctx, user, "fp-2", ""))
	got, err = s.ContactLink(ctx, user)
	require.NoError(t, err)
	require.Equal(t, billing.ContactLink{Account: user, ContactID: contactID(1), Fingerprint: "fp-2"}, got)

	// The organisation with the same id is another account.
	got, err = s.ContactLink(ctx, org)
	require.NoError(t, err)
	require.Equal(t, billing.ContactLink{Account: org, ContactID: contactID(2)}, got)
}

func testContactSyncNotFound(t *testing.T, s billing.Store) {
	ctx := t.Context()
	user := billing.UserAccount(accountID(1))
	require.ErrorIs(t, s.RecordContactSync(ctx, user, "fp-1", "member@example.org"), billing.ErrNotFound)
	_, err := s.ContactLink(ctx, user)
	require.ErrorIs(t, err, billing.ErrNotFound, "recording a sync made a link")

	// An account that exists (it has an invoice) but has no link.
	create(t, s, newInvoice(1))
	require.ErrorIs(t, s.RecordContactSync(ctx, user, "fp-1", "member@example.org"), billing.ErrNotFound)
	_, err = s.LinkContact(ctx, billing.OrganisationAccount(accountID(1)), contactID(1))
	require.NoError(t, err)
	require.ErrorIs(t, s.RecordContactSync(ctx, user, "fp-1", "member@example.org"), billing.ErrNotFound,
		"the organisation's link is not the user's")
}

// ---- events recorded by SaveInvoiceState ----

func testSaveRecordsEvent(t *testing.T, s billing.Store) {
	ctx := t.Context()
	orig := newInvoice(1)
	orig.UpdateNeeded = true
	orig.UpdateRequestedAt = base()
	create(t, s, orig, newInvoice(2))
	require.Empty(t, pendingEvents(t, s), "creating invoices recorded events")

	paid := orig
	paid.Status = billing.StatusPaid
	paid.PaidDate = billing.NewDate(2026, time.January, 20)
	paid.Paid = dec("115.00")
	paid.Due = dec("0.00")
	before, after, err := s.SaveInvoiceState(ctx, paid)
	require.NoError(t, err)

	evs := pendingEvents(t, s)
	require.Len(t, evs, 1)
	requireEvent(t, before, after, evs[0])
	require.True(t, evs[0].Change.BecamePaid(), "BecamePaid")
	requireInvoice(t, orig, evs[0].Change.Before)
	require.True(t, evs[0].Change.After.UpdateNeeded, "the event's After keeps the update fields")
}

func testSaveUnchangedNoEvent(t *testing.T, s billing.Store) {
	ctx := t.Context()
	orig := newInvoice(1)
	create(t, s, orig)

	same := orig
	// Equal by value, written differently.
	same.Amount, same.Paid, same.Due = dec("115"), dec("0"), dec("115.000")
	// Fields that are not the provider's.
	same.Account = billing.OrganisationAccount(accountID(9))
	same.Number = number(9)
	same.UpdateNeeded = true
	same.UpdateRequestedAt = base()
	same.SetAside = true
	_, after, err := s.SaveInvoiceState(ctx, same)
	require.NoError(t, err)
	requireInvoice(t, orig, after)
	require.Empty(t, pendingEvents(t, s), "an unchanged state recorded an event")

	saved, err := s.SaveInvoiceStates(ctx, []billing.Invoice{same})
	require.NoError(t, err)
	require.Len(t, saved, 1)
	require.NoError(t, saved[0].Err)
	require.False(t, saved[0].Changed, "Changed")
	require.Empty(t, pendingEvents(t, s), "an unchanged state recorded an event")
}

func testSaveEventsInOrder(t *testing.T, s billing.Store) {
	createN(t, s, 2)
	var want []string
	for i, n := range []int{1, 2, 1, 1, 2} {
		ref := fmt.Sprintf("change %d of %s", i, number(n))
		change(t, s, n, ref)
		want = append(want, ref)
	}
	evs := pendingEvents(t, s)
	require.Equal(t, want, references(evs), "events oldest first")
	ids := map[string]bool{}
	for i, ev := range evs {
		require.False(t, ids[ev.ID], "event %d reuses id %s", i, ev.ID)
		ids[ev.ID] = true
		if i > 0 && evs[i-1].Change.After.Number == ev.Change.After.Number {
			require.Equal(t, evs[i-1].Change.After.Reference, ev.Change.Before.Reference, "event %d's Before is the previous After", i)
		}
	}
}

// ---- SaveInvoiceStates ----

func testSaveStatesBatch(t *testing.T, s billing.Store) {
	ctx := t.Context()
	invs := createN(t, s, 3)
	paid := invs[0]
	paid.Status, paid.Paid, paid.Due = billing.StatusPaid, dec("115.00"), dec("0")
	unknown := newInvoice(9)
	unchanged := invs[1]
	voided := invs[2]
	voided.Status = billing.StatusVoided

	saved, err := s.SaveInvoiceStates(ctx, []billing.Invoice{paid, unknown, unchanged, voided})
	require.NoError(t, err)
	require.Len(t, saved, 4)
	require.ErrorIs(t, saved[1].Err, billing.ErrNotFound, "unknown id")
	require.False(t, saved[1].Changed)
	for _, i := range []int{0, 2, 3} {
		require.NoError(t, saved[i].Err, "invoice %d", i)
	}
	require.Equal(t, []bool{true, false, false, true}, []bool{saved[0].Changed, saved[1].Changed, saved[2].Changed, saved[3].Changed}, "Changed")
	requireInvoice(t, invs[0], saved[0].Before)
	requireInvoice(t, paid, saved[0].After)
	requireInvoice(t, invs[1], saved[2].Before)
	requireInvoice(t, invs[1], saved[2].After)
	requireInvoice(t, invs[2], saved[3].Before)
	requireInvoice(t, voided, saved[3].After)
	requireInvoice(t, paid, get(t, s, 1))
	requireInvoice(t, voided, get(t, s, 3))
	_, err = s.InvoiceByProviderID(ctx, unknown.ProviderID)
	require.ErrorIs(t, err, billing.ErrNotFound, "an unknown id was saved")

	evs := pendingEvents(t, s)
	require.Len(t, evs, 2, "one event per changed invoice")
	requireEvent(t, saved[0].Before, saved[0].After, evs[0])
	requireEvent(t, saved[3].Before, saved[3].After, evs[1])
}

func testSaveStatesEmpty(t *testing.T, s billing.Store) {
	createN(t, s, 1)
	saved, err := s.SaveInvoiceStates(t.Context(), nil)
	require.NoError(t, err)
	require.Empty(t, saved)

	noID := newInvoice(2)
	noID.ProviderID = ""
	create(t, s, noID)
	saved, err = s.SaveInvoiceStates(t.Context(), []billing.Invoice{noID})
	require.NoError(t, err)
	require.Len(t, saved, 1)
	require.ErrorIs(t, saved[0].Err, billing.ErrNotFound, "an empty provider id matches nothing")
	require.Empty(t, pendingEvents(t, s))
}

// testSaveStatesTwice: one invoice twice in a batch is saved in order, as
// two saves one after the other.
func testSaveStatesTwice(t *testing.T, s billing.Store) {
	invs := createN(t, s, 2)
	first, second := invs[0], invs[0]
	first.Reference = "first"
	second.Reference = "second"
	other := invs[1]
	other.Reference = "other"
	saved, err := s.SaveInvoiceStates(t.Context(), []billing.Invoice{first, other, second})
	require.NoError(t, err)
	require.Len(t, saved, 3)
	for i, sv := range saved {
		require.NoError(t, sv.Err, "invoice %d", i)
		require.True(t, sv.Changed, "invoice %d", i)
	}
	requireInvoice(t, invs[0], saved[0].Before)
	requireInvoice(t, first, saved[0].After)
	requireInvoice(t, first, saved[2].Before)
	requireInvoice(t, second, saved[2].After)
	requireInvoice(t, second, get(t, s, 1))

	var mine []string
	for _, ev := range pendingEvents(t, s) {
		if ev.Change.After.Number == number(1) {
			mine = append(mine, ev.Change.After.Reference)
		}
	}
	require.Equal(t, []string{"first", "second"}, mine)
}

// ---- CompleteUpdates ----

func testCompleteUpdatesBatch(t *testing.T, s billing.Store) {
	ctx := t.Context()
	createN(t, s, 4)
	now := base().Add(time.Hour)
	mark(t, s, base(), providerID(1), providerID(2), providerID(3), providerID(4))
	claims := claim(t, s, now, 10)
	require.Len(t, claims, 4)
	byID := map[string]billing.Claim{}
	for _, c := range claims {
		byID[c.ProviderID] = c
	}
	failed := fail(t, s, byID[providerID(3)], "HTTP 500", 0)
	require.Equal(t, 1, failed.UpdateAttempts)
	c3 := claimOne(t, s, now, providerID(3)) // attempts 1
	mark(t, s, base().Add(time.Minute), providerID(2))
	gone := billing.Claim{ProviderID: providerID(9), Number: number(9), RequestedAt: base()}

	cleared, err := s.CompleteUpdates(ctx, []billing.Claim{byID[providerID(1)], byID[providerID(2)], gone, c3, byID[providerID(4)]})
	require.NoError(t, err)
	require.Equal(t, []bool{true, false, false, true, true}, cleared)

	for _, n := range []int{1, 3, 4} {
		inv := get(t, s, n)
		require.False(t, inv.UpdateNeeded, "%s UpdateNeeded", inv.Number)
		require.Zero(t, inv.UpdateAttempts, "%s UpdateAttempts", inv.Number)
		require.Empty(t, inv.UpdateError, "%s UpdateError", inv.Number)
	}
	requireMarked(t, get(t, s, 2), base().Add(time.Minute))
	// Every lease ended: the re-marked invoice is claimable at once.
	claimOne(t, s, now, providerID(2))
}

func testCompleteUpdatesEmpty(t *testing.T, s billing.Store) {
	cleared, err := s.CompleteUpdates(t.Context(), nil)
	require.NoError(t, err)
	require.Empty(t, cleared)
}

// testCompleteUpdatesTwice: a claim given twice clears once.
func testCompleteUpdatesTwice(t *testing.T, s billing.Store) {
	createN(t, s, 1)
	mark(t, s, base(), providerID(1))
	c := claimOne(t, s, base().Add(time.Hour), providerID(1))
	cleared, err := s.CompleteUpdates(t.Context(), []billing.Claim{c, c})
	require.NoError(t, err)
	require.Equal(t, []bool{true, false}, cleared)
	require.False(t, get(t, s, 1).UpdateNeeded)
}

// ---- ClaimEvents ----

func testClaimEventsPerInvoice(t *testing.T, s billing.Store) {
	createN(t, s, 3)
	change(t, s, 1, "1a")
	change(t, s, 2, "2a")
	change(t, s, 1, "1b")
	change(t, s, 3, "3a")
	change(t, s, 2, "2b")
	now := base()

	evs := claimEvents(t, s, now, 10)
	require.Equal(t, []string{"1a", "2a", "3a"}, references(evs), "the oldest event of each invoice, oldest first")
	for _, ev := range evs {
		require.Equal(t, ev.ID, ev.Change.EventID, "Change.EventID")
	}
	require.Empty(t, claimEvents(t, s, now, 10), "leased events, and events behind them, were claimed")

	delivered(t, s, evs[0], evs[2])
	require.Equal(t, []string{"1b"}, references(claimEvents(t, s, now, 10)), "only invoice 1 was unblocked")
	delivered(t, s, evs[1])
	require.Equal(t, []string{"2b"}, references(claimEvents(t, s, now, 10)))
}

func testFailedEventBlocks(t *testing.T, s billing.Store) {
	ctx := t.Context()
	createN(t, s, 2)
	change(t, s, 1, "1a")
	change(t, s, 1, "1b")
	change(t, s, 2, "2a")
	change(t, s, 2, "2b")
	now := base()

	evs := claimEvents(t, s, now, 10)
	require.Equal(t, []string{"1a", "2a"}, references(evs))
	retry := now.Add(time.Minute)
	require.NoError(t, s.EventFailed(ctx, evs[0].ID, "hook: HTTP 500", retry))
	delivered(t, s, evs[1])

	require.Equal(t, []string{"2b"}, references(claimEvents(t, s, now.Add(time.Second), 10)),
		"a failed event holds back its invoice's later events, not another invoice's")
	again := claimEvents(t, s, retry, 10)
	require.Equal(t, []string{"1a"}, references(again), "the failed event comes first again")
	require.Equal(t, evs[0].ID, again[0].ID, "the event id is stable across attempts")
	require.Equal(t, 1, again[0].Attempts)
	delivered(t, s, again...)
	require.Equal(t, []string{"1b"}, references(claimEvents(t, s, retry, 10)))
}

func testClaimEventsNextAttempt(t *testing.T, s billing.Store) {
	ctx := t.Context()
	createN(t, s, 1)
	change(t, s, 1, "1a")
	now := base()
	evs := claimEvents(t, s, now, 10)
	require.Len(t, evs, 1)
	retry := now.Add(10 * time.Minute) // after the lease would have ended
	require.NoError(t, s.EventFailed(ctx, evs[0].ID, "hook refused", retry))

	require.Empty(t, claimEvents(t, s, now, 10), "the failure ended the lease, but the retry is not due")
	require.Empty(t, claimEvents(t, s, retry.Add(-time.Microsecond), 10), "claimed before NextAttemptAt")
	got := claimEvents(t, s, retry, 10)
	require.Len(t, got, 1, "due at NextAttemptAt")
	requireTime(t, retry, got[0].NextAttemptAt, "NextAttemptAt")
}

func testClaimEventsLeases(t *testing.T, s billing.Store) {
	createN(t, s, 2)
	change(t, s, 1, "1a")
	change(t, s, 2, "2a")

	first := claimEvents(t, s, base(), 1) // 1a leased until +5m
	require.Equal(t, []string{"1a"}, references(first))
	require.Equal(t, []string{"2a"}, references(claimEvents(t, s, base().Add(time.Minute), 10))) // 2a until +6m
	require.Empty(t, claimEvents(t, s, base().Add(4*time.Minute), 10), "both leases run")
	again := claimEvents(t, s, base().Add(5*time.Minute+time.Second), 10)
	require.Equal(t, []string{"1a"}, references(again), "lease of 1a ended")
	require.Equal(t, first[0].ID, again[0].ID)
	require.Zero(t, again[0].Attempts, "an expired lease is not a failed attempt")
	require.Equal(t, []string{"2a"}, references(claimEvents(t, s, base().Add(7*time.Minute), 10)))
}

func testClaimEventsLimit(t *testing.T, s billing.Store) {
	createN(t, s, 3)
	for n := 1; n <= 3; n++ {
		change(t, s, n, fmt.Sprintf("%da", n))
	}
	require.Equal(t, []string{"1a", "2a"}, references(claimEvents(t, s, base(), 2)))
	require.Equal(t, []string{"3a"}, references(claimEvents(t, s, base(), 2)))
	require.Empty(t, claimEvents(t, s, base(), 2))
}

func testClaimEventsNonPositive(t *testing.T, s billing.Store) {
	ctx := t.Context()
	createN(t, s, 1)
	change(t, s, 1, "1a")
	require.Empty(t, claimEvents(t, s, base(), 0))
	require.Empty(t, claimEvents(t, s, base(), -1))
	for _, l := range []time.Duration{0, -time.Minute} {
		evs, err := s.ClaimEvents(ctx, base(), 10, l)
		require.Error(t, err, "lease %s", l)
		require.Empty(t, evs, "lease %s", l)
	}
	require.Len(t, claimEvents(t, s, base(), 10), 1, "a refused claim leased the event")
}

// testConcurrentEventClaims: callers claiming at once, without delivering,
// get disjoint events and together every invoice's first event.
func testConcurrentEventClaims(t *testing.T, s billing.Store) {
	ctx := t.Context()
	const invoices, workers = 24, 4
	createN(t, s, invoices)
	for n := 1; n <= invoices; n++ {
		change(t, s, n, fmt.Sprintf("%d first", n))
		change(t, s, n, fmt.Sprintf("%d second", n))
	}
	got := make([][]billing.InvoiceEvent, workers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			<-start
			for range invoices + 1 {
				evs, err := s.ClaimEvents(ctx, base(), 3, lease)
				if !assert.NoError(t, err, "ClaimEvents") || len(evs) == 0 {
					return
				}
				got[w] = append(got[w], evs...)
			}
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	seen := map[string]bool{}
	var refs []string
	for _, evs := range got {
		for _, ev := range evs {
			require.False(t, seen[ev.ID], "event %s claimed twice", ev.ID)
			seen[ev.ID] = true
			refs = append(refs, ev.Change.After.Reference)
		}
	}
	var want []string
	for n := 1; n <= invoices; n++ {
		want = append(want, fmt.Sprintf("%d first", n))
	}
	require.ElementsMatch(t, want, refs, "each invoice's first event, and only that")
}

// testConcurrentEventOrder: callers that claim and deliver at once deliver
// every event once, and each invoice's events in the order recorded. A
// caller stops at its third empty claim in a row: whoever still holds
// events claims again after delivering them, so a store that works is
// drained by the last caller, and one that hides an event leaves it
// pending.
func testConcurrentEventOrder(t *testing.T, s billing.Store) {
	ctx := t.Context()
	const invoices, perInvoice, workers = 8, 3, 4
	createN(t, s, invoices)
	for k := range perInvoice {
		for n := 1; n <= invoices; n++ {
			change(t, s, n, fmt.Sprintf("%d", k))
		}
	}
	var (
		mu    sync.Mutex
		order = map[string][]string{} // invoice number -> references as claimed
		seen  = map[string]bool{}
	)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			<-start
			for empty := 0; empty < 3; {
				evs, err := s.ClaimEvents(ctx, base(), 2, lease)
				if !assert.NoError(t, err, "ClaimEvents") {
					return
				}
				if len(evs) == 0 {
					empty++
					runtime.Gosched()
					continue
				}
				empty = 0
				for _, ev := range evs {
					mu.Lock()
					dup := seen[ev.ID]
					seen[ev.ID] = true
					num := ev.Change.After.Number
					order[num] = append(order[num], ev.Change.After.Reference)
					mu.Unlock()
					if !assert.False(t, dup, "event %s claimed twice", ev.ID) {
						return
					}
					if !assert.NoError(t, s.EventDelivered(ctx, ev.ID), "EventDelivered") {
						return
					}
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	require.Empty(t, pendingEvents(t, s), "events left undelivered")
	for n := 1; n <= invoices; n++ {
		require.Equal(t, []string{"0", "1", "2"}, order[number(n)], "%s: events out of order", number(n))
	}
}

// ---- EventDelivered and EventFailed ----

func testEventDelivered(t *testing.T, s billing.Store) {
	ctx := t.Context()
	createN(t, s, 1)
	change(t, s, 1, "1a")
	change(t, s, 1, "1b")
	evs := pendingEvents(t, s)
	require.Len(t, evs, 2)

	// Delivered without a claim (an operator), and twice: both harmless.
	delivered(t, s, evs[0], evs[0])
	require.Equal(t, []string{"1b"}, references(pendingEvents(t, s)))
	require.NoError(t, s.EventDelivered(ctx, "no-such-event"), "unknown ids are ignored")
	require.NoError(t, s.EventDelivered(ctx, "10000000-0000-4000-8000-999999999999"), "unknown ids are ignored")

	claimed := claimEvents(t, s, base(), 10)
	require.Equal(t, []string{"1b"}, references(claimed))
	delivered(t, s, claimed...)
	require.Empty(t, pendingEvents(t, s))
	require.Empty(t, claimEvents(t, s, base().Add(time.Hour), 10), "a delivered event was claimed")
}

// Deliveries are recorded many at a time, unknown and repeated ids among
// them, and only the named events stop being pending.
func testEventDeliveredBatch(t *testing.T, s billing.Store) {
	ctx := t.Context()
	createN(t, s, 3)
	for n := 1; n <= 3; n++ {
		change(t, s, n, fmt.Sprintf("%da", n))
	}
	evs := claimEvents(t, s, base(), 10)
	require.Len(t, evs, 3)
	require.NoError(t, s.EventDelivered(ctx, evs[0].ID, "no-such-event", evs[2].ID, evs[0].ID))
	require.Equal(t, []string{"2a"}, references(pendingEvents(t, s)))
	require.NoError(t, s.EventDelivered(ctx), "no ids: nothing to do")
}

func testEventFailed(t *testing.T, s billing.Store) {
	ctx := t.Context()
	createN(t, s, 1)
	change(t, s, 1, "1a")
	now := base()
	for attempt, reason := range []string{"hook: HTTP 500", "hook: timeout", "hook: panicked"} {
		evs := claimEvents(t, s, now, 10)
		require.Len(t, evs, 1, "attempt %d", attempt+1)
		require.Equal(t, attempt, evs[0].Attempts, "Attempts when claimed")
		now = now.Add(time.Duration(attempt+1) * time.Minute)
		retry := now.Add(1500 * time.Nanosecond) // kept to the microsecond
		require.NoError(t, s.EventFailed(ctx, evs[0].ID, reason, retry))

		pending := pendingEvents(t, s)
		require.Len(t, pending, 1)
		ev := pending[0]
		require.Equal(t, evs[0].ID, ev.ID)
		require.Equal(t, attempt+1, ev.Attempts, "Attempts")
		require.Equal(t, reason, ev.LastError, "LastError")
		require.LessOrEqual(t, ev.NextAttemptAt.Sub(retry).Abs(), time.Microsecond, "NextAttemptAt %s, want %s", ev.NextAttemptAt, retry)
		require.Zero(t, ev.NextAttemptAt.Nanosecond()%1000, "NextAttemptAt has sub-microsecond digits")
		now = ev.NextAttemptAt
	}
}

// ---- PendingEvents ----

func testPendingEvents(t *testing.T, s billing.Store) {
	ctx := t.Context()
	createN(t, s, 3)
	var want []string
	for i, n := range []int{2, 1, 3, 2, 1} {
		ref := fmt.Sprintf("change %d", i)
		before, after := change(t, s, n, ref)
		want = append(want, ref)
		if i == 0 {
			requireEvent(t, before, after, pendingEvents(t, s)[0])
		}
	}
	require.Equal(t, want, references(pendingEvents(t, s)), "oldest first")

	// Leased and failed events are pending; delivered ones are not.
	evs := claimEvents(t, s, base(), 10)
	require.Len(t, evs, 3)
	require.NoError(t, s.EventFailed(ctx, evs[1].ID, "hook refused", base().Add(time.Hour)))
	delivered(t, s, evs[0])
	want = slicesWithout(want, evs[0].Change.After.Reference)
	require.Equal(t, want, references(pendingEvents(t, s)))

	limited, err := s.PendingEvents(ctx, 2)
	require.NoError(t, err)
	require.Equal(t, want[:2], references(limited), "limit")
	all, err := s.PendingEvents(ctx, -1)
	require.NoError(t, err)
	require.Equal(t, want, references(all), "a negative limit lists all")
}

func slicesWithout(in []string, drop string) []string {
	var out []string
	for _, s := range in {
		if s != drop {
			out = append(out, s)
		}
	}
	return out
}

// ---- sweep marks, open invoices, earliest issue date ----

func testSweepMarkUnset(t *testing.T, s billing.Store) {
	ctx := t.Context()
	m, err := s.SweepMark(ctx, "modified:tenant-1")
	require.NoError(t, err)
	require.True(t, m.IsZero(), "unset mark is %s", m)

	require.NoError(t, s.SetSweepMark(ctx, "open:tenant-1", base()))
	m, err = s.SweepMark(ctx, "modified:tenant-1")
	require.NoError(t, err)
	require.True(t, m.IsZero(), "another name's mark was returned: %s", m)
}

func testSweepMarkRoundTrip(t *testing.T, s billing.Store) {
	ctx := t.Context()
	zone := time.FixedZone("NZDT", 13*60*60)
	at := base().Add(123456789 * time.Nanosecond).In(zone)
	require.NoError(t, s.SetSweepMark(ctx, "modified:tenant-1", at))
	require.NoError(t, s.SetSweepMark(ctx, "modified:tenant-2", base().Add(time.Hour)))

	m, err := s.SweepMark(ctx, "modified:tenant-1")
	require.NoError(t, err)
	require.Zero(t, m.Nanosecond()%1000, "mark %s has sub-microsecond digits", m.Format(time.RFC3339Nano))
	require.LessOrEqual(t, m.Sub(at).Abs(), time.Microsecond, "mark %s is not at %s", m.Format(time.RFC3339Nano), at.Format(time.RFC3339Nano))

	// Setting again replaces the mark, even with an earlier time.
	require.NoError(t, s.SetSweepMark(ctx, "modified:tenant-1", base().Add(-time.Hour)))
	m, err = s.SweepMark(ctx, "modified:tenant-1")
	require.NoError(t, err)
	requireTime(t, base().Add(-time.Hour), m, "mark after a second set")
	m, err = s.SweepMark(ctx, "modified:tenant-2")
	require.NoError(t, err)
	requireTime(t, base().Add(time.Hour), m, "the other name's mark")
}

func testOpenInvoices(t *testing.T, s billing.Store) {
	ctx := t.Context()
	ids, err := s.OpenInvoices(ctx)
	require.NoError(t, err)
	require.Empty(t, ids)

	statuses := []string{
		billing.StatusPaid, billing.StatusAuthorised, billing.StatusVoided, billing.StatusDraft,
		billing.StatusDeleted, billing.StatusSubmitted, billing.StatusAuthorised,
	}
	var want []string
	for i, st := range statuses {
		n := len(statuses) - i // created in reverse order, so sorting is checked
		inv := newInvoice(n)
		inv.Status = st
		create(t, s, inv)
		if inv.IsOpen() {
			want = append(want, inv.ProviderID)
		}
	}
	noID := newInvoice(20)
	noID.ProviderID = ""
	create(t, s, noID)
	// An invoice paid after it was created is no longer open.
	paid := get(t, s, 1) // AUTHORISED
	paid.Status = billing.StatusPaid
	_, _, err = s.SaveInvoiceState(ctx, paid)
	require.NoError(t, err)
	want = slicesWithout(want, providerID(1))

	ids, err = s.OpenInvoices(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{providerID(2), providerID(4), providerID(6)}, ids)
	require.ElementsMatch(t, want, ids)
}

func testEarliestIssueDateEmpty(t *testing.T, s billing.Store) {
	d, err := s.EarliestIssueDate(t.Context())
	require.NoError(t, err)
	require.True(t, d.IsZero(), "earliest issue date of no invoice is %s", d)
}

func testEarliestIssueDate(t *testing.T, s billing.Store) {
	for i, d := range []billing.Date{
		billing.NewDate(2026, time.March, 1),
		billing.NewDate(2025, time.December, 31),
		billing.NewDate(2026, time.January, 1),
	} {
		inv := newInvoice(i + 1)
		inv.IssueDate = d
		create(t, s, inv)
	}
	d, err := s.EarliestIssueDate(t.Context())
	require.NoError(t, err)
	require.Equal(t, billing.NewDate(2025, time.December, 31), d)
}
