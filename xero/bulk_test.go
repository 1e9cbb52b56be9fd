package xero_test

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/xero"
)

func bulkMember(i int) string { return fmt.Sprintf("7a000000-0000-4000-8000-%012d", i+1) }

func bulkDetails(n int, email func(int) string) []billing.BillingDetails {
	out := make([]billing.BillingDetails, n)
	for i := range out {
		out[i] = billing.BillingDetails{Account: billing.UserAccount(bulkMember(i)), Name: fmt.Sprintf("Member %d", i+1), Email: email(i)}
	}
	return out
}

func bulkInvoices(n int, ref string) []billing.CreateInvoiceParams {
	out := make([]billing.CreateInvoiceParams, n)
	for i := range out {
		out[i] = billing.CreateInvoiceParams{
			Account: billing.UserAccount(bulkMember(i)), Date: billing.NewDate(2026, 12, 1), DueDate: billing.NewDate(2026, 12, 31),
			Reference: ref,
			LineItems: []billing.LineItem{{Description: "Annual membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.RequireFromString("120.00")}},
		}
	}
	return out
}

func newBulkService(t *testing.T, emu emulator.Options, cfg xero.Config) (*mock.XeroBillingService, *mock.Store) {
	t.Helper()
	emu.DisableRateLimit = true
	store := mock.NewStore()
	svc, err := mock.NewXeroBillingService(store, mock.WithEmulatorOptions(emu), mock.WithXeroConfig(cfg),
		mock.WithClientOptions(xero.WithRetries(1, 0),
			xero.WithLimiter(ratelimit.NewLocal(ratelimit.Options{PerMinute: 1 << 20, PerDay: 1 << 20}))))
	require.NoError(t, err)
	t.Cleanup(func() { _ = svc.Close() })
	return svc, store
}

func outcomes[T any](rs []T, of func(T) billing.Outcome) map[billing.Outcome]int {
	out := map[billing.Outcome]int{}
	for _, r := range rs {
		out[of(r)]++
	}
	return out
}

// The renewal run at Xero's physical limit, counted from the emulator's
// log: 1,000 new contacts in 20 calls, a re-sync of the unchanged ones in
// none, 1,000 invoices in 20, a rerun in none, and emails one call each
// with the whitelist read from the store.
func TestBulkRenewalCallsPerThousand(t *testing.T) {
	const n = 1000
	cfg := xero.Config{EmailInvoices: true}
	cfg.EmailWhitelist = regexp.MustCompile(`@example\.com$`)
	svc, _ := newBulkService(t, emulator.Options{}, cfg)
	emu := svc.Emulator()
	ctx := t.Context()
	details := bulkDetails(n, func(i int) string { return fmt.Sprintf("m%d@example.com", i) })

	before := emu.APICalls()
	res, err := svc.SyncContacts(ctx, details, billing.BulkOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[billing.Outcome]int{billing.Created: n}, outcomes(res, func(r billing.SyncResult) billing.Outcome { return r.Outcome }))
	assert.Equal(t, 20, emu.APICalls()-before, "1,000 new contacts")
	assert.Equal(t, 20, emu.CallCounts()["PUT /Contacts"])

	before = emu.APICalls()
	res, err = svc.SyncContacts(ctx, details, billing.BulkOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[billing.Outcome]int{billing.Unchanged: n}, outcomes(res, func(r billing.SyncResult) billing.Outcome { return r.Outcome }))
	assert.Zero(t, emu.APICalls()-before, "1,000 unchanged re-syncs")

	details[7].Email = "new7@example.com"
	before = emu.APICalls()
	res, err = svc.SyncContacts(ctx, details, billing.BulkOptions{})
	require.NoError(t, err)
	assert.Equal(t, billing.Updated, res[7].Outcome)
	assert.Equal(t, 1, emu.APICalls()-before, "one changed contact, one call")

	before = emu.APICalls()
	created, err := svc.CreateInvoices(ctx, bulkInvoices(n, "Renewal 2027"), billing.BulkOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[billing.Outcome]int{billing.Created: n}, outcomes(created, func(r billing.CreateResult) billing.Outcome { return r.Outcome }))
	assert.Equal(t, 20, emu.APICalls()-before, "1,000 invoices")
	assert.Len(t, emu.Invoices(), n)

	before = emu.APICalls()
	again, err := svc.CreateInvoices(ctx, bulkInvoices(n, "Renewal 2027"), billing.BulkOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[billing.Outcome]int{billing.Existing: n}, outcomes(again, func(r billing.CreateResult) billing.Outcome { return r.Outcome }))
	assert.Zero(t, emu.APICalls()-before, "a rerun bills nobody and calls nothing")

	invs := make([]billing.Invoice, n)
	for i, r := range created {
		invs[i] = r.Invoice
	}
	before = emu.APICalls()
	emailed, err := svc.EmailInvoices(ctx, invs, billing.BulkOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[billing.Outcome]int{billing.Emailed: n}, outcomes(emailed, func(r billing.EmailResult) billing.Outcome { return r.Outcome }))
	assert.Equal(t, n, emu.APICalls()-before, "one email call each, no contact read")

	// Recorded: a rerun emails nobody, unless forced.
	before = emu.APICalls()
	emailed, err = svc.EmailInvoices(ctx, invs, billing.BulkOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[billing.Outcome]int{billing.AlreadyEmailed: n}, outcomes(emailed, func(r billing.EmailResult) billing.Outcome { return r.Outcome }))
	assert.Zero(t, emu.APICalls()-before, "a rerun emails nobody")
	emailed, err = svc.EmailInvoices(ctx, invs, billing.BulkOptions{ForceEmail: true})
	require.NoError(t, err)
	assert.Equal(t, map[billing.Outcome]int{billing.Emailed: n}, outcomes(emailed, func(r billing.EmailResult) billing.Outcome { return r.Outcome }))
	assert.Equal(t, n, emu.APICalls()-before, "ForceEmail sends again")
	assert.Len(t, emu.Emails(), 2*n)
}

// A batch whose answer is lost: its invoices stay pending, and the rerun
// finds them in Xero (one search for the batch) instead of billing again.
func TestBulkLostAnswerRerunBillsOnce(t *testing.T) {
	const n = 120
	svc, store := newBulkService(t, emulator.Options{}, xero.Config{})
	emu := svc.Emulator()
	ctx := t.Context()
	_, err := svc.SyncContacts(ctx, bulkDetails(n, func(int) string { return "" }), billing.BulkOptions{})
	require.NoError(t, err)

	// The second request of the run applies in Xero and loses its answer.
	injected := false
	lose := func(p billing.Progress) {
		if p.Calls == 1 && !injected {
			injected = true
			emu.InjectFault(emulator.Fault{Path: emulator.APIPath + "/Invoices", LoseAnswer: emulator.AnswerTimedOut})
		}
	}
	// One failed call is no outage: the run goes on with the last 20.
	res, err := svc.CreateInvoices(ctx, bulkInvoices(n, "Renewal 2027"), billing.BulkOptions{Progress: lose})
	require.NoError(t, err)
	got := outcomes(res, func(r billing.CreateResult) billing.Outcome { return r.Outcome })
	assert.Equal(t, map[billing.Outcome]int{billing.Created: 70, billing.Pending: 50}, got)
	for _, r := range res {
		if r.Outcome == billing.Pending {
			assert.ErrorIs(t, r.Err, billing.ErrCreationPending)
		}
	}
	assert.Len(t, emu.Invoices(), n, "Xero made the lost batch")

	before := emu.CallCounts()
	res, err = svc.CreateInvoices(ctx, bulkInvoices(n, "Renewal 2027"), billing.BulkOptions{})
	require.NoError(t, err)
	got = outcomes(res, func(r billing.CreateResult) billing.Outcome { return r.Outcome })
	assert.Equal(t, map[billing.Outcome]int{billing.Existing: 70, billing.Created: 50}, got)
	assert.Len(t, emu.Invoices(), n, "everyone billed once")
	after := emu.CallCounts()
	assert.Zero(t, after["PUT /Invoices"]-before["PUT /Invoices"], "nothing sent again")
	assert.LessOrEqual(t, after["GET /Invoices"]-before["GET /Invoices"], 2, "the lost 50 found with one or two searches")
	assert.Len(t, store.Invoices(), n)
}

// Per-record validation: a refused invoice fails alone; the others are made.
func TestBulkRefusedRecordFailsAlone(t *testing.T) {
	svc, _ := newBulkService(t, emulator.Options{}, xero.Config{})
	ctx := t.Context()
	_, err := svc.SyncContacts(ctx, bulkDetails(3, func(int) string { return "" }), billing.BulkOptions{})
	require.NoError(t, err)
	ps := bulkInvoices(3, "Renewal 2027")
	ps[1].LineItems[0].AccountCode = "999"
	res, err := svc.CreateInvoices(ctx, ps, billing.BulkOptions{})
	require.NoError(t, err)
	assert.Equal(t, billing.Created, res[0].Outcome)
	assert.Equal(t, billing.Failed, res[1].Outcome)
	assert.ErrorIs(t, res[1].Err, billing.ErrInvalidInvoice)
	assert.Contains(t, res[1].Err.Error(), "Account code '999' is not a valid code for this document.")
	assert.Equal(t, billing.Created, res[2].Outcome)
	assert.Len(t, svc.Emulator().Invoices(), 2)
}

func TestBulkProgressIsReported(t *testing.T) {
	svc, _ := newBulkService(t, emulator.Options{}, xero.Config{})
	var seen []billing.Progress
	_, err := svc.SyncContacts(t.Context(), bulkDetails(120, func(int) string { return "" }), billing.BulkOptions{
		Progress: func(p billing.Progress) { seen = append(seen, p) }})
	require.NoError(t, err)
	require.NotEmpty(t, seen)
	last := seen[len(seen)-1]
	assert.Equal(t, 120, last.Done)
	assert.Equal(t, 120, last.Total)
	assert.Equal(t, 3, last.Calls)
}
