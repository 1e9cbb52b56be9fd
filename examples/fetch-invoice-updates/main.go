package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/examples/internal/applog"
	"github.com/amsbilling/sdk/examples/internal/appstore"
	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/xero/setup"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr, setup.New)
	stop()
	os.Exit(code)
}

// mockSkipped is AMS's line for a mock billing service.
const mockSkipped = "No invoice updates to fetch with mock billing."

// newServiceFunc builds the configured service; tests swap it.
type newServiceFunc func(setup.Config, billing.Store, setup.Options) (billing.Service, error)

// AMS's lines, which operators' log filters look for.
const (
	startLine   = "Fetching updates to invoices for Xero billing..."
	doneLine    = "Done"
	nothingLine = "No invoices needed updating"
)

func run(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer, newService newServiceFunc) int {
	fs := flag.NewFlagSet("fetch-invoice-updates", flag.ContinueOnError)
	fs.SetOutput(stderr)
	limit := fs.Int("limit", billing.DefaultFetchLimit, "invoices to fetch per batch")
	all := fs.Bool("all", false, "keep fetching batches until no invoice is marked")
	sweep := fs.Bool("sweep", false, "also ask Xero for every invoice modified since the last sweep, and refresh the open ones now and then, to repair missed webhooks; exit 0 only when the store is in step with Xero")
	verbose := fs.Bool("v", false, "log progress to stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		// "fetch-invoice-updates all" must not quietly run one batch.
		fmt.Fprintf(stderr, "unexpected argument %q (flags start with -)\n", fs.Arg(0))
		return 2
	}
	if *limit <= 0 {
		fmt.Fprintln(stderr, "-limit must be positive")
		return 2
	}
	cfg, err := setup.LoadConfig(env)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	logger := applog.New(stderr, slog.LevelWarn, *verbose || cfg.Xero.Debug)
	fmt.Fprintln(stdout, startLine)
	if cfg.Provider == setup.ProviderNone {
		fmt.Fprintln(stdout, "No billing service configured.")
		fmt.Fprintln(stdout, doneLine)
		return 0
	}
	if cfg.Provider.IsMock() {
		// As AMS: the mock services hold nothing to fetch, so this command
		// needs no test double linked to say so.
		fmt.Fprintln(stdout, mockSkipped)
		fmt.Fprintln(stdout, doneLine)
		return 0
	}
	store, err := appstore.Open(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "opening the billing database:", err)
		if errors.Is(err, billing.ErrInvalidConfig) {
			return 2
		}
		return 1
	}
	defer store.Close()
	svc, err := newService(cfg, store, setup.Options{Logger: logger})
	if err != nil {
		fmt.Fprintln(stderr, err)
		if errors.Is(err, billing.ErrInvalidConfig) {
			return 2
		}
		return 1
	}

	// First settle creations a crash or a lost answer left pending, so
	// their invoices are known before anything else looks for them.
	if r, ok := svc.(billing.CreationResolver); ok {
		res, err := r.ResolveCreations(ctx)
		for _, inv := range res.Resolved {
			fmt.Fprintf(stdout, "Resolved the pending creation of %s\n", inv.Number)
		}
		for key, why := range res.Pending {
			fmt.Fprintf(stdout, "Creation %s still pending: %v\n", key, why)
		}
		if code, stop := stopped(stdout, stderr, err, *all); stop {
			return code
		}
	}

	// Then the money operations (payments, credit notes, voids) a crash or
	// a lost answer left pending: Xero is searched before anything is sent.
	if m, ok := svc.(billing.MoneyService); ok {
		res, err := m.ResolveMoneyOps(ctx)
		if n := len(res.Resolved); n > 0 {
			fmt.Fprintf(stdout, "Resolved %d pending money operation(s)\n", n)
		}
		if n := len(res.Pending); n > 0 {
			fmt.Fprintf(stdout, "%d money operation(s) still pending; the next run tries again:\n", n)
			for _, key := range slices.Sorted(maps.Keys(res.Pending)) {
				fmt.Fprintf(stdout, "  - %s: %v\n", key, res.Pending[key])
			}
		}
		if code, stop := stopped(stdout, stderr, err, *all); stop {
			return code
		}
	}

	opts := billing.FetchOptions{Limit: *limit, Logger: logger}
	fetch := billing.FetchInvoiceUpdates
	if *all || *sweep {
		fetch = billing.FetchAllInvoiceUpdates // batch after batch until done
		limitSet := false
		fs.Visit(func(f *flag.Flag) { limitSet = limitSet || f.Name == "limit" })
		if !limitSet {
			opts.Limit = 0 // the largest safe batch
		}
	}
	res, err := fetch(ctx, svc, store, opts)
	if res.Simulated {
		fmt.Fprintln(stdout, mockSkipped)
		fmt.Fprintln(stdout, doneLine)
		return 0
	}
	report(stdout, res)
	if code, stop := stopped(stdout, stderr, err, *all); stop {
		return code
	}
	if len(res.Updated) == 0 {
		fmt.Fprintln(stdout, nothingLine)
	}
	if *sweep {
		src, ok := svc.(billing.SweepSource)
		if !ok {
			fmt.Fprintln(stderr, "-sweep: this billing service cannot list modified invoices")
			return 1
		}
		sr, err := billing.Sweep(ctx, src, store, billing.SweepOptions{Tenant: cfg.Xero.TenantID, Logger: logger})
		fmt.Fprintf(stdout, "Swept %d invoice(s) modified in Xero since %s in %d page(s); checked %d open invoice(s)\n",
			sr.Seen, sweptSince(sr.Since), sr.Pages, sr.OpenChecked)
		for _, m := range []struct {
			what string
			ms   billing.MoneySweep
		}{{"credit note", sr.CreditNotes}, {"payment", sr.Payments}} {
			if m.ms.Since.IsZero() {
				continue // the store holds no invoice: nothing asked
			}
			fmt.Fprintf(stdout, "Swept %d %s(s) modified in Xero since %s in %d page(s): %d kept, %d new or changed, %d not the app's\n",
				m.ms.Seen, m.what, sweptSince(m.ms.Since), m.ms.Pages, m.ms.Saved, m.ms.Changed, m.ms.Ignored)
			for id, why := range m.ms.Failed {
				fmt.Fprintf(stdout, "Out of step: %s %s: %v\n", m.what, id, why)
			}
			for _, u := range m.ms.Unreadable {
				fmt.Fprintf(stdout, "Unreadable in Xero (a %s, only reported): %v\n", m.what, u.Err)
			}
		}
		if sr.Repaired > 0 {
			fmt.Fprintf(stdout, "Refreshed %d invoice(s) named by new or changed payments and credit notes\n", sr.Repaired)
		}
		if len(sr.Changed) > 0 {
			fmt.Fprintf(stdout, "Repaired %d invoice(s):\n", len(sr.Changed))
			for _, n := range sr.Changed {
				fmt.Fprintf(stdout, "  - %s\n", n)
			}
		}
		for id, why := range sr.Failed {
			fmt.Fprintf(stdout, "Out of step: %s: %v\n", id, why)
		}
		for _, u := range sr.Unreadable {
			what := "not in the store, only reported"
			if u.Queued {
				what = "queued for the fetch job; correct it in Xero"
			}
			fmt.Fprintf(stdout, "Unreadable in Xero (%s): %v\n", what, u.Err)
		}
		if code, stop := stopped(stdout, stderr, err, false); stop {
			return code
		}
		if !sr.InStep() {
			fmt.Fprintln(stdout, "The store is not in step with Xero; run -sweep again once the failures above are fixed.")
			return 1
		}
	}
	fmt.Fprintln(stdout, doneLine)
	return 0
}

