package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/shopspring/decimal"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/examples/internal/appstore"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/xero"
	"github.com/amsbilling/sdk/xero/setup"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit statuses.
const (
	exitDone    = 0 // every member synced, invoiced (and emailed with -email, now or before)
	exitNotDone = 1 // some member is not done, or the run stopped
	exitUsage   = 2 // bad flags, configuration or CSV; nothing was called
)

// Defaults of the flags.
const (
	defaultReference   = "Membership renewal"
	defaultAmount      = "120.00"
	defaultDescription = "Annual membership"
	defaultDueDays     = 30
	// maxMembers bounds -members: a renewal run, not a load generator.
	maxMembers = 100_000
)

// The operations of a run, as the bulk service names them in Progress.
const (
	opSync   = "sync contacts"
	opCreate = "create invoices"
	opEmail  = "email invoices"
)

func run(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) int {
	c := command{newService: setup.New, limiter: ratelimit.Options{Wait: true}, now: time.Now}
	return c.run(ctx, args, env, stdout, stderr)
}

// newServiceFunc builds the configured service (setup.New).
type newServiceFunc func(setup.Config, billing.Store, setup.Options) (billing.Service, error)

// command is what a run is wired to; tests change parts of it.
type command struct {
	newService newServiceFunc
	// limiter configures the limiter the Xero client waits in: waiting, so
	// the run uses the whole budget and draws no 429.
	limiter ratelimit.Options
	// observe, when set, also hears every progress report.
	observe func(billing.Progress)
	now     func() time.Time
}

// settings are the run's flags, checked.
type settings struct {
	members     []member
	reference   string
	description string
	date, due   billing.Date
	dateSet     bool
	email       bool
	forceEmail  bool
	force       bool
	verbose     bool
}

// parse reads and checks the flags (and the CSV file): every problem is
// found before any call. ok is false when the run must end with code.
func (c command) parse(args []string, stderr io.Writer) (s settings, code int, ok bool) {
	fs := flag.NewFlagSet("bulk-invoice", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("members", 0, "bill `N` demo members: ids derived from their number (a rerun is the same members), names \"Member N\", emails memberN@example.com")
	file := fs.String("csv", "", "bill the members of this `file`: id,name,email,amount rows, a header row optional")
	reference := fs.String("reference", defaultReference, "the billing period: with the member it names the logical invoice, so a rerun bills nobody again")
	amount := fs.String("amount", defaultAmount, "the amount each demo member is billed, before tax when amounts are exclusive (-members only)")
	description := fs.String("description", defaultDescription, "the invoice line's description")
	date := fs.String("date", "", "the invoices' date, `YYYY-MM-DD` (default today); a rerun on a later day passes the first run's")
	days := fs.Int("due", defaultDueDays, "`days` from the invoice date until it is due")
	email := fs.Bool("email", false, "also email every invoice created or existing that no run emailed before (one call each)")
	forceEmail := fs.Bool("force-email", false, "with -email, email again the invoices an earlier run emailed")
	force := fs.Bool("force", false, "send every contact, even those Xero holds as they are")
	verbose := fs.Bool("v", false, "log the service's debug details to stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return s, exitDone, false
		}
		return s, exitUsage, false
	}
	usage := func(format string, a ...any) (settings, int, bool) {
		fmt.Fprintf(stderr, format+"\n", a...)
		return s, exitUsage, false
	}
	if fs.NArg() > 0 {
		return usage("unexpected argument %q (flags start with -)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case set["members"] == set["csv"]:
		return usage("give either -members N or -csv FILE")
	case set["members"] && (*n <= 0 || *n > maxMembers):
		return usage("-members must be from 1 to %d", maxMembers)
	case set["csv"] && set["amount"]:
		return usage("-amount is for -members; the CSV file gives each member's amount")
	case *days < 0:
		return usage("-due must not be negative")
	case *forceEmail && !*email:
		return usage("-force-email is for -email")
	}
	s.date = billing.DateOf(c.now())
	if *date != "" {
		d, err := billing.ParseDate(*date)
		if err != nil {
			return usage("-date %q is not a date (YYYY-MM-DD)", *date)
		}
		s.date, s.dateSet = d, true
	}
	s.due = s.date.AddDays(*days)
	s.reference, s.description = *reference, *description
	s.email, s.forceEmail, s.force, s.verbose = *email, *forceEmail, *force, *verbose
	// The invoice as any member would get it: the reference and the line
	// are checked now rather than refused record by record.
	sample := s.params(member{ID: demoMemberID(1), Amount: decimal.NewFromInt(1)})
	if err := sample.Validate(); err != nil {
		return usage("the invoice cannot be made: %v", err)
	}
	if set["members"] {
		price, err := decimal.NewFromString(*amount)
		if err != nil || !price.IsPositive() {
			return usage("-amount %q is not a positive amount", *amount)
		}
		s.members = demoMembers(*n, price)
		return s, 0, true
	}
	f, err := os.Open(*file)
	if err != nil {
		return usage("-csv: %v", err)
	}
	defer f.Close()
	s.members, err = readMembers(f)
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "%s: %s\n", *file, line)
		}
		return s, exitUsage, false
	}
	return s, 0, true
}

