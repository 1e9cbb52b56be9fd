package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/sqlstore/sqlurl"
	"github.com/amsbilling/sdk/examples/internal/applog"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/webhook"
	"github.com/amsbilling/sdk/xero"
	"github.com/amsbilling/sdk/xero/setup"
)

// defaultStepTimeout bounds each wait for something asynchronous (the
// webhook, the fetch), so a broken step fails the run instead of hanging it.
const defaultStepTimeout = 15 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Stdout, settings{databaseURL: os.Getenv("BILLING_DATABASE_URL")})
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart failed:", err)
		os.Exit(1)
	}
}

// settings are the quickstart's inputs; tests use the ones main leaves zero.
type settings struct {
	databaseURL string
	stepTimeout time.Duration // default defaultStepTimeout
	// webhookStore, when set, wraps the store the webhook handler marks
	// invoices in.
	webhookStore func(billing.Store) billing.Store
	// debug logs the HTTP exchanges (as XERO_DEBUG=true does) to logs
	// (default os.Stderr).
	debug bool
	logs  io.Writer
}

func run(ctx context.Context, out io.Writer, set settings) (err error) {
	// The quickstart takes Xero's settings from its emulator, but an
	// operator's XERO_DEBUG still asks to see the HTTP exchanges; it is read
	// by the SDK's own rule, so a bad value is the usual configuration error.
	only, err := setup.LoadConfig(func(k string) (string, bool) {
		if k == xero.EnvDebug {
			return os.LookupEnv(k)
		}
		return "", false
	})
	if err != nil {
		return err
	}
	debug := set.debug || only.Xero.Debug
	logger := applog.New(cmp.Or[io.Writer](set.logs, os.Stderr), slog.LevelWarn, debug)
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	databaseURL := set.databaseURL
	stepTimeout := set.stepTimeout
	if stepTimeout <= 0 {
		stepTimeout = defaultStepTimeout
	}
	wait := func(ctx context.Context) (context.Context, context.CancelFunc) {
		return context.WithTimeoutCause(ctx, stepTimeout, fmt.Errorf("nothing happened within %s", stepTimeout))
	}

	if databaseURL == "" {
		dir, err := os.MkdirTemp("", "amsbilling-quickstart-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		databaseURL = filepath.Join(dir, "billing.db")
	}
	store, err := sqlurl.Open(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	// A store from an earlier run already holds INV-0001...: this run's
	// Xero numbers after them, as Xero's "next number" setting would.
	next, err := nextInvoiceNumber(ctx, store)
	if err != nil {
		return err
	}

	// The app's own HTTP server, where Xero (here the emulator) delivers
	// webhooks. Listening first gives the emulator the URL to call.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	webhookURL := "http://" + ln.Addr().String() + "/billing/xero/webhooks/"
	webhookKey := "quickstart-webhook-key-" + uuid.NewString()

	xeroSrv, err := emulator.Listen("127.0.0.1:0", emulator.Options{
		WebhookURL:        webhookURL,
		WebhookKey:        webhookKey,
		WebhookRetryDelay: 200 * time.Millisecond,
		NextInvoiceNumber: next,
		Logger:            logger,
	})
	if err != nil {
		return err
	}
	defer xeroSrv.Close()
	say("Xero emulator running at %s", xeroSrv.URL)

	// Configure the SDK exactly as an app does: from environment variables
	// (here the emulator's, which an app would set in its deployment).
	env := xeroSrv.Env()
	if debug {
		env["XERO_DEBUG"] = "true"
	}
	cfg, err := setup.LoadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		return err
	}

	say("Store: %s", store.Dialect()) // never the URL: it may hold a password

	// The channels below hear what happens in the background. Sends never
	// block: a step that is not waited for must not stall the SDK.
	changes := make(chan billing.InvoiceChange, 16)
	client, err := xero.NewClient(cfg.Xero, xero.WithLogger(logger))
	if err != nil {
		return err
	}
	svc := xero.NewService(client, store, cfg.Xero, xero.WithInvoiceHook(
		func(_ context.Context, c billing.InvoiceChange) error {
			offer(changes, c)
			return nil
		}))

	fetched := make(chan fetchRun, 16)
	var hookStore billing.Store = store
	if set.webhookStore != nil {
		hookStore = set.webhookStore(store)
	}
	hook, err := webhook.New(webhook.Config{
		Keys:     cfg.Xero.WebhookKeys,
		TenantID: cfg.Xero.TenantID,
		Store:    markTap{hookStore},
		Logger:   logger,
		Fetch: func(ctx context.Context) error {
			res, err := billing.FetchAllInvoiceUpdates(ctx, svc, store, billing.FetchOptions{Logger: logger})
			offer(fetched, fetchRun{res, err})
			return err
		},
	})
	if err != nil {
		return err
	}
	received := make(chan delivery, 16)
	mux := http.NewServeMux()
	mux.Handle("/billing/xero/webhooks/", deliveryTap(hook, received))
	app := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = app.Serve(ln) }() // ErrServerClosed after Shutdown
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = errors.Join(err, app.Shutdown(sctx), hook.Shutdown(sctx))
	}()

	// 1. The member: the app's user, synced to a Xero contact.
	member := billing.User{ID: uuid.NewString(), Name: "Ada Lovelace", Email: "ada@example.com"}
	if err := svc.UpdateUserBillingDetails(ctx, member); err != nil {
		return fmt.Errorf("syncing the contact: %w", err)
	}
	link, err := store.ContactLink(ctx, billing.UserAccount(member.ID))
	if err != nil {
		return fmt.Errorf("contact link not saved: %w", err)
	}
	say("1. Synced %s to Xero contact %s", xero.ContactName(member.Name, member.ID), link.ContactID)

	// 2. An invoice with two line items.
	today := billing.DateOf(time.Now())
	inv, err := svc.CreateInvoice(ctx, billing.CreateInvoiceParams{
		Account:   billing.UserAccount(member.ID),
		Date:      today,
		DueDate:   today.AddDays(14),
		Reference: "Membership 2027",
		LineItems: []billing.LineItem{
			{Description: "Annual membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.RequireFromString("120.00")},
			{Description: "Conference ticket", Quantity: decimal.NewFromInt(2), UnitAmount: decimal.RequireFromString("45.50")},
		},
	})
	if err != nil {
		return fmt.Errorf("creating the invoice: %w", err)
	}
	if x, ok := xeroSrv.Invoice(inv.ProviderID); !ok || len(x.LineItems) != 2 || !x.Total.Equal(inv.Amount) {
		return fmt.Errorf("invoice %s is not in Xero as created (found %t)", inv.Number, ok)
	}
	say("2. Created invoice %s for %s %s (2 line items, due %s)", inv.Number, inv.Currency, inv.Amount.StringFixed(2), inv.DueDate)

	// 3. Xero emails it to the member.
	if err := svc.EmailInvoice(ctx, inv); err != nil {
		return fmt.Errorf("emailing the invoice: %w", err)
	}
	if n := len(xeroSrv.Emails()); n != 1 {
		return fmt.Errorf("the emulator recorded %d emails, want 1", n)
	}
	say("3. Emailed %s to %s", inv.Number, member.Email)

	// 4. The customer-facing link.
	url, err := svc.GetInvoiceURL(ctx, inv)
	if err != nil || url == "" {
		return fmt.Errorf("getting the online invoice URL: %q, %w", url, err)
	}
	say("4. Online invoice: %s", url)

	// 5. The member pays; Xero (the emulator) sends a signed webhook.
	if err := xeroSrv.PayInvoice(ctx, inv.ProviderID, inv.Due, today); err != nil {
		return fmt.Errorf("paying in the emulator: %w", err)
	}
	say("5. Paid %s %s in Xero; Xero sends a signed webhook", inv.Currency, inv.Due.StringFixed(2))

	// 6. The webhook arrives, its signature checks out, the invoice is
	// marked. Earlier deliveries (the invoice's CREATE event) mark nothing
	// and are passed over.
	step, cancel := wait(ctx)
	defer cancel()
	for {
		d, err := receive(step, received)
		if err != nil {
			return fmt.Errorf("webhook for the payment: %w", err)
		}
		if !slices.Contains(d.marked, inv.ProviderID) {
			continue
		}
		if d.status != http.StatusOK {
			return fmt.Errorf("webhook for the payment answered %d, want 200", d.status)
		}
		break
	}
	say("6. Webhook received: signature verified, %s marked for update, answered 200", inv.Number)

	// 7. After the answer, the handler runs the fetch of marked invoices.
	step, cancel = wait(ctx)
	defer cancel()
	run, err := receive(step, fetched)
	if err == nil {
		err = run.err
	}
	if err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	if !slices.Contains(run.res.Updated, inv.Number) {
		return fmt.Errorf("the fetch updated %v, want %s", run.res.Updated, inv.Number)
	}
	say("7. Fetched invoice updates: %d updated %v", len(run.res.Updated), run.res.Updated)

	// 8. The app's hook hears the change.
	step, cancel = wait(ctx)
	defer cancel()
	change, err := receive(step, changes)
	if err != nil {
		return fmt.Errorf("invoice hook: %w", err)
	}
	if !change.BecamePaid() {
		return fmt.Errorf("hook saw %s -> %s, want a payment", change.Before.Status, change.After.Status)
	}
	say("8. Hook: %s went %s -> %s (paid %s on %s): time to activate the membership",
		change.After.Number, change.Before.Status, change.After.Status, change.After.Paid.StringFixed(2), change.After.PaidDate)

	saved, err := store.InvoiceByNumber(ctx, inv.Number)
	if err != nil {
		return err
	}
	if !saved.IsPaid() || !saved.Due.IsZero() || saved.UpdateNeeded {
		return fmt.Errorf("stored invoice is %s, due %s, update needed %t; want PAID, 0, false", saved.Status, saved.Due, saved.UpdateNeeded)
	}
	say("Done: %s is %s in the store, nothing due. Every step happened.", saved.Number, saved.Status)
	return nil
}

