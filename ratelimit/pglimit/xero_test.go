package pglimit_test

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	randv2 "math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/ratelimit/pglimit"
	"github.com/amsbilling/sdk/xero"
)

// The flags of TestReplicasUnderJitterDrawNo429, for measuring other
// settings than the test's own:
//
//	go test -count=1 -run TestReplicasUnderJitterDrawNo429 -v ./ratelimit/pglimit/ -args -pgjitter.runs=20 -pgjitter.windows=8
var (
	jitterRuns    = flag.Int("pgjitter.runs", 4, "runs of each case")
	jitterWindows = flag.Int("pgjitter.windows", 3, "windows' worth of calls in each run")
	jitterMax     = flag.Duration("pgjitter.max", 50*time.Millisecond, "the longest delay of a database reply")
	jitterWindow  = flag.Duration("pgjitter.window", 250*time.Millisecond, "the emulator's and the limiters' minute window")
	jitterPer     = flag.Int("pgjitter.per", 10, "calls per window")
	jitterMargin  = flag.Duration("pgjitter.margin", 100*time.Millisecond, "the limiters' Margin (0: its default)")
)

func xeroConfig(srv *emulator.Server) xero.Config {
	return xero.Config{
		ClientID:     srv.ClientID(),
		ClientSecret: billing.NewSecret(srv.ClientSecret()),
		TenantID:     srv.TenantID(),
		APIURL:       srv.APIURL,
		TokenURL:     srv.TokenURL,
	}
}

// Two replicas' xero.Clients share one tenant's budget through PostgreSQL:
// once it is spent, the next call fails locally and nothing reaches Xero.
func TestXeroClientsShareBudget(t *testing.T) {
	s := newShared(t)
	srv := emulator.NewServer(emulator.Options{Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { _ = srv.Close() })

	newClient := func() *xero.Client {
		c, err := xero.NewClient(xeroConfig(srv),
			xero.WithLimiter(s.limiter(pglimit.Options{Limits: ratelimit.Options{PerMinute: 3}})),
			xero.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}),
			xero.WithLogger(slog.New(slog.DiscardHandler)),
		)
		require.NoError(t, err)
		return c
	}
	replica1, replica2 := newClient(), newClient()

	for _, c := range []*xero.Client{replica1, replica2, replica1} {
		_, _, err := c.GetInvoices(t.Context(), []string{"0b7a4c1e-8f2d-4e3a-9c5b-6d1f2e3a4b5c"})
		require.NoError(t, err)
	}
	sent := len(srv.Requests())
	require.Positive(t, sent)

	for _, c := range []*xero.Client{replica2, replica1} {
		_, _, err := c.GetInvoices(t.Context(), []string{"0b7a4c1e-8f2d-4e3a-9c5b-6d1f2e3a4b5c"})
		var rle *ratelimit.RateLimitError
		require.ErrorAs(t, err, &rle)
		assert.True(t, rle.Local)
		assert.Equal(t, ratelimit.ProblemMinute, rle.Problem)
		assert.Equal(t, srv.TenantID(), rle.Tenant)
		assert.True(t, billing.IsTemporary(err))
	}
	assert.Len(t, srv.Requests(), sent, "a refused call sends nothing")
}

// A xero.Client on a database that hangs fails each call once, within the
// limiter's bound: the limiter's error is returned untried, and nothing is
// sent to Xero or logged as a retried request.
func TestXeroClientOnFrozenDatabase(t *testing.T) {
	srv := emulator.NewServer(emulator.Options{Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { _ = srv.Close() })
	var logs syncBuffer
	c, err := xero.NewClient(xeroConfig(srv),
		xero.WithLimiter(pglimit.New(patientPool(t, frozenPostgres(t)), pglimit.Options{})),
		xero.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}),
		xero.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
	)
	require.NoError(t, err)

	within(t, func() {
		_, _, err = c.GetInvoices(t.Context(), []string{"0b7a4c1e-8f2d-4e3a-9c5b-6d1f2e3a4b5c"})
	})
	require.ErrorIs(t, err, pglimit.ErrUnavailable)
	assert.True(t, billing.IsTemporary(err))
	assert.NotContains(t, logs.String(), "retrying request")
	for _, r := range srv.Requests() {
		assert.NotContains(t, r.Path, "/Invoices", "no API request without the limiter's grant")
	}
}

// jitterDB delays every database reply by a random 0 to max: the leg from
// the database back to a replica, which stretches the time between a grant
// (by the server's clock) and the request's arrival at Xero.
type jitterDB struct {
	db  pglimit.DB
	max time.Duration
}

