package xero

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"unicode"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/internal/currency"
	"github.com/amsbilling/sdk/internal/urlcheck"
)

// Environment variable names. They are AMS's names, so an existing
// deployment's environment works unchanged.
const (
	EnvClientID     = "XERO_CLIENT_ID"
	EnvClientSecret = "XERO_CLIENT_SECRET"
	EnvTenantID     = "XERO_TENANT_ID"
	EnvWebhookKey   = "XERO_WEBHOOK_KEY"
	EnvAccountCode  = "XERO_ACCOUNT_CODE"
	// EnvPaymentAccountCode is optional: the account payments are recorded
	// to when the caller names none (a BANK account, or one with
	// EnablePaymentsToAccount).
	EnvPaymentAccountCode = "XERO_PAYMENT_ACCOUNT_CODE"
	EnvAmountType         = "XERO_AMOUNT_TYPE"
	EnvCurrencyCode       = "XERO_CURRENCY_CODE"
	EnvEmailWhitelist     = "AMS_BILLING_EMAIL_WHITELIST_REGEX"
	EnvEmailInvoices      = "XERO_EMAIL_INVOICES"
	EnvDebug              = "XERO_DEBUG"
	EnvScopes             = "XERO_SCOPES"
	EnvAPIURL             = "XERO_API_URL"
	EnvTokenURL           = "XERO_TOKEN_URL"
)

// Xero's production endpoints, the defaults of XERO_API_URL and XERO_TOKEN_URL.
const (
	DefaultAPIURL   = "https://api.xero.com/api.xro/2.0"
	DefaultTokenURL = "https://identity.xero.com/connect/token"
)

// AmountType says whether line amounts include tax (Xero's LineAmountTypes).
type AmountType string

// The amount types Xero accepts. With AmountExclusive Xero adds tax on top:
// a 120.00 line at 15% bills 138.00.
const (
	AmountInclusive AmountType = "INCLUSIVE"
	AmountExclusive AmountType = "EXCLUSIVE"
	AmountNoTax     AmountType = "NOTAX"
)

// wireName returns Xero's spelling of the amount type in the Accounting
// API's JSON (LineAmountTypes).
func (t AmountType) wireName() string {
	switch t {
	case AmountInclusive:
		return "Inclusive"
	case AmountExclusive:
		return "Exclusive"
	case AmountNoTax:
		return "NoTax"
	}
	return string(t)
}

// Config holds a Custom Connection's settings, the XERO_* variables. Load
// it with ConfigFromEnv or LoadConfig, or fill it in code.
type Config struct {
	ClientID     string         // XERO_CLIENT_ID
	ClientSecret billing.Secret // XERO_CLIENT_SECRET
	TenantID     string         // XERO_TENANT_ID
	// WebhookKeys verify webhook signatures (XERO_WEBHOOK_KEY; several keys
	// separated by commas while one is being rotated).
	WebhookKeys []billing.Secret
	AccountCode string // XERO_ACCOUNT_CODE, default account code for line items
	// PaymentAccountCode is XERO_PAYMENT_ACCOUNT_CODE, optional: the
	// account a payment is recorded to when the caller names none.
	PaymentAccountCode string
	AmountType         AmountType // XERO_AMOUNT_TYPE
	Currency           string     // XERO_CURRENCY_CODE, ISO 4217
	// EmailWhitelist, when set, lets EmailInvoice send only to matching
	// addresses (AMS_BILLING_EMAIL_WHITELIST_REGEX).
	EmailWhitelist *regexp.Regexp
	EmailInvoices  bool // XERO_EMAIL_INVOICES, default true
	Debug          bool // XERO_DEBUG: log requests and responses, secrets redacted
	// Scopes are sent with the token request (XERO_SCOPES). Empty, the
	// default, sends no scope: Custom Connections created since April 2026
	// reject an explicit scope and grant every scope ticked on the app.
	Scopes   []string
	APIURL   string // XERO_API_URL, default DefaultAPIURL
	TokenURL string // XERO_TOKEN_URL, default DefaultTokenURL
}

