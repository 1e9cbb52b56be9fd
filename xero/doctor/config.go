package doctor

import (
	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/internal/urlcheck"
	"github.com/amsbilling/sdk/xero"
	"github.com/amsbilling/sdk/xero/setup"
)

// ConfigChecks reports a configuration that did not load: one failed check
// per bad variable that err (from setup.LoadConfig or Config.Validate)
// names, with how to fix it. Like err, they never hold a secret. A nil err
// gives none.
func ConfigChecks(err error) []Check {
	if err == nil {
		return nil
	}
	var out []Check
	for _, ce := range billing.ConfigErrors(err) {
		out = append(out, Check{
			Name: "configuration", Status: Fail, Found: ce.Error(),
			Var: ce.Var, Fix: fixFor(ce.Var), Err: ce,
		})
	}
	if len(out) == 0 {
		out = append(out, Check{Name: "configuration", Status: Fail, Found: err.Error(), Err: err})
	}
	return out
}

// fixFor says how to fix a variable, as an operator reads it.
func fixFor(name string) string {
	switch name {
	case setup.EnvServiceClass:
		return "set it to xero (or AMS's ams.billing.providers.xero.XeroBillingService); mock and mock-xero are test doubles"
	case xero.EnvClientID:
		return "copy the Client ID from the Custom Connection's page in the Xero developer portal (developer.xero.com, My Apps)"
	case xero.EnvClientSecret:
		return "copy the Client Secret from the Custom Connection's page in the Xero developer portal, or generate a new one there"
	case xero.EnvTenantID:
		return "set it to the tenant id of the connected organisation (the Custom Connection's details, or GET /connections)"
	case xero.EnvWebhookKey:
		return "copy the webhook key from the app's Webhooks page in the Xero developer portal (two keys, comma-separated, while rotating)"
	case xero.EnvAccountCode:
		return "set it to the code of an active revenue account of the chart of accounts, e.g. 200 (Sales)"
	case xero.EnvAmountType:
		return "set it to INCLUSIVE, EXCLUSIVE or NOTAX"
	case xero.EnvCurrencyCode:
		return "set it to the organisation's base currency, or one it has added, as a 3-letter ISO 4217 code such as NZD"
	case xero.EnvEmailWhitelist:
		return `fix the regular expression (Go's RE2 syntax, e.g. @example\.com$), or unset it to email every contact`
	case xero.EnvEmailInvoices:
		return "set it to true or false"
	case xero.EnvDebug:
		return "set it to true or false (never true in production)"
	case xero.EnvAPIURL:
		return "unset it for Xero's API, or give an absolute http(s) URL without credentials (the emulator's .../api.xro/2.0)"
	case xero.EnvTokenURL:
		return "unset it for Xero's identity service, or give an absolute http(s) URL without credentials"
	case setup.EnvDatabaseURL:
		return "set it to postgres://user:pass@host:5432/db, sqlite:///path/billing.db or a file path"
	}
	return "see the SDK's configuration table"
}

// configCheck validates cfg (filling in Xero's default URLs) and says
// which provider it selects.
func configCheck(cfg *setup.Config) []Check {
	if err := cfg.Validate(); err != nil {
		return ConfigChecks(err)
	}
	c := Check{Name: "configuration", Status: Pass}
	switch p := cfg.Provider; {
	case p == setup.ProviderXero:
		c.Found = setup.EnvServiceClass + " selects Xero and every variable parses"
		if cfg.Xero.APIURL != xero.DefaultAPIURL {
			c.Found += " (" + xero.EnvAPIURL + " " + urlcheck.Redact(cfg.Xero.APIURL) + ", not Xero's)"
		}
	case p.IsMock():
		c.Found = setup.EnvServiceClass + " selects the test double " + string(p) + ": nothing is checked at Xero, only the store"
	default:
		c.Status = Warn
		c.Found = setup.EnvServiceClass + " is unset: billing is off; only the store is checked"
		c.Var, c.Fix = setup.EnvServiceClass, "set it to xero to bill through Xero"
	}
	return []Check{c}
}
