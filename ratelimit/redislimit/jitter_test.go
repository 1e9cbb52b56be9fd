package redislimit_test

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

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/ratelimit/redislimit"
	"github.com/amsbilling/sdk/xero"
)

// The flags of TestReplicasUnderJitterDrawNo429, for measuring other
// settings than the test's own:
//
//	go test -count=1 -run TestReplicasUnderJitterDrawNo429 -v ./ratelimit/redislimit/ -args -jitter.runs=40 -jitter.windows=8
var (
	jitterRuns    = flag.Int("jitter.runs", 20, "runs")
	jitterWindows = flag.Int("jitter.windows", 2, "windows' worth of calls in each run")
	jitterMax     = flag.Duration("jitter.max", 50*time.Millisecond, "the longest delay of a Redis reply")
	jitterWindow  = flag.Duration("jitter.window", 250*time.Millisecond, "the emulator's and the limiters' minute window")
	jitterPer     = flag.Int("jitter.per", 10, "calls per window")
	jitterMargin  = flag.Duration("jitter.margin", 100*time.Millisecond, "the limiters' Margin (0: its default)")
)

// jitterHook delays every Redis reply by a random 0 to max: the leg from
// Redis back to a replica, which stretches the time between a grant (by
// Redis's clock) and the request's arrival at Xero.
type jitterHook struct{ max time.Duration }

func (h jitterHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h jitterHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.sleep(ctx)
		return err
	}
}

func (h jitterHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		h.sleep(ctx)
		return err
	}
}

func (h jitterHook) sleep(ctx context.Context) {
	t := time.NewTimer(randv2.N(h.max + 1))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// jitterResult is what one run cost, from the emulator's request log.
type jitterResult struct {
	calls, tooMany int
	first, last    time.Time
}

// budgetUsed is the calls over what the emulator's fixed windows allow
// between the first arrival and one window after the last, in %.
func (r jitterResult) budgetUsed(lim emulator.Limits) float64 {
	windows := float64(r.last.Sub(r.first)+lim.Window) / float64(lim.Window)
	return float64(r.calls) / (windows * float64(lim.PerMinute)) * 100
}

// jitterRun sends n calls from three replicas, each with its own Redis
// connection delayed by jitter and three workers, through waiting
// Limiters on one key prefix, to an emulator on 127.0.0.1 whose fixed
// windows allow lim.PerMinute calls per lim.Window.
func jitterRun(t *testing.T, lim emulator.Limits, limits ratelimit.Options, jitter time.Duration, n int) jitterResult {
	t.Helper()
	base := testRedis(t)
	prefix := testPrefix(t, base)
	srv, err := emulator.Listen("127.0.0.1:0", emulator.Options{RateLimit: lim, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer func() { _ = srv.Close() }()
	cfg := xero.Config{
		ClientID:     srv.ClientID(),
		ClientSecret: billing.NewSecret(srv.ClientSecret()),
		TenantID:     srv.TenantID(),
		APIURL:       srv.APIURL,
		TokenURL:     srv.TokenURL,
	}

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	left := atomic.Int64{}
	left.Store(int64(n))
	var wg sync.WaitGroup
	for range 3 {
		rdb := redis.NewClient(base.Options())
		rdb.AddHook(jitterHook{max: jitter})
		defer func() { _ = rdb.Close() }()
		client, err := xero.NewClient(cfg,
			xero.WithLimiter(redislimit.New(rdb, redislimit.Options{KeyPrefix: prefix, Limits: limits, AcquireTimeout: 2 * time.Second, Timeout: 2 * time.Second})),
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

// Three replicas whose Redis answers come back 0-50 ms late share one
// tenant's budget through waiting Limiters; the Margin, counted as Local
// counts it, covers the late answers, so no call reaches the emulator's
// fixed window after its budget is spent. Without the Margin a call granted
// as an old one leaves the shared window can arrive inside Xero's window
// and draw a 429.
func TestReplicasUnderJitterDrawNo429(t *testing.T) {
	testRedis(t) // skips without a Redis
	lim := emulator.Limits{PerMinute: *jitterPer, Window: *jitterWindow}
	limits := ratelimit.Options{Wait: true, PerMinute: lim.PerMinute, Window: lim.Window, Margin: *jitterMargin}
	n := *jitterWindows * lim.PerMinute

	tooMany, calls := 0, 0
	var used float64
	for i := range *jitterRuns {
		res := jitterRun(t, lim, limits, *jitterMax, n)
		t.Logf("run %d: %d calls, %d x 429, %.1f%% of the budget", i+1, res.calls, res.tooMany, res.budgetUsed(lim))
		tooMany += res.tooMany
		calls += res.calls
		used += res.budgetUsed(lim)
	}
	t.Logf("%d runs: %d calls, %d x 429, %.1f%% of the budget on average", *jitterRuns, calls, tooMany, used/float64(*jitterRuns))
	assert.Zero(t, tooMany, "429s over %d runs", *jitterRuns)
}
