package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/sqlstore"
	"github.com/amsbilling/sdk/billing/sqlstore/sqlurl"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/webhook"
	"github.com/amsbilling/sdk/xero"
	"github.com/amsbilling/sdk/xero/setup"
)

// start runs the server on a free port with env and returns its base URL
// and a stop function that returns serve's error.
func start(t *testing.T, ln net.Listener, env map[string]string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, ln, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, slog.New(slog.DiscardHandler), io.Discard)
	}()
	base := "http://" + ln.Addr().String()
	// A listener nobody accepts on (serve gave up) would hold a request
	// without a timeout forever.
	probe := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("the server stopped before serving: %v", err)
		default:
		}
		if res, err := probe.Get(base + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the server did not start within 10s")
		}
	}
	return base, func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(20 * time.Second):
			return context.DeadlineExceeded
		}
	}
}

func noRedirect() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// fixture is the server running against an emulator, with one member's
// invoice created through the SDK on the server's database, as the app's
// own code would. opts.WebhookURL, when set, is a path on the server (whose
// address is known only once it listens).
type fixture struct {
	base    string
	stop    func() error
	xero    *emulator.Server
	store   *sqlstore.Store
	user    billing.User
	invoice billing.Invoice
}

func newFixture(t *testing.T, opts emulator.Options, userID string) fixture {
	t.Helper()
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	opts.WebhookKey = "server-test-key"
	if opts.WebhookURL != "" {
		opts.WebhookURL = "http://" + ln.Addr().String() + opts.WebhookURL
	}
	xeroSrv, err := emulator.Listen("127.0.0.1:0", opts)
	require.NoError(t, err)
	t.Cleanup(func() { xeroSrv.Close() })
	env := xeroSrv.Env()
	env["BILLING_DATABASE_URL"] = filepath.Join(t.TempDir(), "billing.db")
	base, stop := start(t, ln, env)

	cfg, err := setup.LoadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	store, err := sqlurl.Open(ctx, env["BILLING_DATABASE_URL"])
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	client, err := xero.NewClient(cfg.Xero)
	require.NoError(t, err)
	svc := xero.NewService(client, store, cfg.Xero)
	user := billing.User{ID: userID, Name: "Ada", Email: "ada@example.com"}
	require.NoError(t, svc.UpdateUserBillingDetails(ctx, user))
	inv, err := svc.CreateInvoice(ctx, billing.CreateInvoiceParams{
		Account: billing.UserAccount(user.ID), Date: billing.NewDate(2026, 11, 1), DueDate: billing.NewDate(2026, 11, 30),
		LineItems: []billing.LineItem{{Description: "Membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.NewFromInt(50)}},
	})
	require.NoError(t, err)
	return fixture{base: base, stop: stop, xero: xeroSrv, store: store, user: user, invoice: inv}
}

func TestServerEndToEndWithTheEmulator(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, emulator.Options{WebhookURL: "/billing/xero/webhooks/", WebhookRetryDelay: 50 * time.Millisecond},
		"5a0c6f8e-3b1d-4e2a-9c7f-6d5e4b3a2f10")
	base, stop, xeroSrv, store, user, inv := f.base, f.stop, f.xero, f.store, f.user, f.invoice

	// Paid in Xero: the signed webhook reaches the server, which fetches.
	require.NoError(t, xeroSrv.PayInvoice(ctx, inv.ProviderID, inv.Due, billing.NewDate(2026, 11, 3)))
	require.Eventually(t, func() bool {
		got, err := store.InvoiceByNumber(ctx, inv.Number)
		return err == nil && got.IsPaid() && !got.UpdateNeeded
	}, 15*time.Second, 20*time.Millisecond, "the webhook and the fetch update the invoice")

	// The invoice view: 302 for the owner, 403 for anyone else, 404 unknown.
	for _, tt := range []struct {
		user, number string
		want         int
	}{{user.ID, inv.Number, http.StatusFound}, {"someone-else", inv.Number, http.StatusForbidden}, {user.ID, "INV-9999", http.StatusNotFound}} {
		req, err := http.NewRequest(http.MethodGet, base+"/billing/invoices/"+tt.number, nil)
		require.NoError(t, err)
		req.Header.Set("X-Demo-User", tt.user)
		res, err := noRedirect().Do(req)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, tt.want, res.StatusCode, tt.user+" "+tt.number)
		if tt.want == http.StatusFound {
			assert.True(t, strings.HasPrefix(res.Header.Get("Location"), xeroSrv.URL), res.Header.Get("Location"))
		}
	}

	// A forged webhook is refused.
	res, err := http.Post(base+"/billing/xero/webhooks/", "application/json", strings.NewReader(`{"events":[]}`))
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	req, err := webhook.NewSignedRequest(ctx, []byte("server-test-key"), base+"/billing/xero/webhooks/", []byte(`{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"x"}`))
	require.NoError(t, err)
	res, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode, "intent to receive")

	require.NoError(t, stop(), "graceful shutdown")
}

