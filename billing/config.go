package billing

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strings"
)

// Environment variable names. They are the seed's names, so an existing
// deployment's environment works unchanged.
const (
	EnvServiceClass   = "AMS_BILLING_SERVICE_CLASS"
	EnvClientID       = "XERO_CLIENT_ID"
	EnvClientSecret   = "XERO_CLIENT_SECRET"
	EnvTenantID       = "XERO_TENANT_ID"
	EnvWebhookKey     = "XERO_WEBHOOK_KEY"
	EnvAccountCode    = "XERO_ACCOUNT_CODE"
	EnvAmountType     = "XERO_AMOUNT_TYPE"
	EnvCurrencyCode   = "XERO_CURRENCY_CODE"
	EnvEmailWhitelist = "AMS_BILLING_EMAIL_WHITELIST_REGEX"
	EnvEmailInvoices  = "XERO_EMAIL_INVOICES"
	EnvDebug          = "XERO_DEBUG"
	EnvScopes         = "XERO_SCOPES"
	EnvAPIURL         = "XERO_API_URL"
	EnvTokenURL       = "XERO_TOKEN_URL"
	EnvDatabaseURL    = "BILLING_DATABASE_URL"
)

// Xero's production endpoints, the defaults of XERO_API_URL and XERO_TOKEN_URL.
const (
	DefaultAPIURL   = "https://api.xero.com/api.xro/2.0"
	DefaultTokenURL = "https://identity.xero.com/connect/token"
)

// AmountType says whether line amounts include tax (Xero's LineAmountTypes).
type AmountType string

// The amount types Xero accepts.
const (
	AmountInclusive AmountType = "INCLUSIVE"
	AmountExclusive AmountType = "EXCLUSIVE"
	AmountNoTax     AmountType = "NOTAX"
)

// XeroName returns Xero's spelling of the amount type in the Accounting
// API's JSON (LineAmountTypes).
func (t AmountType) XeroName() string {
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

// Config is the SDK's configuration. Load it with ConfigFromEnv or
// LoadConfig, or fill it in code and call Validate.
type Config struct {
	// Provider is the billing service to use (AMS_BILLING_SERVICE_CLASS).
	Provider Provider
	// Xero holds the Custom Connection settings.
	Xero XeroConfig
	// DatabaseURL is where a store lives (BILLING_DATABASE_URL):
	// postgres://..., sqlite:///path/file.db, or a plain file path.
	DatabaseURL string
}

// XeroConfig holds the XERO_* settings.
type XeroConfig struct {
	ClientID     string // XERO_CLIENT_ID
	ClientSecret Secret // XERO_CLIENT_SECRET
	TenantID     string // XERO_TENANT_ID
	// WebhookKeys verify webhook signatures (XERO_WEBHOOK_KEY; several keys
	// separated by commas while one is being rotated).
	WebhookKeys []Secret
	AccountCode string     // XERO_ACCOUNT_CODE, default account code for line items
	AmountType  AmountType // XERO_AMOUNT_TYPE
	Currency    string     // XERO_CURRENCY_CODE, ISO 4217
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

// LoadConfig loads and validates the configuration through lookup (os.LookupEnv
// or a map in tests). On failure the error wraps ErrInvalidConfig and names
// every missing or invalid variable; it never contains a secret's value.
func LoadConfig(lookup func(string) (string, bool)) (Config, error) {
	get := func(name string) string {
		v, _ := lookup(name)
		return strings.TrimSpace(v)
	}
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}

	var c Config
	p, err := ParseProvider(get(EnvServiceClass))
	if err != nil {
		bad(EnvServiceClass, "%v", err)
	}
	c.Provider = p
	c.DatabaseURL = get(EnvDatabaseURL)

	x := &c.Xero
	x.ClientID = get(EnvClientID)
	x.ClientSecret = NewSecret(get(EnvClientSecret))
	x.TenantID = get(EnvTenantID)
	for _, k := range strings.Split(get(EnvWebhookKey), ",") {
		if k = strings.TrimSpace(k); k != "" {
			x.WebhookKeys = append(x.WebhookKeys, NewSecret(k))
		}
	}
	x.AccountCode = get(EnvAccountCode)
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
			parsed, err := ParseBool(v)
			if err != nil {
				bad(b.name, "%v", err)
			}
			*b.dst = parsed
		}
	}
	x.Scopes = strings.FieldsFunc(get(EnvScopes), func(r rune) bool { return r == ' ' || r == ',' })
	x.APIURL = get(EnvAPIURL)
	x.TokenURL = get(EnvTokenURL)

	errs = append(errs, c.problems()...)
	if len(errs) > 0 {
		return c, fmt.Errorf("%w:\n%w", ErrInvalidConfig, errors.Join(errs...))
	}
	return c, nil
}

// Validate checks c, fills in defaults (API and token URLs), and returns an
// error wrapping ErrInvalidConfig that names every bad setting by its
// environment variable. Xero's required settings are required only when
// Provider is ProviderXero; values that are set are checked for every provider.
func (c *Config) Validate() error {
	if errs := c.problems(); len(errs) > 0 {
		return fmt.Errorf("%w:\n%w", ErrInvalidConfig, errors.Join(errs...))
	}
	return nil
}

