package xero_test

import (
	"context"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
)

// TestDatesOutOfRangeAreRefusedBeforeAnyCall: a date Xero would refuse
// (its 400 "The Due Date is not valid") or store and send back in a form
// the reader refuses (a typo such as the year 226 for 2026) costs no call:
// the invoice is refused locally, the field named.
func TestDatesOutOfRangeAreRefusedBeforeAnyCall(t *testing.T) {
	tests := []struct {
		name      string
		date, due billing.Date
		problem   string
	}{
		{"due date in the year 20000", billing.NewDate(2026, 12, 1), billing.NewDate(20000, 12, 15), "DueDate: year 20000 is outside 1900-9999"},
		{"date in the year 226", billing.NewDate(226, 12, 1), billing.NewDate(2026, 12, 15), "Date: year 226 is outside 1900-9999"},
		{"date in the year 1", billing.NewDate(1, 1, 1), billing.NewDate(2026, 12, 15), "Date: year 1 is outside 1900-9999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			svc, store := newService(t, h)
			_, err := store.LinkContact(context.Background(), billing.UserAccount(userID), contactID)
			require.NoError(t, err)
			_, err = svc.CreateInvoice(context.Background(), billing.CreateInvoiceParams{
				Account: billing.UserAccount(userID), Date: tt.date, DueDate: tt.due, Reference: "Membership 2026",
				LineItems: []billing.LineItem{{Description: "Annual membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.NewFromInt(120)}},
			})
			require.ErrorIs(t, err, billing.ErrInvalidInvoice)
			assert.ErrorContains(t, err, tt.problem)
			assert.Zero(t, h.mt.GetTotalCallCount(), "no call, not even for a token")
			pending, err := store.PendingCreations(context.Background())
			require.NoError(t, err)
			assert.Empty(t, pending, "nothing recorded either")
		})
	}
}
