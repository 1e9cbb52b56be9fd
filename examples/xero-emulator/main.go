// Command xero-emulator runs the SDK's Xero API emulator on a local port and
// prints the environment variables that point an app at it, so an app (or
// examples/server) can be developed and demonstrated with no Xero account.
//
//	go run ./examples/xero-emulator -addr 127.0.0.1:4010 -webhook-url http://127.0.0.1:8000/billing/xero/webhooks/
//
// Then, in another shell, export the printed variables and start the app.
// It stops on SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/google/uuid"

	"github.com/amsbilling/sdk/mock/emulator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "xero-emulator:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("xero-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:4010", "address to listen on")
	webhookURL := fs.String("webhook-url", "", "where to deliver signed webhooks (the app's /billing/xero/webhooks/)")
	webhookKey := fs.String("webhook-key", "", "webhook signing key (default: a random one, printed)")
	legacy := fs.Bool("legacy-scopes", false, "accept an explicit scope, like Custom Connections created before April 2026")
	verbose := fs.Bool("v", false, "log every request")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *webhookURL != "" && *webhookKey == "" {
		*webhookKey = uuid.NewString()
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
		return err
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
	<-ctx.Done()
	return nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