func TestServerWithoutBillingService(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base, stop := start(t, ln, map[string]string{"BILLING_DATABASE_URL": filepath.Join(t.TempDir(), "billing.db")})
	res, err := http.Get(base + "/billing/invoices/INV-0001")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
	res, err = http.Post(base+"/billing/xero/webhooks/", "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "no webhook endpoint without a billing service")
	require.NoError(t, stop())
}

func TestServerBadConfig(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	err = serve(context.Background(), ln, func(k string) (string, bool) {
		if k == setup.EnvServiceClass {
			return "xero", true
		}
		return "", false
	}, slog.New(slog.DiscardHandler), io.Discard)
	assert.ErrorIs(t, err, billing.ErrInvalidConfig)
}

// The server is a production app: it links no test double, so an
// environment that selects one is a configuration error naming the variable
// and the one-line opt-in, never a silent fake.
func TestServerRefusesMockProviders(t *testing.T) {
	for _, class := range []string{"mock", "mock-xero"} {
		t.Run(class, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer ln.Close()
			env := map[string]string{
				setup.EnvServiceClass:  class,
				"BILLING_DATABASE_URL": filepath.Join(t.TempDir(), "billing.db"),
			}
			err = serve(context.Background(), ln, func(k string) (string, bool) { v, ok := env[k]; return v, ok },
				slog.New(slog.DiscardHandler), io.Discard)
			require.ErrorIs(t, err, billing.ErrInvalidConfig)
			assert.Contains(t, err.Error(), setup.EnvServiceClass)
			assert.Contains(t, err.Error(), "mock.Provide")
		})
	}
}

// Shutdown is graceful: a request in flight when the signal comes still
// gets its answer, then serve returns without error.
func TestServerShutdownFinishesRequestsInFlight(t *testing.T) {
	f := newFixture(t, emulator.Options{}, "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a")
	base, stop, xeroSrv, user, inv := f.base, f.stop, f.xero, f.user, f.invoice

	// The invoice view asks Xero for the link; Xero is slow to answer.
	xeroSrv.InjectFault(emulator.Fault{Path: emulator.APIPath + "/Invoices", Latency: 500 * time.Millisecond})
	answered := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, base+"/billing/invoices/"+inv.Number, nil)
		req.Header.Set("X-Demo-User", user.ID)
		res, err := noRedirect().Do(req)
		if err != nil {
			answered <- 0
			return
		}
		res.Body.Close()
		answered <- res.StatusCode
	}()
	require.Eventually(t, func() bool {
		for _, r := range xeroSrv.Requests() {
			if r.Fault {
				return true
			}
		}
		return false
	}, 10*time.Second, time.Millisecond, "the request reached Xero")

	require.NoError(t, stop(), "graceful shutdown")
	assert.Equal(t, http.StatusFound, <-answered, "the request in flight was answered")
}