func (c *Config) problems() []error {
	var errs []error
	bad := func(name, msg string) { errs = append(errs, fmt.Errorf("%s: %s", name, msg)) }
	x := &c.Xero
	if c.Provider == ProviderXero {
		for _, r := range []struct{ name, val string }{
			{EnvClientID, x.ClientID},
			{EnvClientSecret, x.ClientSecret.Reveal()},
			{EnvTenantID, x.TenantID},
			{EnvAccountCode, x.AccountCode},
			{EnvAmountType, string(x.AmountType)},
			{EnvCurrencyCode, x.Currency},
		} {
			if r.val == "" {
				bad(r.name, "required when "+EnvServiceClass+" selects Xero")
			}
		}
		if len(x.WebhookKeys) == 0 {
			bad(EnvWebhookKey, "required when "+EnvServiceClass+" selects Xero")
		}
	}
	switch x.AmountType {
	case "", AmountInclusive, AmountExclusive, AmountNoTax:
	default:
		bad(EnvAmountType, fmt.Sprintf("%q is not INCLUSIVE, EXCLUSIVE or NOTAX", string(x.AmountType)))
	}
	if x.Currency != "" && !ValidCurrencyCode(x.Currency) {
		bad(EnvCurrencyCode, fmt.Sprintf("%q is not a 3-letter ISO 4217 code", x.Currency))
	}
	if x.APIURL == "" {
		x.APIURL = DefaultAPIURL
	}
	if x.TokenURL == "" {
		x.TokenURL = DefaultTokenURL
	}
	for _, u := range []struct{ name, val string }{{EnvAPIURL, x.APIURL}, {EnvTokenURL, x.TokenURL}} {
		if err := checkURL(u.val); err != nil {
			bad(u.name, err.Error())
		}
	}
	return errs
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("not an absolute http(s) URL")
	}
	if u.User != nil {
		return errors.New("must not carry credentials")
	}
	return nil
}

// ValidCurrencyCode reports whether s has the form of an ISO 4217 code:
// three upper-case letters.
func ValidCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// ParseBool reads a boolean setting the way the seed's deployments write them:
// true/false in any case, 1/0, yes/no, on/off.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "yes", "y", "on":
		return true, nil
	case "0", "f", "false", "no", "n", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean (true or false)", s)
}

// EmailAllowed reports whether EmailInvoice may send to addr under this
// configuration.
func (x XeroConfig) EmailAllowed(addr string) bool {
	if !x.EmailInvoices || addr == "" {
		return false
	}
	return x.EmailWhitelist == nil || x.EmailWhitelist.MatchString(addr)
}

// String describes the configuration with its secrets redacted.
func (c Config) String() string {
	whitelist := ""
	if c.Xero.EmailWhitelist != nil {
		whitelist = c.Xero.EmailWhitelist.String()
	}
	return fmt.Sprintf("billing.Config{Provider:%q ClientID:%q ClientSecret:%s TenantID:%q WebhookKeys:%d×%s AccountCode:%q AmountType:%s Currency:%s EmailWhitelist:%q EmailInvoices:%t Debug:%t Scopes:%q APIURL:%s TokenURL:%s DatabaseURL:%s}",
		string(c.Provider), c.Xero.ClientID, c.Xero.ClientSecret, c.Xero.TenantID, len(c.Xero.WebhookKeys), NewSecret("x"),
		c.Xero.AccountCode, c.Xero.AmountType, c.Xero.Currency, whitelist, c.Xero.EmailInvoices, c.Xero.Debug,
		c.Xero.Scopes, RedactURL(c.Xero.APIURL), RedactURL(c.Xero.TokenURL), RedactURL(c.DatabaseURL))
}

// GoString makes %#v as safe as %v.
func (c Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer with secrets redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("provider", string(c.Provider)),
		slog.String("client_id", c.Xero.ClientID),
		slog.Any("client_secret", c.Xero.ClientSecret),
		slog.String("tenant_id", c.Xero.TenantID),
		slog.Int("webhook_keys", len(c.Xero.WebhookKeys)),
		slog.String("account_code", c.Xero.AccountCode),
		slog.String("amount_type", string(c.Xero.AmountType)),
		slog.String("currency", c.Xero.Currency),
		slog.Bool("email_invoices", c.Xero.EmailInvoices),
		slog.Bool("debug", c.Xero.Debug),
		slog.String("api_url", RedactURL(c.Xero.APIURL)),
		slog.String("token_url", RedactURL(c.Xero.TokenURL)),
		slog.String("database_url", RedactURL(c.DatabaseURL)),
	)
}

// dsnSecret matches a credential given as key=value, in a URL's query
// (postgres://db/x?password=...) or a keyword DSN (host=db password='...').
var dsnSecret = regexp.MustCompile(`(?i)([\w.-]*(?:password|passwd|pwd|secret|token)[\w.-]*)(\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&;]*)`)

// RedactURL hides the passwords of a URL or database DSN: the one in the
// user info, and any password, secret or token parameter, whether in the
// query or written as a keyword DSN's key=value.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil && strings.Contains(s, "@"):
		return redacted
	case err == nil && u.User != nil:
		s = u.Redacted()
	}
	return dsnSecret.ReplaceAllString(s, "${1}${2}"+redacted)
}

// MarshalJSON encodes the configuration with its secrets and URL passwords
// redacted, so dumping a config for support never leaks them.
func (c Config) MarshalJSON() ([]byte, error) {
	type plain Config // drops the methods, so no recursion
	p := plain(c)
	p.DatabaseURL = RedactURL(c.DatabaseURL)
	p.Xero.APIURL, p.Xero.TokenURL = RedactURL(c.Xero.APIURL), RedactURL(c.Xero.TokenURL)
	return json.Marshal(p)
}
