package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/examples/internal/applog"
	"github.com/amsbilling/sdk/examples/internal/appstore"
	"github.com/amsbilling/sdk/webhook"
	"github.com/amsbilling/sdk/xero"
	"github.com/amsbilling/sdk/xero/doctor"
	"github.com/amsbilling/sdk/xero/setup"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal starts the graceful shutdown; a second one, with the
	// default handling restored, ends the process at once.
	go func() {
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}

// run parses the flags, checks the configuration and serves until ctx is
// done. Exit status: 0 after a clean shutdown (and for -h), 1 on an error, 2
// on bad flags or a bad configuration.
func run(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	defaultAddr := "127.0.0.1:8000"
	if v, ok := env("ADDR"); ok && v != "" {
		defaultAddr = v
	}
	addr := fs.String("addr", defaultAddr, "address to listen on (default: $ADDR, else 127.0.0.1:8000)")
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
	cfg, err := setup.LoadConfig(env)
	if err != nil {
		// One problem per line, as an operator reads them.
		fmt.Fprintln(stderr, err)
		return 2
	}
	logger := applog.New(stderr, slog.LevelInfo, cfg.Xero.Debug)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, "listen:", err)
		return 1
	}
	if err := serve(ctx, ln, env, logger, stdout); err != nil {
		fmt.Fprintln(stderr, "server stopped:", err)
		if errors.Is(err, billing.ErrInvalidConfig) {
			return 2
		}
		return 1
	}
	return 0
}

// serve runs the app on ln until ctx is done.
func serve(ctx context.Context, ln net.Listener, env func(string) (string, bool), logger *slog.Logger, out io.Writer) error {
	cfg, err := setup.LoadConfig(env)
	if err != nil {
		return err
	}
	store, err := appstore.Open(ctx, cfg)
	if err != nil {
		return fmt.Errorf("opening the billing database: %w", err)
	}
	defer store.Close()

	meters, metricsHandler, err := newMetrics()
	if err != nil {
		return err
	}
	defer meters.Shutdown(context.Background())
	observed, err := billing.ObserveStore(store, billing.ObserveOptions{MeterProvider: meters, Logger: logger})
	if err != nil {
		return err
	}
	defer observed.Unregister()

	svc, err := setup.New(cfg, store, setup.Options{
		Logger:        logger,
		MeterProvider: meters,
		InvoiceHook: func(ctx context.Context, c billing.InvoiceChange) error {
			if c.BecamePaid() {
				// Your app would activate the membership here.
				logger.InfoContext(ctx, "invoice paid", "invoice", c.After.Number, "account", c.After.Account.String())
			}
			return nil
		},
	})
	if err != nil && !errors.Is(err, billing.ErrNoService) {
		return err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.Handle("GET /metrics", metricsHandler)

	// Only real Xero calls the webhook; the mock providers have no keys.
	var hook *webhook.Handler
	if svc != nil {
		checkSetup(ctx, cfg, svc, store, logger)
	}
	if svc != nil && cfg.Provider == setup.ProviderXero {
		hook, err = webhook.New(webhook.Config{
			Keys:          cfg.Xero.WebhookKeys,
			TenantID:      cfg.Xero.TenantID,
			Store:         store,
			Logger:        logger,
			MeterProvider: meters,
			Fetch: func(ctx context.Context) error {
				_, err := billing.FetchAllInvoiceUpdates(ctx, svc, store, billing.FetchOptions{Logger: logger, MeterProvider: meters})
				return err
			},
		})
		if err != nil {
			return err
		}
		mux.Handle("/billing/xero/webhooks/", hook)
	}
	mux.Handle("GET /billing/invoices/{number}", webhook.NewInvoiceRedirect(webhook.RedirectConfig{
		Service: svc, // nil when no billing service is configured: 503
		Store:   store,
		Logger:  logger,
		// Replace with your session check: here a demo header names the user.
		Authorize: func(r *http.Request, inv billing.Invoice) bool {
			return r.Header.Get("X-Demo-User") == inv.Account.OwnerID()
		},
	}))

	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	fmt.Fprintf(out, "listening on http://%s (billing: %s)\n", ln.Addr(), describe(cfg.Provider))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if hook != nil {
		err = errors.Join(err, hook.Shutdown(shutdownCtx))
	}
	return err
}

// newMetrics returns the app's OpenTelemetry MeterProvider, handed to every
// SDK component, and the handler serving its metrics in Prometheus's text
// format. The registry is the server's own, not Prometheus's global one,
// so /metrics shows exactly what the provider records.
func newMetrics() (*sdkmetric.MeterProvider, http.Handler, error) {
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, nil, fmt.Errorf("metrics: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	return mp, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), nil
}

func describe(p setup.Provider) string {
	if p == setup.ProviderNone {
		return "none configured"
	}
	return string(p)
}

// checkSetup runs the doctor's cheap checks at start (at most 2 Xero calls:
// the credentials and the tenant, then the webhook key, the whitelist and
// the store), so a wrong secret or tenant shows now rather than at the first
// member's payment. Each failure and warning is logged with the variable to
// fix. The server keeps serving either way: the webhook still stores marks.
func checkSetup(ctx context.Context, cfg setup.Config, svc billing.Service, store billing.Store, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	t := doctor.Target{Config: cfg, Store: store}
	if xs, ok := svc.(*xero.Service); ok {
		t.Client = xs.Client() // its calls count against the service's limiter
	}
	checks := doctor.Cheap(ctx, t)
	var problems []doctor.Check
	for _, c := range checks {
		if c.Status == doctor.Fail || c.Status == doctor.Warn {
			problems = append(problems, c)
		}
	}
	doctor.Log(ctx, logger, problems)
	if doctor.Failed(checks) {
		logger.ErrorContext(ctx, "billing: the start-up checks failed; billing calls will fail until the above is fixed (run examples/doctor for the full report)")
		return
	}
	logger.InfoContext(ctx, "billing: start-up checks passed", "checks", len(checks), "warnings", len(problems))
}
