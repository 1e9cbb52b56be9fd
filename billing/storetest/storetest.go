package storetest

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
)

// Run runs the conformance suite against the stores newStore returns. Every
// subtest calls newStore once and expects an empty store; newStore should
// register any cleanup with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) billing.Store) {
	t.Helper()
	for _, g := range slices.Concat(groups(), moneyGroups(), bulkGroups(), creditMarkGroups()) {
		t.Run(g.name, func(t *testing.T) {
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) {
					s := newStore(t)
					require.NotNil(t, s, "newStore returned nil")
					c.run(t, s)
				})
			}
		})
	}
}

type testCase struct {
	name string
	run  func(t *testing.T, s billing.Store)
}

type group struct {
	name  string
	cases []testCase
}

func groups() []group {
	return []group{
		{"ContactLinks", []testCase{
			{"LinkAndLookUp", testLinkAndLookUp},
			{"FirstLinkWins", testFirstLinkWins},
			{"NotFound", testContactLinkNotFound},
			{"InvalidAccount", testLinkInvalidAccount},
			{"ConcurrentLinks", testConcurrentLinks},
		}},
		{"Invoices", []testCase{
			{"CreateAndLookUp", testCreateAndLookUp},
			{"NotFound", testInvoiceNotFound},
			{"DuplicateNumber", testDuplicateNumber},
			{"DuplicateProviderID", testDuplicateProviderID},
			{"EmptyProviderIDs", testEmptyProviderIDs},
			{"InvalidAccount", testCreateInvalidAccount},
			{"UpdateFieldsStoredAsGiven", testUpdateFieldsStoredAsGiven},
			{"UpdateRequestedAtPrecision", testUpdateRequestedAtPrecision},
			{"Decimals", testDecimals},
			{"Dates", testDates},
		}},
		{"SaveInvoiceState", []testCase{
			{"BeforeAndAfter", testSaveInvoiceState},
			{"NotFound", testSaveInvoiceStateNotFound},
		}},
		{"MarkUpdateNeeded", []testCase{
			{"SetsFields", testMarkSetsFields},
			{"CountsKnownInvoices", testMarkCounts},
			{"TokenStrictlyIncreases", testMarkTokenIncreases},
			{"Microseconds", testMarkMicroseconds},
			{"ResetsFailures", testMarkResetsFailures},
			{"KeepsLease", testMarkKeepsLease},
		}},
		{"ClaimUpdates", []testCase{
			{"Order", testClaimOrder},
			{"Limit", testClaimLimit},
			{"NonPositiveLimit", testClaimNonPositiveLimit},
			{"NonPositiveLease", testClaimNonPositiveLease},
			{"Skips", testClaimSkips},
			{"Leases", testClaimLeases},
			{"Attempts", testClaimAttempts},
		}},
		{"CompleteUpdate", []testCase{
			{"Clears", testCompleteClears},
			{"MarkDuringFetchSurvives", testCompleteAfterMark},
			{"NotFound", testCompleteNotFound},
		}},
		{"FailUpdate", []testCase{
			{"RecordsAndSetsAside", testFailRecords},
			{"NoMaxAttempts", testFailNoMaxAttempts},
			{"MarkDuringFetch", testFailAfterMark},
			{"NotFound", testFailNotFound},
		}},
		{"SetAsideInvoices", []testCase{
			{"Order", testSetAsideOrder},
		}},
		{"ReleaseClaims", []testCase{
			{"ClaimableAtOnce", testReleaseClaims},
		}},
		{"Concurrency", []testCase{
			{"DisjointClaims", testConcurrentClaims},
			{"NoLostMarks", testNoLostMarks},
		}},
		{"ContactSync", []testCase{
			{"RoundTrip", testContactSyncRoundTrip},
			{"NotFound", testContactSyncNotFound},
		}},
		{"InvoiceEvents", []testCase{
			{"ChangeRecordsEvent", testSaveRecordsEvent},
			{"UnchangedRecordsNothing", testSaveUnchangedNoEvent},
			{"EachChangeInOrder", testSaveEventsInOrder},
		}},
		{"SaveInvoiceStates", []testCase{
			{"BatchWithUnknownID", testSaveStatesBatch},
			{"Empty", testSaveStatesEmpty},
			{"SameInvoiceTwice", testSaveStatesTwice},
		}},
		{"CompleteUpdates", []testCase{
			{"Batch", testCompleteUpdatesBatch},
			{"Empty", testCompleteUpdatesEmpty},
			{"SameInvoiceTwice", testCompleteUpdatesTwice},
		}},
		{"BeginCreations", []testCase{
			{"Records", testBeginRecords},
			{"DedupByKey", testBeginDedupByKey},
			{"DedupByFingerprint", testBeginDedupByFingerprint},
			{"KeyReusedForAnotherFingerprint", testBeginKeyConflict},
			{"WithinOneBatch", testBeginWithinBatch},
			{"Atomic", testBeginAtomic},
			{"ParamsRoundTrip", testCreationParamsRoundTrip},
			{"Concurrent", testConcurrentBegins},
		}},
		{"ClaimCreation", []testCase{
			{"Leases", testClaimCreationLeases},
			{"CreatorLease", testClaimCreationCreatorLease},
			{"NotFound", testClaimCreationNotFound},
			{"Concurrent", testConcurrentCreationClaims},
		}},
		{"CompleteCreations", []testCase{
			{"SavesRow", testCompleteCreationSaves},
			{"PaidMeanwhile", testCompleteCreationPaidMeanwhile},
			{"DoneIsIdempotent", testCompleteCreationIdempotent},
			{"NumberTaken", testCompleteCreationNumberTaken},
			{"UnknownKey", testCompleteCreationUnknownKey},
			{"AdoptsStoredInvoice", testCompleteCreationAdopts},
		}},
		{"PendingCreations", []testCase{
			{"OldestFirstNotDone", testPendingCreationsOrder},
		}},
		{"AbandonCreation", []testCase{
			{"OnlyPending", testAbandonOnlyPending},
		}},
		{"ClaimEvents", []testCase{
			{"OldestPerInvoice", testClaimEventsPerInvoice},
			{"FailedBlocksItsInvoice", testFailedEventBlocks},
			{"NextAttemptAt", testClaimEventsNextAttempt},
			{"Leases", testClaimEventsLeases},
			{"Limit", testClaimEventsLimit},
			{"NonPositiveLimitOrLease", testClaimEventsNonPositive},
			{"ConcurrentDisjoint", testConcurrentEventClaims},
			{"ConcurrentOrderPerInvoice", testConcurrentEventOrder},
		}},
		{"EventDelivery", []testCase{
			{"Delivered", testEventDelivered},
			{"DeliveredBatch", testEventDeliveredBatch},
			{"FailedCountsAttempts", testEventFailed},
		}},
		{"PendingEvents", []testCase{
			{"OldestFirstWithLimit", testPendingEvents},
		}},
		{"SweepMarks", []testCase{
			{"ZeroWhenUnset", testSweepMarkUnset},
			{"RoundTrip", testSweepMarkRoundTrip},
		}},
		{"CountMarked", []testCase{
			{"CountsMarkedNotSetAside", testCountMarked},
		}},
		{"OpenInvoices", []testCase{
			{"Rule", testOpenInvoices},
		}},
		{"EarliestIssueDate", []testCase{
			{"ZeroWhenEmpty", testEarliestIssueDateEmpty},
			{"Oldest", testEarliestIssueDate},
		}},
	}
}

