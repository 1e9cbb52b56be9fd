package xero_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock/emulator"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// calls counts the emulator's requests with this method whose path ends
// with suffix.
func (r *creationRig) calls(method, suffix string) int {
	n := 0
	for _, q := range r.emu.Requests() {
		if q.Method == method && strings.HasSuffix(q.Path, suffix) {
			n++
		}
	}
	return n
}

// billed is a 138.00 invoice of the member (120.00 and 15% tax), created through the service.
func (r *creationRig) billed(t *testing.T, ref string) billing.Invoice {
	t.Helper()
	inv, err := r.svc.CreateInvoice(t.Context(), renewal(ref))
	require.NoError(t, err)
	require.Equal(t, "138", inv.Due.String())
	return inv
}

func payment(inv billing.Invoice, amount, ref string) billing.PaymentParams {
	return billing.PaymentParams{InvoiceID: inv.ProviderID, Amount: dec(amount), Date: billing.NewDate(2026, 12, 5), Reference: ref}
}

func (r *creationRig) pending(t *testing.T) int {
	t.Helper()
	ops, err := r.store.PendingOps(t.Context())
	require.NoError(t, err)
	return len(ops)
}

func TestRecordPaymentOnceAndPartlyPaid(t *testing.T) {
	r := newCreationRig(t)
	ctx := t.Context()
	inv := r.billed(t, "Membership 2027")

	pay, err := r.svc.RecordPayment(ctx, payment(inv, "50.00", "stripe ch_1"))
	require.NoError(t, err)
	assert.Equal(t, billing.PaymentAuthorised, pay.Status)
	assert.Equal(t, inv.ProviderID, pay.InvoiceID)
	assert.True(t, pay.Amount.Equal(dec("50")))

	got, err := r.store.InvoiceByProviderID(ctx, inv.ProviderID)
	require.NoError(t, err)
	assert.True(t, got.IsPartlyPaid(), "partly paid: %+v", got)
	assert.Equal(t, "88", got.Due.String(), "Xero's AmountDue")
	assert.Equal(t, "50", got.Paid.String())

	again, err := r.svc.RecordPayment(ctx, payment(inv, "50.00", "stripe ch_1"))
	require.NoError(t, err)
	assert.Equal(t, pay, again, "the same logical payment")
	assert.Equal(t, 1, r.calls(http.MethodPut, "/Payments"), "asked twice, sent once")
	assert.Len(t, r.emu.Payments(), 1)

	rest, err := r.svc.RecordPayment(ctx, payment(inv, "88.00", "stripe ch_2"))
	require.NoError(t, err)
	got, err = r.store.InvoiceByProviderID(ctx, inv.ProviderID)
	require.NoError(t, err)
	assert.Equal(t, billing.StatusPaid, got.Status)
	assert.True(t, got.Due.IsZero())
	paid, err := r.store.PaymentsOfInvoice(ctx, inv.ProviderID)
	require.NoError(t, err)
	assert.Len(t, paid, 2)
	assert.Equal(t, rest.ProviderID, paid[1].ProviderID)
	assert.Zero(t, r.pending(t))

	r.mu.Lock()
	defer r.mu.Unlock()
	var statuses []string
	for _, c := range r.changes {
		statuses = append(statuses, c.After.Status+" "+c.After.Due.String())
	}
	assert.Contains(t, statuses, "AUTHORISED 88", "the app heard the part payment")
	assert.Contains(t, statuses, "PAID 0", "and the full one")
}

