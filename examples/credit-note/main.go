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

	"github.com/shopspring/decimal"

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
	fs := flag.NewFlagSet("credit-note", flag.ContinueOnError)
	fs.SetOutput(stderr)
	invoice := fs.String("invoice", "", "the invoice: its number (INV-0001) or Xero's id")
	amountFlag := fs.String("amount", "", "the amount credited, tax included, a decimal such as 20.00")
	reason := fs.String("reason", "", "why: the credit note's line and reference; with the invoice and the amount it names the logical credit note, so a rerun credits nothing again")
	refund := fs.Bool("refund", false, "pay the credit back to the member instead of allocating it to the invoice")
	account := fs.String("account", "", "with -refund, the account `CODE` the refund is paid from (a bank account, or one with payments enabled); default XERO_PAYMENT_ACCOUNT_CODE")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return moneycmd.ExitDone
		}
		return moneycmd.ExitUsage
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, format+"\n", a...)
		return moneycmd.ExitUsage
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case fs.NArg() > 0:
		return usage("unexpected argument %q (flags start with -)", fs.Arg(0))
	case *invoice == "" || *amountFlag == "" || *reason == "":
		return usage("give -invoice INV -amount 20.00 -reason TEXT [-refund [-account CODE]]")
	case strings.TrimSpace(*reason) == "":
		return usage("-reason must not be blank")
	case set["account"] && !*refund:
		return usage("-account is the account a refund is paid from: it is for -refund (an allocation moves no money)")
	}
	amount, err := moneycmd.ParseAmount(*amountFlag)
	if err != nil {
		return usage("-amount %v", err)
	}
	if set["account"] {
		if err := moneycmd.CheckAccount(*account); err != nil {
			return usage("-account: %v", err)
		}
	}
	app, code := moneycmd.Open(ctx, env, stderr, moneycmd.Options{PaymentAccount: *account, NeedPaymentAccount: *refund})
	if app == nil {
		return code
	}
	defer app.Close()

	inv, err := moneycmd.FindInvoice(ctx, app.Store, *invoice)
	if err != nil {
		fmt.Fprintln(stderr, "Nothing credited:", err)
		return moneycmd.ExitNotDone
	}
	before, err := app.Store.CreditNotesOfInvoice(ctx, inv.ProviderID)
	if err != nil {
		fmt.Fprintf(stderr, "credit notes of %s: %v\n", inv.Number, err)
		return moneycmd.ExitNotDone
	}
	if !credited(before, *reason, amount) {
		// The credit note and its allocation or refund are two calls:
		// what Xero would refuse in the second is refused before the first.
		if msg := refusal(inv, amount, *refund); msg != "" {
			fmt.Fprintln(stderr, "Nothing credited:", msg)
			return moneycmd.ExitNotDone
		}
		if *refund {
			if err := app.CheckPaymentAccount(ctx, app.Config.Xero.PaymentAccountCode); err != nil {
				fmt.Fprintln(stderr, "Nothing credited:", err)
				return moneycmd.ExitNotDone
			}
		}
	}
	res, err := app.Money.CreditInvoice(ctx, billing.CreditNoteParams{
		InvoiceID: inv.ProviderID, Reason: *reason, Amount: amount, Allocate: !*refund, Refund: *refund,
	})
	if moneycmd.Pending(err) {
		fmt.Fprintf(stderr, "Crediting %s: %s\n(%v)\n", inv.Number, moneycmd.PendingHint, err)
		return moneycmd.ExitNotDone
	}
	if err != nil {
		fmt.Fprintf(stderr, "Crediting %s failed: %v\n", inv.Number, err)
		if res.CreditNote.ProviderID != "" {
			fmt.Fprintf(stderr, "The credit note %s exists in Xero; run the same command again to finish it.\n", res.CreditNote.Number)
		}
		return moneycmd.ExitNotDone
	}
	cn := res.CreditNote
	what := "Credit note"
	for _, b := range before {
		if b.ProviderID == cn.ProviderID {
			what = "Already credited: credit note"
		}
	}
	fmt.Fprintf(stdout, "%s %s (%s) of %s %s for %s, reason %q\n", what, cn.Number, cn.ProviderID, cn.Currency, cn.Total.StringFixed(2), inv.Number, *reason)
	if res.Refund != nil {
		fmt.Fprintf(stdout, "Refunded %s %s to the member: payment %s on %s, reference %q, account %s\n",
			cn.Currency, res.Refund.Amount.StringFixed(2), res.Refund.ProviderID, res.Refund.Date, res.Refund.Reference, res.Refund.AccountCode)
	}
	for _, a := range cn.Allocations {
		fmt.Fprintf(stdout, "Allocated %s %s to %s on %s\n", cn.Currency, a.Amount.StringFixed(2), numberOf(a.InvoiceID, inv), a.Date)
	}
	if cn.Remaining.IsPositive() {
		fmt.Fprintf(stdout, "%s %s of the credit is neither allocated nor refunded\n", cn.Currency, cn.Remaining.StringFixed(2))
	}
	fmt.Fprintln(stdout, moneycmd.State(res.Invoice))
	return moneycmd.ExitDone
}

// credited reports whether a credit note of the invoice already names this
// logical credit (a rerun): nothing new would be sent, so nothing is
// checked.
func credited(cns []billing.CreditNote, reason string, amount decimal.Decimal) bool {
	ref := strings.Join(strings.Fields(reason), " ") // as the service makes the reference
	for _, c := range cns {
		if strings.HasPrefix(ref, c.Reference) && c.Reference != "" && c.Total.Equal(amount) {
			return true
		}
	}
	return false
}

// refusal is why Xero would refuse the credit's second step, or "".
func refusal(inv billing.Invoice, amount decimal.Decimal, refund bool) string {
	switch {
	case inv.Status == billing.StatusVoided || inv.Status == billing.StatusDeleted:
		return fmt.Sprintf("invoice %s is %s", inv.Number, strings.ToLower(inv.Status))
	case !refund && amount.GreaterThan(inv.Due):
		return fmt.Sprintf("%s %s is more than the %s due on %s, so it cannot be allocated to it; credit at most what is due, or give -refund to pay it back",
			inv.Currency, amount.StringFixed(2), inv.Due.StringFixed(2), inv.Number)
	case refund && amount.GreaterThan(inv.Amount.Sub(inv.Credited)):
		return fmt.Sprintf("%s %s is more than %s was billed (%s, %s credited before)",
			inv.Currency, amount.StringFixed(2), inv.Number, inv.Amount.StringFixed(2), inv.Credited.StringFixed(2))
	}
	return ""
}

func numberOf(invoiceID string, inv billing.Invoice) string {
	if invoiceID == inv.ProviderID {
		return inv.Number
	}
	return invoiceID
}