// base is the suite's fixed clock; tests pass explicit times derived from it.
func base() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

const lease = 5 * time.Minute

// UUID-shaped ids, so stores with uuid columns accept them.
func accountID(n int) string  { return fmt.Sprintf("10000000-0000-4000-8000-%012d", n) }
func contactID(n int) string  { return fmt.Sprintf("20000000-0000-4000-8000-%012d", n) }
func providerID(n int) string { return fmt.Sprintf("30000000-0000-4000-8000-%012d", n) }
func number(n int) string     { return fmt.Sprintf("INV-%04d", n) }

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// newInvoice returns invoice n, not marked for update.
func newInvoice(n int) billing.Invoice {
	return billing.Invoice{
		Account:    billing.UserAccount(accountID(n)),
		Number:     number(n),
		ProviderID: providerID(n),
		Reference:  fmt.Sprintf("Membership %d", n),
		Status:     billing.StatusAuthorised,
		Currency:   "NZD",
		IssueDate:  billing.NewDate(2026, time.January, 2),
		DueDate:    billing.NewDate(2026, time.February, 1),
		Amount:     dec("115.00"),
		Paid:       dec("0.00"),
		Due:        dec("115.00"),
	}
}

func create(t *testing.T, s billing.Store, invs ...billing.Invoice) {
	t.Helper()
	for _, inv := range invs {
		require.NoError(t, s.CreateInvoice(t.Context(), inv), "CreateInvoice %s", inv.Number)
	}
}

// createN creates invoices 1..n and returns them.
func createN(t *testing.T, s billing.Store, n int) []billing.Invoice {
	t.Helper()
	invs := make([]billing.Invoice, n)
	for i := range invs {
		invs[i] = newInvoice(i + 1)
	}
	create(t, s, invs...)
	return invs
}

func mark(t *testing.T, s billing.Store, at time.Time, ids ...string) int {
	t.Helper()
	n, err := s.MarkUpdateNeeded(t.Context(), ids, at)
	require.NoError(t, err, "MarkUpdateNeeded")
	return n
}

func claim(t *testing.T, s billing.Store, now time.Time, limit int) []billing.Claim {
	t.Helper()
	claims, err := s.ClaimUpdates(t.Context(), now, limit, lease)
	require.NoError(t, err, "ClaimUpdates")
	return claims
}

// claimOne claims and requires exactly the invoice with this provider id.
func claimOne(t *testing.T, s billing.Store, now time.Time, id string) billing.Claim {
	t.Helper()
	claims := claim(t, s, now, 10)
	require.Equal(t, []string{id}, claimIDs(claims), "claimed invoices")
	return claims[0]
}

func claimIDs(claims []billing.Claim) []string {
	ids := make([]string, len(claims))
	for i, c := range claims {
		ids[i] = c.ProviderID
	}
	return ids
}

func get(t *testing.T, s billing.Store, n int) billing.Invoice {
	t.Helper()
	inv, err := s.InvoiceByNumber(t.Context(), number(n))
	require.NoError(t, err, "InvoiceByNumber %s", number(n))
	return inv
}

func complete(t *testing.T, s billing.Store, c billing.Claim) bool {
	t.Helper()
	cleared, err := s.CompleteUpdate(t.Context(), c)
	require.NoError(t, err, "CompleteUpdate")
	return cleared
}

func fail(t *testing.T, s billing.Store, c billing.Claim, reason string, maxAttempts int) billing.Invoice {
	t.Helper()
	inv, err := s.FailUpdate(t.Context(), c, reason, maxAttempts)
	require.NoError(t, err, "FailUpdate")
	return inv
}

func requireTime(t *testing.T, want, got time.Time, field string) {
	t.Helper()
	require.Truef(t, want.Equal(got), "%s: want %s, got %s", field, want.Format(time.RFC3339Nano), got.Format(time.RFC3339Nano))
}

func requireDecimal(t *testing.T, want, got decimal.Decimal, field string) {
	t.Helper()
	require.Truef(t, want.Equal(got), "%s: want %s, got %s", field, want, got)
}

// requireInvoice compares invoices by value: decimals numerically, times
// with Equal (stores may return another zone).
func requireInvoice(t *testing.T, want, got billing.Invoice) {
	t.Helper()
	require.Equal(t, want.Account, got.Account, "Account")
	require.Equal(t, want.Number, got.Number, "Number")
	require.Equal(t, want.ProviderID, got.ProviderID, "ProviderID")
	require.Equal(t, want.Reference, got.Reference, "Reference")
	require.Equal(t, want.Status, got.Status, "Status")
	require.Equal(t, want.Currency, got.Currency, "Currency")
	require.Equal(t, want.IssueDate, got.IssueDate, "IssueDate")
	require.Equal(t, want.DueDate, got.DueDate, "DueDate")
	require.Equal(t, want.PaidDate, got.PaidDate, "PaidDate")
	requireDecimal(t, want.Amount, got.Amount, "Amount")
	requireDecimal(t, want.Paid, got.Paid, "Paid")
	requireDecimal(t, want.Due, got.Due, "Due")
	requireDecimal(t, want.Credited, got.Credited, "Credited")
	require.Equal(t, want.UpdateNeeded, got.UpdateNeeded, "UpdateNeeded")
	requireTime(t, want.UpdateRequestedAt, got.UpdateRequestedAt, "UpdateRequestedAt")
	require.Equal(t, want.UpdateAttempts, got.UpdateAttempts, "UpdateAttempts")
	require.Equal(t, want.UpdateError, got.UpdateError, "UpdateError")
	require.Equal(t, want.SetAside, got.SetAside, "SetAside")
}

