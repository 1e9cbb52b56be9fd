package moneycmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"unicode"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/examples/internal/applog"
	"github.com/amsbilling/sdk/examples/internal/appstore"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/xero"
	"github.com/amsbilling/sdk/xero/setup"
)

// Exit statuses of the money commands.
const (
	ExitDone    = 0 // everything asked for is done (now or by an earlier run)
	ExitNotDone = 1 // something failed or is pending: the message says what; a rerun is safe
	ExitUsage   = 2 // bad flags, input or configuration; nothing was sent
)

// PendingHint is what a command says when Xero's answer was lost.
const PendingHint = "Xero's answer was lost, so the operation is recorded as pending. " +
	"Run the same command again (or fetch-invoice-updates) to finish it: Xero is searched first, and no money moves twice."

// Options adjust what Open builds.
type Options struct {
	// PaymentAccount, when set, is the payment account for this run
	// (a command's -account), in place of XERO_PAYMENT_ACCOUNT_CODE.
	PaymentAccount string
	// NeedPaymentAccount refuses to start (ExitUsage) when neither
	// PaymentAccount nor XERO_PAYMENT_ACCOUNT_CODE names one.
	NeedPaymentAccount bool
	// Limiter replaces the service's default fail-fast limiter.
	Limiter ratelimit.Limiter
}

// App is what a money command works with. Close it.
type App struct {
	Config setup.Config
	Store  billing.Store
	Money  billing.MoneyService
	// Client is the service's Xero client, for the checks a command makes
	// before moving money.
	Client *xero.Client
	Logger *slog.Logger
	close  func() error
}

// Close closes the store.
func (a *App) Close() error { return a.close() }

// Open loads the configuration through env, opens the store
// (BILLING_DATABASE_URL, the SQLite file billing.db by default) and builds
// the configured service, as create-invoice does. On failure it has said
// why on stderr and returns the exit status.
func Open(ctx context.Context, env func(string) (string, bool), stderr io.Writer, o Options) (*App, int) {
	cfg, err := setup.LoadConfig(env)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, ExitUsage
	}
	if cfg.Provider == setup.ProviderNone {
		fmt.Fprintln(stderr, "No billing service configured: set "+setup.EnvServiceClass+" (see examples/xero-emulator).")
		return nil, ExitUsage
	}
	if cfg.Provider == setup.ProviderMock {
		fmt.Fprintln(stderr, setup.EnvServiceClass+" selects the generic mock, which moves no money: select xero, or mock-xero to try this on the emulator.")
		return nil, ExitUsage
	}
	if o.PaymentAccount != "" {
		if err := CheckAccount(o.PaymentAccount); err != nil {
			fmt.Fprintln(stderr, "-account:", err)
			return nil, ExitUsage
		}
		cfg.Xero.PaymentAccountCode = o.PaymentAccount
	}
	if o.NeedPaymentAccount && cfg.Xero.PaymentAccountCode == "" {
		fmt.Fprintln(stderr, "No payment account: give -account CODE (a bank account, or one with payments enabled) or set "+xero.EnvPaymentAccountCode+".")
		return nil, ExitUsage
	}
	store, err := appstore.Open(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "opening the billing database:", err)
		if errors.Is(err, billing.ErrInvalidConfig) {
			return nil, ExitUsage // a BILLING_DATABASE_URL of a kind no store opens
		}
		return nil, ExitNotDone
	}
	logger := applog.New(stderr, slog.LevelWarn, cfg.Xero.Debug)
	svc, err := setup.New(cfg, store, setup.Options{
		Logger:  logger,
		Limiter: o.Limiter,
		// A demo tool, like create-invoice: mock-xero runs it on the
		// in-process emulator.
		Mocks: mock.Provide,
	})
	if err != nil {
		_ = store.Close()
		fmt.Fprintln(stderr, err)
		if errors.Is(err, billing.ErrInvalidConfig) {
			return nil, ExitUsage
		}
		return nil, ExitNotDone
	}
	money, ok := svc.(billing.MoneyService)
	if !ok {
		_ = store.Close()
		fmt.Fprintf(stderr, "The billing service %s selects (%s) moves no money.\n", setup.EnvServiceClass, cfg.Provider)
		return nil, ExitUsage
	}
	closeAll := store.Close
	if c, ok := svc.(io.Closer); ok {
		// mock-xero's emulator.
		closeAll = func() error { return errors.Join(c.Close(), store.Close()) }
	}
	app := &App{Config: cfg, Store: store, Money: money, Logger: logger, close: closeAll}
	if c, ok := svc.(interface{ Client() *xero.Client }); ok {
		app.Client = c.Client()
	}
	return app, ExitDone
}