// Flags: -h prints usage and exits 0 without serving; a bad flag or a stray
// argument exits 2; a bad configuration exits 2 with one problem a line.
func TestServerFlagsAndConfiguration(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		code   int
		stderr []string
	}{
		{"help", []string{"-h"}, nil, 0, []string{"-addr", "ADDR"}},
		{"unknown flag", []string{"-nope"}, nil, 2, []string{"flag provided but not defined"}},
		{"stray argument", []string{"8000"}, nil, 2, []string{`unexpected argument "8000"`}},
		{"bad configuration", nil, map[string]string{"AMS_BILLING_SERVICE_CLASS": "xero", "XERO_CLIENT_SECRET": "do-not-print-me"}, 2,
			[]string{"\nXERO_CLIENT_ID: required", "\nXERO_TENANT_ID: required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut strings.Builder
			code := run(t.Context(), tt.args, func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }, &out, &errOut)
			assert.Equal(t, tt.code, code)
			for _, want := range tt.stderr {
				assert.Contains(t, errOut.String(), want)
			}
			assert.NotContains(t, out.String()+errOut.String(), "do-not-print-me")
			assert.NotContains(t, out.String(), "listening", "nothing was served")
		})
	}
}

// -addr wins over ADDR; the server listens where it is told.
func TestServerAddrFlag(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	env := map[string]string{"ADDR": "127.0.0.1:1", "BILLING_DATABASE_URL": filepath.Join(t.TempDir(), "billing.db")}
	ctx, cancel := context.WithCancel(t.Context())
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-addr", addr}, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, &out, &errOut)
	}()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "listening on http://"+addr) }, 10*time.Second, 10*time.Millisecond, errOut.String())
	cancel()
	assert.Equal(t, 0, <-done)
}

// The doctor's cheap checks run at start, within 2 Xero calls: a wrong
// secret or tenant is logged clearly, with the variable to fix and without
// the secret, and the server keeps serving either way.
func TestServerChecksTheSetupAtStart(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string // in the logs
		not  []string
	}{
		{"passing", nil, []string{`msg="billing: start-up checks passed" checks=10 warnings=0`}, []string{"ERROR"}},
		{"wrong secret", map[string]string{"XERO_CLIENT_SECRET": "wrong-secret"},
			[]string{`level=ERROR msg="billing check failed" check=credentials`, `fix_var="XERO_CLIENT_ID, XERO_CLIENT_SECRET"`, "start-up checks failed", "run examples/doctor"}, []string{"wrong-secret", "checks passed"}},
		{"wrong tenant", map[string]string{"XERO_TENANT_ID": "0d6e3f5a-1b2c-4d3e-8f9a-0b1c2d3e4f5a"},
			[]string{`check=tenant`, emulator.DefaultTenantName, "fix_var=XERO_TENANT_ID"}, []string{"checks passed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			xeroSrv, err := emulator.Listen("127.0.0.1:0", emulator.Options{})
			require.NoError(t, err)
			t.Cleanup(func() { xeroSrv.Close() })
			env := xeroSrv.Env()
			for k, v := range tt.env {
				env[k] = v
			}
			env["BILLING_DATABASE_URL"] = filepath.Join(t.TempDir(), "billing.db")
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			var logs syncBuffer
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() {
				done <- serve(ctx, ln, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, slog.New(slog.NewTextHandler(&logs, nil)), io.Discard)
			}()
			require.Eventually(t, func() bool { return strings.Contains(logs.String(), "start-up checks") }, 10*time.Second, 10*time.Millisecond)
			for _, w := range tt.want {
				assert.Contains(t, logs.String(), w)
			}
			for _, n := range tt.not {
				assert.NotContains(t, logs.String(), n)
			}
			assert.NotContains(t, logs.String(), xeroSrv.ClientSecret())
			calls := 0
			for _, n := range xeroSrv.CallCounts() {
				calls += n
			}
			assert.LessOrEqual(t, calls, 2, "%v", xeroSrv.CallCounts())
			res, err := http.Get("http://" + ln.Addr().String() + "/healthz")
			require.NoError(t, err, "still serving")
			res.Body.Close()
			assert.Equal(t, http.StatusOK, res.StatusCode)
			cancel()
			require.NoError(t, <-done)
		})
	}
}

