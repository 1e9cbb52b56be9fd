package main

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/examples/internal/moneycmd/moneytest"
	"github.com/amsbilling/sdk/mock/emulator"
)

const (
	putCreditNotes = "PUT /CreditNotes"
	putAllocations = "PUT /CreditNotes/{CreditNoteID}/Allocations"
	putPayments    = "PUT /Payments"
)

// pay records a payment of the invoice through the SDK, as the app would.
func pay(t *testing.T, r *moneytest.Rig, number, amount, ref string) {
	t.Helper()
	_, err := r.Money(t).RecordPayment(t.Context(), billing.PaymentParams{
		InvoiceID: r.Invoice(t, number).ProviderID, Amount: decimal.RequireFromString(amount), Reference: ref})
	require.NoError(t, err)
}

// Part of an invoice credited and allocated, then the rest: each credit
// note made once however often the command runs.
func TestCreditNoteAllocated(t *testing.T) {
	r := moneytest.New(t, emulator.Options{})
	r.Bill(t, 1)

	res := r.Run(t, run, "-invoice", "INV-0001", "-amount", "20.00", "-reason", "Early renewal discount")
	require.Equal(t, 0, res.Code, res)
	cns := r.Server.CreditNotes()
	require.Len(t, cns, 1)
	assert.Contains(t, res.Stdout, "Credit note "+cns[0].CreditNoteNumber+" ("+cns[0].CreditNoteID+`) of NZD 20.00 for INV-0001, reason "Early renewal discount"`)
	assert.Contains(t, res.Stdout, "Allocated NZD 20.00 to INV-0001 on ")
	assert.Contains(t, res.Stdout, "INV-0001 is AUTHORISED: NZD 95.00 due of 115.00 (20.00 credited)")
	assert.Equal(t, 1, r.Calls(putCreditNotes))
	assert.Equal(t, 1, r.Calls(putAllocations))

	res = r.Run(t, run, "-invoice", "INV-0001", "-amount", "20", "-reason", "Early renewal discount")
	require.Equal(t, 0, res.Code, res)
	assert.Contains(t, res.Stdout, "Already credited: credit note "+cns[0].CreditNoteNumber)
	assert.Equal(t, 1, r.Calls(putCreditNotes), "nothing sent again")

	// The rest, credited in full; its rerun is no refusal although
	// nothing is due any more.
	for range 2 {
		res = r.Run(t, run, "-invoice", "INV-0001", "-amount", "95.00", "-reason", "Membership waived")
		require.Equal(t, 0, res.Code, res)
		assert.Contains(t, res.Stdout, "INV-0001 is PAID: NZD 0.00 due of 115.00 (115.00 credited)")
	}
	assert.Len(t, r.Server.CreditNotes(), 2)
	assert.Equal(t, 2, r.Calls(putAllocations))
	inv, ok := r.Server.Invoice("INV-0001")
	require.True(t, ok)
	assert.True(t, inv.AmountCredited.Equal(decimal.NewFromInt(115)))
	assert.Zero(t, r.PendingOps(t))
}

// A cancelled membership paid back: the credit note is refunded to the
// member from the payment account, once.
func TestCreditNoteRefunded(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"from XERO_PAYMENT_ACCOUNT_CODE", nil, nil},
		{"from -account", []string{"-account", "090"}, map[string]string{"XERO_PAYMENT_ACCOUNT_CODE": "-"}},
		{"from an account with payments enabled", []string{"-account", "880"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := moneytest.New(t, emulator.Options{PaymentAccountCodes: []string{"880"}})
			r.Bill(t, 1)
			pay(t, r, "INV-0001", "115.00", "card 1")
			r.SetEnv(t, tt.env)
			args := append([]string{"-invoice", "INV-0001", "-amount", "115.00", "-reason", "Membership cancelled", "-refund"}, tt.args...)
			res := r.Run(t, run, args...)
			require.Equal(t, 0, res.Code, res)
			assert.Contains(t, res.Stdout, `Refunded NZD 115.00 to the member: payment `)
			account := "090"
			if len(tt.args) > 0 {
				account = tt.args[1]
			}
			assert.Contains(t, res.Stdout, `reference "Refund: Membership cancelled", account `+account)
			assert.Contains(t, res.Stdout, "INV-0001 is PAID: NZD 0.00 due of 115.00 (115.00 paid)")
			assert.NotContains(t, res.Stdout, "Allocated")
			refunds := 0
			for _, p := range r.Server.Payments() {
				if p.CreditNoteID != "" {
					refunds++
				}
			}
			assert.Equal(t, 1, refunds)
			calls := r.Calls(putPayments)

			res = r.Run(t, run, args...)
			require.Equal(t, 0, res.Code, res)
			// The store forgets which invoice a refunded credit note was
			// raised for, so the rerun cannot say "Already"; it still
			// returns the one refund.
			assert.Contains(t, res.Stdout, "Refunded NZD 115.00 to the member")
			assert.Equal(t, calls, r.Calls(putPayments), "refunded once")
			assert.Len(t, r.Server.CreditNotes(), 1)
		})
	}
}

