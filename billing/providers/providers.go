package providers

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/xero"
)

// Options are the app's additions to what the environment configures.
type Options struct {
	// Logger receives the service's logs; default slog.Default().
	Logger *slog.Logger
	// InvoiceHook hears every invoice a refresh changed, e.g. to activate a
	// membership once paid.
	InvoiceHook billing.InvoiceHook
	// HTTPClient is used for Xero's API and token endpoint.
	HTTPClient *http.Client
	// Limiter replaces the default fail-fast per-tenant limiter.
	Limiter ratelimit.Limiter
}

// New returns the service cfg.Provider selects, using store for contact links
// and invoices. With no provider configured it returns billing.ErrNoService:
// the app decides whether that means "billing is off" or a fatal error.
func New(cfg billing.Config, store billing.Store, opts Options) (billing.Service, error) {
	if store == nil {
		return nil, fmt.Errorf("providers: a billing.Store is required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	var svcOpts []xero.ServiceOption
	if opts.InvoiceHook != nil {
		svcOpts = append(svcOpts, xero.WithInvoiceHook(opts.InvoiceHook))
	}
	svcOpts = append(svcOpts, xero.WithServiceLogger(logger))

	switch cfg.Provider {
	case billing.ProviderNone:
		return nil, billing.ErrNoService
	case billing.ProviderMock:
		return mock.NewBillingService(store), nil
	case billing.ProviderMockXero:
		return mock.NewXeroBillingService(store, mock.WithXeroConfig(cfg.Xero), mock.WithServiceOptions(svcOpts...))
	case billing.ProviderXero:
		clientOpts := []xero.Option{xero.WithLogger(logger)}
		if opts.HTTPClient != nil {
			clientOpts = append(clientOpts, xero.WithHTTPClient(opts.HTTPClient))
		}
		if opts.Limiter != nil {
			clientOpts = append(clientOpts, xero.WithLimiter(opts.Limiter))
		}
		client, err := xero.NewClient(cfg.Xero, clientOpts...)
		if err != nil {
			return nil, err
		}
		return xero.NewService(client, store, cfg.Xero, svcOpts...), nil
	}
	return nil, fmt.Errorf("providers: unknown provider %q", cfg.Provider)
}