// requireMarked checks the update fields of a freshly marked invoice.
func requireMarked(t *testing.T, inv billing.Invoice, at time.Time) {
	t.Helper()
	require.True(t, inv.UpdateNeeded, "UpdateNeeded")
	requireTime(t, at, inv.UpdateRequestedAt, "UpdateRequestedAt")
	require.Zero(t, inv.UpdateAttempts, "UpdateAttempts")
	require.Empty(t, inv.UpdateError, "UpdateError")
	require.False(t, inv.SetAside, "SetAside")
}

// ---- contact links ----

func testLinkAndLookUp(t *testing.T, s billing.Store) {
	ctx := t.Context()
	// A user and an organisation with the same id are different accounts.
	user := billing.UserAccount(accountID(1))
	org := billing.OrganisationAccount(accountID(1))

	link, err := s.LinkContact(ctx, user, contactID(1))
	require.NoError(t, err)
	require.Equal(t, billing.ContactLink{Account: user, ContactID: contactID(1)}, link)
	link, err = s.LinkContact(ctx, org, contactID(2))
	require.NoError(t, err)
	require.Equal(t, billing.ContactLink{Account: org, ContactID: contactID(2)}, link)

	got, err := s.ContactLink(ctx, user)
	require.NoError(t, err)
	require.Equal(t, billing.ContactLink{Account: user, ContactID: contactID(1)}, got)
	got, err = s.ContactLink(ctx, org)
	require.NoError(t, err)
	require.Equal(t, billing.ContactLink{Account: org, ContactID: contactID(2)}, got)
}

func testFirstLinkWins(t *testing.T, s billing.Store) {
	ctx := t.Context()
	user := billing.UserAccount(accountID(1))
	_, err := s.LinkContact(ctx, user, contactID(1))
	require.NoError(t, err)

	link, err := s.LinkContact(ctx, user, contactID(2))
	require.NoError(t, err)
	require.Equal(t, contactID(1), link.ContactID, "the link in force")
	got, err := s.ContactLink(ctx, user)
	require.NoError(t, err)
	require.Equal(t, contactID(1), got.ContactID)
}

func testContactLinkNotFound(t *testing.T, s billing.Store) {
	ctx := t.Context()
	_, err := s.ContactLink(ctx, billing.UserAccount(accountID(1)))
	require.ErrorIs(t, err, billing.ErrNotFound)

	_, err = s.LinkContact(ctx, billing.UserAccount(accountID(1)), contactID(1))
	require.NoError(t, err)
	_, err = s.ContactLink(ctx, billing.OrganisationAccount(accountID(1)))
	require.ErrorIs(t, err, billing.ErrNotFound)
	_, err = s.ContactLink(ctx, billing.UserAccount(accountID(2)))
	require.ErrorIs(t, err, billing.ErrNotFound)
}

func testLinkInvalidAccount(t *testing.T, s billing.Store) {
	ctx := t.Context()
	for _, a := range []billing.Account{
		{},
		{UserID: accountID(1), OrganisationID: accountID(2)},
	} {
		_, err := s.LinkContact(ctx, a, contactID(1))
		require.ErrorIs(t, err, billing.ErrInvalidAccount, "account %+v", a)
	}
	_, err := s.ContactLink(ctx, billing.UserAccount(accountID(1)))
	require.ErrorIs(t, err, billing.ErrNotFound, "nothing was linked")
	_, err = s.ContactLink(ctx, billing.OrganisationAccount(accountID(2)))
	require.ErrorIs(t, err, billing.ErrNotFound, "nothing was linked")
}

func testConcurrentLinks(t *testing.T, s billing.Store) {
	ctx := t.Context()
	user := billing.UserAccount(accountID(1))
	const n = 8
	links := make([]billing.ContactLink, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			links[i], errs[i] = s.LinkContact(ctx, user, contactID(i+1))
		})
	}
	close(start)
	wg.Wait()

	for i := range n {
		require.NoError(t, errs[i], "caller %d", i)
	}
	inForce, err := s.ContactLink(ctx, user)
	require.NoError(t, err)
	require.Equal(t, user, inForce.Account)
	for i := range n {
		require.Equal(t, inForce, links[i], "caller %d got a link other than the one in force", i)
	}
	var ids []string
	for i := range n {
		ids = append(ids, contactID(i+1))
	}
	require.Contains(t, ids, inForce.ContactID)
}

// ---- invoices ----

func testCreateAndLookUp(t *testing.T, s billing.Store) {
	ctx := t.Context()
	userInv := newInvoice(1)
	orgInv := newInvoice(2)
	orgInv.Account = billing.OrganisationAccount(accountID(2))
	create(t, s, userInv, orgInv)

	for _, want := range []billing.Invoice{userInv, orgInv} {
		got, err := s.InvoiceByNumber(ctx, want.Number)
		require.NoError(t, err)
		requireInvoice(t, want, got)
		got, err = s.InvoiceByProviderID(ctx, want.ProviderID)
		require.NoError(t, err)
		requireInvoice(t, want, got)
	}
}

func testInvoiceNotFound(t *testing.T, s billing.Store) {
	ctx := t.Context()
	_, err := s.InvoiceByNumber(ctx, number(1))
	require.ErrorIs(t, err, billing.ErrNotFound)
	_, err = s.InvoiceByProviderID(ctx, providerID(1))
	require.ErrorIs(t, err, billing.ErrNotFound)

	noID := newInvoice(1)
	noID.ProviderID = ""
	create(t, s, noID)
	_, err = s.InvoiceByNumber(ctx, number(2))
	require.ErrorIs(t, err, billing.ErrNotFound)
	// "" means no provider id; it must not find invoices that have none.
	_, err = s.InvoiceByProviderID(ctx, "")
	require.ErrorIs(t, err, billing.ErrNotFound)
}

func testDuplicateNumber(t *testing.T, s billing.Store) {
	ctx := t.Context()
	first := newInvoice(1)
	create(t, s, first)

	dup := newInvoice(2)
	dup.Number = first.Number
	require.ErrorIs(t, s.CreateInvoice(ctx, dup), billing.ErrConflict)

	_, err := s.InvoiceByProviderID(ctx, dup.ProviderID)
	require.ErrorIs(t, err, billing.ErrNotFound, "the rejected invoice was saved")
	requireInvoice(t, first, get(t, s, 1))
}

