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
	"github.com/amsbilling/sdk/xero"
	"github.com/amsbilling/sdk/xero/doctor"
	"github.com/amsbilling/sdk/xero/setup"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr, openStore)
	stop()
	os.Exit(code)
}

// storeOpener opens the app's store and returns it with its Close; tests
// swap it.
type storeOpener func(context.Context, setup.Config) (billing.Store, func() error, error)

// openStore opens BILLING_DATABASE_URL as the other commands do (and so
// migrates it).
func openStore(ctx context.Context, cfg setup.Config) (billing.Store, func() error, error) {
	s, err := appstore.Open(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return s, s.Close, nil
}

// run checks the setup and prints one line per check. Exit status: 0 when
// every check passes (warnings allowed; and for -h), 1 when one fails, 2
// when the configuration cannot be read (or bad flags).
func run(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer, open storeOpener) int {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cheap := fs.Bool("cheap", false, "run only the checks an app runs at start: at most 2 Xero calls")
	timeout := fs.Duration("timeout", time.Minute, "give up on Xero and the database after this long")
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
	if *timeout <= 0 {
		fmt.Fprintln(stderr, "-timeout must be positive")
		return 2
	}

	cfg, err := setup.LoadConfig(env)
	if err != nil {
		// One line per bad variable, and nothing else can be checked.
		_ = doctor.Write(stdout, doctor.ConfigChecks(err))
		return 2
	}
	level := slog.LevelWarn
	if cfg.Xero.Debug {
		level = slog.LevelDebug // XERO_DEBUG: show the HTTP exchanges, redacted
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	t := doctor.Target{Config: cfg}
	if cfg.DatabaseURL == "" {
		t.Database = appstore.DefaultURL + " (the default: " + setup.EnvDatabaseURL + " is unset)"
	}
	store, closeStore, err := open(ctx, cfg)
	if err != nil {
		t.StoreErr = err
	} else {
		t.Store = store
		defer closeStore()
	}
	if cfg.Provider == setup.ProviderXero {
		// Retries off: every call is counted, and a failure shows at once.
		client, err := xero.NewClient(cfg.Xero, xero.WithRetries(1, 0), xero.WithLogger(logger), xero.WithUserAgent("amsbilling-doctor"))
		if err == nil {
			t.Client = client
		}
		// Otherwise the doctor builds one itself and reports why it cannot.
	}

	var checks []doctor.Check
	if *cheap {
		checks = doctor.Cheap(ctx, t)
	} else {
		checks = doctor.Run(ctx, t)
	}
	if err := doctor.Write(stdout, checks); err != nil {
		fmt.Fprintln(stderr, "writing the report:", err)
		return 1
	}
	fmt.Fprintln(stdout, summary(checks))
	switch {
	case errors.Is(t.StoreErr, billing.ErrInvalidConfig):
		return 2 // BILLING_DATABASE_URL cannot be read
	case doctor.Failed(checks):
		return 1
	}
	return 0
}

// summary counts the checks by outcome.
func summary(checks []doctor.Check) string {
	var n [4]int
	for _, c := range checks {
		switch c.Status {
		case doctor.Pass:
			n[0]++
		case doctor.Warn:
			n[1]++
		case doctor.Fail:
			n[2]++
		default:
			n[3]++
		}
	}
	return fmt.Sprintf("%d passed, %d warned, %d failed, %d skipped", n[0], n[1], n[2], n[3])
}
