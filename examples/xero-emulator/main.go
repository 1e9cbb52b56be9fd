package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/amsbilling/sdk/mock/emulator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run serves until ctx ends and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("xero-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:4010", "address to listen on")
	webhookURL := fs.String("webhook-url", "", "where to deliver signed webhooks (the app's /billing/xero/webhooks/)")
	webhookKey := fs.String("webhook-key", "", "webhook signing key (default: a random one, printed as XERO_WEBHOOK_KEY)")
	legacy := fs.Bool("legacy-scopes", false, "accept an explicit scope, like Custom Connections created before April 2026")
	verbose := fs.Bool("v", false, "log every request")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "xero-emulator: unexpected argument %q (flags start with -)\n", fs.Arg(0))
		return 2
	}
	if *webhookURL != "" {
		if u, err := url.Parse(*webhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fmt.Fprintf(stderr, "xero-emulator: -webhook-url %q is not an http(s) URL\n", *webhookURL)
			return 2
		}
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	srv, err := emulator.Listen(*addr, emulator.Options{
		WebhookURL:   *webhookURL,
		WebhookKey:   *webhookKey,
		LegacyScopes: *legacy,
		Logger:       slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
	})
	if err != nil {
		fmt.Fprintln(stderr, "xero-emulator:", err)
		return 1
	}
	defer srv.Close()

	fmt.Fprintf(stdout, "# Xero emulator listening on %s\n# Point your app at it:\n", srv.URL)
	env := srv.Env()
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(stdout, "export %s=%s\n", k, shellQuote(env[k]))
	}
	fmt.Fprintf(stdout, "# Overview of contacts and invoices: %s/\n", srv.URL)
	if *webhookURL != "" {
		fmt.Fprintf(stdout, "# Webhooks go to %s, signed with XERO_WEBHOOK_KEY.\n", *webhookURL)
	}
	<-ctx.Done()
	return 0
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