func testDuplicateProviderID(t *testing.T, s billing.Store) {
	ctx := t.Context()
	first := newInvoice(1)
	create(t, s, first)

	dup := newInvoice(2)
	dup.ProviderID = first.ProviderID
	require.ErrorIs(t, s.CreateInvoice(ctx, dup), billing.ErrConflict)

	_, err := s.InvoiceByNumber(ctx, dup.Number)
	require.ErrorIs(t, err, billing.ErrNotFound, "the rejected invoice was saved")
	got, err := s.InvoiceByProviderID(ctx, first.ProviderID)
	require.NoError(t, err)
	requireInvoice(t, first, got)
}

func testEmptyProviderIDs(t *testing.T, s billing.Store) {
	var invs []billing.Invoice
	for n := 1; n <= 3; n++ {
		inv := newInvoice(n)
		inv.ProviderID = ""
		invs = append(invs, inv)
	}
	create(t, s, invs...)
	for n, want := range invs {
		requireInvoice(t, want, get(t, s, n+1))
	}
}

func testCreateInvalidAccount(t *testing.T, s billing.Store) {
	ctx := t.Context()
	for i, a := range []billing.Account{
		{},
		{UserID: accountID(1), OrganisationID: accountID(2)},
	} {
		inv := newInvoice(i + 1)
		inv.Account = a
		require.ErrorIs(t, s.CreateInvoice(ctx, inv), billing.ErrInvalidAccount, "account %+v", a)
		_, err := s.InvoiceByNumber(ctx, inv.Number)
		require.ErrorIs(t, err, billing.ErrNotFound, "the rejected invoice was saved")
	}
}

func testUpdateFieldsStoredAsGiven(t *testing.T, s billing.Store) {
	inv := newInvoice(1)
	inv.UpdateNeeded = true
	inv.UpdateRequestedAt = base()
	inv.UpdateAttempts = 2
	inv.UpdateError = "HTTP 503"
	inv.SetAside = true
	create(t, s, inv)
	requireInvoice(t, inv, get(t, s, 1))
}

// testUpdateRequestedAtPrecision: a mark time given to CreateInvoice with
// nanoseconds and in another zone is kept to the microsecond, as the same
// instant, and the claim's token made from it clears the flag, even when the
// caller hands it back in yet another zone.
func testUpdateRequestedAtPrecision(t *testing.T, s billing.Store) {
	zone := time.FixedZone("CHAST", 13*60*60+45*60)
	at := base().Add(123456789 * time.Nanosecond).In(zone)
	inv := newInvoice(1)
	inv.UpdateNeeded = true
	inv.UpdateRequestedAt = at
	create(t, s, inv)

	stored := get(t, s, 1).UpdateRequestedAt
	require.Zero(t, stored.Nanosecond()%1000, "UpdateRequestedAt %s has sub-microsecond digits", stored.Format(time.RFC3339Nano))
	require.LessOrEqual(t, stored.Sub(at).Abs(), time.Microsecond, "UpdateRequestedAt %s is not at %s", stored.Format(time.RFC3339Nano), at.Format(time.RFC3339Nano))

	c := claimOne(t, s, base().Add(time.Hour), providerID(1))
	requireTime(t, stored, c.RequestedAt, "Claim.RequestedAt")
	c.RequestedAt = c.RequestedAt.In(time.FixedZone("HST", -10*60*60))
	require.True(t, complete(t, s, c), "CompleteUpdate with the claim's token in another zone")
	require.False(t, get(t, s, 1).UpdateNeeded)
}

func testDecimals(t *testing.T, s billing.Store) {
	ctx := t.Context()
	tests := []struct {
		name              string
		amount, paid, due decimal.Decimal
	}{
		{"cents", dec("1234567.89"), dec("1234567.88"), dec("0.01")},
		{"sum of tenths", dec("0.1").Add(dec("0.2")), dec("0.1"), dec("0.2")},
		{"19 significant digits", dec("12345678901234567.89"), dec("0.01"), dec("12345678901234567.88")},
		{"credit", dec("-150.00"), dec("0"), dec("-150.00")},
		{"zero", decimal.Zero, decimal.Zero, decimal.Zero},
	}
	for i, tt := range tests {
		n := i + 1
		inv := newInvoice(n)
		inv.Amount, inv.Paid, inv.Due = tt.amount, tt.paid, tt.due
		create(t, s, inv)
		got := get(t, s, n)
		requireDecimal(t, tt.amount, got.Amount, tt.name+": Amount after CreateInvoice")
		requireDecimal(t, tt.paid, got.Paid, tt.name+": Paid after CreateInvoice")
		requireDecimal(t, tt.due, got.Due, tt.name+": Due after CreateInvoice")

		// The same values through SaveInvoiceState, starting from others.
		other := newInvoice(n + 100)
		other.Amount, other.Paid, other.Due = dec("1.00"), dec("1.00"), dec("1.00")
		create(t, s, other)
		other.Amount, other.Paid, other.Due = tt.amount, tt.paid, tt.due
		_, after, err := s.SaveInvoiceState(ctx, other)
		require.NoError(t, err)
		requireDecimal(t, tt.amount, after.Amount, tt.name+": Amount returned by SaveInvoiceState")
		got = get(t, s, n+100)
		requireDecimal(t, tt.amount, got.Amount, tt.name+": Amount after SaveInvoiceState")
		requireDecimal(t, tt.paid, got.Paid, tt.name+": Paid after SaveInvoiceState")
		requireDecimal(t, tt.due, got.Due, tt.name+": Due after SaveInvoiceState")
	}
	requireDecimal(t, dec("0.3"), get(t, s, 2).Amount, "0.1+0.2")
}

func testDates(t *testing.T, s billing.Store) {
	ctx := t.Context()
	inv := newInvoice(1)
	inv.IssueDate = billing.NewDate(2026, time.January, 1)
	inv.DueDate = billing.NewDate(2026, time.December, 31)
	inv.PaidDate = billing.Date{}
	create(t, s, inv)
	got := get(t, s, 1)
	require.Equal(t, inv.IssueDate, got.IssueDate)
	require.Equal(t, inv.DueDate, got.DueDate)
	require.True(t, got.PaidDate.IsZero(), "zero PaidDate came back as %s", got.PaidDate)

	inv.PaidDate = billing.NewDate(2028, time.February, 29)
	_, _, err := s.SaveInvoiceState(ctx, inv)
	require.NoError(t, err)
	got = get(t, s, 1)
	require.Equal(t, inv.IssueDate, got.IssueDate)
	require.Equal(t, inv.DueDate, got.DueDate)
	require.Equal(t, inv.PaidDate, got.PaidDate)

	// And back to no paid date (a payment removed at the provider).
	inv.PaidDate = billing.Date{}
	_, _, err = s.SaveInvoiceState(ctx, inv)
	require.NoError(t, err)
	require.True(t, get(t, s, 1).PaidDate.IsZero())
}