func TestRecordPaymentBadInputIsRefusedAndNothingRecorded(t *testing.T) {
	r := newCreationRig(t)
	ctx := t.Context()
	inv := r.billed(t, "Membership 2027")
	voided := r.billed(t, "Membership 2028")
	_, err := r.svc.VoidInvoice(ctx, voided.ProviderID, false)
	require.NoError(t, err)
	require.NoError(t, r.emu.SetAccountPayable(emulator.DefaultAccountCode, false))

	tests := []struct {
		name  string
		p     billing.PaymentParams
		calls int    // PUT /Payments made
		want  string // in the error
	}{
		{"zero amount", payment(inv, "0", "r1"), 0, "must be positive"},
		{"negative amount", payment(inv, "-5", "r1"), 0, "must be positive"},
		{"three decimals", payment(inv, "1.005", "r1"), 0, "decimals"},
		{"no reference", payment(inv, "5", ""), 0, "reference is required"},
		{"unknown invoice", billing.PaymentParams{InvoiceID: "00000000-0000-4000-8000-00000000dead", Amount: dec("5"), Date: billing.NewDate(2026, 12, 5), Reference: "r1"}, 0, "not one of the app's invoices"},
		{"voided invoice", payment(voided, "5", "r1"), 0, "voided"},
		{"more than due", payment(inv, "138.01", "r1"), 1, "Payment amount exceeds the amount outstanding on this document"},
		{"account takes no payments", func() billing.PaymentParams {
			p := payment(inv, "5", "r2")
			p.AccountCode = emulator.DefaultAccountCode
			return p
		}(), 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := r.calls(http.MethodPut, "/Payments")
			_, err := r.svc.RecordPayment(ctx, tt.p)
			require.ErrorIs(t, err, billing.ErrInvalidPayment)
			assert.Contains(t, err.Error(), tt.want)
			assert.Equal(t, tt.calls, r.calls(http.MethodPut, "/Payments")-before)
			assert.Empty(t, r.emu.Payments(), "Xero holds no payment")
			assert.Zero(t, r.pending(t), "nothing half-recorded")
			paid, err := r.store.PaymentsOfInvoice(ctx, inv.ProviderID)
			require.NoError(t, err)
			assert.Empty(t, paid)
		})
	}
	// A refusal dropped the operation: the same payment may be asked again.
	pay, err := r.svc.RecordPayment(ctx, payment(inv, "138.00", "r1"))
	require.NoError(t, err)
	assert.Equal(t, billing.PaymentAuthorised, pay.Status)
}

func TestPaymentAnswerLostIsResolvedNotRepeated(t *testing.T) {
	tests := []struct {
		name    string
		before  func(r *creationRig)
		resolve bool // by ResolveMoneyOps rather than asking again
	}{
		{"asked again at once", func(*creationRig) {}, false},
		{"asked again after the key window", func(r *creationRig) { r.advance(time.Hour) }, false},
		{"resolved by the cron", func(r *creationRig) { r.advance(time.Hour) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newCreationRig(t)
			ctx := t.Context()
			inv := r.billed(t, "Membership 2027")
			r.emu.InjectFault(emulator.Fault{Path: emulator.APIPath + "/Payments", DropResponse: true})
			_, err := r.svc.RecordPayment(ctx, payment(inv, "138.00", "dd 42"))
			var pe *billing.PendingError
			require.ErrorAs(t, err, &pe)
			require.Len(t, r.emu.Payments(), 1, "Xero recorded it")
			assert.Equal(t, 1, r.pending(t))

			tt.before(r)
			if tt.resolve {
				res, err := r.svc.ResolveMoneyOps(ctx)
				require.NoError(t, err)
				require.Len(t, res.Resolved, 1)
				assert.Empty(t, res.Pending)
			}
			pay, err := r.svc.RecordPayment(ctx, payment(inv, "138.00", "dd 42"))
			require.NoError(t, err)
			assert.Len(t, r.emu.Payments(), 1, "paid once")
			assert.Equal(t, 1, r.calls(http.MethodPut, "/Payments"), "found, not sent again")
			assert.Equal(t, r.emu.Payments()[0].PaymentID, pay.ProviderID)
			got, err := r.store.InvoiceByProviderID(ctx, inv.ProviderID)
			require.NoError(t, err)
			assert.Equal(t, billing.StatusPaid, got.Status)
			assert.Zero(t, r.pending(t))
		})
	}
}

func TestReversePaymentOnce(t *testing.T) {
	r := newCreationRig(t)
	ctx := t.Context()
	inv := r.billed(t, "Membership 2027")
	pay, err := r.svc.RecordPayment(ctx, payment(inv, "138.00", "card 1"))
	require.NoError(t, err)

	r.emu.InjectFault(emulator.Fault{Path: emulator.APIPath + "/Payments/" + pay.ProviderID, DropResponse: true})
	_, err = r.svc.ReversePayment(ctx, pay.ProviderID)
	var pe *billing.PendingError
	require.ErrorAs(t, err, &pe, "the answer was lost")

	r.advance(time.Hour)
	rev, err := r.svc.ReversePayment(ctx, pay.ProviderID)
	require.NoError(t, err)
	assert.Equal(t, billing.PaymentDeleted, rev.Status)
	assert.Equal(t, 1, r.calls(http.MethodPost, "/Payments/"+pay.ProviderID), "found deleted, not sent again")
	got, err := r.store.InvoiceByProviderID(ctx, inv.ProviderID)
	require.NoError(t, err)
	assert.Equal(t, billing.StatusAuthorised, got.Status, "owed again")
	assert.Equal(t, "138", got.Due.String())

	again, err := r.svc.ReversePayment(ctx, pay.ProviderID)
	require.NoError(t, err)
	assert.Equal(t, rev, again)
	assert.Equal(t, 1, r.calls(http.MethodPost, "/Payments/"+pay.ProviderID))
	assert.Zero(t, r.pending(t))
}