func (d jitterDB) sleep(ctx context.Context) {
	t := time.NewTimer(randv2.N(d.max + 1))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (d jitterDB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := d.db.Exec(ctx, sql, args...)
	d.sleep(ctx)
	return tag, err
}

func (d jitterDB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return jitterRow{d.db.QueryRow(ctx, sql, args...), d, ctx}
}

type jitterRow struct {
	row pgx.Row
	db  jitterDB
	ctx context.Context
}

func (r jitterRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	r.db.sleep(r.ctx)
	return err
}

// jitterResult is what one run cost, from the emulator's request log.
type jitterResult struct {
	calls, tooMany int
	first, last    time.Time
}

// budgetUsed is the calls over what the emulator's fixed windows allow
// between the first arrival and one window after the last, in %.
func (r jitterResult) budgetUsed(per int, window time.Duration) float64 {
	windows := float64(r.last.Sub(r.first)+window) / float64(window)
	return float64(r.calls) / (windows * float64(per)) * 100
}

// jitterRun sends n calls from three replicas, each with its own pool
// delayed by jitter and three workers, through waiting Limiters on one
// schema, to an emulator on 127.0.0.1 enforcing lim in fixed windows.
func jitterRun(t *testing.T, lim emulator.Limits, opts pglimit.Options, jitter time.Duration, n int) jitterResult {
	t.Helper()
	s := newShared(t)
	srv, err := emulator.Listen("127.0.0.1:0", emulator.Options{RateLimit: lim, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer func() { _ = srv.Close() }()

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	left := atomic.Int64{}
	left.Store(int64(n))
	var wg sync.WaitGroup
	for range 3 {
		opts.AcquireTimeout, opts.Timeout = 2*time.Second, 2*time.Second
		client, err := xero.NewClient(xeroConfig(srv),
			xero.WithLimiter(s.on(jitterDB{db: testPool(t), max: jitter}, opts)),
			xero.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}),
			xero.WithLogger(slog.New(slog.DiscardHandler)),
			xero.WithRetries(1, 0),
		)
		require.NoError(t, err)
		for range 3 {
			wg.Go(func() {
				for left.Add(-1) >= 0 {
					_, err := client.Currencies(ctx)
					var rle *ratelimit.RateLimitError
					switch {
					case err == nil:
					case errors.As(err, &rle) && !rle.Local:
						left.Add(1) // Xero made nothing of it: the call is still owed
					default:
						if ctx.Err() == nil {
							t.Errorf("call failed: %v", err)
						}
						return
					}
				}
			})
		}
	}
	wg.Wait()
	require.NoError(t, ctx.Err(), "the run did not finish in time")

	var res jitterResult
	for _, r := range srv.Requests() {
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

// Three replicas whose database answers come back 0-50 ms late share one
// budget through waiting Limiters, and no call reaches the emulator's fixed
// window after its budget is spent: neither the tenant's minute nor, when
// it is the tighter, the app's. The Margin, counted as Local counts it,
// covers the late answers.
func TestReplicasUnderJitterDrawNo429(t *testing.T) {
	testURL(t) // skips without a database
	per, window := *jitterPer, *jitterWindow
	tests := []struct {
		name string
		lim  emulator.Limits
		opts pglimit.Options
	}{
		{"the tenant's minute", emulator.Limits{PerMinute: per, Window: window},
			pglimit.Options{Limits: ratelimit.Options{Wait: true, PerMinute: per, Window: window, Margin: *jitterMargin}}},
		{"the app's minute", emulator.Limits{PerMinute: 10 * per, AppPerMinute: per, Window: window},
			pglimit.Options{AppPerMinute: per, Limits: ratelimit.Options{Wait: true, PerMinute: 10 * per, Window: window, Margin: *jitterMargin}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := *jitterWindows * per
			tooMany, calls := 0, 0
			var used float64
			for i := range *jitterRuns {
				res := jitterRun(t, tt.lim, tt.opts, *jitterMax, n)
				t.Logf("run %d: %d calls, %d x 429, %.1f%% of the budget", i+1, res.calls, res.tooMany, res.budgetUsed(per, window))
				tooMany += res.tooMany
				calls += res.calls
				used += res.budgetUsed(per, window)
			}
			t.Logf("%d runs: %d calls, %d x 429, %.1f%% of the budget on average", *jitterRuns, calls, tooMany, used/float64(*jitterRuns))
			assert.Zero(t, tooMany, "429s over %d runs", *jitterRuns)
		})
	}
}