// ---- SaveInvoiceState ----

func testSaveInvoiceState(t *testing.T, s billing.Store) {
	ctx := t.Context()
	orig := newInvoice(1)
	orig.UpdateNeeded = true
	orig.UpdateRequestedAt = base()
	orig.UpdateAttempts = 2
	orig.UpdateError = "HTTP 503"
	create(t, s, orig)

	update := billing.Invoice{
		// Not provider-owned: must be ignored.
		Account:           billing.OrganisationAccount(accountID(99)),
		Number:            number(99),
		UpdateNeeded:      false,
		UpdateRequestedAt: base().Add(time.Hour),
		UpdateAttempts:    0,
		UpdateError:       "",
		SetAside:          true,
		// Provider-owned.
		ProviderID: orig.ProviderID,
		Reference:  "Membership 2026",
		Status:     billing.StatusPaid,
		Currency:   "AUD",
		IssueDate:  billing.NewDate(2026, time.January, 3),
		DueDate:    billing.NewDate(2026, time.February, 3),
		PaidDate:   billing.NewDate(2026, time.January, 20),
		Amount:     dec("120.50"),
		Paid:       dec("120.50"),
		Due:        dec("0.00"),
	}
	want := orig
	want.Reference = update.Reference
	want.Status = update.Status
	want.Currency = update.Currency
	want.IssueDate = update.IssueDate
	want.DueDate = update.DueDate
	want.PaidDate = update.PaidDate
	want.Amount = update.Amount
	want.Paid = update.Paid
	want.Due = update.Due

	before, after, err := s.SaveInvoiceState(ctx, update)
	require.NoError(t, err)
	requireInvoice(t, orig, before)
	requireInvoice(t, want, after)
	requireInvoice(t, want, get(t, s, 1))
	_, err = s.InvoiceByNumber(ctx, number(99))
	require.ErrorIs(t, err, billing.ErrNotFound)

	// A second save sees the first one's result as before.
	update.Status = billing.StatusAuthorised
	before, after, err = s.SaveInvoiceState(ctx, update)
	require.NoError(t, err)
	requireInvoice(t, want, before)
	want.Status = billing.StatusAuthorised
	requireInvoice(t, want, after)
}

func testSaveInvoiceStateNotFound(t *testing.T, s billing.Store) {
	ctx := t.Context()
	_, _, err := s.SaveInvoiceState(ctx, newInvoice(1))
	require.ErrorIs(t, err, billing.ErrNotFound)

	noID := newInvoice(1)
	noID.ProviderID = ""
	create(t, s, noID)
	_, _, err = s.SaveInvoiceState(ctx, noID)
	require.ErrorIs(t, err, billing.ErrNotFound, "an empty provider id matches nothing")
	requireInvoice(t, noID, get(t, s, 1))
}

// ---- MarkUpdateNeeded ----

func testMarkSetsFields(t *testing.T, s billing.Store) {
	createN(t, s, 3)
	at := base()
	require.Equal(t, 2, mark(t, s, at, providerID(1), providerID(2)))
	requireMarked(t, get(t, s, 1), at)
	requireMarked(t, get(t, s, 2), at)
	requireInvoice(t, newInvoice(3), get(t, s, 3))
}

func testMarkCounts(t *testing.T, s billing.Store) {
	createN(t, s, 2)
	noID := newInvoice(3)
	noID.ProviderID = ""
	create(t, s, noID)

	require.Equal(t, 0, mark(t, s, base(), nil...), "no ids")
	require.Equal(t, 0, mark(t, s, base(), providerID(9), ""), "unknown ids")
	require.False(t, get(t, s, 3).UpdateNeeded, "\"\" marked the invoice without a provider id")
	require.Equal(t, 1, mark(t, s, base(), providerID(9), providerID(1)), "one known id")
	require.Equal(t, 1, mark(t, s, base().Add(time.Second), providerID(2), providerID(2)), "an id given twice is one invoice")
	require.Equal(t, 2, mark(t, s, base().Add(time.Minute), providerID(1), providerID(2)))
	requireMarked(t, get(t, s, 1), base().Add(time.Minute))
	requireMarked(t, get(t, s, 2), base().Add(time.Minute))
}

func testMarkTokenIncreases(t *testing.T, s billing.Store) {
	createN(t, s, 2)
	at := base()
	mark(t, s, at, providerID(1))
	requireTime(t, at, get(t, s, 1).UpdateRequestedAt, "first mark")

	mark(t, s, at, providerID(1))
	requireTime(t, at.Add(time.Microsecond), get(t, s, 1).UpdateRequestedAt, "same at")

	mark(t, s, at.Add(-time.Hour), providerID(1))
	requireTime(t, at.Add(2*time.Microsecond), get(t, s, 1).UpdateRequestedAt, "clock stepped back")

	// The rule is per invoice: a never-marked invoice takes at as given.
	mark(t, s, at, providerID(1), providerID(2))
	requireTime(t, at.Add(3*time.Microsecond), get(t, s, 1).UpdateRequestedAt, "marked with another invoice")
	requireTime(t, at, get(t, s, 2).UpdateRequestedAt, "first mark of the other invoice")

	mark(t, s, at.Add(time.Hour), providerID(1))
	requireTime(t, at.Add(time.Hour), get(t, s, 1).UpdateRequestedAt, "later at")
}

func testMarkMicroseconds(t *testing.T, s billing.Store) {
	createN(t, s, 2)
	at := base().Add(1500 * time.Nanosecond)
	mark(t, s, at, providerID(1))
	stored := get(t, s, 1).UpdateRequestedAt
	require.Zero(t, stored.Nanosecond()%1000, "UpdateRequestedAt %s has sub-microsecond digits", stored.Format(time.RFC3339Nano))
	require.LessOrEqual(t, stored.Sub(at).Abs(), time.Microsecond, "UpdateRequestedAt %s is not at %s", stored.Format(time.RFC3339Nano), at.Format(time.RFC3339Nano))

	// A time in another zone names the same instant.
	nz := time.FixedZone("NZDT", 13*60*60)
	mark(t, s, base().Add(time.Hour).In(nz), providerID(2))
	requireTime(t, base().Add(time.Hour), get(t, s, 2).UpdateRequestedAt, "time in another zone")

	// The claim's token compares equal to the stored value, so completing
	// clears the flag.
	claims := claim(t, s, base().Add(2*time.Hour), 1)
	require.Equal(t, []string{providerID(1)}, claimIDs(claims), "the oldest mark")
	c := claims[0]
	requireTime(t, stored, c.RequestedAt, "Claim.RequestedAt")
	require.True(t, complete(t, s, c), "CompleteUpdate with an unchanged token")
	require.False(t, get(t, s, 1).UpdateNeeded)
}

