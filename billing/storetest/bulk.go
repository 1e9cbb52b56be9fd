package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
)

// bulkGroups are the cases of the batch methods (billing.BulkStore,
// billing.EmailLog), and of BeginCreations and CompleteCreations on the
// batches a bulk run sends (accounts linked, several records a call), which
// SQL stores may take another path for.
func bulkGroups() []group {
	return []group{
		{"ContactLinksOf", []testCase{
			{"Lookup", testContactLinksOf},
			{"InvalidAccount", testContactLinksOfInvalid},
		}},
		{"LinkContacts", []testCase{
			{"FirstLinkWins", testLinkContacts},
			{"RefusedBeforeStoring", testLinkContactsRefused},
			{"Concurrent", testLinkContactsConcurrent},
		}},
		{"RecordContactSyncs", []testCase{
			{"Records", testRecordContactSyncs},
		}},
		{"InvoicesByProviderIDs", []testCase{
			{"Lookup", testInvoicesByProviderIDs},
		}},
		{"InvoiceEmails", []testCase{
			{"RecordAndRead", testInvoiceEmails},
			{"ZeroSentAtRefused", testInvoiceEmailsZeroTime},
		}},
		{"BeginCreationsLinked", []testCase{
			{"Batch", testBeginLinkedBatch},
		}},
		{"CompleteCreationsBatch", []testCase{
			{"Mixed", testCompleteCreationsBatch},
		}},
		{"NextWaiting", []testCase{
			{"ClaimAndPending", testNextWaiting},
		}},
	}
}

func link(t *testing.T, s billing.Store, a billing.Account, contact string) {
	t.Helper()
	_, err := s.LinkContact(t.Context(), a, contact)
	require.NoError(t, err, "LinkContact %s", a)
}

func testContactLinksOf(t *testing.T, s billing.Store) {
	ctx := t.Context()
	user, org := billing.UserAccount(accountID(1)), billing.OrganisationAccount(accountID(1))
	other := billing.UserAccount(accountID(2))
	link(t, s, user, contactID(1))
	link(t, s, org, contactID(2))
	require.NoError(t, s.RecordContactSync(ctx, org, "fp-2", "org@example.org"))
	create(t, s, newInvoice(3)) // an account with no link

	got, err := s.ContactLinksOf(ctx, []billing.Account{user, org, other, billing.UserAccount(accountID(3)), user})
	require.NoError(t, err)
	require.Equal(t, map[billing.Account]billing.ContactLink{
		user: {Account: user, ContactID: contactID(1)},
		org:  {Account: org, ContactID: contactID(2), Fingerprint: "fp-2", Email: "org@example.org"},
	}, got)

	got, err = s.ContactLinksOf(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, got)
}

func testContactLinksOfInvalid(t *testing.T, s billing.Store) {
	_, err := s.ContactLinksOf(t.Context(), []billing.Account{billing.UserAccount(accountID(1)), {}})
	require.ErrorIs(t, err, billing.ErrInvalidAccount)
}

func testLinkContacts(t *testing.T, s billing.Store) {
	ctx := t.Context()
	linked := billing.UserAccount(accountID(1))
	link(t, s, linked, contactID(1))
	require.NoError(t, s.RecordContactSync(ctx, linked, "fp-1", "a@example.org"))
	create(t, s, newInvoice(2)) // account 2 exists, without a link
	fresh := billing.OrganisationAccount(accountID(3))
	noLink := billing.UserAccount(accountID(2))

	noSync := billing.UserAccount(accountID(4))
	got, err := s.LinkContacts(ctx, []billing.ContactLink{
		{Account: linked, ContactID: contactID(9), Fingerprint: "fp-9", Email: "not@example.org"},
		{Account: noLink, ContactID: contactID(2), Fingerprint: "fp-2", Email: "b@example.org"},
		{Account: fresh, ContactID: contactID(3), Fingerprint: "fp-3"},
		{Account: fresh, ContactID: contactID(4), Fingerprint: "fp-4", Email: "second@example.org"},
		{Account: noSync, ContactID: contactID(5), Email: "no-fingerprint@example.org"},
	})
	require.NoError(t, err)
	want := []billing.ContactLink{
		{Account: linked, ContactID: contactID(1), Fingerprint: "fp-1", Email: "a@example.org"},
		{Account: noLink, ContactID: contactID(2), Fingerprint: "fp-2", Email: "b@example.org"},
		{Account: fresh, ContactID: contactID(3), Fingerprint: "fp-3"},
		{Account: fresh, ContactID: contactID(3), Fingerprint: "fp-3"},
		{Account: noSync, ContactID: contactID(5)},
	}
	require.Equal(t, want, got, "links in force, in order, with the syncs of those stored now")
	for _, w := range want {
		l, err := s.ContactLink(ctx, w.Account)
		require.NoError(t, err)
		require.Equal(t, w, l, "stored link of %s", w.Account)
	}

	got, err = s.LinkContacts(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, got)
}

