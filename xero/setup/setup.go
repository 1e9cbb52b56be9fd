package setup

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"go.opentelemetry.io/otel/metric"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/internal/urlcheck"
	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/xero"
)

// Environment variables read here besides xero's XERO_* ones.
const (
	EnvServiceClass = "AMS_BILLING_SERVICE_CLASS"
	EnvDatabaseURL  = "BILLING_DATABASE_URL"
)

// Provider names the billing service an app uses.
type Provider string

const (
	// ProviderNone means no billing service is configured; the app decides
	// what that means (AMS hides its billing features).
	ProviderNone Provider = ""
	// ProviderXero is Xero's Accounting API through a Custom Connection.
	ProviderXero Provider = "xero"
	// ProviderMock is a generic in-memory service that calls nothing.
	ProviderMock Provider = "mock"
	// ProviderMockXero is the real Xero code path against the in-process
	// Xero emulator.
	ProviderMockXero Provider = "mock-xero"
)

// ParseProvider reads AMS_BILLING_SERVICE_CLASS: a short name (xero, mock,
// mock-xero) or one of AMS's dotted class names, such as
// "ams.billing.providers.xero.XeroBillingService". Empty means ProviderNone.
func ParseProvider(s string) (Provider, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "", "none":
		return ProviderNone, nil
	case "xero":
		return ProviderXero, nil
	case "mock":
		return ProviderMock, nil
	case "mock-xero", "mockxero", "mock_xero":
		return ProviderMockXero, nil
	}
	// Dotted class names: only the class matters, so a renamed module path
	// in an old deployment still works.
	if i := strings.LastIndexByte(s, '.'); i > 0 {
		switch s[i+1:] {
		case "XeroBillingService":
			return ProviderXero, nil
		case "MockXeroBillingService":
			return ProviderMockXero, nil
		case "MockBillingService":
			return ProviderMock, nil
		}
	}
	return ProviderNone, fmt.Errorf("unknown billing service %q: want xero, mock, mock-xero or a class name ending in XeroBillingService, MockXeroBillingService or MockBillingService", s)
}

// IsMock reports whether p is one of the test doubles.
func (p Provider) IsMock() bool { return p == ProviderMock || p == ProviderMockXero }

// Config is an app's billing configuration from the environment.
type Config struct {
	// Provider is the billing service to use (AMS_BILLING_SERVICE_CLASS).
	Provider Provider
	// Xero holds the Custom Connection settings (XERO_*).
	Xero xero.Config
	// DatabaseURL is where a store lives (BILLING_DATABASE_URL):
	// postgres://..., sqlite:///path/file.db, or a plain file path.
	DatabaseURL string
}

// ConfigFromEnv loads and validates the configuration from the process
// environment.
func ConfigFromEnv() (Config, error) { return LoadConfig(os.LookupEnv) }

// LoadConfig loads the configuration through lookup (os.LookupEnv, or a map
// in tests) and validates it. Xero's settings are required only when the
// provider is Xero; those that are set are checked for every provider. On
// failure it still returns what it read, and an error that wraps
// billing.ErrInvalidConfig and joins one *billing.ConfigError per bad
// variable; no error holds a secret's value.
func LoadConfig(lookup func(string) (string, bool)) (Config, error) {
	var c Config
	var errs []error
	v, _ := lookup(EnvServiceClass)
	p, err := ParseProvider(v)
	if err != nil {
		errs = append(errs, &billing.ConfigError{Var: EnvServiceClass, Problem: err.Error()})
	}
	c.Provider = p
	v, _ = lookup(EnvDatabaseURL)
	c.DatabaseURL = strings.TrimSpace(v)
	c.Xero, err = xero.LoadConfig(lookup)
	errs = append(errs, c.relevant(err)...)
	if len(errs) > 0 {
		return c, fmt.Errorf("%w:\n%w", billing.ErrInvalidConfig, errors.Join(errs...))
	}
	return c, nil
}

// Validate checks c as LoadConfig does and fills in Xero's default URLs.
func (c *Config) Validate() error {
	if errs := c.relevant(c.Xero.Validate()); len(errs) > 0 {
		return fmt.Errorf("%w:\n%w", billing.ErrInvalidConfig, errors.Join(errs...))
	}
	return nil
}

