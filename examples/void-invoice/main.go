package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/examples/internal/moneycmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("void-invoice", flag.ContinueOnError)
	fs.SetOutput(stderr)
	invoice := fs.String("invoice", "", "the invoice: its number (INV-0001) or Xero's id")
	reverse := fs.Bool("reverse-payments", false, "reverse the invoice's payments first (each exactly once), then void it")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return moneycmd.ExitDone
		}
		return moneycmd.ExitUsage
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "unexpected argument %q (flags start with -)\n", fs.Arg(0))
		return moneycmd.ExitUsage
	case *invoice == "":
		fmt.Fprintln(stderr, "give -invoice INV [-reverse-payments]")
		return moneycmd.ExitUsage
	}
	app, code := moneycmd.Open(ctx, env, stderr, moneycmd.Options{})
	if app == nil {
		return code
	}
	defer app.Close()

	inv, err := moneycmd.FindInvoice(ctx, app.Store, *invoice)
	if err != nil {
		fmt.Fprintln(stderr, "Nothing voided:", err)
		return moneycmd.ExitNotDone
	}
	if inv.Status == billing.StatusVoided {
		fmt.Fprintf(stdout, "Already voided: %s\n", moneycmd.State(inv))
		return moneycmd.ExitDone
	}
	before, err := app.Store.PaymentsOfInvoice(ctx, inv.ProviderID)
	if err != nil {
		fmt.Fprintf(stderr, "payments of %s: %v\n", inv.Number, err)
		return moneycmd.ExitNotDone
	}
	voided, err := app.Money.VoidInvoice(ctx, inv.ProviderID, *reverse)
	// Whatever the outcome, say which payments are reversed by now.
	reversed(ctx, app.Store, inv, before, stdout)
	switch {
	case errors.Is(err, billing.ErrHasPayments):
		fmt.Fprintf(stderr, "Nothing voided: %v.\nRun again with -reverse-payments to reverse them (each exactly once) and void the invoice.\n", err)
		return moneycmd.ExitNotDone
	case moneycmd.Pending(err):
		fmt.Fprintf(stderr, "Voiding %s: %s\n(%v)\n", inv.Number, moneycmd.PendingHint, err)
		return moneycmd.ExitNotDone
	case err != nil:
		fmt.Fprintf(stderr, "Voiding %s failed: %v\n", inv.Number, err)
		return moneycmd.ExitNotDone
	}
	fmt.Fprintf(stdout, "Voided %s\n", moneycmd.State(voided))
	return moneycmd.ExitDone
}

// reversed prints the payments of inv deleted since before was read.
func reversed(ctx context.Context, store billing.Store, inv billing.Invoice, before []billing.Payment, w io.Writer) {
	after, err := store.PaymentsOfInvoice(ctx, inv.ProviderID)
	if err != nil {
		return // the void's own outcome is what matters
	}
	was := make(map[string]string, len(before))
	for _, p := range before {
		was[p.ProviderID] = p.Status
	}
	for _, p := range after {
		if p.Status == billing.PaymentDeleted && was[p.ProviderID] != billing.PaymentDeleted {
			fmt.Fprintf(w, "Reversed payment %s of %s %s on %s, reference %q\n", p.ProviderID, inv.Currency, p.Amount.StringFixed(2), p.Date, p.Reference)
		}
	}
}
