package xero_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/xero"
)

const memberID = "5b1c9e2a-7d3f-4e60-8a14-c2f0b9d6e371"

// creationRig is the Xero service on the emulator with a member linked,
// retries off (so a lost answer surfaces) and a recording hook.
type creationRig struct {
	svc   *mock.XeroBillingService
	store *mock.Store
	emu   *emulator.Emulator

	mu      sync.Mutex
	changes []billing.InvoiceChange
	clock   time.Time
}

func newCreationRig(t *testing.T) *creationRig {
	t.Helper()
	r := &creationRig{store: mock.NewStore(), clock: time.Now()}
	hook := func(_ context.Context, c billing.InvoiceChange) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.changes = append(r.changes, c)
		return nil
	}
	svc, err := mock.NewXeroBillingService(r.store,
		mock.WithClientOptions(xero.WithRetries(1, 0)),
		mock.WithServiceOptions(xero.WithInvoiceHook(hook), xero.WithCreationTiming(r.now, time.Minute, time.Minute)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = svc.Close() })
	r.svc, r.emu = svc, svc.Emulator()
	require.NoError(t, svc.UpdateUserBillingDetails(t.Context(), billing.User{ID: memberID, Name: "Mae Jemison"}))
	return r
}

func (r *creationRig) now() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.clock
}

func (r *creationRig) advance(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clock = r.clock.Add(d)
}

func (r *creationRig) puts() int {
	n := 0
	for _, q := range r.emu.Requests() {
		if q.Method == http.MethodPut && strings.HasSuffix(q.Path, "/Invoices") {
			n++
		}
	}
	return n
}