func TestCreditInvoice(t *testing.T) {
	tests := []struct {
		name     string
		refund   bool
		lose     string // the path whose answer is lost once
		credited string // the invoice's AmountCredited afterwards
		due      string
	}{
		{"allocated", false, "", "20", "118"},
		{"refunded", true, "", "0", "138"},
		{"allocated after the credit note's answer was lost", false, "/CreditNotes", "20", "118"},
		{"allocated after the allocation's answer was lost", false, "/CreditNotes/", "20", "118"},
		{"refunded after the refund's answer was lost", true, "/Payments", "0", "138"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newCreationRig(t)
			ctx := t.Context()
			inv := r.billed(t, "Membership 2027")
			p := billing.CreditNoteParams{InvoiceID: inv.ProviderID, Reason: "Cancelled: moved abroad", Amount: dec("20.00"),
				Date: billing.NewDate(2026, 12, 6), Allocate: !tt.refund, Refund: tt.refund}
			if tt.lose != "" {
				// The first request under the path is the write.
				r.emu.InjectFault(emulator.Fault{Path: emulator.APIPath + tt.lose, DropResponse: true})
				_, err := r.svc.CreditInvoice(ctx, p)
				var pe *billing.PendingError
				require.ErrorAs(t, err, &pe)
				r.advance(time.Hour)
			}
			res, err := r.svc.CreditInvoice(ctx, p)
			require.NoError(t, err)
			require.Len(t, r.emu.CreditNotes(), 1, "credited once")
			cn := r.emu.CreditNotes()[0]
			assert.Equal(t, cn.CreditNoteID, res.CreditNote.ProviderID)
			assert.Equal(t, inv.ProviderID, res.CreditNote.InvoiceID, "the invoice it was raised for")
			assert.Equal(t, inv.Account, res.CreditNote.Account)
			assert.True(t, res.CreditNote.Total.Equal(dec("20")))
			assert.True(t, res.CreditNote.Remaining.IsZero(), "all used: %s", res.CreditNote.Remaining)
			assert.Equal(t, billing.StatusPaid, res.CreditNote.Status)
			assert.Equal(t, tt.credited, res.Invoice.Credited.String())
			assert.Equal(t, tt.due, res.Invoice.Due.String())
			if tt.refund {
				require.NotNil(t, res.Refund)
				assert.Equal(t, cn.CreditNoteID, res.Refund.CreditNoteID)
				assert.Len(t, r.emu.Payments(), 1, "refunded once")
			} else {
				require.Len(t, res.CreditNote.Allocations, 1)
				assert.Empty(t, r.emu.Payments())
			}
			assert.Zero(t, r.pending(t))

			again, err := r.svc.CreditInvoice(ctx, p)
			require.NoError(t, err)
			assert.Equal(t, res.CreditNote.ProviderID, again.CreditNote.ProviderID)
			assert.Len(t, r.emu.CreditNotes(), 1)
			assert.Equal(t, 1, r.calls(http.MethodPut, "/CreditNotes"), "asked again: nothing sent")
		})
	}
}