// syncBuffer is a strings.Builder safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// scrape reads GET /metrics as Prometheus does.
func scrape(t *testing.T, base string) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, res.Header.Get("Content-Type"), "text/plain")
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(b))
	require.NoError(t, err, "Prometheus's text format")
	return fams, string(b)
}

// value adds the samples of family name whose labels include labels: a
// counter's or gauge's value, a histogram's count.
func value(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	total := 0.0
	fam := fams[name]
	if fam == nil {
		return -1
	}
next:
	for _, m := range fam.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		case m.Histogram != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return total
}

// GET /metrics answers Prometheus's text format with the SDK's metrics:
// the start-up check's Xero call (GET /connections) and the fetch's, the
// webhook's deliveries, and the store's gauges; no secret and no id.
func TestServerMetrics(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, emulator.Options{WebhookURL: "/billing/xero/webhooks/", WebhookRetryDelay: 50 * time.Millisecond},
		"2c4e6a8b-0d1f-4a3b-9c5d-7e9f1a3b5c7d")
	require.NoError(t, f.xero.PayInvoice(ctx, f.invoice.ProviderID, f.invoice.Due, billing.NewDate(2026, 11, 3)))
	require.Eventually(t, func() bool {
		got, err := f.store.InvoiceByNumber(ctx, f.invoice.Number)
		return err == nil && got.IsPaid() && !got.UpdateNeeded
	}, 15*time.Second, 20*time.Millisecond, "the webhook and the fetch update the invoice")
	res, err := http.Post(f.base+"/billing/xero/webhooks/", "application/json", strings.NewReader(`{"events":[]}`))
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)

	// The fetch records its run once it returns, after the store shows it.
	require.Eventually(t, func() bool {
		res, err := http.Get(f.base + "/metrics")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return strings.Contains(string(b), "billing_fetch_runs_total{")
	}, 15*time.Second, 20*time.Millisecond, "the fetch run is counted")
	fams, text := scrape(t, f.base)
	const duration = "http_client_request_duration_seconds"
	require.Contains(t, fams, duration)
	assert.Equal(t, dto.MetricType_HISTOGRAM, fams[duration].GetType())
	for _, tt := range []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{duration, map[string]string{"xero_operation": "GET /connections", "http_response_status_code": "200", "http_request_method": "GET"}, 1},
		{duration, map[string]string{"xero_operation": "GET /Invoices", "http_response_status_code": "200"}, 1},
		{"xero_token_refreshes_total", map[string]string{"outcome": "ok"}, 1},
		{"xero_rate_limit_remaining", map[string]string{"xero_rate_limit_window": "day"}, 1},
		{"webhook_deliveries_total", map[string]string{"outcome": "ok"}, 1},
		{"webhook_deliveries_total", map[string]string{"outcome": "bad_signature"}, 1},
		{"webhook_delivery_duration_seconds", map[string]string{"outcome": "ok"}, 1},
		{"billing_invoices_marked_total", nil, 1},
		{"billing_fetch_runs_total", map[string]string{"outcome": "ok"}, 1},
		{"billing_fetch_invoices_total", map[string]string{"outcome": "updated"}, 1},
	} {
		assert.GreaterOrEqual(t, value(fams, tt.name, tt.labels), tt.min, "%s %v", tt.name, tt.labels)
	}
	for _, gauge := range []string{"billing_marks_pending", "billing_marks_oldest_age_seconds", "billing_events_pending", "billing_creations_pending", "billing_invoices_set_aside"} {
		assert.Equal(t, 0.0, value(fams, gauge, nil), gauge)
	}
	for _, secret := range []string{f.xero.ClientSecret(), "server-test-key", f.invoice.ProviderID, f.user.ID} {
		assert.NotContains(t, text, secret)
	}
	// The organisation is named by the remaining-calls gauge only, so an
	// operator can tell whose budget is low; no other series carries it.
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, f.xero.TenantID()) {
			assert.True(t, strings.HasPrefix(line, "xero_rate_limit_remaining"), line)
		}
	}
	assert.Contains(t, text, f.xero.TenantID(), "the remaining-calls gauge names the tenant")
	require.NoError(t, f.stop())
}
