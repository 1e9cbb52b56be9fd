package providers_test

import (
	"context"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/providers"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/xero"
)

func config(t *testing.T, env map[string]string) billing.Config {
	t.Helper()
	cfg, err := billing.LoadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	return cfg
}

func TestNewSelectsTheConfiguredProvider(t *testing.T) {
	store := mock.NewStore()

	_, err := providers.New(config(t, nil), store, providers.Options{})
	assert.ErrorIs(t, err, billing.ErrNoService, "unset means no billing service")

	svc, err := providers.New(config(t, map[string]string{"AMS_BILLING_SERVICE_CLASS": "ams.billing.providers.mock.MockBillingService"}), store, providers.Options{})
	require.NoError(t, err)
	assert.IsType(t, &mock.BillingService{}, svc)

	svc, err = providers.New(config(t, map[string]string{
		"AMS_BILLING_SERVICE_CLASS": "xero", "XERO_CLIENT_ID": "id", "XERO_CLIENT_SECRET": "secret",
		"XERO_TENANT_ID": "6f1a7a0e-0d3c-4a6e-9a39-1f1c0b0e7c11", "XERO_WEBHOOK_KEY": "k", "XERO_ACCOUNT_CODE": "200",
		"XERO_AMOUNT_TYPE": "EXCLUSIVE", "XERO_CURRENCY_CODE": "NZD",
	}), store, providers.Options{})
	require.NoError(t, err)
	assert.IsType(t, &xero.Service{}, svc)
}

func TestNewRejectsABadConfig(t *testing.T) {
	cfg := billing.Config{Provider: billing.ProviderXero} // nothing else set
	_, err := providers.New(cfg, mock.NewStore(), providers.Options{})
	require.ErrorIs(t, err, billing.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "XERO_CLIENT_ID")

	_, err = providers.New(config(t, map[string]string{"AMS_BILLING_SERVICE_CLASS": "mock"}), nil, providers.Options{})
	assert.Error(t, err)
}

// The mock-xero provider runs the real Xero code path, hook included.
func TestMockXeroRunsTheRealCodePath(t *testing.T) {
	ctx := context.Background()
	store := mock.NewStore()
	var changes []billing.InvoiceChange
	svc, err := providers.New(config(t, map[string]string{"AMS_BILLING_SERVICE_CLASS": "mock-xero"}), store, providers.Options{
		InvoiceHook: func(_ context.Context, c billing.InvoiceChange) error { changes = append(changes, c); return nil },
	})
	require.NoError(t, err)
	mx, ok := svc.(*mock.XeroBillingService)
	require.True(t, ok)
	_, simulated := svc.(billing.Simulated)
	assert.False(t, simulated, "the fetch job must run against mock-xero")

	user := billing.User{ID: "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b", Name: "Grace Hopper", Email: "grace@example.com"}
	require.NoError(t, svc.UpdateUserBillingDetails(ctx, user))
	inv, err := svc.CreateInvoice(ctx, billing.CreateInvoiceParams{
		Account: billing.UserAccount(user.ID), Date: billing.NewDate(2026, 11, 1), DueDate: billing.NewDate(2026, 11, 15),
		LineItems: []billing.LineItem{{Description: "Membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.NewFromInt(1)}},
	})
	require.NoError(t, err)
	assert.Equal(t, "INV-0001", inv.Number)
	require.NoError(t, mx.Emulator().PayInvoice(ctx, inv.ProviderID, inv.Due, billing.NewDate(2026, 11, 2)))
	_, err = svc.UpdateInvoices(ctx, []string{inv.ProviderID})
	require.NoError(t, err)
	require.Len(t, changes, 1)
	assert.True(t, changes[0].BecamePaid())
}
