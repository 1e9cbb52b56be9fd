package sqlstore_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/sqlstore"
	"github.com/amsbilling/sdk/billing/sqlstore/internal/sqltest"
)

// TestMoneyStoredExactly checks the stored form of amounts: NUMERIC on
// PostgreSQL and TEXT on SQLite, holding exactly the decimal's digits, and
// that the round trip through the store returns an equal value.
func TestMoneyStoredExactly(t *testing.T) {
	t.Parallel()
	amounts := []string{
		"12345678901234567890.123456789012", // beyond float64 and int64
		"0.30",
		"-150.00",
		"0.000000000000000001",
		"0",
	}
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := b.Open(t)
			for i, a := range amounts {
				want := decimal.RequireFromString(a)
				inv := billing.Invoice{
					Account: billing.UserAccount("u1"), Number: "INV-" + a, ProviderID: "p" + a,
					Amount: want, Paid: want.Neg(), Due: decimal.Zero,
				}
				require.NoError(t, s.CreateInvoice(ctx, inv), a)

				var typ, text string
				switch s.Dialect() {
				case sqlstore.Postgres:
					typ = sqltest.Scalar[string](t, s.DB(), "SELECT pg_typeof(amount)::text FROM billing_invoices WHERE invoice_number = $1", inv.Number)
					text = sqltest.Scalar[string](t, s.DB(), "SELECT amount::text FROM billing_invoices WHERE invoice_number = $1", inv.Number)
					assert.Equal(t, "numeric", typ, a)
				case sqlstore.SQLite:
					typ = sqltest.Scalar[string](t, s.DB(), "SELECT typeof(amount) FROM billing_invoices WHERE invoice_number = $1", inv.Number)
					text = sqltest.Scalar[string](t, s.DB(), "SELECT amount FROM billing_invoices WHERE invoice_number = $1", inv.Number)
					assert.Equal(t, "text", typ, a)
				}
				assert.True(t, want.Equal(decimal.RequireFromString(text)), "%d: stored %s for %s", i, text, a)

				got, err := s.InvoiceByNumber(ctx, inv.Number)
				require.NoError(t, err)
				assert.True(t, want.Equal(got.Amount), "Amount: want %s, got %s", want, got.Amount)
				assert.True(t, want.Neg().Equal(got.Paid), "Paid: want %s, got %s", want.Neg(), got.Paid)
				assert.True(t, got.Due.IsZero(), "Due: got %s", got.Due)
			}
		})
	}
}

// TestDatesAndTimesStored checks the stored forms: DATE or 'YYYY-MM-DD'
// text; TIMESTAMPTZ or INTEGER unix microseconds, cut to the microsecond and
// returned in UTC.
func TestDatesAndTimesStored(t *testing.T) {
	t.Parallel()
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := b.Open(t)
			inv := billing.Invoice{
				Account: billing.UserAccount("u1"), Number: "INV-1", ProviderID: "p1",
				IssueDate: billing.NewDate(2026, time.January, 31), DueDate: billing.NewDate(2026, time.March, 1),
			}
			require.NoError(t, s.CreateInvoice(ctx, inv))
			// 123456789ns after the second, in a zone east of UTC.
			at := time.Date(2026, time.February, 1, 9, 30, 0, 123456789, time.FixedZone("NZDT", 13*3600))
			n, err := s.MarkUpdateNeeded(ctx, []string{"p1"}, at)
			require.NoError(t, err)
			require.Equal(t, 1, n)

			switch s.Dialect() {
			case sqlstore.Postgres:
				assert.Equal(t, "2026-01-31", sqltest.Scalar[string](t, s.DB(), "SELECT issue_date::text FROM billing_invoices"))
				assert.Equal(t, "date", sqltest.Scalar[string](t, s.DB(), "SELECT pg_typeof(issue_date)::text FROM billing_invoices"))
				assert.Equal(t, "timestamp with time zone", sqltest.Scalar[string](t, s.DB(), "SELECT pg_typeof(update_requested_at)::text FROM billing_invoices"))
				assert.Equal(t, at.UnixMicro(), sqltest.Scalar[int64](t, s.DB(), "SELECT (extract(epoch FROM update_requested_at) * 1000000)::bigint FROM billing_invoices"))
			case sqlstore.SQLite:
				assert.Equal(t, "2026-01-31", sqltest.Scalar[string](t, s.DB(), "SELECT issue_date FROM billing_invoices"))
				assert.Equal(t, "integer", sqltest.Scalar[string](t, s.DB(), "SELECT typeof(update_requested_at) FROM billing_invoices"))
				assert.Equal(t, at.UnixMicro(), sqltest.Scalar[int64](t, s.DB(), "SELECT update_requested_at FROM billing_invoices"))
			}

			got, err := s.InvoiceByProviderID(ctx, "p1")
			require.NoError(t, err)
			assert.Equal(t, inv.IssueDate, got.IssueDate)
			assert.Equal(t, inv.DueDate, got.DueDate)
			assert.True(t, got.PaidDate.IsZero())
			assert.Equal(t, time.UTC, got.UpdateRequestedAt.Location())
			assert.Equal(t, at.Truncate(time.Microsecond).UTC(), got.UpdateRequestedAt)
		})
	}
}

