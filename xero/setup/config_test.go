package setup_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/xero"
	"github.com/amsbilling/sdk/xero/setup"
)

const (
	testSecret     = "s3cr3t-client-secret-value"
	testWebhookKey = "webhook-key-0123456789abcdef"
)

func xeroEnv() map[string]string {
	return map[string]string{
		"AMS_BILLING_SERVICE_CLASS": "ams.billing.providers.xero.XeroBillingService",
		"XERO_CLIENT_ID":            "91E5715B1199038080D6D0296EBC1648",
		"XERO_CLIENT_SECRET":        testSecret,
		"XERO_TENANT_ID":            "a3a4dbaf-3495-a808-ed7a-7b964388f530",
		"XERO_WEBHOOK_KEY":          testWebhookKey,
		"XERO_ACCOUNT_CODE":         "200",
		"XERO_AMOUNT_TYPE":          "INCLUSIVE",
		"XERO_CURRENCY_CODE":        "NZD",
	}
}

func lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestLoadConfigValid(t *testing.T) {
	env := xeroEnv()
	env["XERO_EMAIL_INVOICES"] = "False"
	env["XERO_DEBUG"] = "True"
	env["AMS_BILLING_EMAIL_WHITELIST_REGEX"] = "@example\\.com$"
	env["XERO_SCOPES"] = "accounting.contacts accounting.transactions"
	env["XERO_WEBHOOK_KEY"] = "old-key, new-key"
	c, err := setup.LoadConfig(lookup(env))
	require.NoError(t, err)
	assert.Equal(t, setup.ProviderXero, c.Provider)
	assert.Equal(t, xero.AmountInclusive, c.Xero.AmountType)
	assert.Equal(t, "NZD", c.Xero.Currency)
	assert.False(t, c.Xero.EmailInvoices)
	assert.True(t, c.Xero.Debug)
	assert.Equal(t, []string{"accounting.contacts", "accounting.transactions"}, c.Xero.Scopes)
	assert.Equal(t, []billing.Secret{billing.NewSecret("old-key"), billing.NewSecret("new-key")}, c.Xero.WebhookKeys)
	assert.Equal(t, xero.DefaultAPIURL, c.Xero.APIURL)
	assert.Equal(t, xero.DefaultTokenURL, c.Xero.TokenURL)
	assert.Equal(t, testSecret, c.Xero.ClientSecret.Reveal())
}

func TestLoadConfigDefaults(t *testing.T) {
	c, err := setup.LoadConfig(lookup(map[string]string{}))
	require.NoError(t, err)
	assert.Equal(t, setup.ProviderNone, c.Provider)
	assert.True(t, c.Xero.EmailInvoices, "XERO_EMAIL_INVOICES defaults to true")
	assert.False(t, c.Xero.Debug)
	assert.Empty(t, c.Xero.Scopes, "no scope is sent by default")
}

func TestLoadConfigErrorsNameEveryVariable(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(map[string]string)
		names []string
	}{
		{"missing required", func(m map[string]string) {
			delete(m, "XERO_CLIENT_ID")
			delete(m, "XERO_CLIENT_SECRET")
			delete(m, "XERO_WEBHOOK_KEY")
		}, []string{"XERO_CLIENT_ID", "XERO_CLIENT_SECRET", "XERO_WEBHOOK_KEY"}},
		{"bad values", func(m map[string]string) {
			m["XERO_AMOUNT_TYPE"] = "GROSS"
			m["XERO_CURRENCY_CODE"] = "NZ"
			m["XERO_EMAIL_INVOICES"] = "maybe"
			m["XERO_DEBUG"] = "2"
			m["AMS_BILLING_EMAIL_WHITELIST_REGEX"] = "(["
			m["XERO_API_URL"] = "ftp://x"
			m["XERO_TOKEN_URL"] = "https://user:pw@example.com/token"
		}, []string{"XERO_AMOUNT_TYPE", "XERO_CURRENCY_CODE", "XERO_EMAIL_INVOICES", "XERO_DEBUG", "AMS_BILLING_EMAIL_WHITELIST_REGEX", "XERO_API_URL", "XERO_TOKEN_URL"}},
		{"unknown provider", func(m map[string]string) {
			m["AMS_BILLING_SERVICE_CLASS"] = "stripe"
		}, []string{"AMS_BILLING_SERVICE_CLASS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := xeroEnv()
			tt.edit(env)
			_, err := setup.LoadConfig(lookup(env))
			require.Error(t, err)
			assert.ErrorIs(t, err, billing.ErrInvalidConfig)
			for _, n := range tt.names {
				assert.Contains(t, err.Error(), n)
			}
			assert.NotContains(t, err.Error(), testSecret)
			assert.NotContains(t, err.Error(), testWebhookKey)
			assert.NotContains(t, err.Error(), "pw@")
		})
	}
}

func TestConfigMockNeedsNoXeroSettings(t *testing.T) {
	for _, class := range []string{"mock", "mock-xero", "ams.billing.providers.mock.MockBillingService"} {
		_, err := setup.LoadConfig(lookup(map[string]string{"AMS_BILLING_SERVICE_CLASS": class}))
		assert.NoError(t, err, class)
	}
}

