package xero_test

import (
	"context"
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

// sweepCalls is the Accounting API calls made between two CallCounts.
func sweepCalls(before, after map[string]int) map[string]int {
	out := map[string]int{}
	for op, n := range after {
		if d := n - before[op]; d > 0 && op != "POST /connect/token" {
			out[op] = d
		}
	}
	return out
}

// An invoice the app made is paid in part and credited by hand in Xero,
// and part of the credit is refunded, with no webhook: the sweep stores the
// payment, the credit note and the refund, and the invoice's amounts paid,
// due and credited and its status are Xero's, whether the invoice's own
// record brings them (its modification is after the mark) or the money
// records do (it is not: the invoice is refreshed by id). A second sweep
// changes nothing, in one call a list.
func TestSweepBringsMoneyMadeByHand(t *testing.T) {
	tests := []struct {
		name string
		// markAhead puts the invoice mark after the invoice's last
		// modification, as for Xero's edits that do not count.
		markAhead    bool
		repaired     int
		firstInvoice int // GET /Invoices calls of the sweep with the money
	}{
		{name: "the invoice pages bring the invoice", repaired: 0, firstInvoice: 1},
		{name: "the money records bring the invoice", markAhead: true, repaired: 1, firstInvoice: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			store := mock.NewStore()
			svc, err := mock.NewXeroBillingService(store, mock.WithClientOptions(xero.WithRetries(1, 0)))
			require.NoError(t, err)
			t.Cleanup(func() { _ = svc.Close() })
			emu := svc.Emulator()
			const member = "0b6e3c52-8f0d-4c1a-9e27-5d4a3b2c1f00"
			require.NoError(t, svc.UpdateUserBillingDetails(ctx, billing.User{ID: member, Name: "Member One"}))
			inv, err := svc.CreateInvoice(ctx, billing.CreateInvoiceParams{Account: billing.UserAccount(member), Date: billing.NewDate(2026, 12, 1),
				DueDate: billing.NewDate(2026, 12, 15), Reference: "Membership 2027",
				LineItems: []billing.LineItem{{Description: "Annual membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.RequireFromString("120.00")}}})
			require.NoError(t, err)
			opts := billing.SweepOptions{Tenant: emu.TenantID()}
			_, err = billing.Sweep(ctx, svc, store, opts)
			require.NoError(t, err)

			// By hand in Xero: 50 paid, a credit note of 20 with 15 of it
			// allocated to the invoice and 5 refunded.
			paid, err := emu.RecordPayment(ctx, emulator.ManualPayment{InvoiceID: inv.ProviderID, Amount: decimal.RequireFromString("50.00"),
				Date: billing.NewDate(2026, 12, 3), Reference: "cash at the desk"})
			require.NoError(t, err)
			link, err := store.ContactLink(ctx, inv.Account)
			require.NoError(t, err)
			els, err := svc.Client().CreateCreditNotes(ctx, []xero.CreditNote{{Type: xero.CreditNoteTypeSales, Contact: xero.Contact{ContactID: link.ContactID},
				Date: billing.NewDate(2026, 12, 4), Status: billing.StatusAuthorised, LineAmountTypes: "Exclusive",
				LineItems: []xero.LineItem{{Description: "Goodwill", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.RequireFromString("20.00"), AccountCode: "200"}}}},
				"made-by-hand-in-xero")
			require.NoError(t, err)
			require.Len(t, els, 1)
			cnID := els[0].CreditNote.CreditNoteID
			_, err = emu.AllocateCreditNote(ctx, cnID, inv.ProviderID, decimal.RequireFromString("15.00"), billing.NewDate(2026, 12, 4))
			require.NoError(t, err)
			refund, err := emu.RecordPayment(ctx, emulator.ManualPayment{CreditNoteID: cnID, Amount: decimal.RequireFromString("5.00"),
				Date: billing.NewDate(2026, 12, 5), Reference: "refund"})
			require.NoError(t, err)
			if tt.markAhead {
				require.NoError(t, store.SetSweepMark(ctx, "modified:"+emu.TenantID(), time.Now().Add(time.Hour)))
			}

			before := emu.CallCounts()
			res, err := billing.Sweep(ctx, svc, store, opts)
			require.NoError(t, err)
			assert.True(t, res.InStep())
			assert.Equal(t, []string{inv.Number}, res.Changed)
			assert.Equal(t, tt.repaired, res.Repaired)
			assert.Equal(t, 1, res.CreditNotes.Changed)
			assert.Equal(t, 2, res.Payments.Changed, "the payment and the refund")
			calls := sweepCalls(before, emu.CallCounts())
			assert.Equal(t, map[string]int{"GET /Invoices": tt.firstInvoice, "GET /CreditNotes": 1, "GET /Payments": 1}, calls)
			t.Logf("the sweep that brought the money: %v", calls)

			x, ok := emu.Invoice(inv.ProviderID)
			require.True(t, ok)
			got, err := store.InvoiceByProviderID(ctx, inv.ProviderID)
			require.NoError(t, err)
			assert.Equal(t, x.Status, got.Status)
			for name, pair := range map[string][2]decimal.Decimal{"paid": {x.AmountPaid, got.Paid}, "due": {x.AmountDue, got.Due}, "credited": {x.AmountCredited, got.Credited}} {
				assert.True(t, pair[0].Equal(pair[1]), "%s: Xero %s, stored %s", name, pair[0], pair[1])
			}
			assert.True(t, got.Due.Equal(x.Total.Sub(decimal.NewFromInt(65))), "partly paid: the total (tax included) less 50 paid and 15 credited")
			assert.Equal(t, billing.StatusAuthorised, got.Status)

			ps, err := store.PaymentsOfInvoice(ctx, inv.ProviderID)
			require.NoError(t, err)
			require.Len(t, ps, 1)
			assert.Equal(t, paid.PaymentID, ps[0].ProviderID)
			assert.Equal(t, "cash at the desk", ps[0].Reference)
			assert.True(t, ps[0].Amount.Equal(decimal.NewFromInt(50)))
			r, err := store.PaymentByProviderID(ctx, refund.PaymentID)
			require.NoError(t, err)
			assert.Equal(t, cnID, r.CreditNoteID)
			assert.Empty(t, r.InvoiceID, "a refund pays no invoice")
			cn, err := store.CreditNoteByProviderID(ctx, cnID)
			require.NoError(t, err)
			require.Len(t, cn.Allocations, 1)
			assert.Equal(t, inv.ProviderID, cn.Allocations[0].InvoiceID)
			xcn, ok := emu.CreditNote(cnID)
			require.True(t, ok)
			assert.True(t, cn.Remaining.Equal(xcn.RemainingCredit), "Xero %s, stored %s", xcn.RemainingCredit, cn.Remaining)
			assert.True(t, cn.Remaining.Equal(xcn.Total.Sub(decimal.NewFromInt(20))), "less 15 allocated and 5 refunded")
			ofInv, err := store.CreditNotesOfInvoice(ctx, inv.ProviderID)
			require.NoError(t, err)
			assert.Len(t, ofInv, 1)

			before = emu.CallCounts()
			res, err = billing.Sweep(ctx, svc, store, opts)
			require.NoError(t, err)
			assert.Empty(t, res.Changed)
			assert.Zero(t, res.Repaired)
			assert.Zero(t, res.CreditNotes.Changed)
			assert.Zero(t, res.Payments.Changed)
			assert.Equal(t, 2, res.Payments.Saved, "seen again within the overlap, unchanged")
			calls = sweepCalls(before, emu.CallCounts())
			assert.Equal(t, map[string]int{"GET /Invoices": 1, "GET /CreditNotes": 1, "GET /Payments": 1}, calls)
			t.Logf("a sweep with nothing new: %v", calls)
		})
	}
}

// Xero's payments and credit notes of other kinds (bills paid, a
// supplier's credit) never reach the sweep, and a refund is named by its
// credit note only.
func TestSweepListersKeepSalesMoney(t *testing.T) {
	h := newHarness(t)
	h.handle("GET", "/Payments", respond(200, `{"Payments":[
		{"PaymentID":"p1","PaymentType":"ACCRECPAYMENT","Invoice":{"InvoiceID":"i1"},"Amount":10,"Date":"2026-12-01T00:00:00","Status":"AUTHORISED","UpdatedDateUTC":"/Date(1796083200000+0000)/"},
		{"PaymentID":"p2","PaymentType":"ACCPAYPAYMENT","Invoice":{"InvoiceID":"b1"},"Amount":10,"Date":"2026-12-01T00:00:00","Status":"AUTHORISED","UpdatedDateUTC":"/Date(1796169600000+0000)/"},
		{"PaymentID":"p3","PaymentType":"ARCREDITPAYMENT","Invoice":{"InvoiceID":"c1"},"Amount":5,"Date":"2026-12-01T00:00:00","Status":"AUTHORISED","UpdatedDateUTC":"/Date(1796083200000+0000)/"},
		{"PaymentID":"p4","PaymentType":"ACCRECPAYMENT","Amount":10,"Date":"/Date(-999999999999999)/"}]}`))
	h.handle("GET", "/CreditNotes", respond(200, `{"CreditNotes":[
		{"CreditNoteID":"c1","Type":"ACCRECCREDIT","Contact":{"ContactID":"k1"},"Date":"2026-12-01T00:00:00","Status":"AUTHORISED","Total":20,"RemainingCredit":5,
		 "Allocations":[{"Invoice":{"InvoiceID":"i1"},"Amount":15,"Date":"2026-12-01T00:00:00"}],"UpdatedDateUTC":"/Date(1796083200000+0000)/"},
		{"CreditNoteID":"c2","Type":"ACCPAYCREDIT","Date":"2026-12-01T00:00:00","Status":"AUTHORISED","UpdatedDateUTC":"/Date(1796169600000+0000)/"}]}`))
	svc := xero.NewService(h.client, mock.NewStore(), h.cfg)
	ctx := context.Background()

	pp, err := svc.PaymentsModifiedSince(ctx, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), 1)
	require.NoError(t, err)
	require.Len(t, pp.Payments, 2, "the bill's payment is left out")
	assert.Equal(t, "i1", pp.Payments[0].InvoiceID)
	assert.Equal(t, billing.Payment{ProviderID: "p3", CreditNoteID: "c1", Amount: pp.Payments[1].Amount, Date: billing.NewDate(2026, 12, 1),
		Status: billing.PaymentAuthorised}, pp.Payments[1])
	assert.Equal(t, time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), pp.Latest.UTC(), "every readable record counts for the mark")
	require.Len(t, pp.Unreadable, 1)
	assert.Equal(t, "p4", pp.Unreadable[0].ProviderID)
	assert.ErrorIs(t, pp.Unreadable[0].Err, billing.ErrUnreadable)
	var merr *xero.MoneyRecordError
	assert.ErrorAs(t, pp.Unreadable[0].Err, &merr)

	cp, err := svc.CreditNotesModifiedSince(ctx, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), 1)
	require.NoError(t, err)
	require.Len(t, cp.CreditNotes, 1, "the supplier's credit is left out")
	c := cp.CreditNotes[0]
	assert.Equal(t, "c1", c.ProviderID)
	assert.Empty(t, c.InvoiceID, "the store keeps the invoice it was raised for")
	assert.Equal(t, billing.Account{}, c.Account, "the store keeps the account")
	require.Len(t, c.Allocations, 1)
	assert.Equal(t, "i1", c.Allocations[0].InvoiceID)
	assert.Equal(t, time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), cp.Latest.UTC())

	for _, r := range h.requests {
		assert.NotEmpty(t, r.Header.Get("If-Modified-Since"), r.URL)
	}
}
