package mock

import (
	"errors"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/xero"
)

// XeroEmulatorURL is the made-up base URL a XeroBillingService's client
// calls. Nothing leaves the process, so the host never resolves; it shows
// in online invoice links unless the emulator's BaseURL says otherwise.
const XeroEmulatorURL = "http://xero-emulator.invalid"

// XeroBillingService is the real Xero billing.Service (package xero) wired
// to an in-process Xero emulator (AMS_BILLING_SERVICE_CLASS=mock-xero, AMS's
// MockXeroBillingService). Every call runs the real code path: token,
// rate limits, idempotency keys, JSON, error handling, against emulated
// Xero answers, with no network. Unlike BillingService it is not
// billing.Simulated, so FetchInvoiceUpdates does fetch through it.
//
// Data is predictable: contact ids 00000000-0000-4000-8000-000000000001,
// invoice ids 00000000-0000-4000-9000-000000000001, invoice numbers
// INV-0001... Use Emulator to pay or void invoices as if in Xero, inject
// faults, and inspect what was sent.
type XeroBillingService struct {
	*xero.Service
	emu *emulator.Emulator
}

var _ billing.Service = (*XeroBillingService)(nil)

// XeroOption configures NewXeroBillingService.
type XeroOption func(*xeroSettings)

type xeroSettings struct {
	cfg         xero.Config
	emu         emulator.Options
	clientOpts  []xero.Option
	serviceOpts []xero.ServiceOption
}

// WithXeroConfig supplies the app's Xero settings: account code, amount
// type, currency and email settings are used as given; credentials, tenant,
// URLs and scopes are replaced by the emulator's. An account code other than
// the emulator's is added to its chart of accounts. The first webhook key
// signs the emulator's webhooks unless emulator.Options.WebhookKey is set.
func WithXeroConfig(cfg xero.Config) XeroOption {
	return func(s *xeroSettings) { s.cfg = cfg }
}

// WithEmulatorOptions configures the emulator (rate limits, clock, webhook
// receiver...). SequentialIDs is always switched on.
func WithEmulatorOptions(opts emulator.Options) XeroOption {
	return func(s *xeroSettings) { s.emu = opts }
}

// WithClientOptions adds options to the Xero client, such as a logger or
// retry settings. Its HTTP client is always the emulator's.
func WithClientOptions(opts ...xero.Option) XeroOption {
	return func(s *xeroSettings) { s.clientOpts = append(s.clientOpts, opts...) }
}

// WithServiceOptions adds options to the Xero service, such as an invoice
// hook.
func WithServiceOptions(opts ...xero.ServiceOption) XeroOption {
	return func(s *xeroSettings) { s.serviceOpts = append(s.serviceOpts, opts...) }
}

// NewXeroBillingService returns the Xero service on store, talking to a new
// in-process emulator. Without WithXeroConfig it bills to account 200,
// amounts exclusive of tax, in the emulator's currency (NZD), and emails
// invoices; payments go to the emulator's bank account
// (emulator.DefaultPaymentAccountCode). Close it to stop the emulator's webhook deliveries, if any.
func NewXeroBillingService(store billing.Store, opts ...XeroOption) (*XeroBillingService, error) {
	if store == nil {
		return nil, errors.New("mock: NewXeroBillingService: a billing.Store is required")
	}
	s := xeroSettings{cfg: xero.Config{EmailInvoices: true}}
	for _, opt := range opts {
		opt(&s)
	}
	cfg := s.cfg
	emuOpts := s.emu
	emuOpts.SequentialIDs = true
	if cfg.AccountCode == "" {
		cfg.AccountCode = emulator.DefaultAccountCode
	}
	emuOpts.AccountCodes = append(append([]string(nil), emuOpts.AccountCodes...), cfg.AccountCode)
	if cfg.AmountType == "" {
		cfg.AmountType = xero.AmountExclusive
	}
	if cfg.PaymentAccountCode == "" {
		cfg.PaymentAccountCode = emulator.DefaultPaymentAccountCode
	}
	if emuOpts.Currency == "" {
		emuOpts.Currency = cfg.Currency
	}
	if emuOpts.WebhookKey == "" && len(cfg.WebhookKeys) > 0 {
		// Sign as the app's webhook handler expects: with its first key.
		emuOpts.WebhookKey = cfg.WebhookKeys[0].Reveal()
	}
	e := emulator.New(emuOpts)

	cfg.ClientID = e.ClientID()
	cfg.ClientSecret = billing.NewSecret(e.ClientSecret())
	cfg.TenantID = e.TenantID()
	cfg.APIURL = XeroEmulatorURL + emulator.APIPath
	cfg.TokenURL = XeroEmulatorURL + emulator.TokenPath
	if !emuOpts.LegacyScopes {
		cfg.Scopes = nil
	}
	if cfg.Currency == "" {
		cfg.Currency = e.Currency()
	}

	clientOpts := append(append([]xero.Option(nil), s.clientOpts...), xero.WithHTTPClient(e.Client()))
	client, err := xero.NewClient(cfg, clientOpts...)
	if err != nil {
		_ = e.Close()
		return nil, err
	}
	return &XeroBillingService{Service: xero.NewService(client, store, cfg, s.serviceOpts...), emu: e}, nil
}

// Emulator returns the emulator behind the service.
func (s *XeroBillingService) Emulator() *emulator.Emulator { return s.emu }

// Close closes the emulator (see emulator.Emulator.Close).
func (s *XeroBillingService) Close() error { return s.emu.Close() }