// params is the invoice of member m.
func (s settings) params(m member) billing.CreateInvoiceParams {
	return billing.CreateInvoiceParams{
		Account:   billing.UserAccount(m.ID),
		Date:      s.date,
		DueDate:   s.due,
		Reference: s.reference,
		LineItems: []billing.LineItem{{Description: s.description, Quantity: decimal.NewFromInt(1), UnitAmount: m.Amount}},
		// The member and the reference name the logical invoice: a rerun
		// sends the same key, and the recorded creation returns the
		// invoice made before.
		IdempotencyKey: invoiceKey(m.ID, s.reference),
	}
}

// invoiceKey is the idempotency key of the member's invoice with this
// reference; it fits Xero's 128 characters whatever the reference.
func invoiceKey(member, reference string) string {
	sum := sha256.Sum256([]byte(member + "\x00" + reference))
	return "bulk-invoice-" + hex.EncodeToString(sum[:16])
}

func (c command) run(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) int {
	s, code, ok := c.parse(args, stderr)
	if !ok {
		return code
	}
	cfg, err := setup.LoadConfig(env)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	if cfg.Provider == setup.ProviderNone {
		fmt.Fprintln(stderr, "No billing service configured: set AMS_BILLING_SERVICE_CLASS (see examples/xero-emulator).")
		return exitUsage
	}
	level := slog.LevelWarn
	if s.verbose || cfg.Xero.Debug {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	store, err := appstore.Open(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "opening the billing database:", err)
		if errors.Is(err, billing.ErrInvalidConfig) {
			return exitUsage
		}
		return exitNotDone
	}
	defer store.Close()

	limiter := ratelimit.NewLocal(c.limiter)
	wire := &statusCounter{next: http.DefaultTransport}
	svc, err := c.newService(cfg, store, setup.Options{
		Logger:     logger,
		Limiter:    limiter,
		HTTPClient: &http.Client{Transport: wire},
		// Like create-invoice, a tool to try out too: let
		// AMS_BILLING_SERVICE_CLASS select the mocks.
		Mocks: mock.Provide,
	})
	if err != nil {
		fmt.Fprintln(stderr, err)
		if errors.Is(err, billing.ErrInvalidConfig) {
			return exitUsage
		}
		return exitNotDone
	}

	r := &renewal{settings: s, svc: svc, stderr: stderr, observe: c.observe, started: c.now()}
	r.bulk, _ = svc.(billing.BulkService)
	if x, ok := svc.(interface{ Client() *xero.Client }); ok {
		// What Xero's latest answer said of the budget, once one did.
		r.budget = func() string {
			info, at := x.Client().LastRateInfo()
			if at.IsZero() {
				return ""
			}
			return budgetLeft(info)
		}
	}
	switch cfg.Provider {
	case setup.ProviderXero:
		r.tooMany = wire.count
	case setup.ProviderMockXero:
		if e, ok := svc.(interface{ Emulator() *emulator.Emulator }); ok {
			r.tooMany = func() int { return countStatus(e.Emulator().Requests(), http.StatusTooManyRequests) }
		}
	}
	r.run(ctx)
	r.elapsed = c.now().Sub(r.started)
	r.summary(stdout)
	if r.done() {
		return exitDone
	}
	return exitNotDone
}

// budgetLeft describes the calls Xero said are left; "" when it said none.
func budgetLeft(info ratelimit.Info) string {
	var parts []string
	if m := info.Remaining.Minute; m >= 0 {
		parts = append(parts, fmt.Sprintf("%d this minute", m))
	}
	if d := info.Remaining.Day; d >= 0 {
		parts = append(parts, fmt.Sprintf("%d today", d))
	}
	if len(parts) == 0 {
		return ""
	}
	return "Xero budget left " + strings.Join(parts, ", ")
}

func countStatus(reqs []emulator.Request, status int) int {
	n := 0
	for _, q := range reqs {
		if q.Status == status {
			n++
		}
	}
	return n
}