// ConfigFromEnv loads and validates the configuration from the process
// environment.
func ConfigFromEnv() (Config, error) { return LoadConfig(os.LookupEnv) }

// LoadConfig loads the configuration through lookup (os.LookupEnv, or a map
// in tests) and validates it. On failure it still returns what it read, and
// an error that wraps billing.ErrInvalidConfig and joins one
// *billing.ConfigError per bad variable; no error holds a secret's value.
func LoadConfig(lookup func(string) (string, bool)) (Config, error) {
	get := func(name string) string {
		v, _ := lookup(name)
		return strings.TrimSpace(v)
	}
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, &billing.ConfigError{Var: name, Problem: fmt.Sprintf(format, args...)})
	}
	var x Config
	x.ClientID = get(EnvClientID)
	x.ClientSecret = billing.NewSecret(get(EnvClientSecret))
	x.TenantID = get(EnvTenantID)
	for _, k := range strings.Split(get(EnvWebhookKey), ",") {
		if k = strings.TrimSpace(k); k != "" {
			x.WebhookKeys = append(x.WebhookKeys, billing.NewSecret(k))
		}
	}
	x.AccountCode = get(EnvAccountCode)
	x.PaymentAccountCode = get(EnvPaymentAccountCode)
	x.AmountType = AmountType(strings.ToUpper(get(EnvAmountType)))
	x.Currency = strings.ToUpper(get(EnvCurrencyCode))
	if re := get(EnvEmailWhitelist); re != "" {
		compiled, err := regexp.Compile(re)
		if err != nil {
			// The regexp error quotes the pattern, which is not a secret.
			bad(EnvEmailWhitelist, "not a valid regular expression: %v", err)
		}
		x.EmailWhitelist = compiled
	}
	x.EmailInvoices = true
	for _, b := range []struct {
		name string
		dst  *bool
	}{{EnvEmailInvoices, &x.EmailInvoices}, {EnvDebug, &x.Debug}} {
		if v := get(b.name); v != "" {
			parsed, err := parseBool(v)
			if err != nil {
				bad(b.name, "%v", err)
			}
			*b.dst = parsed
		}
	}
	x.Scopes = strings.FieldsFunc(get(EnvScopes), func(r rune) bool { return r == ' ' || r == ',' })
	x.APIURL = get(EnvAPIURL)
	x.TokenURL = get(EnvTokenURL)

	errs = append(errs, x.problems()...)
	if len(errs) > 0 {
		return x, fmt.Errorf("%w:\n%w", billing.ErrInvalidConfig, errors.Join(errs...))
	}
	return x, nil
}

// Validate checks c and fills in defaults (the API and token URLs). The
// error wraps billing.ErrInvalidConfig and joins one *billing.ConfigError
// per bad setting, named by its environment variable.
func (c *Config) Validate() error {
	if errs := c.problems(); len(errs) > 0 {
		return fmt.Errorf("%w:\n%w", billing.ErrInvalidConfig, errors.Join(errs...))
	}
	return nil
}

