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
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/examples/internal/applog"
	"github.com/amsbilling/sdk/examples/internal/appstore"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/xero/setup"
)

// demoMember is the member billed unless -user says otherwise, so repeated
// runs reuse one contact.
const demoMember = "0d5b8c1e-7f3a-4b2d-9e6c-5a4f3b2c1d0e"

// demoReference is the reference unless -reference says otherwise: one
// logical invoice, however often the command runs or is killed.
const demoReference = "Demo membership"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("create-invoice", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.String("user", demoMember, "the member's user id (a UUID)")
	name := fs.String("name", "Ada Lovelace", "the member's name")
	email := fs.String("email", "ada@example.com", "the member's email address")
	description := fs.String("description", "Annual membership", "the invoice line's description")
	amount := fs.String("amount", "120.00", "the invoice line's amount, before tax when amounts are exclusive")
	days := fs.Int("due", 14, "days until the invoice is due")
	reference := fs.String("reference", demoReference, "the invoice's reference: with the member it names the logical invoice, so a rerun with the same reference bills nobody again")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected argument %q (flags start with -)\n", fs.Arg(0))
		return 2
	}
	price, err := decimal.NewFromString(*amount)
	if err != nil || !price.IsPositive() {
		fmt.Fprintf(stderr, "-amount %q is not a positive amount\n", *amount)
		return 2
	}
	if err := uuid.Validate(*user); err != nil {
		fmt.Fprintf(stderr, "-user %q is not a UUID\n", *user)
		return 2
	}
	if *days < 0 {
		fmt.Fprintln(stderr, "-due must not be negative")
		return 2
	}

	cfg, err := setup.LoadConfig(env)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if cfg.Provider == setup.ProviderNone {
		fmt.Fprintln(stderr, "No billing service configured: set AMS_BILLING_SERVICE_CLASS (see examples/xero-emulator).")
		return 2
	}
	store, err := appstore.Open(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "opening the billing database:", err)
		if errors.Is(err, billing.ErrInvalidConfig) {
			return 2 // BILLING_DATABASE_URL of a kind no store opens
		}
		return 1
	}
	defer store.Close()
	logger := applog.New(stderr, slog.LevelWarn, cfg.Xero.Debug)
	svc, err := setup.New(cfg, store, setup.Options{
		Logger: logger,
		// A demo tool: let AMS_BILLING_SERVICE_CLASS select the mocks too.
		Mocks: mock.Provide,
	})
	if err != nil {
		fmt.Fprintln(stderr, err)
		if errors.Is(err, billing.ErrInvalidConfig) {
			return 2
		}
		return 1
	}

	if err := svc.UpdateUserBillingDetails(ctx, billing.User{ID: *user, Name: *name, Email: *email}); err != nil {
		fmt.Fprintln(stderr, "syncing the contact:", err)
		return 1
	}
	today := billing.DateOf(time.Now())
	inv, err := svc.CreateInvoice(ctx, billing.CreateInvoiceParams{
		Account:   billing.UserAccount(*user),
		Date:      today,
		DueDate:   today.AddDays(*days),
		Reference: *reference,
		LineItems: []billing.LineItem{{Description: *description, Quantity: decimal.NewFromInt(1), UnitAmount: price}},
		// The member and the reference name the logical invoice, so even a
		// rerun on another day (another date) is not a second invoice.
		IdempotencyKey: invoiceKey(*user, *reference),
	})
	if errors.Is(err, billing.ErrCreationPending) {
		fmt.Fprintln(stderr, "creating the invoice: Xero's answer was lost; it is recorded as pending. Run the same command again (or fetch-invoice-updates) to resolve it; nobody is billed twice:", err)
		return 1
	}
	if err != nil {
		fmt.Fprintln(stderr, "creating the invoice:", err)
		return 1
	}
	fmt.Fprintf(stdout, "Created %s for %s %s, due %s\n", inv.Number, inv.Currency, inv.Amount.StringFixed(2), inv.DueDate)
	url, err := svc.GetInvoiceURL(ctx, inv)
	if err != nil {
		// The invoice exists: exiting 1 would invite a rerun for nothing.
		fmt.Fprintln(stderr, "warning: the invoice was created, but its online link could not be read:", err)
		return 0
	}
	fmt.Fprintf(stdout, "Online invoice: %s\n", url)
	return 0
}

// invoiceKey is the idempotency key of the member's invoice with this
// reference; it fits Xero's 128 characters whatever the reference.
func invoiceKey(user, reference string) string {
	sum := sha256.Sum256([]byte(user + "\x00" + reference))
	return "create-invoice-" + hex.EncodeToString(sum[:16])
}
