package xero_test

import (
	"fmt"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/xero"
)

// newRetryingBulkService is newBulkService with the client's default 3
// attempts a call (a millisecond's backoff), as a real run has them.
func newRetryingBulkService(t *testing.T, cfg xero.Config) (*mock.XeroBillingService, *mock.Store) {
	t.Helper()
	store := mock.NewStore()
	svc, err := mock.NewXeroBillingService(store, mock.WithEmulatorOptions(emulator.Options{DisableRateLimit: true}),
		mock.WithXeroConfig(cfg),
		mock.WithClientOptions(xero.WithRetries(3, time.Millisecond),
			xero.WithLimiter(ratelimit.NewLocal(ratelimit.Options{PerMinute: 1 << 20, PerDay: 1 << 20}))))
	require.NoError(t, err)
	t.Cleanup(func() { _ = svc.Close() })
	return svc, store
}

// goAway makes every API request fail with a 503 once p reports done
// records, as Xero going away does.
func goAway(emu *emulator.Emulator, done int) func(billing.Progress) {
	gone := false
	return func(p billing.Progress) {
		if p.Done >= done && !gone {
			gone = true
			emu.InjectFault(emulator.Fault{Path: emulator.APIPath, Status: http.StatusServiceUnavailable, Count: 1 << 20})
		}
	}
}

// Xero goes away after 60 of 100 emails: the run stops after 3 emails in a
// row failed (not 40), the other 37 are not attempted, and a rerun once
// Xero is back emails those 40 and nobody twice.
func TestBulkEmailStopsWhenXeroGoesAway(t *testing.T) {
	const n, before = 100, 60
	svc, _ := newRetryingBulkService(t, xero.Config{EmailInvoices: true})
	emu := svc.Emulator()
	ctx := t.Context()
	_, err := svc.SyncContacts(ctx, bulkDetails(n, func(i int) string { return fmt.Sprintf("m%d@example.com", i) }), billing.BulkOptions{})
	require.NoError(t, err)
	created, err := svc.CreateInvoices(ctx, bulkInvoices(n, "Renewal 2027"), billing.BulkOptions{})
	require.NoError(t, err)
	invs := make([]billing.Invoice, n)
	for i, r := range created {
		require.Equal(t, billing.Created, r.Outcome, r.Err)
		invs[i] = r.Invoice
	}

	calls := emu.APICalls()
	res, err := svc.EmailInvoices(ctx, invs, billing.BulkOptions{Progress: goAway(emu, before)})
	require.ErrorIs(t, err, billing.ErrUnreachable)
	var ue *billing.UnreachableError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, billing.DefaultMaxTemporaryFailures, ue.Failures)
	assert.True(t, billing.IsTemporary(err))
	got := outcomes(res, func(r billing.EmailResult) billing.Outcome { return r.Outcome })
	assert.Equal(t, map[billing.Outcome]int{billing.Emailed: before, billing.Failed: 3, billing.NotAttempted: n - before - 3}, got)
	for _, r := range res[before+3:] {
		assert.ErrorIs(t, r.Err, billing.ErrNotAttempted)
		assert.ErrorIs(t, r.Err, billing.ErrUnreachable)
		assert.False(t, r.Outcome.Done(), "a rerun does it")
	}
	spent := emu.APICalls() - calls
	t.Logf("emails: %d sent, then Xero gone: %d calls in all (%d for the 3 failed emails, 3 attempts each); %d not attempted",
		before, spent, spent-before, n-before-3)
	assert.Equal(t, before+3*3, spent, "60 emails, then 3 failed emails of 3 attempts each, then none")
	assert.Len(t, emu.Emails(), before)

	emu.ClearFaults()
	calls = emu.APICalls()
	res, err = svc.EmailInvoices(ctx, invs, billing.BulkOptions{})
	require.NoError(t, err)
	got = outcomes(res, func(r billing.EmailResult) billing.Outcome { return r.Outcome })
	assert.Equal(t, map[billing.Outcome]int{billing.AlreadyEmailed: before, billing.Emailed: n - before}, got)
	assert.Equal(t, n-before, emu.APICalls()-calls, "only the 40 not emailed")
	per := map[string]int{}
	for _, e := range emu.Emails() {
		per[e.InvoiceID]++
	}
	assert.Len(t, per, n, "everyone emailed")
	for id, k := range per {
		assert.Equal(t, 1, k, "invoice %s emailed %d times", id, k)
	}
}

// Xero goes away after the first of 5 batches: 3 batches fail (their
// invoices pending: Xero may have made them), the last is not attempted,
// and the rerun bills everyone once.
func TestBulkCreateStopsWhenXeroGoesAway(t *testing.T) {
	const n = 250
	svc, store := newRetryingBulkService(t, xero.Config{})
	emu := svc.Emulator()
	ctx := t.Context()
	_, err := svc.SyncContacts(ctx, bulkDetails(n, func(int) string { return "" }), billing.BulkOptions{})
	require.NoError(t, err)

	calls := emu.APICalls()
	res, err := svc.CreateInvoices(ctx, bulkInvoices(n, "Renewal 2027"), billing.BulkOptions{Progress: goAway(emu, 50)})
	require.ErrorIs(t, err, billing.ErrUnreachable)
	got := outcomes(res, func(r billing.CreateResult) billing.Outcome { return r.Outcome })
	assert.Equal(t, map[billing.Outcome]int{billing.Created: 50, billing.Pending: 150, billing.NotAttempted: 50}, got)
	spent := emu.APICalls() - calls
	t.Logf("1 batch made, then Xero gone: %d calls in all", spent)
	assert.Equal(t, 1+3*3, spent, "the batch made, then 3 failed batches of 3 attempts each")
	assert.Len(t, emu.Invoices(), 50)

	emu.ClearFaults()
	res, err = svc.CreateInvoices(ctx, bulkInvoices(n, "Renewal 2027"), billing.BulkOptions{})
	require.NoError(t, err)
	got = outcomes(res, func(r billing.CreateResult) billing.Outcome { return r.Outcome })
	assert.Equal(t, map[billing.Outcome]int{billing.Existing: 50, billing.Created: 200}, got)
	assert.Len(t, emu.Invoices(), n, "everyone billed once")
	assert.Len(t, store.Invoices(), n)
}