func sweptSince(t time.Time) string {
	if t.IsZero() {
		return "the start (the store holds no invoice)"
	}
	return t.UTC().Format(time.RFC3339)
}

// stopped reports an error that ends the run and the exit code for it. A
// rate limit with -all is a clean stop: the marks stay for the next run.
func stopped(stdout, stderr io.Writer, err error, all bool) (code int, stop bool) {
	var rl *ratelimit.RateLimitError
	switch {
	case errors.As(err, &rl):
		when := "later"
		if rl.RetryAfter > 0 {
			when = "after " + time.Now().Add(rl.RetryAfter).Format(time.RFC3339)
		}
		fmt.Fprintf(stdout, "Stopped: %v. Invoices stay marked; run again %s.\n", rl, when)
		if all {
			return 0, true
		}
		return 1, true
	case err != nil:
		fmt.Fprintln(stderr, "Error:", err)
		return 1, true
	}
	return 0, false
}

func report(w io.Writer, res billing.FetchResult) {
	if cn := res.CreditNotes; cn.Claimed > 0 {
		// Before the invoices: their refresh marked the invoices below.
		fmt.Fprintf(w, "Refreshed %d credit note(s) from Xero (%d not kept, %d invoice(s) marked, %d Xero call(s))\n",
			len(cn.Refreshed), len(cn.Dropped), cn.InvoicesMarked, cn.Calls)
		for _, id := range cn.Remarked {
			fmt.Fprintf(w, "Credit note changed again while fetching, left for the next run: %s\n", id)
		}
		for _, f := range cn.Failed {
			state := "will retry"
			if f.SetAside {
				state = "set aside until it changes again"
			}
			fmt.Fprintf(w, "Failed credit note %s (%s): %s\n", f.ProviderID, state, f.Reason)
		}
	}
	if len(res.Updated) > 0 {
		fmt.Fprintf(w, "Updated %d invoice(s):\n", len(res.Updated))
		for _, n := range res.Updated {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
	for _, n := range res.Remarked {
		fmt.Fprintf(w, "Changed again while fetching, left for the next run: %s\n", n)
	}
	for _, f := range res.Failed {
		state := "will retry"
		if f.SetAside {
			state = "set aside until it changes again"
		}
		fmt.Fprintf(w, "Failed %s (%s): %s\n", f.Number, state, f.Reason)
	}
}
