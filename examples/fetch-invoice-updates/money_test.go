package main

import (
	"context"
	"net/http"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/sqlstore/sqlurl"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/xero"
	"github.com/amsbilling/sdk/xero/setup"
)

// The cron run resolves the money operations a lost answer left pending:
// found in Xero, not sent again; one Xero cannot be searched for stays
// pending and is said so (as a pending creation is, the run goes on).
func TestResolvesPendingMoneyOps(t *testing.T) {
	tests := []struct {
		name   string
		search *emulator.Fault // on the rerun's search, if any
		done   bool
		lines  []string
	}{
		{"found", nil, true, []string{"Resolved 1 pending money operation(s)\n", "Done\n"}},
		{"Xero failing", &emulator.Fault{Path: emulator.APIPath + "/Payments", Status: http.StatusServiceUnavailable, Count: 100}, false,
			[]string{"1 money operation(s) still pending; the next run tries again:\n  - "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			env, srv := fixture(t, 0)
			env[xero.EnvPaymentAccountCode] = emulator.DefaultPaymentAccountCode
			cfg, err := setup.LoadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			require.NoError(t, err)
			store, err := sqlurl.Open(ctx, env["BILLING_DATABASE_URL"])
			require.NoError(t, err)
			defer store.Close()
			client, err := xero.NewClient(cfg.Xero)
			require.NoError(t, err)
			svc := xero.NewService(client, store, cfg.Xero)
			inv, err := svc.CreateInvoice(ctx, billing.CreateInvoiceParams{
				Reference: "Membership 2027", Account: billing.UserAccount("0b7e8a52-54a4-4f57-9c1e-1d1f3c2b4a59"),
				Date: billing.NewDate(2026, 11, 1), DueDate: billing.NewDate(2026, 11, 30),
				LineItems: []billing.LineItem{{Description: "Membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.NewFromInt(100)}},
			})
			require.NoError(t, err)
			// Every attempt's answer lost (and net/http's own replay).
			srv.InjectFault(emulator.Fault{Path: emulator.APIPath + "/Payments", LoseAnswer: emulator.AnswerDropped, Count: 4})
			_, err = svc.RecordPayment(ctx, billing.PaymentParams{InvoiceID: inv.ProviderID, Amount: inv.Due, Reference: "dd 1"})
			var pe *billing.PendingError
			require.ErrorAs(t, err, &pe)
			require.Len(t, srv.Payments(), 1, "Xero made it")
			if tt.search != nil {
				srv.InjectFault(*tt.search)
			}

			r := runCmd(t, env)
			assert.Equal(t, 0, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			for _, l := range tt.lines {
				assert.Contains(t, r.stdout, l)
			}
			assert.Len(t, srv.Payments(), 1, "paid once")
			pending, err := store.PendingOps(ctx)
			require.NoError(t, err)
			if tt.done {
				assert.Empty(t, pending)
				got, err := store.InvoiceByProviderID(ctx, inv.ProviderID)
				require.NoError(t, err)
				assert.Equal(t, billing.StatusPaid, got.Status)
			} else {
				assert.Len(t, pending, 1)
			}
		})
	}
}
