package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/examples/internal/moneycmd"
	"github.com/amsbilling/sdk/ratelimit"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// settings are the run's flags, checked.
type settings struct {
	invoice, reference, account, file string
	amount                            string
	date                              billing.Date
	reverse                           bool
}

func parse(args []string, stderr io.Writer) (s settings, code int, ok bool) {
	fs := flag.NewFlagSet("record-payment", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&s.invoice, "invoice", "", "the invoice: its number (INV-0001) or Xero's id")
	fs.StringVar(&s.amount, "amount", "", "the amount paid, a decimal such as 50.00")
	date := fs.String("date", "", "the payment's date, `YYYY-MM-DD` (default today, UTC)")
	fs.StringVar(&s.account, "account", "", "the account `CODE` the money went to (a bank account, or one with payments enabled); default "+"XERO_PAYMENT_ACCOUNT_CODE")
	fs.StringVar(&s.reference, "reference", "", "the payment's reference (the card charge, the direct debit...): with the invoice it names the logical payment, so a rerun records nothing again")
	fs.StringVar(&s.file, "csv", "", "record the payments of this `file`: the header invoice,amount,date,reference, then a payment a row (an empty date is today)")
	fs.BoolVar(&s.reverse, "reverse", false, "reverse (delete in Xero) the payment of -invoice with -reference")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return s, moneycmd.ExitDone, false
		}
		return s, moneycmd.ExitUsage, false
	}
	usage := func(format string, a ...any) (settings, int, bool) {
		fmt.Fprintf(stderr, format+"\n", a...)
		return s, moneycmd.ExitUsage, false
	}
	if fs.NArg() > 0 {
		return usage("unexpected argument %q (flags start with -)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case set["csv"]:
		for _, f := range []string{"invoice", "amount", "date", "reference", "reverse"} {
			if set[f] {
				return usage("-%s is not for -csv: the file gives each payment's invoice, amount, date and reference", f)
			}
		}
	case s.reverse:
		for _, f := range []string{"amount", "date", "account"} {
			if set[f] {
				return usage("-%s is not for -reverse, which needs only -invoice and -reference", f)
			}
		}
		if s.invoice == "" || s.reference == "" {
			return usage("-reverse needs -invoice INV and -reference REF")
		}
	default:
		if s.invoice == "" || s.amount == "" || s.reference == "" {
			return usage("give -invoice INV -amount 50.00 -reference REF (or -csv FILE, or -reverse -invoice INV -reference REF)")
		}
		if _, err := moneycmd.ParseAmount(s.amount); err != nil {
			return usage("-amount %v", err)
		}
		if strings.TrimSpace(s.reference) == "" {
			return usage("-reference must not be blank")
		}
	}
	if *date != "" {
		d, err := billing.ParseDate(*date)
		if err == nil {
			err = d.Check()
		}
		if err != nil {
			return usage("-date %q is not a date (YYYY-MM-DD)", *date)
		}
		s.date = d
	}
	if set["account"] {
		if err := moneycmd.CheckAccount(s.account); err != nil {
			return usage("-account: %v", err)
		}
	}
	return s, 0, true
}

func run(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) int {
	s, code, ok := parse(args, stderr)
	if !ok {
		return code
	}
	var rows []row
	if s.file != "" {
		f, err := os.Open(s.file)
		if err != nil {
			fmt.Fprintln(stderr, "-csv:", err)
			return moneycmd.ExitUsage
		}
		rows, err = readRows(f)
		f.Close()
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				fmt.Fprintf(stderr, "%s: %s\n", s.file, line)
			}
			fmt.Fprintln(stderr, "Nothing was recorded.")
			return moneycmd.ExitUsage
		}
	}
	opts := moneycmd.Options{NeedPaymentAccount: !s.reverse, PaymentAccount: s.account}
	if s.file != "" {
		// A long file waits for Xero's budget rather than failing on it.
		opts.Limiter = ratelimit.NewLocal(ratelimit.Options{Wait: true})
	}
	app, code := moneycmd.Open(ctx, env, stderr, opts)
	if app == nil {
		return code
	}
	defer app.Close()
	switch {
	case s.file != "":
		return recordFile(ctx, app, s, rows, stdout, stderr)
	case s.reverse:
		return reverse(ctx, app, s, stdout, stderr)
	}
	return record(ctx, app, s, stdout, stderr)
}