// The same for contacts, with the streak shortened to 2.
func TestBulkSyncStopsWhenXeroGoesAway(t *testing.T) {
	const n = 250
	svc, store := newRetryingBulkService(t, xero.Config{})
	emu := svc.Emulator()
	ctx := t.Context()
	details := bulkDetails(n, func(int) string { return "" })
	calls := emu.APICalls()
	res, err := svc.SyncContacts(ctx, details, billing.BulkOptions{Progress: goAway(emu, 50), MaxTemporaryFailures: 2})
	require.ErrorIs(t, err, billing.ErrUnreachable)
	got := outcomes(res, func(r billing.SyncResult) billing.Outcome { return r.Outcome })
	assert.Equal(t, map[billing.Outcome]int{billing.Created: 50, billing.Failed: 100, billing.NotAttempted: 100}, got)
	assert.Equal(t, 1+2*3, emu.APICalls()-calls)

	emu.ClearFaults()
	res, err = svc.SyncContacts(ctx, details, billing.BulkOptions{})
	require.NoError(t, err)
	got = outcomes(res, func(r billing.SyncResult) billing.Outcome { return r.Outcome })
	assert.Equal(t, map[billing.Outcome]int{billing.Unchanged: 50, billing.Created: 200}, got)
	assert.Len(t, emu.Contacts(), n, "one contact each")
	assert.Len(t, store.ContactLinks(), n)
}

// A record Xero refuses is an answer, not an outage: refusals in a row
// never stop the run.
func TestBulkRefusalsDoNotStop(t *testing.T) {
	svc, _ := newRetryingBulkService(t, xero.Config{EmailInvoices: true, EmailWhitelist: regexp.MustCompile(`@example\.com$`)})
	emu := svc.Emulator()
	ctx := t.Context()
	_, err := svc.SyncContacts(ctx, bulkDetails(6, func(int) string { return "m@example.com" }), billing.BulkOptions{})
	require.NoError(t, err)
	created, err := svc.CreateInvoices(ctx, bulkInvoices(6, "Renewal 2027"), billing.BulkOptions{})
	require.NoError(t, err)
	invs := make([]billing.Invoice, 6)
	for i, r := range created {
		invs[i] = r.Invoice
	}
	emu.InjectFault(emulator.Fault{Path: emulator.APIPath, Status: http.StatusBadRequest, Count: 4})
	res, err := svc.EmailInvoices(ctx, invs, billing.BulkOptions{MaxTemporaryFailures: 1})
	require.NoError(t, err)
	got := outcomes(res, func(r billing.EmailResult) billing.Outcome { return r.Outcome })
	assert.Equal(t, map[billing.Outcome]int{billing.Failed: 4, billing.Emailed: 2}, got)
}

// EmailInvoice sends when asked, emailed before or not (AMS's behaviour),
// and records each email, so a bulk run does not send it again.
func TestEmailInvoiceRecordsAndStillSends(t *testing.T) {
	svc, store := newRetryingBulkService(t, xero.Config{EmailInvoices: true})
	emu := svc.Emulator()
	ctx := t.Context()
	_, err := svc.SyncContacts(ctx, bulkDetails(2, func(i int) string { return fmt.Sprintf("m%d@example.com", i) }), billing.BulkOptions{})
	require.NoError(t, err)
	created, err := svc.CreateInvoices(ctx, bulkInvoices(2, "Renewal 2027"), billing.BulkOptions{})
	require.NoError(t, err)
	inv := created[0].Invoice

	require.NoError(t, svc.EmailInvoice(ctx, inv))
	sent, err := store.InvoiceEmails(ctx, []string{inv.ProviderID})
	require.NoError(t, err)
	require.Contains(t, sent, inv.ProviderID, "recorded after Xero's 204")
	require.NoError(t, svc.EmailInvoice(ctx, inv), "asked again, it sends again")
	assert.Len(t, emu.Emails(), 2)

	res, err := svc.EmailInvoices(ctx, []billing.Invoice{inv, created[1].Invoice}, billing.BulkOptions{})
	require.NoError(t, err)
	assert.Equal(t, billing.AlreadyEmailed, res[0].Outcome)
	assert.False(t, res[0].EmailedAt.IsZero())
	assert.Equal(t, billing.Emailed, res[1].Outcome)
	assert.Len(t, emu.Emails(), 3)

	// Refused by Xero: nothing recorded.
	emu.InjectFault(emulator.Fault{Path: emulator.APIPath, Status: http.StatusBadRequest})
	sent, err = store.InvoiceEmails(ctx, []string{created[1].Invoice.ProviderID})
	require.NoError(t, err)
	before := sent[created[1].Invoice.ProviderID]
	require.Error(t, svc.EmailInvoice(ctx, created[1].Invoice))
	sent, err = store.InvoiceEmails(ctx, []string{created[1].Invoice.ProviderID})
	require.NoError(t, err)
	assert.Equal(t, before, sent[created[1].Invoice.ProviderID], "a refused email is not recorded")
}
