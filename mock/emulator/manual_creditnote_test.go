package emulator_test

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock/emulator"
)

func TestCreateCreditNoteByHand(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	contact := a.createContact("Ann", "", "")
	inv := a.createInvoice(contact)
	ctx := t.Context()

	cn, err := a.e.CreateCreditNote(ctx, emulator.ManualCreditNote{InvoiceID: inv.InvoiceNumber,
		Amount: decimal.RequireFromString("12.50"), Reference: "Goodwill", Date: billing.NewDate(2026, 2, 6)})
	require.NoError(t, err)
	assert.Equal(t, "ACCRECCREDIT", cn.Type)
	assert.Equal(t, billing.StatusAuthorised, cn.Status)
	assert.Equal(t, contact, cn.ContactID, "the invoice's contact")
	assert.Equal(t, billing.NewDate(2026, 2, 6), cn.Date)
	assert.Equal(t, "12.50", cn.Total.StringFixed(2), "one line, no tax")
	assert.Equal(t, "12.50", cn.RemainingCredit.StringFixed(2))
	assert.Empty(t, cn.Allocations)
	require.Len(t, cn.LineItems, 1)
	assert.Equal(t, emulator.DefaultAccountCode, cn.LineItems[0].AccountCode)

	wire := a.getCreditNote(cn.CreditNoteID)
	assert.Equal(t, "Goodwill", wire.Reference)
	assert.Equal(t, "12.50", wire.Total.String())

	_, err = a.e.AllocateCreditNote(ctx, cn.CreditNoteID, inv.InvoiceID, decimal.RequireFromString("12.50"), billing.Date{})
	require.NoError(t, err, "it can be allocated to the invoice")

	for _, tt := range []struct {
		name string
		mc   emulator.ManualCreditNote
		want error
	}{
		{"unknown invoice", emulator.ManualCreditNote{InvoiceID: "INV-9999", Amount: decimal.NewFromInt(1)}, emulator.ErrNotFound},
		{"no contact", emulator.ManualCreditNote{Amount: decimal.NewFromInt(1)}, emulator.ErrInvalid},
		{"unknown account", emulator.ManualCreditNote{ContactID: contact, Amount: decimal.NewFromInt(1), AccountCode: "999"}, emulator.ErrInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.e.CreateCreditNote(ctx, tt.mc)
			assert.ErrorIs(t, err, tt.want)
		})
	}
	assert.Len(t, a.e.CreditNotes(), 1, "refused credit notes are not made")
}