// record records one payment.
func record(ctx context.Context, app *moneycmd.App, s settings, stdout, stderr io.Writer) int {
	inv, err := moneycmd.FindInvoice(ctx, app.Store, s.invoice)
	if err != nil {
		fmt.Fprintln(stderr, "Nothing recorded:", err)
		return moneycmd.ExitNotDone
	}
	amount, _ := moneycmd.ParseAmount(s.amount) // parse checked it
	prior, err := paymentWithReference(ctx, app.Store, inv, s.reference)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return moneycmd.ExitNotDone
	}
	pay, err := app.Money.RecordPayment(ctx, billing.PaymentParams{
		InvoiceID: inv.ProviderID, Amount: amount, Date: s.date, Reference: s.reference, AccountCode: s.account,
	})
	if moneycmd.Pending(err) {
		fmt.Fprintf(stderr, "Recording the payment of %s: %s\n(%v)\n", inv.Number, moneycmd.PendingHint, err)
		return moneycmd.ExitNotDone
	}
	if err != nil {
		fmt.Fprintf(stderr, "Recording the payment of %s failed; nothing was recorded: %v\n", inv.Number, err)
		return moneycmd.ExitNotDone
	}
	again := len(prior) > 0 && prior[0].ProviderID == pay.ProviderID
	switch {
	case pay.Status == billing.PaymentDeleted:
		fmt.Fprintf(stderr, "The payment of %s with reference %q was recorded and then reversed (%s); to pay it again, give a new -reference.\n",
			inv.Number, s.reference, pay.ProviderID)
		return moneycmd.ExitNotDone
	case again:
		fmt.Fprintf(stdout, "Already recorded: %s\n", describe(inv, pay))
		if !pay.Amount.Equal(amount) {
			fmt.Fprintf(stdout, "The invoice and the reference name one payment, so -amount %s was not recorded; give another -reference for another payment.\n", amount.StringFixed(2))
		}
	default:
		fmt.Fprintf(stdout, "Recorded %s\n", describe(inv, pay))
	}
	return printState(ctx, app, inv, stdout, stderr)
}

// paymentWithReference lists the stored payments of inv with this
// reference, those not reversed first.
func paymentWithReference(ctx context.Context, store billing.Store, inv billing.Invoice, reference string) ([]billing.Payment, error) {
	all, err := store.PaymentsOfInvoice(ctx, inv.ProviderID)
	if err != nil {
		return nil, fmt.Errorf("payments of %s: %w", inv.Number, err)
	}
	var live, deleted []billing.Payment
	for _, p := range all {
		switch {
		case p.Reference != reference:
		case p.Status == billing.PaymentDeleted:
			deleted = append(deleted, p)
		default:
			live = append(live, p)
		}
	}
	return append(live, deleted...), nil
}

func describe(inv billing.Invoice, p billing.Payment) string {
	return fmt.Sprintf("payment %s of %s %s to %s on %s, reference %q, account %s",
		p.ProviderID, inv.Currency, p.Amount.StringFixed(2), inv.Number, p.Date, p.Reference, p.AccountCode)
}

// printState prints the invoice as now stored: what Xero computed.
func printState(ctx context.Context, app *moneycmd.App, inv billing.Invoice, stdout, stderr io.Writer) int {
	now, err := app.Store.InvoiceByProviderID(ctx, inv.ProviderID)
	if err != nil {
		// The money moved: a rerun would change nothing.
		fmt.Fprintf(stderr, "warning: reading %s back: %v\n", inv.Number, err)
		return moneycmd.ExitDone
	}
	fmt.Fprintln(stdout, moneycmd.State(now))
	return moneycmd.ExitDone
}

// reverse reverses the payment of the invoice with the reference.
func reverse(ctx context.Context, app *moneycmd.App, s settings, stdout, stderr io.Writer) int {
	inv, err := moneycmd.FindInvoice(ctx, app.Store, s.invoice)
	if err != nil {
		fmt.Fprintln(stderr, "Nothing reversed:", err)
		return moneycmd.ExitNotDone
	}
	found, err := paymentWithReference(ctx, app.Store, inv, s.reference)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return moneycmd.ExitNotDone
	}
	live := 0
	for _, p := range found {
		if p.Status != billing.PaymentDeleted {
			live++
		}
	}
	switch {
	case len(found) == 0:
		fmt.Fprintf(stderr, "Nothing reversed: %s has no payment with reference %q in the billing database.\n", inv.Number, s.reference)
		return moneycmd.ExitNotDone
	case live > 1:
		ids := make([]string, live)
		for i := range ids {
			ids[i] = found[i].ProviderID
		}
		fmt.Fprintf(stderr, "Nothing reversed: %s has %d payments with reference %q (%s); reverse the one meant in Xero.\n",
			inv.Number, live, s.reference, strings.Join(ids, ", "))
		return moneycmd.ExitNotDone
	}
	pay, err := app.Money.ReversePayment(ctx, found[0].ProviderID)
	if moneycmd.Pending(err) {
		fmt.Fprintf(stderr, "Reversing payment %s of %s: %s\n(%v)\n", found[0].ProviderID, inv.Number, moneycmd.PendingHint, err)
		return moneycmd.ExitNotDone
	}
	if err != nil {
		fmt.Fprintf(stderr, "Reversing payment %s of %s failed: %v\n", found[0].ProviderID, inv.Number, err)
		return moneycmd.ExitNotDone
	}
	if live == 0 {
		fmt.Fprintf(stdout, "Already reversed: %s\n", describe(inv, pay))
	} else {
		fmt.Fprintf(stdout, "Reversed %s\n", describe(inv, pay))
	}
	return printState(ctx, app, inv, stdout, stderr)
}