func renewal(ref string) billing.CreateInvoiceParams {
	return billing.CreateInvoiceParams{
		Account:   billing.UserAccount(memberID),
		Date:      billing.NewDate(2026, 12, 1),
		DueDate:   billing.NewDate(2026, 12, 15),
		Reference: ref,
		LineItems: []billing.LineItem{{Description: "Annual membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.RequireFromString("120.00")}},
	}
}

// loseAnswer makes the next PUT /Invoices apply in Xero and never answer.
func (r *creationRig) loseAnswer() {
	r.emu.InjectFault(emulator.Fault{Path: emulator.APIPath + "/Invoices", DropResponse: true})
}

func TestCreationAnswerLostIsResolvedNotRepeated(t *testing.T) {
	tests := []struct {
		name   string
		before func(r *creationRig)
	}{
		{"retried at once", func(*creationRig) {}},
		// Past the key window the resend is not trusted to Xero's memory:
		// the invoice is found by its contact, reference, dates and lines.
		{"retried after the key window", func(r *creationRig) { r.advance(time.Hour) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newCreationRig(t)
			ctx := t.Context()
			r.loseAnswer()
			_, err := r.svc.CreateInvoice(ctx, renewal("Membership 2027"))
			require.ErrorIs(t, err, billing.ErrCreationPending)
			assert.True(t, billing.IsTemporary(err), "an app's natural retry is right")
			require.Len(t, r.emu.Invoices(), 1, "Xero made it")
			assert.Empty(t, r.store.Invoices(), "the app does not know it yet")
			pending, err := r.store.PendingCreations(ctx)
			require.NoError(t, err)
			require.Len(t, pending, 1)

			tt.before(r)
			inv, err := r.svc.CreateInvoice(ctx, renewal("Membership 2027"))
			require.NoError(t, err)
			assert.Len(t, r.emu.Invoices(), 1, "billed once")
			assert.Equal(t, 1, r.puts(), "resolved by finding it, not by sending again")
			assert.Equal(t, r.emu.Invoices()[0].InvoiceID, inv.ProviderID)
			assert.Len(t, r.store.Invoices(), 1)
			pending, err = r.store.PendingCreations(ctx)
			require.NoError(t, err)
			assert.Empty(t, pending)

			again, err := r.svc.CreateInvoice(ctx, renewal("Membership 2027"))
			require.NoError(t, err)
			assert.Equal(t, inv, again, "the same logical invoice, asked a third time")
			assert.Equal(t, 1, r.puts())
		})
	}
}

// The member paid while the app did not know the invoice: the recovered row
// carries Xero's current state, and the hook hears the payment.
func TestCreationRecoveredAfterPaymentCarriesCurrentState(t *testing.T) {
	r := newCreationRig(t)
	ctx := t.Context()
	r.loseAnswer()
	_, err := r.svc.CreateInvoice(ctx, renewal("Membership 2027"))
	require.ErrorIs(t, err, billing.ErrCreationPending)
	x := r.emu.Invoices()[0]
	require.NoError(t, r.emu.PayInvoice(ctx, x.InvoiceID, x.AmountDue, billing.NewDate(2026, 12, 2)))

	res, err := r.svc.ResolveCreations(ctx)
	require.NoError(t, err)
	require.Len(t, res.Resolved, 1)
	assert.Empty(t, res.Pending)
	inv := res.Resolved[0]
	assert.Equal(t, billing.StatusPaid, inv.Status)
	assert.True(t, inv.Due.IsZero())
	require.Len(t, r.changes, 1, "the payment made meanwhile reaches the app")
	assert.True(t, r.changes[0].BecamePaid())
	assert.NotEmpty(t, r.changes[0].EventID)
	assert.Equal(t, 1, r.puts())
}

// Xero refused before making anything: nothing stays pending, and the
// retry is a fresh creation.
func TestCreationXeroCertainlyHasNoneIsSent(t *testing.T) {
	r := newCreationRig(t)
	ctx := t.Context()
	r.emu.InjectFault(emulator.Fault{Path: emulator.APIPath + "/Invoices", Status: http.StatusServiceUnavailable})
	_, err := r.svc.CreateInvoice(ctx, renewal("Membership 2027"))
	require.ErrorIs(t, err, billing.ErrCreationPending, "a 503 may or may not have applied")
	assert.Empty(t, r.emu.Invoices())

	inv, err := r.svc.CreateInvoice(ctx, renewal("Membership 2027"))
	require.NoError(t, err)
	assert.Len(t, r.emu.Invoices(), 1)
	assert.Equal(t, 2, r.puts(), "searched, found none, sent")
	assert.Equal(t, billing.StatusAuthorised, inv.Status)
}

func TestCreationRefusedIsDropped(t *testing.T) {
	r := newCreationRig(t)
	ctx := t.Context()
	p := renewal("Membership 2027")
	p.LineItems[0].AccountCode = "999" // not in the chart of accounts
	_, err := r.svc.CreateInvoice(ctx, p)
	var ae *xero.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusBadRequest, ae.StatusCode)
	assert.NotErrorIs(t, err, billing.ErrCreationPending)
	pending, err := r.store.PendingCreations(ctx)
	require.NoError(t, err)
	assert.Empty(t, pending, "Xero refused: nothing to resolve")

	p.LineItems[0].AccountCode = ""
	_, err = r.svc.CreateInvoice(ctx, p)
	require.NoError(t, err, "the corrected invoice goes through")
	assert.Len(t, r.emu.Invoices(), 1)
}

// Two invoices in Xero match a pending creation: an error naming both,
// never a guess.
func TestCreationAmbiguityNamesBoth(t *testing.T) {
	r := newCreationRig(t)
	ctx := t.Context()
	r.loseAnswer()
	_, err := r.svc.CreateInvoice(ctx, renewal("Membership 2027"))
	require.ErrorIs(t, err, billing.ErrCreationPending)
	// Someone made the same invoice by hand in Xero.
	x := r.emu.Invoices()[0]
	dup := emulatorCopy(t, r, x)

	_, err = r.svc.CreateInvoice(ctx, renewal("Membership 2027"))
	require.ErrorIs(t, err, billing.ErrConflict)
	require.ErrorIs(t, err, billing.ErrCreationPending)
	assert.Contains(t, err.Error(), x.InvoiceNumber)
	assert.Contains(t, err.Error(), dup)
	assert.Len(t, r.emu.Invoices(), 2, "nothing more was created")
}

// emulatorCopy creates, straight in Xero, a second invoice like x, and
// returns its number.
func emulatorCopy(t *testing.T, r *creationRig, x emulator.Invoice) string {
	t.Helper()
	c, err := xero.NewClient(xero.Config{
		ClientID: r.emu.ClientID(), ClientSecret: billing.NewSecret(r.emu.ClientSecret()), TenantID: r.emu.TenantID(),
		APIURL: mock.XeroEmulatorURL + emulator.APIPath, TokenURL: mock.XeroEmulatorURL + emulator.TokenPath,
	}, xero.WithHTTPClient(r.emu.Client()))
	require.NoError(t, err)
	inv := xero.Invoice{Type: xero.InvoiceTypeSales, Contact: xero.Contact{ContactID: x.ContactID}, Date: x.Date, DueDate: x.DueDate,
		Status: billing.StatusAuthorised, Reference: x.Reference, LineAmountTypes: x.LineAmountTypes}
	for _, li := range x.LineItems {
		inv.LineItems = append(inv.LineItems, xero.LineItem{Description: li.Description, Quantity: li.Quantity, UnitAmount: li.UnitAmount, AccountCode: li.AccountCode})
	}
	made, err := c.CreateInvoice(t.Context(), inv, "")
	require.NoError(t, err)
	return made.InvoiceNumber
}
