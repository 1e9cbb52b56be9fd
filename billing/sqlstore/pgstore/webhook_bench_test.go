package pgstore_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/sqlstore/internal/sqltest"
	"github.com/amsbilling/sdk/billing/sqlstore/pgstore"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/webhook"
)

// BenchmarkWebhookStores sends b.N signed deliveries from 32 concurrent
// clients to the webhook handler on a loopback server, once with the
// in-memory store and once with PostgreSQL (pgstore's default pool), in the
// same run, and reports each one's p99 and their ratio. Run with
// BILLING_TEST_POSTGRES_URL set and -benchtime 10000x.
func BenchmarkWebhookStores(b *testing.B) {
	url, schema := sqltest.PostgresSchema(b)
	pg, err := pgstore.Open(b.Context(), url, pgstore.WithSchema(schema))
	if err != nil {
		b.Fatal(err)
	}
	defer pg.Close()
	mem := mock.NewStore()
	ids := make([]string, 2000) // deliveries for many invoices, as a renewal run's payments are
	for i := range ids {
		ids[i] = fmt.Sprintf("00000000-0000-4000-9000-%012d", i+1)
		inv := billing.Invoice{Account: billing.UserAccount("u"), Number: fmt.Sprintf("INV-%04d", i+1), ProviderID: ids[i],
			Status: billing.StatusAuthorised, Amount: decimal.NewFromInt(1), Due: decimal.NewFromInt(1)}
		for _, s := range []billing.Store{mem, pg} {
			if err := s.CreateInvoice(b.Context(), inv); err != nil {
				b.Fatal(err)
			}
		}
	}
	p99mem := loopback(b, mem, ids)
	p99pg := loopback(b, pg, ids)
	b.ReportMetric(p99mem, "p99-µs-memory")
	b.ReportMetric(p99pg, "p99-µs-postgres")
	b.ReportMetric(p99pg/p99mem, "p99-ratio")
}

const benchKey = "bench-webhook-key"

func loopback(b *testing.B, store billing.UpdateMarker, ids []string) float64 {
	const clients = 32
	h, err := webhook.New(webhook.Config{Keys: []billing.Secret{billing.NewSecret(benchKey)}, TenantID: "tenant", Store: store,
		Fetch: func(context.Context) error { return nil }})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	srv := httptest.NewServer(h)
	defer srv.Close()
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = clients
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()

	payloads := make([][]byte, len(ids))
	sigs := make([]string, len(ids))
	for i, id := range ids {
		payloads[i] = []byte(fmt.Sprintf(`{"events":[{"resourceUrl":"https://api.xero.com/api.xro/2.0/Invoices/%s","resourceId":"%s","eventDateUtc":"2026-12-01T10:00:00.000","eventType":"UPDATE","eventCategory":"INVOICE","tenantId":"tenant","tenantType":"ORGANISATION"}],"firstEventSequence":1,"lastEventSequence":1,"entropy":"x"}`, id, id))
		sigs[i] = webhook.Sign([]byte(benchKey), payloads[i])
	}
	var next, failed atomic.Int64
	lat := make([][]time.Duration, clients)
	b.ResetTimer()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				i := int(n) % len(ids)
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", bytes.NewReader(payloads[i]))
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
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d deliveries failed", n)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	next.Store(0)
	return float64(all[int(0.99*float64(len(all)-1))]) / float64(time.Microsecond)
}