// relevant keeps the problems of err that matter for c.Provider: a missing
// Xero setting only matters when Xero is selected.
func (c *Config) relevant(err error) []error {
	var out []error
	for _, e := range billing.ConfigErrors(err) {
		if e.Missing {
			if c.Provider != ProviderXero {
				continue
			}
			e = &billing.ConfigError{Var: e.Var, Problem: "required when " + EnvServiceClass + " selects Xero", Missing: true}
		}
		out = append(out, e)
	}
	return out
}

// String describes the configuration with its secrets redacted.
func (c Config) String() string {
	return fmt.Sprintf("setup.Config{Provider:%q Xero:%s DatabaseURL:%s}", string(c.Provider), c.Xero, urlcheck.Redact(c.DatabaseURL))
}

// GoString makes %#v as safe as %v.
func (c Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer with secrets redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("provider", string(c.Provider)),
		slog.Any("xero", c.Xero),
		slog.String("database_url", urlcheck.Redact(c.DatabaseURL)),
	)
}

// MarshalJSON encodes the configuration with its secrets and URL passwords
// redacted.
func (c Config) MarshalJSON() ([]byte, error) {
	type plain Config
	p := plain(c)
	p.DatabaseURL = urlcheck.Redact(c.DatabaseURL)
	return json.Marshal(p)
}

// Mocks builds the test doubles for an app that opted in by setting
// Options.Mocks (to mock.Provide). Apps that leave it nil link no test
// double.
type Mocks func(p Provider, cfg xero.Config, store billing.Store, svcOpts ...xero.ServiceOption) (billing.Service, error)

// Options are the app's additions to what the environment configures.
type Options struct {
	// Logger receives the service's logs; default: discarded.
	Logger *slog.Logger
	// InvoiceHook hears every invoice a refresh changed, e.g. to activate a
	// membership once paid.
	InvoiceHook billing.InvoiceHook
	// HTTPClient is used for Xero's API and token endpoint.
	HTTPClient *http.Client
	// Limiter replaces the default fail-fast per-tenant limiter.
	Limiter ratelimit.Limiter
	// MeterProvider receives the Xero client's metrics, and the event
	// deliveries' (xero.WithMeterProvider); default
	// otel.GetMeterProvider(). The test doubles do not use it.
	MeterProvider metric.MeterProvider
	// Mocks, when set (to mock.Provide), lets AMS_BILLING_SERVICE_CLASS
	// select the test doubles (mock, mock-xero). Nil, the default, keeps
	// them out of the binary, and selecting one is a configuration error.
	Mocks Mocks
}

// New returns the service cfg.Provider selects, using store for contact links
// and invoices. With no provider configured it returns billing.ErrNoService:
// the app decides whether that means "billing is off" or a fatal error.
func New(cfg Config, store billing.Store, opts Options) (billing.Service, error) {
	if store == nil {
		return nil, errors.New("setup: a billing.Store is required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	svcOpts := []xero.ServiceOption{xero.WithServiceLogger(logger)}
	if opts.InvoiceHook != nil {
		svcOpts = append(svcOpts, xero.WithInvoiceHook(opts.InvoiceHook))
	}
	switch {
	case cfg.Provider == ProviderNone:
		return nil, billing.ErrNoService
	case cfg.Provider.IsMock():
		if opts.Mocks == nil {
			return nil, &billing.ConfigError{Var: EnvServiceClass,
				Problem: fmt.Sprintf("selects %s, but this app does not link the test doubles (set setup.Options.Mocks to mock.Provide)", cfg.Provider)}
		}
		return opts.Mocks(cfg.Provider, cfg.Xero, store, svcOpts...)
	case cfg.Provider == ProviderXero:
		clientOpts := []xero.Option{xero.WithLogger(logger)}
		if opts.HTTPClient != nil {
			clientOpts = append(clientOpts, xero.WithHTTPClient(opts.HTTPClient))
		}
		if opts.Limiter != nil {
			clientOpts = append(clientOpts, xero.WithLimiter(opts.Limiter))
		}
		if opts.MeterProvider != nil {
			clientOpts = append(clientOpts, xero.WithMeterProvider(opts.MeterProvider))
		}
		client, err := xero.NewClient(cfg.Xero, clientOpts...)
		if err != nil {
			return nil, err
		}
		return xero.NewService(client, store, cfg.Xero, svcOpts...), nil
	}
	return nil, fmt.Errorf("setup: unknown provider %q", cfg.Provider)
}