// Every bad input is refused with a clear message, exit 1 or 2, and
// nothing is made in Xero: no credit note without its allocation or refund.
func TestCreditNoteBadInput(t *testing.T) {
	r := moneytest.New(t, emulator.Options{})
	r.Bill(t, 3)
	_, err := r.Money(t).VoidInvoice(t.Context(), r.Invoice(t, "INV-0002").ProviderID, false)
	require.NoError(t, err)
	pay(t, r, "INV-0003", "100.00", "card 3")
	good := []string{"-invoice", "INV-0001", "-amount", "20.00", "-reason", "Discount"}
	refund := []string{"-invoice", "INV-0003", "-amount", "20.00", "-reason", "Refund", "-refund"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		code int
		want string // in stderr
	}{
		{"zero amount", []string{"-invoice", "INV-0001", "-amount", "0", "-reason", "x"}, nil, 2, `-amount "0" is not a positive amount`},
		{"negative amount", []string{"-invoice", "INV-0001", "-amount", "-20", "-reason", "x"}, nil, 2, `-amount "-20" is not a positive amount`},
		{"not a decimal", []string{"-invoice", "INV-0001", "-amount", "20,00", "-reason", "x"}, nil, 2, "is not a decimal amount"},
		{"no reason", good[:4], nil, 2, "give -invoice INV -amount 20.00 -reason TEXT"},
		{"blank reason", []string{"-invoice", "INV-0001", "-amount", "20", "-reason", " "}, nil, 2, "-reason must not be blank"},
		{"account without refund", append(good, "-account", "090"), nil, 2, "-account is the account a refund is paid from"},
		{"refund without a payment account", refund, map[string]string{"XERO_PAYMENT_ACCOUNT_CODE": "-"}, 2, "No payment account: give -account CODE"},
		{"stray argument", append(good, "now"), nil, 2, `unexpected argument "now"`},
		{"mock billing", good, map[string]string{"AMS_BILLING_SERVICE_CLASS": "mock"}, 2, "moves no money"},
		{"unknown invoice", []string{"-invoice", "INV-9999", "-amount", "20", "-reason", "x"}, nil, 1, `invoice "INV-9999" is not in the billing database`},
		{"voided invoice", []string{"-invoice", "INV-0002", "-amount", "20", "-reason", "x"}, nil, 1, "invoice INV-0002 is voided"},
		{"more than due", []string{"-invoice", "INV-0003", "-amount", "15.01", "-reason", "x"}, nil, 1, "NZD 15.01 is more than the 15.00 due on INV-0003"},
		{"refund more than billed", []string{"-invoice", "INV-0003", "-amount", "115.01", "-reason", "x", "-refund"}, nil, 1, "NZD 115.01 is more than INV-0003 was billed"},
		{"refund from an account that takes no payments", append(refund, "-account", "200"), nil, 1, `account 200 "Sales" is ACTIVE, type REVENUE, payments not enabled`},
		{"refund from an unknown account", append(refund, "-account", "999"), nil, 1, "account 999 is not in Xero's chart of accounts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r.SetEnv(t, tt.env)
			res := r.Run(t, run, tt.args...)
			assert.Equal(t, tt.code, res.Code, res)
			assert.Contains(t, res.Stderr, tt.want)
			assert.Empty(t, res.Stdout)
			assert.Zero(t, r.Calls(putCreditNotes))
			assert.Empty(t, r.Server.CreditNotes(), "Xero holds no credit note")
			assert.Zero(t, r.PendingOps(t), "nothing half-recorded")
		})
	}
	assert.Equal(t, 0, r.Run(t, run, "-h").Code)
}

// Xero made the credit note but its answer was lost: exit 1 saying to run
// again; the rerun finds it and allocates it, crediting once.
func TestCreditNoteLostAnswer(t *testing.T) {
	r := moneytest.New(t, emulator.Options{})
	r.Bill(t, 1)
	r.Server.InjectFault(emulator.Fault{Path: emulator.APIPath + "/CreditNotes", LoseAnswer: emulator.AnswerDropped, Count: 4})
	args := []string{"-invoice", "INV-0001", "-amount", "20.00", "-reason", "Discount"}
	res := r.Run(t, run, args...)
	assert.Equal(t, 1, res.Code, res)
	assert.Contains(t, res.Stderr, "recorded as pending. Run the same command again")
	require.Len(t, r.Server.CreditNotes(), 1, "Xero made it")

	res = r.Run(t, run, args...)
	require.Equal(t, 0, res.Code, res)
	assert.Contains(t, res.Stdout, "INV-0001 is AUTHORISED: NZD 95.00 due of 115.00 (20.00 credited)")
	assert.Len(t, r.Server.CreditNotes(), 1, "credited once")
	assert.Zero(t, r.PendingOps(t))
}
