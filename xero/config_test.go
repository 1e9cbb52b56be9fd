package xero_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/xero"
)

func validEnv() map[string]string {
	return map[string]string{
		xero.EnvClientID:     "91E5715B1199038080D6D0296EBC1648",
		xero.EnvClientSecret: "s3cr3t-Value-0123456789",
		xero.EnvTenantID:     tenantID,
		xero.EnvWebhookKey:   "webhook-key",
		xero.EnvAccountCode:  "200",
		xero.EnvAmountType:   "INCLUSIVE",
		xero.EnvCurrencyCode: "NZD",
	}
}

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// TestLoadConfigRefusesControlCharacters: a control character inside a
// credential or the account code (a pasted line break, an escape) is
// refused at start, naming the variable and never quoting its value.
func TestLoadConfigRefusesControlCharacters(t *testing.T) {
	for _, name := range []string{xero.EnvClientID, xero.EnvClientSecret, xero.EnvAccountCode, xero.EnvTenantID, xero.EnvPaymentAccountCode} {
		for _, bad := range []string{"\x00", "\n", "\r", "\t", "\x1b", "\x7f", "\u0085"} {
			env := validEnv()
			value := "abc" + bad + "def-value"
			env[name] = value
			_, err := xero.LoadConfig(lookup(env))
			require.ErrorIs(t, err, billing.ErrInvalidConfig, "%s with %q", name, bad)
			var ce *billing.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, name, ce.Var)
			assert.Contains(t, ce.Problem, "control character")
			assert.NotContains(t, err.Error(), "def-value", "the value is never quoted")
		}
	}
	_, err := xero.LoadConfig(lookup(validEnv()))
	require.NoError(t, err)
}

// TestPaymentAccountCodeIsOptional: XERO_PAYMENT_ACCOUNT_CODE is read when
// set and not required when unset.
func TestPaymentAccountCodeIsOptional(t *testing.T) {
	cfg, err := xero.LoadConfig(lookup(validEnv()))
	require.NoError(t, err)
	assert.Empty(t, cfg.PaymentAccountCode)
	env := validEnv()
	env[xero.EnvPaymentAccountCode] = " 090 "
	cfg, err = xero.LoadConfig(lookup(env))
	require.NoError(t, err)
	assert.Equal(t, "090", cfg.PaymentAccountCode)
	assert.Contains(t, cfg.String(), `PaymentAccountCode:"090"`)
}

// TestNewClientRefusesControlCharacters: a Config filled in code and given
// to NewClient directly gets the same check as one loaded from the
// environment, without quoting the value.
func TestNewClientRefusesControlCharacters(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(*xero.Config)
	}{
		{xero.EnvClientID, func(c *xero.Config) { c.ClientID = "id\x00-hidden-part" }},
		{xero.EnvClientSecret, func(c *xero.Config) { c.ClientSecret = billing.NewSecret("secret\n-hidden-part") }},
		{xero.EnvTenantID, func(c *xero.Config) { c.TenantID = "tenant\x1b-hidden-part" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			tt.edit(&cfg)
			_, err := xero.NewClient(cfg)
			require.ErrorIs(t, err, billing.ErrInvalidConfig)
			assert.Contains(t, err.Error(), tt.name)
			assert.Contains(t, err.Error(), "control character")
			assert.NotContains(t, err.Error(), "hidden-part")
		})
	}
}

// TestBooleanErrorListsEveryForm: the error for a bad boolean names every
// form that is accepted, and every form it names is accepted.
func TestBooleanErrorListsEveryForm(t *testing.T) {
	for _, name := range []string{xero.EnvEmailInvoices, xero.EnvDebug} {
		env := validEnv()
		env[name] = "perhaps"
		_, err := xero.LoadConfig(lookup(env))
		var ce *billing.ConfigError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, name, ce.Var)
		_, list, ok := strings.Cut(ce.Problem, "use ")
		require.True(t, ok, ce.Problem)
		list = strings.TrimSuffix(list, ", in any case")
		forms := strings.FieldsFunc(strings.ReplaceAll(list, " or ", ","), func(r rune) bool { return r == ',' || r == ' ' })
		require.NotEmpty(t, forms)
		for _, form := range forms {
			for _, spelled := range []string{form, strings.ToUpper(form)} {
				env[name] = spelled
				_, err := xero.LoadConfig(lookup(env))
				assert.NoError(t, err, "%s=%s is listed as accepted", name, spelled)
			}
		}
		// Every accepted spelling is in the list.
		for _, accepted := range []string{"true", "false", "1", "0", "t", "f", "yes", "no", "y", "n", "on", "off"} {
			assert.Contains(t, forms, accepted)
		}
		assert.Len(t, forms, 12)
	}
}