func testLinkContactsRefused(t *testing.T, s billing.Store) {
	ctx := t.Context()
	good := billing.ContactLink{Account: billing.UserAccount(accountID(1)), ContactID: contactID(1)}
	_, err := s.LinkContacts(ctx, []billing.ContactLink{good, {Account: billing.Account{}, ContactID: contactID(2)}})
	require.ErrorIs(t, err, billing.ErrInvalidAccount)
	_, err = s.LinkContacts(ctx, []billing.ContactLink{good, {Account: billing.UserAccount(accountID(2))}})
	require.Error(t, err, "an empty contact id")
	_, err = s.ContactLink(ctx, good.Account)
	require.ErrorIs(t, err, billing.ErrNotFound, "a refused batch stored a link")
}

// testLinkContactsConcurrent: batches racing over the same accounts, in
// opposite orders, all get one link per account, the same for everyone.
func testLinkContactsConcurrent(t *testing.T, s billing.Store) {
	const callers, accounts = 6, 20
	got := make([][]billing.ContactLink, callers)
	errs := make([]error, callers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			links := make([]billing.ContactLink, accounts)
			for i := range links {
				n := i + 1
				if c%2 == 1 {
					n = accounts - i
				}
				links[i] = billing.ContactLink{Account: billing.UserAccount(accountID(n)), ContactID: contactID(100*c + n)}
			}
			<-start
			got[c], errs[c] = s.LinkContacts(t.Context(), links)
		})
	}
	close(start)
	wg.Wait()
	inForce := map[billing.Account]string{}
	for c := range callers {
		require.NoError(t, errs[c], "caller %d", c)
		for _, l := range got[c] {
			if prev, ok := inForce[l.Account]; ok {
				require.Equal(t, prev, l.ContactID, "two links in force for %s", l.Account)
			}
			inForce[l.Account] = l.ContactID
		}
	}
	require.Len(t, inForce, accounts)
	for a, contact := range inForce {
		l, err := s.ContactLink(t.Context(), a)
		require.NoError(t, err)
		require.Equal(t, contact, l.ContactID)
	}
}

func testRecordContactSyncs(t *testing.T, s billing.Store) {
	ctx := t.Context()
	a1, a2 := billing.UserAccount(accountID(1)), billing.OrganisationAccount(accountID(2))
	unlinked := billing.UserAccount(accountID(3))
	link(t, s, a1, contactID(1))
	link(t, s, a2, contactID(2))

	n, err := s.RecordContactSyncs(ctx, []billing.ContactLink{
		{Account: a1, Fingerprint: "fp-old", Email: "old@example.org"},
		{Account: unlinked, Fingerprint: "fp-3", Email: "x@example.org"},
		{Account: a2, ContactID: "ignored", Fingerprint: "fp-2"},
		{Account: a1, Fingerprint: "fp-1", Email: "new@example.org"},
	})
	require.NoError(t, err)
	require.Equal(t, 2, n, "accounts recorded")
	got, err := s.ContactLinksOf(ctx, []billing.Account{a1, a2, unlinked})
	require.NoError(t, err)
	require.Equal(t, map[billing.Account]billing.ContactLink{
		a1: {Account: a1, ContactID: contactID(1), Fingerprint: "fp-1", Email: "new@example.org"},
		a2: {Account: a2, ContactID: contactID(2), Fingerprint: "fp-2"},
	}, got, "the last sync of an account wins; no link is made")

	n, err = s.RecordContactSyncs(ctx, nil)
	require.NoError(t, err)
	require.Zero(t, n)
}

func testInvoicesByProviderIDs(t *testing.T, s billing.Store) {
	invs := createN(t, s, 3)
	noID := newInvoice(4)
	noID.ProviderID = ""
	create(t, s, noID)
	got, err := s.InvoicesByProviderIDs(t.Context(), []string{providerID(3), providerID(9), "", providerID(1), providerID(1)})
	require.NoError(t, err)
	require.Len(t, got, 2)
	requireInvoice(t, invs[0], got[providerID(1)])
	requireInvoice(t, invs[2], got[providerID(3)])

	got, err = s.InvoicesByProviderIDs(t.Context(), nil)
	require.NoError(t, err)
	require.Empty(t, got)
}

