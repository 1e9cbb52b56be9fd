package webhook_test

import (
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

func benchmarkHandler(b *testing.B, mp metric.MeterProvider) {
	store := newStore(b, invoiceIDs...)
	h := newHandler(b, webhook.Config{Store: store, Fetch: func(context.Context) error { return nil }, MeterProvider: mp})
	payload := body(b, invoiceUpdate(invoiceIDs[0]))
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
	const clients = 32
	store := newStore(b, invoiceIDs...)
	h := newHandler(b, webhook.Config{Store: store, Fetch: func(context.Context) error { return nil }})
	srv := httptest.NewServer(h)
	defer srv.Close()
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = clients
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()

	payload := body(b, invoiceUpdate(invoiceIDs[0]))
	sig := webhook.Sign([]byte(testKey), payload)
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
			for next.Add(1) <= int64(b.N) {
				req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(payload))
				if err != nil {
					failed.Add(1)
					continue
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Xero-Signature", sig)
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
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
}