func (c *Config) problems() []error {
	var errs []error
	bad := func(name, msg string) { errs = append(errs, &billing.ConfigError{Var: name, Problem: msg}) }
	for _, r := range []struct{ name, val string }{
		{EnvClientID, c.ClientID},
		{EnvClientSecret, c.ClientSecret.Reveal()},
		{EnvTenantID, c.TenantID},
		{EnvAccountCode, c.AccountCode},
		{EnvAmountType, string(c.AmountType)},
		{EnvCurrencyCode, c.Currency},
	} {
		if r.val == "" {
			errs = append(errs, &billing.ConfigError{Var: r.name, Problem: "required", Missing: true})
		} else if strings.ContainsFunc(r.val, unicode.IsControl) {
			// Never quote the value: it may be the secret.
			bad(r.name, "contains a control character")
		}
	}
	if strings.ContainsFunc(c.PaymentAccountCode, unicode.IsControl) {
		bad(EnvPaymentAccountCode, "contains a control character")
	}
	if len(c.WebhookKeys) == 0 {
		errs = append(errs, &billing.ConfigError{Var: EnvWebhookKey, Problem: "required", Missing: true})
	}
	switch c.AmountType {
	case "", AmountInclusive, AmountExclusive, AmountNoTax:
	default:
		bad(EnvAmountType, fmt.Sprintf("%q is not INCLUSIVE, EXCLUSIVE or NOTAX", string(c.AmountType)))
	}
	if c.Currency != "" && !currency.IsCode(c.Currency) {
		bad(EnvCurrencyCode, fmt.Sprintf("%q is not a 3-letter ISO 4217 code", c.Currency))
	}
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	if c.TokenURL == "" {
		c.TokenURL = DefaultTokenURL
	}
	for _, u := range []struct{ name, val string }{{EnvAPIURL, c.APIURL}, {EnvTokenURL, c.TokenURL}} {
		if _, err := urlcheck.Absolute(u.val); err != nil {
			bad(u.name, err.Error())
		}
	}
	return errs
}

// boolForms lists every spelling parseBool accepts, for its error.
const boolForms = "true, false, 1, 0, t, f, yes, no, y, n, on or off, in any case"

// parseBool reads a boolean setting the way AMS's deployments write them.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "yes", "y", "on":
		return true, nil
	case "0", "f", "false", "no", "n", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean: use %s", s, boolForms)
}

// EmailAllowed reports whether EmailInvoice may send to addr under this
// configuration.
func (c Config) EmailAllowed(addr string) bool {
	if !c.EmailInvoices || addr == "" {
		return false
	}
	return c.EmailWhitelist == nil || c.EmailWhitelist.MatchString(addr)
}

// String describes the configuration with its secrets redacted.
func (c Config) String() string {
	whitelist := ""
	if c.EmailWhitelist != nil {
		whitelist = c.EmailWhitelist.String()
	}
	return fmt.Sprintf("xero.Config{ClientID:%q ClientSecret:%s TenantID:%q WebhookKeys:%d×%s AccountCode:%q PaymentAccountCode:%q AmountType:%s Currency:%s EmailWhitelist:%q EmailInvoices:%t Debug:%t Scopes:%q APIURL:%s TokenURL:%s}",
		c.ClientID, c.ClientSecret, c.TenantID, len(c.WebhookKeys), billing.NewSecret("x"),
		c.AccountCode, c.PaymentAccountCode, c.AmountType, c.Currency, whitelist, c.EmailInvoices, c.Debug,
		c.Scopes, urlcheck.Redact(c.APIURL), urlcheck.Redact(c.TokenURL))
}

// GoString makes %#v as safe as %v.
func (c Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer with secrets redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("client_id", c.ClientID),
		slog.Any("client_secret", c.ClientSecret),
		slog.String("tenant_id", c.TenantID),
		slog.Int("webhook_keys", len(c.WebhookKeys)),
		slog.String("account_code", c.AccountCode),
		slog.String("payment_account_code", c.PaymentAccountCode),
		slog.String("amount_type", string(c.AmountType)),
		slog.String("currency", c.Currency),
		slog.Bool("email_invoices", c.EmailInvoices),
		slog.Bool("debug", c.Debug),
		slog.String("api_url", urlcheck.Redact(c.APIURL)),
		slog.String("token_url", urlcheck.Redact(c.TokenURL)),
	)
}

// MarshalJSON encodes the configuration with its secrets and URL passwords
// redacted, so dumping a config for support never leaks them.
func (c Config) MarshalJSON() ([]byte, error) {
	type plain Config // drops the methods, so no recursion
	p := plain(c)
	p.APIURL, p.TokenURL = urlcheck.Redact(c.APIURL), urlcheck.Redact(c.TokenURL)
	return json.Marshal(p)
}
