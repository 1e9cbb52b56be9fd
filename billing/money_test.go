package billing_test

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
)

func payment(mod func(*billing.PaymentParams)) billing.MoneyParams {
	p := billing.PaymentParams{InvoiceID: "inv-1", Amount: decimal.RequireFromString("50.00"),
		Date: billing.NewDate(2026, time.March, 1), Reference: "Stripe ch_1", AccountCode: "090"}
	if mod != nil {
		mod(&p)
	}
	return billing.MoneyParams{Payment: &p}
}

func TestMoneyParamsValidate(t *testing.T) {
	cases := []struct {
		name string
		p    billing.MoneyParams
		want string // "" when valid
	}{
		{"valid payment", payment(nil), ""},
		{"three decimals equal to two", payment(func(p *billing.PaymentParams) { p.Amount = decimal.RequireFromString("50.000") }), ""},
		{"zero amount", payment(func(p *billing.PaymentParams) { p.Amount = decimal.Zero }), "must be positive"},
		{"negative amount", payment(func(p *billing.PaymentParams) { p.Amount = decimal.RequireFromString("-1.00") }), "must be positive"},
		{"three decimals", payment(func(p *billing.PaymentParams) { p.Amount = decimal.RequireFromString("10.005") }), "more than 2 decimals"},
		{"empty reference", payment(func(p *billing.PaymentParams) { p.Reference = "" }), "reference is required"},
		{"control character", payment(func(p *billing.PaymentParams) { p.Reference = "a\x00b" }), "control character"},
		{"no date", payment(func(p *billing.PaymentParams) { p.Date = billing.Date{} }), "date is required"},
		{"year 1899", payment(func(p *billing.PaymentParams) { p.Date = billing.NewDate(1899, time.December, 31) }), "date: year 1899 is outside 1900-9999"},
		{"year 10000", payment(func(p *billing.PaymentParams) { p.Date = billing.NewDate(10000, time.January, 1) }), "date: year 10000 is outside 1900-9999"},
		{"not a calendar date", payment(func(p *billing.PaymentParams) { p.Date = billing.Date{Year: 2026, Month: time.February, Day: 30} }), "not a calendar date"},
		{"no invoice", payment(func(p *billing.PaymentParams) { p.InvoiceID = "" }), "invoice is required"},
		{"nothing", billing.MoneyParams{}, "0 operations"},
		{"two operations", billing.MoneyParams{Payment: payment(nil).Payment, Void: &billing.VoidParams{InvoiceID: "i"}}, "2 operations"},
		{"reversal without payment", billing.MoneyParams{Reversal: &billing.ReversalParams{}}, "payment is required"},
		{"void", billing.MoneyParams{Void: &billing.VoidParams{InvoiceID: "inv-1"}}, ""},
		{"credit note without reason", billing.MoneyParams{CreditNote: &billing.CreditNoteParams{InvoiceID: "i", ContactID: "c",
			Account: billing.UserAccount("u"), Amount: decimal.NewFromInt(5), Date: billing.NewDate(2026, 1, 1)}}, "reason is required"},
		{"credit note without account", billing.MoneyParams{CreditNote: &billing.CreditNoteParams{InvoiceID: "i", ContactID: "c",
			Reason: "r", Amount: decimal.NewFromInt(5), Date: billing.NewDate(2026, 1, 1)}}, "invalid account"},
		{"refund without reference", billing.MoneyParams{Refund: &billing.RefundParams{CreditNoteID: "cn", Amount: decimal.NewFromInt(5),
			Date: billing.NewDate(2026, 1, 1)}}, "reference is required"},
		{"allocation of nothing", billing.MoneyParams{Allocation: &billing.AllocationParams{CreditNoteID: "cn", InvoiceID: "i",
			Date: billing.NewDate(2026, 1, 1)}}, "must be positive"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.p.Validate()
			if c.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, billing.ErrInvalidPayment)
			assert.Contains(t, err.Error(), c.want)
			_, err = billing.NewMoneyOp("key", c.p, time.Time{})
			require.ErrorIs(t, err, billing.ErrInvalidPayment, "NewMoneyOp validates")
		})
	}
}

func TestMoneyFingerprint(t *testing.T) {
	base := payment(nil)
	other := func(mod func(*billing.PaymentParams)) string { return payment(mod).Fingerprint() }
	// The logical payment is (invoice, reference).
	assert.Equal(t, base.Fingerprint(), other(func(p *billing.PaymentParams) { p.Amount = decimal.NewFromInt(1) }))
	assert.Equal(t, base.Fingerprint(), other(func(p *billing.PaymentParams) { p.Date = billing.NewDate(2027, 1, 1) }))
	assert.NotEqual(t, base.Fingerprint(), other(func(p *billing.PaymentParams) { p.Reference = "Stripe ch_2" }))
	assert.NotEqual(t, base.Fingerprint(), other(func(p *billing.PaymentParams) { p.InvoiceID = "inv-2" }))
	// Kinds never share a fingerprint, even on the same ids.
	void := billing.MoneyParams{Void: &billing.VoidParams{InvoiceID: "inv-1"}}
	rev := billing.MoneyParams{Reversal: &billing.ReversalParams{PaymentID: "inv-1"}}
	assert.NotEqual(t, void.Fingerprint(), rev.Fingerprint())
	// A credit note's amount is part of it, compared by value.
	cn := func(amount string) string {
		return billing.MoneyParams{CreditNote: &billing.CreditNoteParams{InvoiceID: "i", Reason: "r", Amount: decimal.RequireFromString(amount)}}.Fingerprint()
	}
	assert.Equal(t, cn("20"), cn("20.00"))
	assert.NotEqual(t, cn("20"), cn("20.01"))
	assert.Empty(t, billing.MoneyParams{}.Fingerprint())

	op, err := billing.NewMoneyOp("k", base, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, billing.KindPayment, op.Kind)
	assert.Equal(t, base.Fingerprint(), op.Fingerprint)
	_, err = billing.NewMoneyOp("", base, time.Time{})
	require.ErrorIs(t, err, billing.ErrInvalidPayment)
}

func TestInvoiceCreditedIsProviderState(t *testing.T) {
	a := billing.Invoice{Number: "INV-1", Credited: decimal.RequireFromString("5.00")}
	b := billing.Invoice{Number: "INV-2"}
	assert.False(t, a.SameProviderState(b))
	assert.True(t, b.WithProviderState(a).Credited.Equal(a.Credited))
	assert.Equal(t, "INV-2", b.WithProviderState(a).Number)
}

func TestIsPartlyPaid(t *testing.T) {
	d := decimal.RequireFromString
	cases := []struct {
		status    string
		paid, due string
		want      bool
	}{
		{billing.StatusAuthorised, "40.00", "75.00", true},
		{billing.StatusAuthorised, "0.00", "115.00", false},
		{billing.StatusPaid, "115.00", "0.00", false},
		{billing.StatusVoided, "40.00", "75.00", false},
	}
	for _, c := range cases {
		inv := billing.Invoice{Status: c.status, Paid: d(c.paid), Due: d(c.due)}
		assert.Equal(t, c.want, inv.IsPartlyPaid(), "%+v", c)
	}
}