func testMarkResetsFailures(t *testing.T, s billing.Store) {
	createN(t, s, 1)
	now := base().Add(time.Hour)
	mark(t, s, base(), providerID(1))
	c := claimOne(t, s, now, providerID(1))
	inv := fail(t, s, c, "HTTP 500", 1)
	require.True(t, inv.SetAside)

	at := base().Add(time.Minute)
	require.Equal(t, 1, mark(t, s, at, providerID(1)))
	requireMarked(t, get(t, s, 1), at)
	claimOne(t, s, now, providerID(1))
}

func testMarkKeepsLease(t *testing.T, s billing.Store) {
	createN(t, s, 1)
	mark(t, s, base(), providerID(1))
	claimOne(t, s, base().Add(time.Minute), providerID(1)) // leased until +6m
	mark(t, s, base().Add(2*time.Minute), providerID(1))
	require.Empty(t, claim(t, s, base().Add(3*time.Minute), 10), "a mark ended a running lease")
	c := claimOne(t, s, base().Add(7*time.Minute), providerID(1))
	requireTime(t, base().Add(2*time.Minute), c.RequestedAt, "Claim.RequestedAt")
}

// ---- ClaimUpdates ----

// markForOrder marks invoices 1..5 so the claim order is 2, 5, 1, 3 and
// invoice 4 is not marked.
func markForOrder(t *testing.T, s billing.Store) {
	t.Helper()
	createN(t, s, 5)
	mark(t, s, base().Add(3*time.Minute), providerID(3))
	mark(t, s, base().Add(2*time.Minute), providerID(1))
	mark(t, s, base().Add(time.Minute), providerID(5), providerID(2)) // tie: by Number
}

func testClaimOrder(t *testing.T, s billing.Store) {
	markForOrder(t, s)
	claims := claim(t, s, base().Add(time.Hour), 10)
	want := []billing.Claim{
		{ProviderID: providerID(2), Number: number(2), RequestedAt: base().Add(time.Minute)},
		{ProviderID: providerID(5), Number: number(5), RequestedAt: base().Add(time.Minute)},
		{ProviderID: providerID(1), Number: number(1), RequestedAt: base().Add(2 * time.Minute)},
		{ProviderID: providerID(3), Number: number(3), RequestedAt: base().Add(3 * time.Minute)},
	}
	require.Len(t, claims, len(want))
	for i, w := range want {
		got := claims[i]
		require.Equal(t, w.ProviderID, got.ProviderID, "claim %d", i)
		require.Equal(t, w.Number, got.Number, "claim %d", i)
		requireTime(t, w.RequestedAt, got.RequestedAt, fmt.Sprintf("claim %d RequestedAt", i))
		require.Zero(t, got.Attempts, "claim %d Attempts", i)
	}
}

func testClaimLimit(t *testing.T, s billing.Store) {
	markForOrder(t, s)
	now := base().Add(time.Hour)
	require.Equal(t, []string{providerID(2), providerID(5)}, claimIDs(claim(t, s, now, 2)))
	require.Equal(t, []string{providerID(1), providerID(3)}, claimIDs(claim(t, s, now, 2)))
	require.Empty(t, claim(t, s, now, 2))
}

func testClaimNonPositiveLimit(t *testing.T, s billing.Store) {
	markForOrder(t, s)
	now := base().Add(time.Hour)
	require.Empty(t, claim(t, s, now, 0))
	require.Empty(t, claim(t, s, now, -1))
	require.Len(t, claim(t, s, now, 10), 4, "a claim with no limit leased invoices")
}

// testClaimNonPositiveLease: a claim without a lease would not keep other
// callers out, so it is refused and leases nothing.
func testClaimNonPositiveLease(t *testing.T, s billing.Store) {
	markForOrder(t, s)
	now := base().Add(time.Hour)
	for _, l := range []time.Duration{0, -time.Minute} {
		claims, err := s.ClaimUpdates(t.Context(), now, 10, l)
		require.Error(t, err, "lease %s", l)
		require.Empty(t, claims, "lease %s", l)
	}
	require.Len(t, claim(t, s, now, 10), 4, "a refused claim leased invoices")
}

func testClaimSkips(t *testing.T, s billing.Store) {
	ctx := t.Context()
	marked := newInvoice(1)
	unmarked := newInvoice(2)
	setAside := newInvoice(3)
	setAside.UpdateNeeded = true
	setAside.UpdateRequestedAt = base().Add(-time.Hour)
	setAside.UpdateAttempts = 3
	setAside.UpdateError = "HTTP 500"
	setAside.SetAside = true
	noID := newInvoice(4)
	noID.ProviderID = ""
	noID.UpdateNeeded = true
	noID.UpdateRequestedAt = base().Add(-time.Hour)
	create(t, s, marked, unmarked, setAside, noID)
	mark(t, s, base(), providerID(1))

	claimOne(t, s, base().Add(time.Hour), providerID(1))

	aside, err := s.SetAsideInvoices(ctx)
	require.NoError(t, err)
	require.Len(t, aside, 1)
	requireInvoice(t, setAside, aside[0])
}

func testClaimLeases(t *testing.T, s billing.Store) {
	createN(t, s, 2)
	mark(t, s, base(), providerID(1), providerID(2))

	require.Equal(t, []string{providerID(1)}, claimIDs(claim(t, s, base().Add(time.Minute), 1)))    // 1 leased until +6m
	require.Equal(t, []string{providerID(2)}, claimIDs(claim(t, s, base().Add(2*time.Minute), 10))) // 2 leased until +7m
	require.Empty(t, claim(t, s, base().Add(3*time.Minute), 10), "both leases run")
	require.Equal(t, []string{providerID(1)}, claimIDs(claim(t, s, base().Add(6*time.Minute+30*time.Second), 10)), "lease 1 ended")
	require.Equal(t, []string{providerID(2)}, claimIDs(claim(t, s, base().Add(8*time.Minute), 10)), "lease 2 ended, lease 1 renewed")

	// An expired claim leaves the invoice as it was.
	requireMarked(t, get(t, s, 1), base())
}

