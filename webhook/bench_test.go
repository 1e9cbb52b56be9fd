package webhook_test

import (
	"database/sql"
	"fmt"
	"os"

	_ "github.com/jackc/pgx/v5/stdlib" // the PostgreSQL comparison's schema
	"github.com/stretchr/testify/require"

	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/sqlstore/pgstore"

	"go.opentelemetry.io/otel/metric"

	"github.com/amsbilling/sdk/internal/metrictest"
	"github.com/amsbilling/sdk/webhook"
)

// BenchmarkHandler measures one signed single-event delivery through
// ServeHTTP: verify, parse, mark in the in-memory store, answer, trigger.
// Its metrics go to the global provider, a no-op here.
func BenchmarkHandler(b *testing.B) {
	benchmarkHandler(b, nil)
}

// BenchmarkHandlerMetrics is BenchmarkHandler recording its metrics in
// OpenTelemetry's SDK: the cost of metrics an app collects.
func BenchmarkHandlerMetrics(b *testing.B) {
	benchmarkHandler(b, metrictest.New(b))
}

// BenchmarkHandlerCreditNote is BenchmarkHandler for one CREDITNOTE event
// with its data: the credit note is marked instead of an invoice.
func BenchmarkHandlerCreditNote(b *testing.B) {
	benchmarkDelivery(b, nil, creditNoteEvent(webhook.TypeUpdate, creditA, salesData))
}

func benchmarkHandler(b *testing.B, mp metric.MeterProvider) {
	benchmarkDelivery(b, mp, invoiceUpdate(invoiceIDs[0]))
}

func benchmarkDelivery(b *testing.B, mp metric.MeterProvider, ev webhook.Event) {
	store := newStore(b, invoiceIDs...)
	h := newHandler(b, webhook.Config{Store: store, Fetch: func(context.Context) error { return nil }, MeterProvider: mp})
	payload := body(b, ev)
	sig := webhook.Sign([]byte(testKey), payload)

	// One request, its body rewound each time, so the numbers are the
	// handler's rather than httptest.NewRequest's.
	rd := bytes.NewReader(payload)
	r := httptest.NewRequest(http.MethodPost, "/billing/xero/webhooks/", rd)
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Xero-Signature", sig)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rd.Reset(payload)
		r.Body = io.NopCloser(rd)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// BenchmarkHandlerLoopback sends b.N signed deliveries to a real server on
// 127.0.0.1 from 32 concurrent clients and reports latency percentiles and
// throughput. Run with -benchtime 20000x.
func BenchmarkHandlerLoopback(b *testing.B) {
	store := newStore(b, invoiceIDs...)
	p50, p99, rps := loopback(b, store, invoiceIDs[:1])
	b.ReportMetric(p50, "p50-µs")
	b.ReportMetric(p99, "p99-µs")
	b.ReportMetric(rps, "req/s")
}

// BenchmarkWebhookStores is BenchmarkHandlerLoopback's load on the
// in-memory store and on PostgreSQL (pgstore's default pool), in the same
// run: each mark on PostgreSQL is committed before the 200. It reports each
// one's p99 and their ratio, for deliveries cycling through 2,000 invoices
// (a renewal run's payments) and for deliveries that all name one invoice
// (every mark on the same row). Run with BILLING_TEST_POSTGRES_URL set and
// -benchtime 10000x.
func BenchmarkWebhookStores(b *testing.B) {
	url := os.Getenv("BILLING_TEST_POSTGRES_URL")
	if url == "" {
		b.Skip("BILLING_TEST_POSTGRES_URL is not set; set it to a PostgreSQL URL to compare the stores")
	}
	schema := fmt.Sprintf("webhook_bench_%d", time.Now().UnixNano())
	admin, err := sql.Open("pgx", url)
	require.NoError(b, err)
	defer admin.Close()
	_, err = admin.Exec("CREATE SCHEMA " + schema)
	require.NoError(b, err)
	defer func() { _, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE") }()
	pg, err := pgstore.Open(b.Context(), url, pgstore.WithSchema(schema))
	require.NoError(b, err)
	defer pg.Close()

	ids := make([]string, 2000)
	for i := range ids {
		ids[i] = fmt.Sprintf("00000000-0000-4000-9000-%012d", i+1)
	}
	mem := newStore(b, ids...)
	for i, id := range ids {
		require.NoError(b, pg.CreateInvoice(b.Context(), billing.Invoice{Account: billing.UserAccount(fmt.Sprintf("user-%d", i+1)),
			Number: fmt.Sprintf("INV-%04d", i+1), ProviderID: id, Status: billing.StatusAuthorised}))
	}
	for _, bc := range []struct {
		name string
		ids  []string
	}{
		{"invoices=2000", ids},
		{"invoices=1", ids[:1]},
	} {
		b.Run(bc.name, func(b *testing.B) {
			_, p99mem, _ := loopback(b, mem, bc.ids)
			_, p99pg, _ := loopback(b, pg, bc.ids)
			b.ReportMetric(p99mem, "p99-µs-memory")
			b.ReportMetric(p99pg, "p99-µs-postgres")
			b.ReportMetric(p99pg/p99mem, "p99-ratio")
		})
	}
}

// loopback sends b.N signed deliveries, one invoice each, cycling through
// ids, to a handler on store behind a real server on 127.0.0.1, from 32
// concurrent clients, and returns the p50 and p99 latencies in µs and the
// throughput in requests a second.
func loopback(b *testing.B, store billing.WebhookStore, ids []string) (p50, p99, rps float64) {
	const clients = 32
	h := newHandler(b, webhook.Config{Store: store, Fetch: func(context.Context) error { return nil }})
	srv := httptest.NewServer(h)
	defer srv.Close()
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = clients
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()

	payloads := make([][]byte, len(ids))
	sigs := make([]string, len(ids))
	for i, id := range ids {
		payloads[i] = body(b, invoiceUpdate(id))
		sigs[i] = webhook.Sign([]byte(testKey), payloads[i])
	}
	url := srv.URL + "/billing/xero/webhooks/"

	var next atomic.Int64
	lat := make([][]time.Duration, clients)
	var failed atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				i := int(n) % len(ids)
				req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(payloads[i]))
				if err != nil {
					failed.Add(1)
					continue
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Xero-Signature", sigs[i])
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[c] = append(lat[c], time.Since(t0))
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d requests failed", n)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	pct := func(p float64) float64 {
		return float64(all[int(p*float64(len(all)-1))]) / float64(time.Microsecond)
	}
	return pct(0.50), pct(0.99), float64(b.N) / elapsed.Seconds()
}