func testInvoiceEmails(t *testing.T, s billing.Store) {
	ctx := t.Context()
	createN(t, s, 3)
	at := base().Add(1500 * time.Nanosecond).In(time.FixedZone("NZDT", 13*60*60))
	n, err := s.RecordInvoiceEmails(ctx, []billing.InvoiceEmail{
		{ProviderID: providerID(1), SentAt: at},
		{ProviderID: providerID(9), SentAt: at}, // unknown
		{ProviderID: providerID(2), SentAt: at.Add(time.Hour)},
		{ProviderID: providerID(2), SentAt: at},
	})
	require.NoError(t, err)
	require.Equal(t, 2, n, "invoices recorded")

	got, err := s.InvoiceEmails(ctx, []string{providerID(1), providerID(2), providerID(3), providerID(9), ""})
	require.NoError(t, err)
	require.Len(t, got, 2, "invoice 3 never emailed, 9 unknown")
	require.True(t, got[providerID(1)].Equal(at.Truncate(time.Microsecond)), "SentAt %s", got[providerID(1)])
	require.True(t, got[providerID(2)].Equal(at.Add(time.Hour).Truncate(time.Microsecond)), "the latest of two")

	// A later email moves the time on; an earlier one does not move it back.
	_, err = s.RecordInvoiceEmails(ctx, []billing.InvoiceEmail{{ProviderID: providerID(1), SentAt: at.Add(time.Minute)}})
	require.NoError(t, err)
	_, err = s.RecordInvoiceEmails(ctx, []billing.InvoiceEmail{{ProviderID: providerID(2), SentAt: at}})
	require.NoError(t, err)
	got, err = s.InvoiceEmails(ctx, []string{providerID(1), providerID(2)})
	require.NoError(t, err)
	require.True(t, got[providerID(1)].Equal(at.Add(time.Minute).Truncate(time.Microsecond)))
	require.True(t, got[providerID(2)].Equal(at.Add(time.Hour).Truncate(time.Microsecond)))

	n, err = s.RecordInvoiceEmails(ctx, nil)
	require.NoError(t, err)
	require.Zero(t, n)
	got, err = s.InvoiceEmails(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, got)
}

func testInvoiceEmailsZeroTime(t *testing.T, s billing.Store) {
	ctx := t.Context()
	createN(t, s, 2)
	_, err := s.RecordInvoiceEmails(ctx, []billing.InvoiceEmail{{ProviderID: providerID(1), SentAt: base()}, {ProviderID: providerID(2)}})
	require.Error(t, err)
	got, err := s.InvoiceEmails(ctx, []string{providerID(1), providerID(2)})
	require.NoError(t, err)
	require.Empty(t, got, "a refused batch recorded emails")
}

// testBeginLinkedBatch: a batch of creations whose accounts are all linked,
// as a bulk run sends it, settles each one as recording them one by one
// would.
func testBeginLinkedBatch(t *testing.T, s billing.Store) {
	for n := 1; n <= 6; n++ {
		link(t, s, newParams(n).Account, contactID(n))
	}
	done, pending := newCreation(1, base()), newCreation(2, base())
	beginNew(t, s, done, pending)
	created := newInvoice(1)
	require.NoError(t, completeCreations(t, s, billing.Completion{Key: done.Key, Created: created, Current: created})[0].Err)

	byFingerprint := pending
	byFingerprint.Key = creationKey(20)
	keyReused := newCreation(3, base())
	keyReused.Key = pending.Key
	c4, c5 := newCreation(4, base().Add(time.Second)), newCreation(5, base().Add(2*time.Second))
	c5inBatchByFP := c5
	c5inBatchByFP.Key = creationKey(21)
	c6 := newCreation(6, base())
	c6keyReused := newCreation(3, base())
	c6keyReused.Key = c6.Key

	begun := begin(t, s, done, byFingerprint, keyReused, c4, c4, c5, c5inBatchByFP, c6, c6keyReused)
	require.NoError(t, begun[0].Err)
	require.False(t, begun[0].New)
	require.True(t, begun[0].Creation.Done(), "a done creation comes back done")
	require.Equal(t, providerID(1), begun[0].Creation.ProviderID)
	require.Equal(t, number(1), begun[0].Creation.InvoiceNumber)

	require.NoError(t, begun[1].Err)
	require.False(t, begun[1].New)
	requireCreation(t, pending, begun[1].Creation)

	require.ErrorIs(t, begun[2].Err, billing.ErrConflict, "a key used for another invoice")
	requireCreation(t, pending, begun[2].Creation)

	require.True(t, begun[3].New)
	requireCreation(t, c4, begun[3].Creation)
	require.False(t, begun[4].New, "the same creation twice in a batch is recorded once")
	require.NoError(t, begun[4].Err)
	requireCreation(t, c4, begun[4].Creation)

	require.True(t, begun[5].New)
	require.False(t, begun[6].New, "the same invoice under a second key in the batch")
	require.NoError(t, begun[6].Err)
	requireCreation(t, c5, begun[6].Creation)

	require.True(t, begun[7].New)
	require.ErrorIs(t, begun[8].Err, billing.ErrConflict, "a key the batch used for another invoice")
	requireCreation(t, c6, begun[8].Creation)

	require.ElementsMatch(t, []string{pending.Key, c4.Key, c5.Key, c6.Key}, pendingKeys(t, s))
}

