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
	postInvoice  = "POST /Invoices/{InvoiceID}"
	postPayment  = "POST /Payments/{PaymentID}"
	statusVoided = billing.StatusVoided
)

func TestVoidInvoice(t *testing.T) {
	r := moneytest.New(t, emulator.Options{})
	invs := r.Bill(t, 1)

	res := r.Run(t, run, "-invoice", invs[0].ProviderID)
	require.Equal(t, 0, res.Code, res)
	assert.Equal(t, "Voided INV-0001 is VOIDED: NZD 0.00 due of 115.00\n", res.Stdout)
	x, _ := r.Server.Invoice("INV-0001")
	assert.Equal(t, statusVoided, x.Status)
	assert.Equal(t, 1, r.Calls(postInvoice))

	res = r.Run(t, run, "-invoice", "INV-0001")
	require.Equal(t, 0, res.Code, res)
	assert.Contains(t, res.Stdout, "Already voided: INV-0001 is VOIDED")
	assert.Equal(t, 1, r.Calls(postInvoice), "nothing sent again")
}

// An invoice with payments, one recorded by the app and one made by hand
// in Xero: refused, naming them and the flag; with the flag each is
// reversed once and the invoice voided.
func TestVoidInvoiceWithPayments(t *testing.T) {
	r := moneytest.New(t, emulator.Options{})
	r.Bill(t, 1)
	inv := r.Invoice(t, "INV-0001")
	_, err := r.Money(t).RecordPayment(t.Context(), billing.PaymentParams{InvoiceID: inv.ProviderID, Amount: decimal.NewFromInt(50), Reference: "card 1"})
	require.NoError(t, err)
	require.NoError(t, r.Server.PayInvoice(t.Context(), inv.ProviderID, decimal.NewFromInt(10), billing.Date{}))

	res := r.Run(t, run, "-invoice", "INV-0001")
	assert.Equal(t, 1, res.Code, res)
	assert.Contains(t, res.Stderr, "Nothing voided: billing: the invoice has payments: invoice INV-0001 has 2 payment(s) in Xero: card 1 of 50.00")
	assert.Contains(t, res.Stderr, "Run again with -reverse-payments")
	assert.Empty(t, res.Stdout)
	x, _ := r.Server.Invoice("INV-0001")
	assert.Equal(t, billing.StatusAuthorised, x.Status)
	assert.Zero(t, r.Calls(postInvoice))
	assert.Zero(t, r.Calls(postPayment))

	res = r.Run(t, run, "-invoice", "INV-0001", "-reverse-payments")
	require.Equal(t, 0, res.Code, res)
	assert.Contains(t, res.Stdout, `of NZD 50.00 on `)
	assert.Contains(t, res.Stdout, `reference "card 1"`)
	assert.Contains(t, res.Stdout, `of NZD 10.00 on `)
	assert.Contains(t, res.Stdout, "Voided INV-0001 is VOIDED")
	x, _ = r.Server.Invoice("INV-0001")
	assert.Equal(t, statusVoided, x.Status)
	for _, p := range r.Server.Payments() {
		assert.Equal(t, emulator.PaymentDeleted, p.Status)
	}
	assert.Equal(t, 2, r.Calls(postPayment), "each reversed once")

	res = r.Run(t, run, "-invoice", "INV-0001", "-reverse-payments")
	require.Equal(t, 0, res.Code, res)
	assert.Contains(t, res.Stdout, "Already voided")
	assert.Equal(t, 2, r.Calls(postPayment))
	assert.Equal(t, 1, r.Calls(postInvoice))
	assert.Zero(t, r.PendingOps(t))
}

func TestVoidInvoiceBadInput(t *testing.T) {
	r := moneytest.New(t, emulator.Options{})
	r.Bill(t, 1)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		code int
		want string
	}{
		{"no invoice", nil, nil, 2, "give -invoice INV"},
		{"stray argument", []string{"-invoice", "INV-0001", "now"}, nil, 2, `unexpected argument "now"`},
		{"bad flag", []string{"-force"}, nil, 2, "flag provided but not defined"},
		{"mock billing", []string{"-invoice", "INV-0001"}, map[string]string{"AMS_BILLING_SERVICE_CLASS": "mock"}, 2, "moves no money"},
		{"bad configuration", []string{"-invoice", "INV-0001"}, map[string]string{"XERO_AMOUNT_TYPE": "GROSS"}, 2, "XERO_AMOUNT_TYPE"},
		{"unknown invoice", []string{"-invoice", "INV-9999"}, nil, 1, `invoice "INV-9999" is not in the billing database`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r.SetEnv(t, tt.env)
			res := r.Run(t, run, tt.args...)
			assert.Equal(t, tt.code, res.Code, res)
			assert.Contains(t, res.Stderr, tt.want)
			assert.Zero(t, r.Calls(postInvoice))
		})
	}
	assert.Equal(t, 0, r.Run(t, run, "-h").Code)
	x, _ := r.Server.Invoice("INV-0001")
	assert.Equal(t, billing.StatusAuthorised, x.Status)
}

// The void's answer was lost: exit 1 saying to run again; the rerun finds
// the invoice voided in Xero and sends nothing again.
func TestVoidInvoiceLostAnswer(t *testing.T) {
	r := moneytest.New(t, emulator.Options{})
	invs := r.Bill(t, 1)
	r.Server.InjectFault(emulator.Fault{Path: emulator.APIPath + "/Invoices/" + invs[0].ProviderID, LoseAnswer: emulator.AnswerDropped, Count: 4})
	res := r.Run(t, run, "-invoice", "INV-0001")
	assert.Equal(t, 1, res.Code, res)
	assert.Contains(t, res.Stderr, "recorded as pending. Run the same command again")
	x, _ := r.Server.Invoice("INV-0001")
	require.Equal(t, statusVoided, x.Status, "Xero voided it")
	posts := r.Calls(postInvoice)

	res = r.Run(t, run, "-invoice", "INV-0001")
	require.Equal(t, 0, res.Code, res)
	assert.Contains(t, res.Stdout, "Voided INV-0001 is VOIDED")
	assert.Equal(t, posts, r.Calls(postInvoice), "found, not sent again")
	assert.Zero(t, r.PendingOps(t))
}