func testClaimAttempts(t *testing.T, s billing.Store) {
	createN(t, s, 1)
	now := base().Add(time.Hour)
	mark(t, s, base(), providerID(1))
	c := claimOne(t, s, now, providerID(1))
	require.Zero(t, c.Attempts)
	fail(t, s, c, "HTTP 500", 5)
	c = claimOne(t, s, now, providerID(1))
	require.Equal(t, 1, c.Attempts)
	requireTime(t, base(), c.RequestedAt, "Claim.RequestedAt after a failure")
}

// ---- CompleteUpdate ----

func testCompleteClears(t *testing.T, s billing.Store) {
	createN(t, s, 2)
	now := base().Add(time.Hour)
	mark(t, s, base(), providerID(1), providerID(2))
	claims := claim(t, s, now, 10)
	require.Len(t, claims, 2)
	fail(t, s, claims[0], "HTTP 500", 0)
	c := claimOne(t, s, now, providerID(1))

	require.True(t, complete(t, s, c))
	inv := get(t, s, 1)
	require.False(t, inv.UpdateNeeded, "UpdateNeeded")
	require.Zero(t, inv.UpdateAttempts, "UpdateAttempts")
	require.Empty(t, inv.UpdateError, "UpdateError")
	require.False(t, inv.SetAside, "SetAside")

	// Completing one claim leaves the other invoice alone.
	requireMarked(t, get(t, s, 2), base())
	claimOne(t, s, now.Add(time.Hour), providerID(2))
}

// testCompleteAfterMark is the central invariant: a webhook that marks an
// invoice while its fetch runs is not lost when the fetch completes.
func testCompleteAfterMark(t *testing.T, s billing.Store) {
	createN(t, s, 1)
	now := base().Add(time.Hour)
	mark(t, s, base(), providerID(1))
	c := claimOne(t, s, now, providerID(1))

	// A mark with the same at still changes the token.
	mark(t, s, base(), providerID(1))
	require.False(t, complete(t, s, c), "CompleteUpdate cleared a flag marked after the claim")
	requireMarked(t, get(t, s, 1), base().Add(time.Microsecond))

	// The lease ended, so the new mark is claimable at once.
	c = claimOne(t, s, now, providerID(1))
	requireTime(t, base().Add(time.Microsecond), c.RequestedAt, "Claim.RequestedAt")
	mark(t, s, base().Add(time.Minute), providerID(1))
	require.False(t, complete(t, s, c), "CompleteUpdate cleared a flag marked after the claim")
	requireMarked(t, get(t, s, 1), base().Add(time.Minute))

	c = claimOne(t, s, now, providerID(1))
	require.True(t, complete(t, s, c))
	require.False(t, get(t, s, 1).UpdateNeeded)
}

func testCompleteNotFound(t *testing.T, s billing.Store) {
	_, err := s.CompleteUpdate(t.Context(), billing.Claim{ProviderID: providerID(1), Number: number(1), RequestedAt: base()})
	require.ErrorIs(t, err, billing.ErrNotFound)
}

// ---- FailUpdate ----

func testFailRecords(t *testing.T, s billing.Store) {
	ctx := t.Context()
	createN(t, s, 1)
	now := base().Add(time.Hour)
	mark(t, s, base(), providerID(1))

	for attempt, reason := range []string{"HTTP 500", "timeout", "HTTP 502"} {
		c := claimOne(t, s, now, providerID(1)) // the previous failure ended the lease
		inv := fail(t, s, c, reason, 3)
		require.True(t, inv.UpdateNeeded, "UpdateNeeded")
		require.Equal(t, attempt+1, inv.UpdateAttempts, "UpdateAttempts")
		require.Equal(t, reason, inv.UpdateError, "UpdateError")
		require.Equal(t, attempt+1 == 3, inv.SetAside, "SetAside after %d failures", attempt+1)
		requireTime(t, base(), inv.UpdateRequestedAt, "UpdateRequestedAt")
		requireInvoice(t, inv, get(t, s, 1))
	}

	require.Empty(t, claim(t, s, now.Add(time.Hour), 10), "a set-aside invoice was claimed")
	aside, err := s.SetAsideInvoices(ctx)
	require.NoError(t, err)
	require.Len(t, aside, 1)
	requireInvoice(t, get(t, s, 1), aside[0])

	// A new mark brings it back.
	mark(t, s, base().Add(time.Minute), providerID(1))
	requireMarked(t, get(t, s, 1), base().Add(time.Minute))
	aside, err = s.SetAsideInvoices(ctx)
	require.NoError(t, err)
	require.Empty(t, aside)
	claimOne(t, s, now, providerID(1))
}

func testFailNoMaxAttempts(t *testing.T, s billing.Store) {
	createN(t, s, 2)
	now := base().Add(time.Hour)
	mark(t, s, base(), providerID(1), providerID(2))
	for i := range 4 {
		claims := claim(t, s, now, 10)
		require.Len(t, claims, 2, "round %d", i)
		a := fail(t, s, claims[0], "HTTP 500", 0)
		b := fail(t, s, claims[1], "HTTP 500", -1)
		require.Equal(t, i+1, a.UpdateAttempts)
		require.Equal(t, i+1, b.UpdateAttempts)
		require.False(t, a.SetAside, "maxAttempts 0 set the invoice aside")
		require.False(t, b.SetAside, "maxAttempts -1 set the invoice aside")
	}
}

func testFailAfterMark(t *testing.T, s billing.Store) {
	createN(t, s, 1)
	now := base().Add(time.Hour)
	mark(t, s, base(), providerID(1))
	c := claimOne(t, s, now, providerID(1))
	mark(t, s, base().Add(time.Minute), providerID(1))

	inv := fail(t, s, c, "HTTP 500", 1)
	requireMarked(t, inv, base().Add(time.Minute))
	requireInvoice(t, inv, get(t, s, 1))
	c = claimOne(t, s, now, providerID(1)) // the lease ended
	requireTime(t, base().Add(time.Minute), c.RequestedAt, "Claim.RequestedAt")
	require.Zero(t, c.Attempts)
}

func testFailNotFound(t *testing.T, s billing.Store) {
	_, err := s.FailUpdate(t.Context(), billing.Claim{ProviderID: providerID(1), Number: number(1), RequestedAt: base()}, "HTTP 500", 3)
	require.ErrorIs(t, err, billing.ErrNotFound)
}

// ---- SetAsideInvoices ----

