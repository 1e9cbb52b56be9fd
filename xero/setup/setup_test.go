package setup_test

import (
	"context"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/xero"
	"github.com/amsbilling/sdk/xero/setup"
)

func config(t *testing.T, env map[string]string) setup.Config {
	t.Helper()
	cfg, err := setup.LoadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	return cfg
}

var withMocks = setup.Options{Mocks: mock.Provide}

func TestNewSelectsTheConfiguredProvider(t *testing.T) {
	store := mock.NewStore()

	_, err := setup.New(config(t, nil), store, setup.Options{})
	assert.ErrorIs(t, err, billing.ErrNoService, "unset means no billing service")

	svc, err := setup.New(config(t, map[string]string{"AMS_BILLING_SERVICE_CLASS": "ams.billing.providers.mock.MockBillingService"}), store, withMocks)
	require.NoError(t, err)
	assert.IsType(t, &mock.BillingService{}, svc)

	svc, err = setup.New(config(t, map[string]string{
		"AMS_BILLING_SERVICE_CLASS": "xero", "XERO_CLIENT_ID": "id", "XERO_CLIENT_SECRET": "secret",
		"XERO_TENANT_ID": "6f1a7a0e-0d3c-4a6e-9a39-1f1c0b0e7c11", "XERO_WEBHOOK_KEY": "k", "XERO_ACCOUNT_CODE": "200",
		"XERO_AMOUNT_TYPE": "EXCLUSIVE", "XERO_CURRENCY_CODE": "NZD",
	}), store, setup.Options{})
	require.NoError(t, err)
	assert.IsType(t, &xero.Service{}, svc)
}

// An app that did not opt into the mocks gets a clear configuration error
// naming the variable, not a silent fake.
func TestMocksNeedTheAppToOptIn(t *testing.T) {
	for _, class := range []string{"mock", "mock-xero"} {
		_, err := setup.New(config(t, map[string]string{"AMS_BILLING_SERVICE_CLASS": class}), mock.NewStore(), setup.Options{})
		require.ErrorIs(t, err, billing.ErrInvalidConfig, class)
		assert.Contains(t, err.Error(), "AMS_BILLING_SERVICE_CLASS")
		assert.Contains(t, err.Error(), "mock.Provide")
	}
}

func TestNewRejectsABadConfig(t *testing.T) {
	cfg := setup.Config{Provider: setup.ProviderXero} // nothing else set
	_, err := setup.New(cfg, mock.NewStore(), setup.Options{})
	require.ErrorIs(t, err, billing.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "XERO_CLIENT_ID")

	_, err = setup.New(config(t, map[string]string{"AMS_BILLING_SERVICE_CLASS": "mock"}), nil, withMocks)
	assert.Error(t, err)
}

// The mock-xero provider runs the real Xero code path, hook included.
func TestMockXeroRunsTheRealCodePath(t *testing.T) {
	ctx := context.Background()
	store := mock.NewStore()
	var changes []billing.InvoiceChange
	opts := withMocks
	opts.InvoiceHook = func(_ context.Context, c billing.InvoiceChange) error { changes = append(changes, c); return nil }
	svc, err := setup.New(config(t, map[string]string{"AMS_BILLING_SERVICE_CLASS": "mock-xero"}), store, opts)
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
