package sqlstore_test

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/sqlstore"
	"github.com/amsbilling/sdk/billing/sqlstore/internal/sqltest"
)

// TestMigrateV02Database: a database of v0.2 (schema version 2), with
// links, invoices and a pending creation, migrates to the money schema with
// nothing lost: every invoice reads back as it was, with no credit, and
// takes payments and credit afterwards.
func TestMigrateV02Database(t *testing.T) {
	t.Parallel()
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := b.Open(t, sqltest.WithoutMigrate)
			require.NoError(t, sqlstore.MigrateTo(ctx, s, 2))

			acct := billing.UserAccount("10000000-0000-4000-8000-000000000001")
			_, err := s.LinkContact(ctx, acct, "c-1")
			require.NoError(t, err)
			inv := billing.Invoice{
				Account: acct, Number: "INV-0001", ProviderID: "30000000-0000-4000-8000-000000000001",
				Reference: "Membership", Status: billing.StatusAuthorised, Currency: "NZD",
				IssueDate: billing.NewDate(2026, time.January, 2), DueDate: billing.NewDate(2026, time.February, 1),
				Amount: decimal.RequireFromString("115.00"), Paid: decimal.RequireFromString("15.00"),
				Due: decimal.RequireFromString("100.00"), UpdateNeeded: true,
				UpdateRequestedAt: time.Date(2026, 1, 3, 4, 5, 6, 7000, time.UTC),
			}
			require.NoError(t, s.CreateInvoice(ctx, inv))
			p := billing.CreateInvoiceParams{Account: acct, Date: inv.IssueDate, DueDate: inv.DueDate, Reference: "Second",
				LineItems: []billing.LineItem{{Description: "Fee", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.NewFromInt(5)}}}
			_, err = s.BeginCreations(ctx, []billing.Creation{{Key: "k-1", Fingerprint: p.Fingerprint(), Account: acct, ContactID: "c-1", Params: p}})
			require.NoError(t, err)

			require.NoError(t, s.Migrate(ctx))
			assert.Equal(t, newestVersion, sqltest.Scalar[int](t, s.DB(), "SELECT max(version_id) FROM "+sqlstore.VersionTable))

			got, err := s.InvoiceByNumber(ctx, inv.Number)
			require.NoError(t, err)
			assert.True(t, got.Credited.IsZero(), "Credited of a v0.2 invoice: %s", got.Credited)
			got.Credited = inv.Credited
			assert.True(t, got.SameProviderState(inv), "invoice changed by the migration: %+v", got)
			assert.Equal(t, inv.UpdateNeeded, got.UpdateNeeded)
			assert.True(t, inv.UpdateRequestedAt.Equal(got.UpdateRequestedAt))
			pending, err := s.PendingCreations(ctx)
			require.NoError(t, err)
			require.Len(t, pending, 1)
			assert.Equal(t, "k-1", pending[0].Key)
			link, err := s.ContactLink(ctx, acct)
			require.NoError(t, err)
			assert.Equal(t, "c-1", link.ContactID)

			credited := inv
			credited.Credited = decimal.RequireFromString("20.00")
			saved, err := s.SaveInvoiceStates(ctx, []billing.Invoice{credited})
			require.NoError(t, err)
			require.True(t, saved[0].Changed)
			res, err := s.SavePaymentStates(ctx, []billing.Payment{{ProviderID: "60000000-0000-4000-8000-000000000001",
				InvoiceID: inv.ProviderID, Amount: decimal.RequireFromString("15.00"), Date: inv.IssueDate,
				Reference: "Card", Status: billing.PaymentAuthorised}})
			require.NoError(t, err)
			require.NoError(t, res[0].Err)
			n, err := s.MarkCreditNotes(ctx, []string{"70000000-0000-4000-8000-000000000001"}, time.Now())
			require.NoError(t, err)
			require.Equal(t, 1, n, "credit notes are marked after the migration")
		})
	}
}