// TestAccountOwnerConstraint checks the database itself refuses an account
// with both owners or neither, whatever code writes to it.
func TestAccountOwnerConstraint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		user, org  any
		wantReject bool
	}{
		{"user", "u1", nil, false},
		{"organisation", nil, "o1", false},
		{"both", "u2", "o2", true},
		{"neither", nil, nil, true},
		{"empty user id", "", nil, true},
	}
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := b.Open(t)
			for _, tt := range tests {
				_, err := s.DB().ExecContext(t.Context(),
					"INSERT INTO billing_accounts (user_id, organisation_id) VALUES ($1, $2)", tt.user, tt.org)
				if tt.wantReject {
					assert.Error(t, err, tt.name)
				} else {
					assert.NoError(t, err, tt.name)
				}
			}
			// Unique owners: a second account for the same user is refused.
			_, err := s.DB().ExecContext(t.Context(), "INSERT INTO billing_accounts (user_id) VALUES ('u1')")
			assert.True(t, sqlstore.IsUniqueViolation(s, err), "duplicate user account: %v", err)
		})
	}
}

// TestClaimedUntilReleased checks at the SQL level that completing a claim
// ends its lease (claimed_until is NULL), so nothing stays reserved.
func TestClaimedUntilReleased(t *testing.T) {
	t.Parallel()
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := b.Open(t)
			require.NoError(t, s.CreateInvoice(ctx, billing.Invoice{Account: billing.UserAccount("u1"), Number: "INV-1", ProviderID: "p1"}))
			at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			_, err := s.MarkUpdateNeeded(ctx, []string{"p1"}, at)
			require.NoError(t, err)
			claims, err := s.ClaimUpdates(ctx, at.Add(time.Minute), 10, time.Hour)
			require.NoError(t, err)
			require.Len(t, claims, 1)
			assert.Equal(t, 1, sqltest.Scalar[int](t, s.DB(), "SELECT count(*) FROM billing_invoices WHERE claimed_until IS NOT NULL"))

			cleared, err := s.CompleteUpdate(ctx, claims[0])
			require.NoError(t, err)
			assert.True(t, cleared)
			assert.Equal(t, 0, sqltest.Scalar[int](t, s.DB(), "SELECT count(*) FROM billing_invoices WHERE claimed_until IS NOT NULL"))
		})
	}
}

// TestEventStatesAreInvoiceJSON checks the stored form of an event's Before
// and After: JSON (jsonb on PostgreSQL, valid JSON text on SQLite) with
// exactly the keys encoding/json gives a billing.Invoice, so a field added
// to Invoice and not to PostgreSQL's jsonb_build_object fails here, and
// amounts as exact decimal strings.
func TestEventStatesAreInvoiceJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(billing.Invoice{})
	require.NoError(t, err)
	var want map[string]any
	require.NoError(t, json.Unmarshal(b, &want))
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := be.Open(t)
			inv := billing.Invoice{
				Account: billing.UserAccount("u1"), Number: "INV-1", ProviderID: "p1", Status: billing.StatusAuthorised,
				IssueDate: billing.NewDate(2026, time.January, 31), Amount: decimal.RequireFromString("12345678901234567890.123456789012"),
			}
			require.NoError(t, s.CreateInvoice(ctx, inv))
			inv.Status = billing.StatusPaid
			_, _, err := s.SaveInvoiceState(ctx, inv)
			require.NoError(t, err)

			for _, col := range []string{"before_state", "after_state"} {
				raw := sqltest.Scalar[string](t, s.DB(), "SELECT "+col+" FROM billing_invoice_events")
				var got map[string]any
				require.NoError(t, json.Unmarshal([]byte(raw), &got), "%s: %s", col, raw)
				assert.ElementsMatch(t, keys(want), keys(got), "%s keys", col)
				assert.Equal(t, "12345678901234567890.123456789012", got["Amount"], "%s Amount", col)
				assert.Equal(t, "2026-01-31", got["IssueDate"], "%s IssueDate", col)
				assert.Equal(t, map[string]any{"UserID": "u1", "OrganisationID": ""}, got["Account"], "%s Account", col)
			}
			if s.Dialect() == sqlstore.Postgres {
				assert.Equal(t, "jsonb", sqltest.Scalar[string](t, s.DB(), "SELECT pg_typeof(after_state)::text FROM billing_invoice_events"))
			}
		})
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
