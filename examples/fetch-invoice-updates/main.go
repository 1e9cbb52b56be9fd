package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/amsbilling/sdk/billing"
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

func run(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer, newService newServiceFunc) int {
	fs := flag.NewFlagSet("fetch-invoice-updates", flag.ContinueOnError)
	fs.SetOutput(stderr)
	limit := fs.Int("limit", billing.DefaultFetchLimit, "invoices to fetch per batch")
	all := fs.Bool("all", false, "keep fetching batches until no invoice is marked")
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
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	cfg, err := setup.LoadConfig(env)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if cfg.Provider == setup.ProviderNone {
		fmt.Fprintln(stdout, "No billing service configured.")
		return 0
	}
	if cfg.Provider.IsMock() {
		// As AMS: the mock services hold nothing to fetch, so this command
		// needs no test double linked to say so.
		fmt.Fprintln(stdout, mockSkipped)
		return 0
	}
	store, err := appstore.Open(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "opening the billing database:", err)
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

	opts := billing.FetchOptions{Limit: *limit, Logger: logger}
	fetch := billing.FetchInvoiceUpdates
	if *all {
		fetch = billing.FetchAllInvoiceUpdates // batch after batch until done
	}
	res, err := fetch(ctx, svc, store, opts)
	if res.Simulated {
		fmt.Fprintln(stdout, mockSkipped)
		return 0
	}
	report(stdout, res)
	var rl *ratelimit.RateLimitError
	switch {
	case errors.As(err, &rl):
		when := "later"
		if rl.RetryAfter > 0 {
			when = "after " + time.Now().Add(rl.RetryAfter).Format(time.RFC3339)
		}
		fmt.Fprintf(stdout, "Stopped: %v. Invoices stay marked; run again %s.\n", rl, when)
		if *all {
			return 0
		}
		return 1
	case err != nil:
		fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
	if len(res.Updated) == 0 {
		fmt.Fprintln(stdout, "No invoices needed updating")
	}
	fmt.Fprintln(stdout, "Done")
	return 0
}

func report(w io.Writer, res billing.FetchResult) {
	if len(res.Updated) > 0 {
		fmt.Fprintf(w, "Updated %d invoice(s):\n", len(res.Updated))
		for _, n := range res.Updated {
			fmt.Fprintf(w, "  %s\n", n)
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