// ErrNoPayments: an account code that Xero does not let payments into
// (not in the chart, archived, neither a bank account nor one with
// payments enabled).
var ErrNoPayments = errors.New("the account takes no payments")

// CheckPaymentAccount asks Xero (GET /Accounts) whether payments may go to
// the account, before money moves in steps that could stop half way. An
// error matching ErrNoPayments says why not; nil when it may, or when
// Xero cannot be asked (no settings scope, a failure), since the payment
// itself is then refused whole.
func (a *App) CheckPaymentAccount(ctx context.Context, code string) error {
	if a.Client == nil {
		return nil
	}
	accounts, err := a.Client.Accounts(ctx, "Code=="+xero.QuoteWhere(code))
	if err != nil {
		a.Logger.WarnContext(ctx, "the payment account could not be checked", slog.String("error", err.Error()))
		return nil
	}
	for _, acc := range accounts {
		if !strings.EqualFold(acc.Code, code) {
			continue
		}
		if acc.TakesPayments() {
			return nil
		}
		return fmt.Errorf("%w: account %s %q is %s, type %s, payments not enabled: use a bank account, or enable payments to it in Xero's chart of accounts",
			ErrNoPayments, acc.Code, acc.Name, acc.Status, acc.Type)
	}
	return fmt.Errorf("%w: account %s is not in Xero's chart of accounts", ErrNoPayments, code)
}

// CheckAccount checks an account code given as a flag.
func CheckAccount(code string) error {
	switch {
	case strings.TrimSpace(code) != code || code == "":
		return fmt.Errorf("%q is not an account code (no spaces around it)", code)
	case strings.ContainsFunc(code, unicode.IsControl):
		return errors.New("the account code contains a control character")
	}
	return nil
}

// FindInvoice finds the invoice s names in the store: by Xero's id when s
// is a GUID, else by its number. An invoice the store does not hold is an
// error matching billing.ErrNotFound that says so.
func FindInvoice(ctx context.Context, store billing.Store, s string) (billing.Invoice, error) {
	s = strings.TrimSpace(s)
	var inv billing.Invoice
	var err error
	if uuid.Validate(s) == nil {
		inv, err = store.InvoiceByProviderID(ctx, strings.ToLower(s))
	} else {
		inv, err = store.InvoiceByNumber(ctx, s)
	}
	if errors.Is(err, billing.ErrNotFound) {
		return inv, fmt.Errorf("invoice %q is not in the billing database (only invoices the app created or fetched are): %w", s, err)
	}
	if err != nil {
		return inv, fmt.Errorf("invoice %q: %w", s, err)
	}
	return inv, nil
}

// ParseAmount reads an amount of money: a decimal (never a float),
// positive, with at most two decimals.
func ParseAmount(s string) (decimal.Decimal, error) {
	d, err := decimal.NewFromString(strings.TrimSpace(s))
	switch {
	case err != nil:
		return d, fmt.Errorf("%q is not a decimal amount (like 50.00)", s)
	case !d.IsPositive():
		return d, fmt.Errorf("%q is not a positive amount", s)
	case !d.Equal(d.Round(2)):
		return d, fmt.Errorf("%q has more than two decimals", s)
	}
	return d, nil
}

// State describes an invoice's state as Xero computed it.
func State(inv billing.Invoice) string {
	s := fmt.Sprintf("%s is %s: %s %s due of %s", inv.Number, inv.Status, inv.Currency,
		inv.Due.StringFixed(2), inv.Amount.StringFixed(2))
	var parts []string
	if inv.Paid.IsPositive() {
		parts = append(parts, inv.Paid.StringFixed(2)+" paid")
	}
	if inv.Credited.IsPositive() {
		parts = append(parts, inv.Credited.StringFixed(2)+" credited")
	}
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	if inv.IsPartlyPaid() {
		s += ", partly paid"
	}
	return s
}

// Pending reports whether err says the outcome at Xero is unknown.
func Pending(err error) bool {
	var pe *billing.PendingError
	return errors.As(err, &pe)
}