func TestVoidInvoiceOnce(t *testing.T) {
	r := newCreationRig(t)
	ctx := t.Context()

	plain := r.billed(t, "Membership 2027")
	got, err := r.svc.VoidInvoice(ctx, plain.ProviderID, false)
	require.NoError(t, err)
	assert.Equal(t, billing.StatusVoided, got.Status)
	again, err := r.svc.VoidInvoice(ctx, plain.ProviderID, false)
	require.NoError(t, err)
	assert.Equal(t, got, again)

	paid := r.billed(t, "Membership 2028")
	_, err = r.svc.RecordPayment(ctx, payment(paid, "30.00", "card 1"))
	require.NoError(t, err)
	// One made in Xero by hand counts too.
	_, err = r.emu.RecordPayment(ctx, emulator.ManualPayment{InvoiceID: paid.ProviderID, Amount: dec("10"), Reference: "cash"})
	require.NoError(t, err)

	_, err = r.svc.VoidInvoice(ctx, paid.ProviderID, false)
	require.ErrorIs(t, err, billing.ErrHasPayments)
	assert.Contains(t, err.Error(), "2 payment(s)")
	assert.Contains(t, err.Error(), "reverse them first")

	got, err = r.svc.VoidInvoice(ctx, paid.ProviderID, true)
	require.NoError(t, err)
	assert.Equal(t, billing.StatusVoided, got.Status)
	for _, p := range r.emu.Payments() {
		assert.Equal(t, emulator.PaymentDeleted, p.Status)
	}
	stored, err := r.store.PaymentsOfInvoice(ctx, paid.ProviderID)
	require.NoError(t, err)
	require.Len(t, stored, 2, "the payment made by hand is kept too")
	for _, p := range stored {
		assert.Equal(t, billing.PaymentDeleted, p.Status)
	}
	deletes := r.calls(http.MethodPost, "")
	_, err = r.svc.VoidInvoice(ctx, paid.ProviderID, true)
	require.NoError(t, err)
	assert.Equal(t, deletes, r.calls(http.MethodPost, ""), "asked again: nothing sent")
	assert.Zero(t, r.pending(t))
}

func TestRecordPaymentsInBatches(t *testing.T) {
	r := newCreationRig(t)
	ctx := t.Context()
	const n = 120
	var cps []billing.CreateInvoiceParams
	for i := range n {
		cps = append(cps, renewal(fmt.Sprintf("Membership %d", i)))
	}
	made, err := r.svc.CreateInvoices(ctx, cps, billing.BulkOptions{})
	require.NoError(t, err)
	var ps []billing.PaymentParams
	for i, m := range made {
		require.Equal(t, billing.Created, m.Outcome)
		ps = append(ps, payment(m.Invoice, "138.00", fmt.Sprintf("dd %d", i)))
	}
	bad := payment(billing.Invoice{ProviderID: ps[0].InvoiceID}, "500.00", "too much")
	ps = append(ps, bad, ps[7]) // the same payment twice in one file

	res, err := r.svc.RecordPayments(ctx, ps, billing.BulkOptions{})
	require.NoError(t, err)
	require.Len(t, res, n+2)
	assert.Equal(t, billing.Existing, res[n+1].Outcome, "a repeat is the first's payment")
	assert.Equal(t, res[7].Payment, res[n+1].Payment)
	for i := range n {
		assert.Equal(t, billing.Created, res[i].Outcome, "payment %d: %v", i, res[i].Err)
	}
	assert.Equal(t, billing.Failed, res[n].Outcome)
	assert.ErrorIs(t, res[n].Err, billing.ErrInvalidPayment)
	assert.Equal(t, 3, r.calls(http.MethodPut, "/Payments"), "50 a call")
	assert.Len(t, r.emu.Payments(), n)
	for _, inv := range r.store.Invoices() {
		assert.Equal(t, billing.StatusPaid, inv.Status, inv.Number)
	}

	res, err = r.svc.RecordPayments(ctx, ps[:n], billing.BulkOptions{})
	require.NoError(t, err)
	for i := range n {
		assert.Equal(t, billing.Existing, res[i].Outcome)
	}
	assert.Equal(t, 3, r.calls(http.MethodPut, "/Payments"), "a rerun sends nothing")
	assert.Zero(t, r.pending(t))
}

func TestRecordPaymentsBatchAnswerLost(t *testing.T) {
	r := newCreationRig(t)
	ctx := t.Context()
	var ps []billing.PaymentParams
	for i := range 10 {
		inv := r.billed(t, fmt.Sprintf("Membership %d", i))
		ps = append(ps, payment(inv, "60.00", fmt.Sprintf("dd %d", i)))
	}
	r.emu.InjectFault(emulator.Fault{Path: emulator.APIPath + "/Payments", DropResponse: true})
	res, err := r.svc.RecordPayments(ctx, ps, billing.BulkOptions{})
	require.NoError(t, err)
	for _, x := range res {
		assert.Equal(t, billing.Pending, x.Outcome)
	}
	r.advance(time.Hour)
	res, err = r.svc.RecordPayments(ctx, ps, billing.BulkOptions{})
	require.NoError(t, err)
	for _, x := range res {
		assert.Equal(t, billing.Existing, x.Outcome, "found in Xero: %v", x.Err)
	}
	assert.Len(t, r.emu.Payments(), 10, "each paid once")
	assert.Equal(t, 1, r.calls(http.MethodPut, "/Payments"))
	assert.Zero(t, r.pending(t))
}