// nextInvoiceNumber returns the first n for which the store holds no
// invoice INV-000n.
func nextInvoiceNumber(ctx context.Context, store billing.Store) (int, error) {
	for n := 1; ; n++ {
		_, err := store.InvoiceByNumber(ctx, fmt.Sprintf("INV-%04d", n))
		if errors.Is(err, billing.ErrNotFound) {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// fetchRun is one run of the fetch the webhook handler triggered.
type fetchRun struct {
	res billing.FetchResult
	err error
}

// delivery is what the app did with one webhook delivery: the invoices it
// marked and the status it answered.
type delivery struct {
	status int
	marked []string
}

type deliveryKey struct{}

// deliveryTap reports each answer h gives, with the invoices it marked
// (markTap notes them in the request's context).
func deliveryTap(h http.Handler, out chan<- delivery) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := &delivery{}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), deliveryKey{}, d)))
		d.status = rec.status
		offer(out, *d)
	})
}

// markTap is the store as the webhook handler sees it: marks are noted in
// the delivery being answered before they are stored.
type markTap struct{ billing.Store }

func (m markTap) MarkUpdateNeeded(ctx context.Context, providerIDs []string, at time.Time) (int, error) {
	n, err := m.Store.MarkUpdateNeeded(ctx, providerIDs, at)
	if d, ok := ctx.Value(deliveryKey{}).(*delivery); ok && err == nil && n > 0 {
		d.marked = append(d.marked, providerIDs...)
	}
	return n, err
}

// offer sends v unless ch is full.
func offer[T any](ch chan<- T, v T) {
	select {
	case ch <- v:
	default:
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the real writer (Flush).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// receive waits for a value from ch until ctx ends.
func receive[T any](ctx context.Context, ch <-chan T) (T, error) {
	select {
	case v := <-ch:
		return v, nil
	case <-ctx.Done():
		var zero T
		return zero, context.Cause(ctx)
	}
}