func TestConfigNeverPrintsSecrets(t *testing.T) {
	c, err := setup.LoadConfig(lookup(xeroEnv()))
	require.NoError(t, err)
	c.DatabaseURL = "postgres://app:dbpassword@db/billing"
	var logs strings.Builder
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	logger.Debug("config", "cfg", c, "secret", c.Xero.ClientSecret, "keys", c.Xero.WebhookKeys)
	js, err := json.Marshal(c)
	require.NoError(t, err)
	outputs := []string{
		fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s %q %x", c, c, c, c.Xero.ClientSecret, c.Xero.ClientSecret, c.Xero.ClientSecret),
		fmt.Sprintf("%+v %#v %d", c.Xero, c.Xero, c.Xero.WebhookKeys), logs.String(), string(js),
	}
	for _, out := range outputs {
		assert.NotContains(t, out, testSecret)
		assert.NotContains(t, out, testWebhookKey)
		assert.NotContains(t, out, "dbpassword")
	}
	assert.Contains(t, fmt.Sprint(c), "[REDACTED]")
}

func TestParseProvider(t *testing.T) {
	tests := []struct {
		in   string
		want setup.Provider
		err  bool
	}{
		{"", setup.ProviderNone, false},
		{"xero", setup.ProviderXero, false},
		{"XERO", setup.ProviderXero, false},
		{"mock", setup.ProviderMock, false},
		{"mock-xero", setup.ProviderMockXero, false},
		{"ams.billing.providers.xero.XeroBillingService", setup.ProviderXero, false},
		{"ams.billing.providers.xero.MockXeroBillingService", setup.ProviderMockXero, false},
		{"ams.billing.providers.mock.MockBillingService", setup.ProviderMock, false},
		{"ams.billing.providers.stripe.StripeBillingService", setup.ProviderNone, true},
		{"paypal", setup.ProviderNone, true},
	}
	for _, tt := range tests {
		got, err := setup.ParseProvider(tt.in)
		if tt.err {
			assert.Error(t, err, tt.in)
			continue
		}
		assert.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func TestEmailAllowed(t *testing.T) {
	c, err := setup.LoadConfig(lookup(map[string]string{"AMS_BILLING_EMAIL_WHITELIST_REGEX": "@example\\.com$"}))
	require.NoError(t, err)
	assert.True(t, c.Xero.EmailAllowed("a@example.com"))
	assert.False(t, c.Xero.EmailAllowed("a@example.org"))
	assert.False(t, c.Xero.EmailAllowed(""))
	c.Xero.EmailInvoices = false
	assert.False(t, c.Xero.EmailAllowed("a@example.com"))
}

// LoadConfig hands back the configuration with its error, so a bad one can
// be printed too; every place a password can sit in a URL or a DSN is hidden.
func TestConfigNeverPrintsURLPasswords(t *testing.T) {
	env := xeroEnv()
	env["XERO_API_URL"] = "https://apiuser:apipassword@xero.test/api.xro/2.0"
	env["XERO_TOKEN_URL"] = "https://tokuser:tokenpassword@identity.test/connect/token"
	c, err := setup.LoadConfig(lookup(env))
	require.ErrorIs(t, err, billing.ErrInvalidConfig)
	for _, dsn := range []string{
		"postgres://db/billing?user=app&password=dbpassword&sslmode=require",
		"postgres://app@db/billing?sslpassword=dbpassword",
		"host=db user=app password=dbpassword dbname=billing",
		"host=db user=app password='dbpassword' dbname=billing",
	} {
		c.DatabaseURL = dsn
		var logs strings.Builder
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "cfg", c)
		js, err := json.Marshal(c)
		require.NoError(t, err)
		for _, out := range []string{fmt.Sprint(c), fmt.Sprintf("%+v %#v", c, c), logs.String(), string(js), fmt.Sprint(setup.Config{DatabaseURL: dsn})} {
			assert.NotContains(t, out, "dbpassword", dsn)
			assert.NotContains(t, out, "apipassword")
			assert.NotContains(t, out, "tokenpassword")
		}
	}
}

// A user's own struct that keeps the config in an unexported field is
// printed by fmt without calling Secret's methods; the value must still not
// show.
func TestSecretInUnexportedFieldNeverPrints(t *testing.T) {
	c, err := setup.LoadConfig(lookup(xeroEnv()))
	require.NoError(t, err)
	type appState struct {
		cfg  setup.Config
		xero xero.Config
		key  billing.Secret
	}
	s := appState{cfg: c, xero: c.Xero, key: c.Xero.ClientSecret}
	out := fmt.Sprintf("%v %+v %#v", s, s, s)
	assert.NotContains(t, out, testSecret)
	assert.NotContains(t, out, testWebhookKey)
	assert.True(t, c.Xero.ClientSecret.Equal(billing.NewSecret(testSecret)))
	assert.False(t, c.Xero.ClientSecret.Equal(billing.NewSecret("other")))
	assert.True(t, billing.Secret{}.IsZero())
	assert.Equal(t, "", billing.NewSecret("").Reveal())
}
