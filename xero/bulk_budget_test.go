package xero_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/xero"
	"github.com/amsbilling/sdk/xero/setup"
)

// budgetJob is an emulator listening on 127.0.0.1 with shortened fixed
// windows, holding n invoices ready to email, one a call.
type budgetJob struct {
	srv   *emulator.Server
	cfg   xero.Config
	store *mock.Store
	lim   emulator.Limits
	invs  []billing.Invoice
}

func newBudgetJob(tb testing.TB, n int, lim emulator.Limits) *budgetJob {
	tb.Helper()
	srv, err := emulator.Listen("127.0.0.1:0", emulator.Options{RateLimit: lim, SequentialIDs: true})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = srv.Close() })
	env := srv.Env()
	c, err := setup.LoadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(tb, err)
	cfg := c.Xero
	cfg.EmailInvoices = true
	j := &budgetJob{srv: srv, cfg: cfg, store: mock.NewStore(), lim: lim}

	// The contacts and invoices, through a waiting limiter of their own.
	svc := j.service(tb, ratelimit.Options{Wait: true, PerMinute: lim.PerMinute, Window: lim.Window})
	ctx := context.Background()
	_, err = svc.SyncContacts(ctx, bulkDetails(n, func(i int) string { return fmt.Sprintf("m%d@example.com", i) }), billing.BulkOptions{})
	require.NoError(tb, err)
	created, err := svc.CreateInvoices(ctx, bulkInvoices(n, "Renewal 2027"), billing.BulkOptions{})
	require.NoError(tb, err)
	for _, r := range created {
		require.Equal(tb, billing.Created, r.Outcome, r.Err)
		j.invs = append(j.invs, r.Invoice)
	}
	// Whatever the setup left in the emulator's window is gone after one.
	time.Sleep(lim.Window + lim.Window/10)
	return j
}

// service is a Service on the job's emulator whose client waits in a
// limiter built from opts.
func (j *budgetJob) service(tb testing.TB, opts ratelimit.Options) *xero.Service {
	tb.Helper()
	client, err := xero.NewClient(j.cfg, xero.WithLimiter(ratelimit.NewLocal(opts)))
	require.NoError(tb, err)
	return xero.NewService(client, j.store, j.cfg)
}

// budgetResult is what one emailing of the job cost, from the emulator's
// request log.
type budgetResult struct {
	calls, tooMany int
	first, last    time.Time // arrivals of the first and the last call
	failed         error     // the first email that failed for another reason
}

// budgetUsed is the share of the budget the calls used: calls over what the
// limits allow between the first arrival and one window after the last
// (N calls need at least N/PerMinute windows, the first opening at the
// first call), in %.
func (r budgetResult) budgetUsed(lim emulator.Limits) float64 {
	windows := float64(r.last.Sub(r.first)+lim.Window) / float64(lim.Window)
	return float64(r.calls) / (windows * float64(lim.PerMinute)) * 100
}

// emailAll emails every invoice of the job through a limiter built from
// opts. A 429 stops EmailInvoices (Xero made nothing of that call); the
// limiter has then paused, and the rest is emailed from the refused one on.
func (j *budgetJob) emailAll(tb testing.TB, opts ratelimit.Options) budgetResult {
	tb.Helper()
	svc := j.service(tb, opts)
	from := len(j.srv.Requests())
	var res budgetResult
	rest := j.invs
	for stops := 0; len(rest) > 0; stops++ {
		require.Less(tb, stops, 10, "the job keeps stopping")
		results, err := svc.EmailInvoices(context.Background(), rest, billing.BulkOptions{})
		next := len(rest)
		for i, r := range results {
			var rl *ratelimit.RateLimitError
			switch e := r.Err; {
			case e == nil:
			case errors.As(e, &rl):
				next = min(next, i)
			case res.failed == nil:
				res.failed = e
			}
		}
		if err == nil {
			break
		}
		var rl *ratelimit.RateLimitError
		require.ErrorAs(tb, err, &rl)
		rest = rest[next:]
	}
	for _, r := range j.srv.Requests()[from:] {
		if !r.API {
			continue
		}
		if res.calls == 0 {
			res.first = r.Time
		}
		res.calls++
		res.last = r.Time
		if r.Status == http.StatusTooManyRequests {
			res.tooMany++
		}
	}
	return res
}

// BenchmarkBulkBudget measures how much of Xero's budget a bulk job uses
// through a waiting ratelimit.Local with Xero's limits and its default
// Margin: 600 emails (one call each) against the emulator's fixed windows,
// shortened to 60 calls a second. It reports the share of the budget used
// (see budgetUsed) and the 429s drawn:
//
//	go test -run '^$' -bench BulkBudget -benchtime 1x -count 3 ./xero/
func BenchmarkBulkBudget(b *testing.B) {
	const n = 600
	lim := emulator.Limits{PerMinute: 60, Window: time.Second}
	var used float64
	var tooMany, calls, runs int
	for b.Loop() {
		runs++
		b.StopTimer()
		j := newBudgetJob(b, n, lim)
		b.StartTimer()
		res := j.emailAll(b, ratelimit.Options{Wait: true, PerMinute: lim.PerMinute, Window: lim.Window})
		b.StopTimer()
		require.NoError(b, res.failed)
		used += res.budgetUsed(lim)
		tooMany += res.tooMany
		calls += res.calls
		require.NoError(b, j.srv.Close())
		b.StartTimer()
	}
	b.ReportMetric(used/float64(runs), "budget-%")
	b.ReportMetric(float64(tooMany)/float64(runs), "429s/op")
	b.ReportMetric(float64(calls)/float64(runs), "calls/op")
}

// A waiting Local with a generous Margin never lets a call reach the
// emulator's fixed window after the window's budget is spent: no 429, and
// every email sent, although the job needs several windows. (How much of
// the budget the default Margin uses is BenchmarkBulkBudget's to measure.)
func TestBulkWaitingLimiterDrawsNo429(t *testing.T) {
	const n = 45
	lim := emulator.Limits{PerMinute: 10, Window: 200 * time.Millisecond}
	j := newBudgetJob(t, n, lim)
	res := j.emailAll(t, ratelimit.Options{Wait: true, PerMinute: lim.PerMinute, Window: lim.Window, Margin: lim.Window / 2})
	require.NoError(t, res.failed)
	assert.Zero(t, res.tooMany, "429s")
	assert.Equal(t, n, res.calls, "one call an email, none refused")
	assert.Len(t, j.srv.Emails(), n)
}