func testSetAsideOrder(t *testing.T, s billing.Store) {
	ctx := t.Context()
	aside, err := s.SetAsideInvoices(ctx)
	require.NoError(t, err)
	require.Empty(t, aside)

	createN(t, s, 4)
	mark(t, s, base().Add(2*time.Minute), providerID(2))
	mark(t, s, base(), providerID(3))
	mark(t, s, base().Add(time.Minute), providerID(1))
	mark(t, s, base(), providerID(4)) // stays marked, not set aside
	now := base().Add(time.Hour)
	for _, c := range claim(t, s, now, 10) {
		if c.ProviderID != providerID(4) {
			fail(t, s, c, "HTTP 500", 1)
		}
	}

	aside, err = s.SetAsideInvoices(ctx)
	require.NoError(t, err)
	var numbers []string
	for _, inv := range aside {
		require.True(t, inv.SetAside)
		require.True(t, inv.UpdateNeeded)
		numbers = append(numbers, inv.Number)
	}
	require.Equal(t, []string{number(3), number(1), number(2)}, numbers)
}

// ---- ReleaseClaims ----

func testReleaseClaims(t *testing.T, s billing.Store) {
	ctx := t.Context()
	createN(t, s, 2)
	now := base().Add(time.Hour)
	mark(t, s, base(), providerID(1), providerID(2))
	claims := claim(t, s, now, 10)
	require.Len(t, claims, 2)

	require.NoError(t, s.ReleaseClaims(ctx, claims))
	requireMarked(t, get(t, s, 1), base())
	requireMarked(t, get(t, s, 2), base())
	again := claim(t, s, now, 10)
	require.Equal(t, claimIDs(claims), claimIDs(again))

	require.NoError(t, s.ReleaseClaims(ctx, nil))
}

// ---- concurrency ----

func testConcurrentClaims(t *testing.T, s billing.Store) {
	ctx := t.Context()
	const invoices, workers = 40, 4
	var ids []string
	for _, inv := range createN(t, s, invoices) {
		ids = append(ids, inv.ProviderID)
	}
	require.Equal(t, invoices, mark(t, s, base(), ids...))

	now := base().Add(time.Hour)
	got := make([][]string, workers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			<-start
			for range invoices + 1 {
				claims, err := s.ClaimUpdates(ctx, now, 3, lease)
				if !assert.NoError(t, err, "ClaimUpdates") || len(claims) == 0 {
					return
				}
				got[w] = append(got[w], claimIDs(claims)...)
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
		require.Equal(t, 1, n, "invoice %s claimed %d times", id, n)
	}
	require.ElementsMatch(t, ids, all)
}

// testNoLostMarks races marks against claims and completes, then checks
// that every invoice whose latest mark was not cleared by a completed claim
// with that same token is still flagged.
func testNoLostMarks(t *testing.T, s billing.Store) {
	ctx := t.Context()
	const invoices, markers, marksEach, workers = 10, 2, 25, 2
	var ids []string
	for _, inv := range createN(t, s, invoices) {
		ids = append(ids, inv.ProviderID)
	}
	mark(t, s, base(), ids...)

	now := base().Add(time.Hour)
	var (
		mu      sync.Mutex
		cleared = make(map[string]time.Time) // latest token a completion cleared
	)
	const maxRounds = 10 * (invoices + markers*marksEach)
	var markersDone atomic.Bool
	var rounds atomic.Int64
	start := make(chan struct{})
	var markersWG, workersWG sync.WaitGroup
	for m := range markers {
		markersWG.Go(func() {
			<-start
			for i := range marksEach {
				id := ids[(m*7+i*3)%invoices]
				at := base().Add(time.Duration(i) * time.Microsecond)
				if _, err := s.MarkUpdateNeeded(ctx, []string{id}, at); !assert.NoError(t, err, "MarkUpdateNeeded") {
					return
				}
			}
		})
	}
	for range workers {
		workersWG.Go(func() {
			<-start
			for {
				done := markersDone.Load()
				claims, err := s.ClaimUpdates(ctx, now, 4, lease)
				if !assert.NoError(t, err, "ClaimUpdates") {
					return
				}
				if len(claims) == 0 {
					if done {
						return
					}
					runtime.Gosched()
					continue
				}
				// Each claim is cleared or was marked again, so a store
				// that works runs out of claims long before this.
				if rounds.Add(1) > maxRounds {
					assert.Fail(t, "claims never run out: completed claims are claimed again")
					return
				}
				for _, c := range claims {
					ok, err := s.CompleteUpdate(ctx, c)
					if !assert.NoError(t, err, "CompleteUpdate") {
						return
					}
					if ok {
						mu.Lock()
						if c.RequestedAt.After(cleared[c.ProviderID]) {
							cleared[c.ProviderID] = c.RequestedAt
						}
						mu.Unlock()
					}
				}
			}
		})
	}
	close(start)
	markersWG.Wait()
	markersDone.Store(true)
	workersWG.Wait()
	if t.Failed() {
		return
	}

	for n := 1; n <= invoices; n++ {
		inv := get(t, s, n)
		last, ok := cleared[inv.ProviderID]
		if ok && inv.UpdateRequestedAt.Equal(last) {
			require.False(t, inv.UpdateNeeded, "%s: cleared by a completion but still flagged", inv.Number)
			continue
		}
		require.True(t, inv.UpdateNeeded, "%s: mark at %s was lost", inv.Number, inv.UpdateRequestedAt.Format(time.RFC3339Nano))
	}
}

func testCountMarked(t *testing.T, s billing.Store) {
	ctx := context.Background()
	n, oldest, err := s.CountMarked(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.True(t, oldest.IsZero(), "no mark, no oldest")

	invs := createN(t, s, 4)
	mark(t, s, base().Add(2*time.Second), invs[0].ProviderID)
	mark(t, s, base().Add(time.Second+time.Microsecond), invs[1].ProviderID)
	mark(t, s, base(), invs[2].ProviderID)
	claims, err := s.ClaimUpdates(ctx, base().Add(time.Hour), 1, time.Minute) // the oldest mark
	require.NoError(t, err)
	require.Len(t, claims, 1)
	require.Equal(t, invs[2].ProviderID, claims[0].ProviderID)
	fail(t, s, claims[0], "refused", 1)                                  // set aside: not counted
	_, err = s.ClaimUpdates(ctx, base().Add(time.Hour), 10, time.Minute) // leased ones still count
	require.NoError(t, err)

	n, oldest, err = s.CountMarked(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	requireTime(t, base().Add(time.Second+time.Microsecond), oldest, "oldest mark")
}