// testCompleteCreationsBatch: in one call, completions that save as they
// are, one whose number is taken, one unknown, one done already and one
// whose state changed meanwhile; each gets its own outcome.
func testCompleteCreationsBatch(t *testing.T, s billing.Store) {
	ctx := t.Context()
	cs := make([]billing.Creation, 6)
	for i := range cs {
		n := i + 1
		link(t, s, newParams(n).Account, contactID(n))
		cs[i] = newCreation(n, base())
	}
	beginNew(t, s, cs...)
	inv := make([]billing.Invoice, 7)
	for n := 1; n <= 6; n++ {
		inv[n] = newInvoice(n)
	}
	require.NoError(t, completeCreations(t, s, billing.Completion{Key: cs[4].Key, Created: inv[5], Current: inv[5]})[0].Err)
	taken := newInvoice(9)
	taken.Number = number(3)
	taken.Account = billing.UserAccount(accountID(9))
	create(t, s, taken)
	numberTaken := inv[3]
	paid := paidInvoice(6)

	out := completeCreations(t, s,
		billing.Completion{Key: cs[0].Key, Created: inv[1], Current: inv[1]},
		billing.Completion{Key: cs[1].Key, Created: inv[2], Current: inv[2]},
		billing.Completion{Key: cs[2].Key, Created: numberTaken, Current: numberTaken},
		billing.Completion{Key: creationKey(99), Created: inv[4], Current: inv[4]},
		billing.Completion{Key: cs[4].Key, Created: inv[5], Current: inv[5]},
		billing.Completion{Key: cs[5].Key, Created: inv[6], Current: paid},
	)
	require.Len(t, out, 6)
	for _, k := range []int{0, 1, 4} {
		require.NoError(t, out[k].Err, "completion %d", k)
	}
	requireInvoice(t, inv[1], out[0].Invoice)
	requireInvoice(t, inv[2], out[1].Invoice)
	requireInvoice(t, inv[5], out[4].Invoice)
	require.ErrorIs(t, out[2].Err, billing.ErrConflict, "number taken")
	require.ErrorIs(t, out[3].Err, billing.ErrNotFound, "unknown key")
	require.NoError(t, out[5].Err)
	requireInvoice(t, paid, out[5].Invoice)

	for _, n := range []int{1, 2} {
		requireInvoice(t, inv[n], get(t, s, n))
	}
	requireInvoice(t, paid, get(t, s, 6))
	_, err := s.InvoiceByProviderID(ctx, providerID(3))
	require.ErrorIs(t, err, billing.ErrNotFound, "the refused completion saved its invoice")
	require.ElementsMatch(t, []string{cs[2].Key, cs[3].Key}, pendingKeys(t, s))
	evs := pendingEvents(t, s)
	require.Len(t, evs, 1, "the invoice paid meanwhile has its event, the others none")
	require.Equal(t, number(6), evs[0].Change.After.Number)
}

func testNextWaiting(t *testing.T, s billing.Store) {
	createN(t, s, 2)
	change(t, s, 1, "first")
	change(t, s, 1, "second")
	change(t, s, 2, "only")
	pending := pendingEvents(t, s)
	require.Len(t, pending, 3)
	require.Equal(t, []bool{true, false, false}, []bool{pending[0].NextWaiting, pending[1].NextWaiting, pending[2].NextWaiting},
		"only invoice 1's first event has another behind it")

	evs := claimEvents(t, s, base(), 10)
	require.Len(t, evs, 2)
	require.True(t, evs[0].NextWaiting, "invoice 1's first event")
	require.False(t, evs[1].NextWaiting, "invoice 2's only event")
	delivered(t, s, evs...)
	evs = claimEvents(t, s, base(), 10)
	require.Len(t, evs, 1)
	require.Equal(t, "second", evs[0].Change.After.Reference)
	require.False(t, evs[0].NextWaiting)
}
