package ratelimit_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/ratelimit"
)

// fakeClock is a manual clock for Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: testNow} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// acquireOK acquires and releases one call, failing the test on refusal.
func acquireOK(t *testing.T, l ratelimit.Limiter, tenant string) {
	t.Helper()
	release, err := l.Acquire(context.Background(), tenant)
	require.NoError(t, err)
	release()
}

// refused asserts a local refusal and returns it.
func refused(t *testing.T, l ratelimit.Limiter, tenant string) *ratelimit.RateLimitError {
	t.Helper()
	release, err := l.Acquire(context.Background(), tenant)
	require.Error(t, err)
	require.Nil(t, release)
	var rle *ratelimit.RateLimitError
	require.ErrorAs(t, err, &rle)
	require.True(t, rle.Local, "a limiter refusal is local")
	require.Equal(t, tenant, rle.Tenant)
	return rle
}

func TestLocalMinuteWindowSlides(t *testing.T) {
	clk := newClock()
	l := ratelimit.NewLocal(ratelimit.Options{Now: clk.Now})

	for range 60 {
		acquireOK(t, l, "org")
		clk.Advance(100 * time.Millisecond)
	}
	// Calls went out at +0s .. +5.9s; now is +6s, so the first frees at +60s.
	rle := refused(t, l, "org")
	assert.Equal(t, ratelimit.ProblemMinute, rle.Problem)
	assert.Equal(t, 54*time.Second, rle.RetryAfter)
	assert.ErrorIs(t, rle, ratelimit.ErrRateLimited)
	assert.Equal(t, 60, l.Status("org").UsedMinute)

	clk.Advance(54*time.Second - time.Millisecond)
	refused(t, l, "org")

	clk.Advance(time.Millisecond)
	acquireOK(t, l, "org")
	// The slot just taken was the only one free; the next frees at +60.1s.
	rle = refused(t, l, "org")
	assert.Equal(t, ratelimit.ProblemMinute, rle.Problem)
	assert.Equal(t, 100*time.Millisecond, rle.RetryAfter)

	clk.Advance(time.Minute)
	for range 60 {
		acquireOK(t, l, "org")
	}
}

func TestLocalConcurrentLimit(t *testing.T) {
	l := ratelimit.NewLocal(ratelimit.Options{Now: newClock().Now})

	releases := make([]func(), 5)
	for i := range releases {
		r, err := l.Acquire(context.Background(), "org")
		require.NoError(t, err)
		releases[i] = r
	}
	rle := refused(t, l, "org")
	assert.Equal(t, ratelimit.ProblemConcurrent, rle.Problem)
	assert.Equal(t, time.Second, rle.RetryAfter)
	assert.Equal(t, 5, l.Status("org").InFlight)

	releases[0]()
	releases[0]() // a second release is a no-op
	assert.Equal(t, 4, l.Status("org").InFlight)

	r, err := l.Acquire(context.Background(), "org")
	require.NoError(t, err)
	refused(t, l, "org")

	r()
	for _, rel := range releases[1:] {
		rel()
	}
	assert.Equal(t, 0, l.Status("org").InFlight)
}

func TestLocalDayLimit(t *testing.T) {
	clk := newClock()
	l := ratelimit.NewLocal(ratelimit.Options{PerDay: 3, Now: clk.Now})

	for range 3 {
		acquireOK(t, l, "org")
		clk.Advance(2 * time.Minute)
	}
	rle := refused(t, l, "org")
	assert.Equal(t, ratelimit.ProblemDay, rle.Problem)
	assert.Equal(t, 24*time.Hour-6*time.Minute, rle.RetryAfter)
	assert.Equal(t, 3, l.Status("org").UsedDay)

	clk.Advance(rle.RetryAfter)
	acquireOK(t, l, "org")
	refused(t, l, "org")
}

func TestLocalReportsLongestWait(t *testing.T) {
	clk := newClock()
	l := ratelimit.NewLocal(ratelimit.Options{PerMinute: 1, PerDay: 1, Now: clk.Now})
	acquireOK(t, l, "org")
	rle := refused(t, l, "org")
	assert.Equal(t, ratelimit.ProblemDay, rle.Problem, "the day window outlasts the minute one")
	assert.Equal(t, 24*time.Hour, rle.RetryAfter)
}

func TestLocalObserve429(t *testing.T) {
	tests := []struct {
		name        string
		h           http.Header
		wantWait    time.Duration
		wantProblem ratelimit.Problem
		wantMessage string
	}{
		{
			name:        "with Retry-After",
			h:           headers("Retry-After", "30", "X-Rate-Limit-Problem", "minute", "X-MinLimit-Remaining", "0"),
			wantWait:    30 * time.Second,
			wantProblem: ratelimit.ProblemMinute,
			wantMessage: "billing system busy, try again in 30s: minute limit",
		},
		{
			name:        "without Retry-After",
			h:           http.Header{},
			wantWait:    45 * time.Second,
			wantMessage: "billing system busy, try again in 45s: rate limit",
		},
		{
			name:        "Retry-After zero uses the default pause",
			h:           headers("Retry-After", "0", "X-Rate-Limit-Problem", "minute"),
			wantWait:    45 * time.Second,
			wantProblem: ratelimit.ProblemMinute,
			wantMessage: "billing system busy, try again in 45s: minute limit",
		},
		{
			// Xero's day 429 often comes without Retry-After; a minute's
			// pause would draw a 429 every minute until the day resets.
			name:        "day limit without Retry-After pauses an hour",
			h:           headers("Retry-After", "0", "X-Rate-Limit-Problem", "day"),
			wantWait:    time.Hour,
			wantProblem: ratelimit.ProblemDay,
			wantMessage: "billing system busy, try again in 1h: daily limit",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			l := ratelimit.NewLocal(ratelimit.Options{DefaultPause: 45 * time.Second, Now: clk.Now})
			acquireOK(t, l, "org")

			l.Observe("org", http.StatusTooManyRequests, tt.h)

			rle := refused(t, l, "org")
			assert.Equal(t, tt.wantWait, rle.RetryAfter)
			assert.Equal(t, tt.wantProblem, rle.Problem)
			assert.Equal(t, tt.wantMessage, rle.Error())
			st := l.Status("org")
			assert.Equal(t, testNow.Add(tt.wantWait), st.PausedUntil)
			assert.Equal(t, tt.wantProblem, st.Problem)

			clk.Advance(tt.wantWait - time.Second)
			assert.Equal(t, time.Second, refused(t, l, "org").RetryAfter)

			clk.Advance(time.Second)
			acquireOK(t, l, "org")
			assert.True(t, l.Status("org").PausedUntil.IsZero())
		})
	}
}

func TestLocalObserve429KeepsLongerPause(t *testing.T) {
	clk := newClock()
	l := ratelimit.NewLocal(ratelimit.Options{Now: clk.Now})
	l.Observe("org", http.StatusTooManyRequests, headers("Retry-After", "600", "X-Rate-Limit-Problem", "day"))
	l.Observe("org", http.StatusTooManyRequests, headers("Retry-After", "5", "X-Rate-Limit-Problem", "minute"))
	rle := refused(t, l, "org")
	assert.Equal(t, 10*time.Minute, rle.RetryAfter)
	assert.Equal(t, ratelimit.ProblemDay, rle.Problem)
}

func TestLocalObserveRemainingZero(t *testing.T) {
	t.Run("day remaining zero pauses an hour", func(t *testing.T) {
		clk := newClock()
		l := ratelimit.NewLocal(ratelimit.Options{DefaultPause: 2 * time.Minute, Now: clk.Now})
		acquireOK(t, l, "org")
		l.Observe("org", http.StatusOK, headers("X-DayLimit-Remaining", "0", "X-MinLimit-Remaining", "40"))
		rle := refused(t, l, "org")
		assert.Equal(t, ratelimit.ProblemDay, rle.Problem)
		assert.Equal(t, time.Hour, rle.RetryAfter)
		assert.Equal(t, 0, rle.Remaining.Day)
		assert.Equal(t, 40, rle.Remaining.Minute)
		clk.Advance(time.Hour)
		acquireOK(t, l, "org")
	})
	t.Run("minute remaining zero waits for the local window", func(t *testing.T) {
		clk := newClock()
		l := ratelimit.NewLocal(ratelimit.Options{Now: clk.Now})
		acquireOK(t, l, "org")
		clk.Advance(10 * time.Second)
		l.Observe("org", http.StatusOK, headers("X-MinLimit-Remaining", "0"))
		rle := refused(t, l, "org")
		assert.Equal(t, ratelimit.ProblemMinute, rle.Problem)
		assert.Equal(t, 50*time.Second, rle.RetryAfter)
		clk.Advance(50 * time.Second)
		acquireOK(t, l, "org")
	})
	t.Run("minute remaining zero without local calls uses the default pause", func(t *testing.T) {
		clk := newClock()
		// Longer than the window, which Xero's count of 60 fills (see
		// TestLocalAlignsWithXerosCount).
		l := ratelimit.NewLocal(ratelimit.Options{DefaultPause: 2 * time.Minute, Now: clk.Now})
		l.Observe("org", http.StatusOK, headers("X-MinLimit-Remaining", "0"))
		rle := refused(t, l, "org")
		assert.Equal(t, ratelimit.ProblemMinute, rle.Problem)
		assert.Equal(t, 2*time.Minute, rle.RetryAfter)
	})
	t.Run("counts above zero do not pause", func(t *testing.T) {
		l := ratelimit.NewLocal(ratelimit.Options{Now: newClock().Now})
		l.Observe("org", http.StatusOK, headers("X-MinLimit-Remaining", "1", "X-DayLimit-Remaining", "1", "X-AppMinLimit-Remaining", "1"))
		l.Observe("org", http.StatusBadRequest, headers("X-MinLimit-Remaining", "junk"))
		acquireOK(t, l, "org")
		assert.True(t, l.Status("org").PausedUntil.IsZero())
	})
}

func TestLocalAppWidePause(t *testing.T) {
	t.Run("429 for the app limit pauses every tenant", func(t *testing.T) {
		clk := newClock()
		l := ratelimit.NewLocal(ratelimit.Options{Now: clk.Now})
		l.Observe("a", http.StatusTooManyRequests, headers("Retry-After", "20", "X-Rate-Limit-Problem", "AppMinute"))
		for _, tenant := range []string{"a", "b"} {
			rle := refused(t, l, tenant)
			assert.Equal(t, ratelimit.ProblemAppMinute, rle.Problem)
			assert.Equal(t, 20*time.Second, rle.RetryAfter)
		}
		assert.Equal(t, ratelimit.ProblemAppMinute, l.Status("c").Problem)
		clk.Advance(20 * time.Second)
		acquireOK(t, l, "a")
		acquireOK(t, l, "b")
	})
	t.Run("app remaining zero pauses every tenant", func(t *testing.T) {
		clk := newClock()
		l := ratelimit.NewLocal(ratelimit.Options{DefaultPause: 30 * time.Second, Now: clk.Now})
		l.Observe("a", http.StatusOK, headers("X-AppMinLimit-Remaining", "0"))
		rle := refused(t, l, "b")
		assert.Equal(t, ratelimit.ProblemAppMinute, rle.Problem)
		assert.Equal(t, 30*time.Second, rle.RetryAfter)
		clk.Advance(30 * time.Second)
		acquireOK(t, l, "b")
	})
}

func TestLocalTenantsAreIsolated(t *testing.T) {
	clk := newClock()
	l := ratelimit.NewLocal(ratelimit.Options{PerMinute: 2, Concurrent: 1, Now: clk.Now})

	acquireOK(t, l, "a")
	acquireOK(t, l, "a")
	refused(t, l, "a")
	held, err := l.Acquire(context.Background(), "b")
	require.NoError(t, err)
	defer held()
	refused(t, l, "b")

	l.Observe("c", http.StatusTooManyRequests, headers("Retry-After", "60", "X-Rate-Limit-Problem", "minute"))
	refused(t, l, "c")

	acquireOK(t, l, "d")
	assert.Equal(t, 2, l.Status("a").UsedMinute)
	assert.Equal(t, 1, l.Status("b").InFlight)
	assert.Equal(t, 0, l.Status("d").InFlight)
	assert.True(t, l.Status("d").PausedUntil.IsZero())
}

func TestLocalCancelledContextTakesNoSlot(t *testing.T) {
	l := ratelimit.NewLocal(ratelimit.Options{Now: newClock().Now})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	release, err := l.Acquire(ctx, "org")
	require.ErrorIs(t, err, context.Canceled)
	assert.Nil(t, release)
	assert.Equal(t, ratelimit.Status{}, l.Status("org"))
}

// startAcquire runs Acquire in a goroutine and reports its outcome.
type outcome struct {
	release func()
	err     error
}

func startAcquire(ctx context.Context, l ratelimit.Limiter, tenant string) <-chan outcome {
	done := make(chan outcome, 1)
	go func() {
		r, err := l.Acquire(ctx, tenant)
		done <- outcome{r, err}
	}()
	return done
}

func waitingCount(l *ratelimit.Local, tenant string, n int) func() bool {
	return func() bool { return l.Status(tenant).Waiting == n }
}

func TestLocalWaitProceedsAfterRelease(t *testing.T) {
	l := ratelimit.NewLocal(ratelimit.Options{Concurrent: 1, Wait: true})
	held, err := l.Acquire(context.Background(), "org")
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := startAcquire(ctx, l, "org")
	require.Eventually(t, waitingCount(l, "org", 1), 5*time.Second, time.Millisecond)
	select {
	case o := <-done:
		t.Fatalf("Acquire returned while the slot was held: %v", o.err)
	default:
	}

	held()
	o := <-done
	require.NoError(t, o.err)
	assert.Equal(t, 1, l.Status("org").InFlight)
	o.release()
	assert.Equal(t, ratelimit.Status{UsedMinute: 2, UsedDay: 2}, l.Status("org"))
}

func TestLocalWaitHonoursCancel(t *testing.T) {
	l := ratelimit.NewLocal(ratelimit.Options{Concurrent: 1, Wait: true})
	held, err := l.Acquire(context.Background(), "org")
	require.NoError(t, err)
	defer held()

	ctx, cancel := context.WithCancel(context.Background())
	done := startAcquire(ctx, l, "org")
	require.Eventually(t, waitingCount(l, "org", 1), 5*time.Second, time.Millisecond)
	cancel()
	o := <-done
	require.ErrorIs(t, o.err, context.Canceled)
	assert.Nil(t, o.release)
	assert.Equal(t, 0, l.Status("org").Waiting)
	assert.Equal(t, 1, l.Status("org").InFlight)
}

func TestLocalWaitDeadlineTooShort(t *testing.T) {
	clk := newClock()
	l := ratelimit.NewLocal(ratelimit.Options{PerMinute: 1, Wait: true, Now: clk.Now})
	acquireOK(t, l, "org")

	// Budget returns in 61s of the (frozen) clock (the window plus the
	// waiting mode's margin); the context has far less.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	release, err := l.Acquire(ctx, "org")
	require.Nil(t, release)
	var rle *ratelimit.RateLimitError
	require.ErrorAs(t, err, &rle)
	assert.True(t, rle.Local)
	assert.Equal(t, ratelimit.ProblemMinute, rle.Problem)
	assert.Equal(t, time.Minute+time.Second, rle.RetryAfter)
	assert.NoError(t, ctx.Err(), "refused at once, not after the deadline")
}

func TestLocalWaitsForTimedBudget(t *testing.T) {
	tests := []struct {
		name    string
		opts    ratelimit.Options
		prepare func(l *ratelimit.Local)
	}{
		{
			name:    "window",
			opts:    ratelimit.Options{PerMinute: 1, Window: 20 * time.Millisecond},
			prepare: func(l *ratelimit.Local) { _ = mustAcquire(l) },
		},
		{
			name:    "pause after 429",
			opts:    ratelimit.Options{DefaultPause: 20 * time.Millisecond},
			prepare: func(l *ratelimit.Local) { l.Observe("org", http.StatusTooManyRequests, nil) },
		},
		{
			name: "pause after a concurrent-limit 429",
			opts: ratelimit.Options{DefaultPause: 20 * time.Millisecond},
			prepare: func(l *ratelimit.Local) {
				l.Observe("org", http.StatusTooManyRequests, headers("X-Rate-Limit-Problem", "concurrent"))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Wait = true
			l := ratelimit.NewLocal(tt.opts)
			tt.prepare(l)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			release, err := l.Acquire(ctx, "org")
			require.NoError(t, err)
			release()
		})
	}
}

func mustAcquire(l ratelimit.Limiter) error {
	release, err := l.Acquire(context.Background(), "org")
	if err == nil {
		release()
	}
	return err
}

func TestLocalHammerWaiting(t *testing.T) {
	const limit = 3
	l := ratelimit.NewLocal(ratelimit.Options{Concurrent: limit, PerMinute: 1 << 20, PerDay: 1 << 20, Wait: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	type counters struct{ inFlight, peak atomic.Int64 }
	per := map[string]*counters{"a": {}, "b": {}}
	var granted atomic.Int64
	var wg sync.WaitGroup
	for g := range 40 {
		tenant := []string{"a", "b"}[g%2]
		c := per[tenant]
		wg.Go(func() {
			for range 25 {
				release, err := l.Acquire(ctx, tenant)
				if !assert.NoError(t, err) {
					return
				}
				n := c.inFlight.Add(1)
				for p := c.peak.Load(); n > p && !c.peak.CompareAndSwap(p, n); p = c.peak.Load() {
				}
				granted.Add(1)
				c.inFlight.Add(-1)
				release()
				release()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(1000), granted.Load())
	for tenant, c := range per {
		assert.LessOrEqual(t, c.peak.Load(), int64(limit), "tenant %s", tenant)
	}
	for _, tenant := range []string{"a", "b"} {
		assert.Equal(t, ratelimit.Status{UsedMinute: 500, UsedDay: 500}, l.Status(tenant))
	}
}

func TestLocalHammerRefusing(t *testing.T) {
	l := ratelimit.NewLocal(ratelimit.Options{PerMinute: 100, Concurrent: 1000, Now: newClock().Now})
	var granted, refusedCount atomic.Int64
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			for range 10 {
				release, err := l.Acquire(context.Background(), "org")
				if err != nil {
					if assert.ErrorIs(t, err, ratelimit.ErrRateLimited) {
						refusedCount.Add(1)
					}
					continue
				}
				granted.Add(1)
				// More than the limiter counts left: no pause, no raise.
				l.Observe("org", http.StatusOK, headers("X-MinLimit-Remaining", "100"))
				release()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(100), granted.Load())
	assert.Equal(t, int64(100), refusedCount.Load())
}

func TestLocalZeroValueUsesDefaults(t *testing.T) {
	var l ratelimit.Local
	for range 5 {
		_, err := l.Acquire(context.Background(), "org")
		require.NoError(t, err)
	}
	rle := refused(t, &l, "org")
	assert.Equal(t, ratelimit.ProblemConcurrent, rle.Problem)
}

// In waiting mode the minute window is counted a little wider than Xero's,
// so a call granted as an old one leaves cannot reach Xero inside Xero's
// window; fail-fast mode counts Xero's window exactly unless told.
func TestLocalMargin(t *testing.T) {
	tests := []struct {
		name string
		opts ratelimit.Options
		want time.Duration // when the second call may go
	}{
		{"fail fast: none", ratelimit.Options{PerMinute: 1}, time.Minute},
		{"fail fast, explicit", ratelimit.Options{PerMinute: 1, Margin: 3 * time.Second}, time.Minute + 3*time.Second},
		{"waiting: a second a minute", ratelimit.Options{PerMinute: 1, Wait: true}, time.Minute + time.Second},
		{"waiting, shortened window", ratelimit.Options{PerMinute: 1, Wait: true, Window: 6 * time.Second}, 6*time.Second + 100*time.Millisecond},
		{"waiting, none", ratelimit.Options{PerMinute: 1, Wait: true, Margin: -1}, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			tt.opts.Now = clk.Now
			l := ratelimit.NewLocal(tt.opts)
			acquireOK(t, l, "org")
			// A context too short to wait shows when the budget returns.
			ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
			defer cancel()
			_, err := l.Acquire(ctx, "org")
			var rle *ratelimit.RateLimitError
			require.ErrorAs(t, err, &rle)
			assert.Equal(t, tt.want, rle.RetryAfter)
		})
	}
}

// When Xero's X-MinLimit-Remaining or X-DayLimit-Remaining says fewer calls
// are left than the tenant's window thinks, the window counts Xero's
// number: the calls added stay a whole minute window (Margin included), and
// an hour (at most DayWindow) in the day window. A higher count from Xero,
// or none, changes nothing.
func TestLocalAlignsWithXerosCount(t *testing.T) {
	t.Run("minute: raised to Xero's count for a window", func(t *testing.T) {
		clk := newClock()
		l := ratelimit.NewLocal(ratelimit.Options{PerMinute: 10, Concurrent: 100, Now: clk.Now})
		acquireOK(t, l, "org")
		acquireOK(t, l, "org")
		clk.Advance(10 * time.Second)
		l.Observe("org", http.StatusOK, headers("X-MinLimit-Remaining", "3"))
		assert.Equal(t, 7, l.Status("org").UsedMinute, "Xero counts 7 of 10")
		assert.True(t, l.Status("org").PausedUntil.IsZero(), "a count, not a pause")
		for range 3 {
			acquireOK(t, l, "org")
		}
		rle := refused(t, l, "org")
		assert.Equal(t, ratelimit.ProblemMinute, rle.Problem)
		assert.Equal(t, 50*time.Second, rle.RetryAfter, "until the first local call leaves")

		clk.Advance(50 * time.Second) // the two local calls leave; the raised five stay
		acquireOK(t, l, "org")
		acquireOK(t, l, "org")
		rle = refused(t, l, "org")
		assert.Equal(t, 10*time.Second, rle.RetryAfter, "the raised calls leave a window after Xero's answer")
		clk.Advance(10 * time.Second)
		assert.Equal(t, 2, l.Status("org").UsedMinute)
	})
	t.Run("minute: the window is counted with its Margin", func(t *testing.T) {
		clk := newClock()
		l := ratelimit.NewLocal(ratelimit.Options{PerMinute: 10, Wait: true, Now: clk.Now})
		l.Observe("org", http.StatusOK, headers("X-MinLimit-Remaining", "0"))
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		_, err := l.Acquire(ctx, "org")
		var rle *ratelimit.RateLimitError
		require.ErrorAs(t, err, &rle)
		assert.Equal(t, time.Minute+time.Second, rle.RetryAfter)
	})
	t.Run("minute: Xero at zero outlasts a shorter default pause", func(t *testing.T) {
		clk := newClock()
		l := ratelimit.NewLocal(ratelimit.Options{DefaultPause: 20 * time.Second, Now: clk.Now})
		l.Observe("org", http.StatusOK, headers("X-MinLimit-Remaining", "0"))
		rle := refused(t, l, "org")
		assert.Equal(t, ratelimit.ProblemMinute, rle.Problem)
		assert.Equal(t, time.Minute, rle.RetryAfter, "Xero's window may have just opened")
		clk.Advance(time.Minute)
		acquireOK(t, l, "org")
	})
	t.Run("day: raised to Xero's count for an hour", func(t *testing.T) {
		clk := newClock()
		l := ratelimit.NewLocal(ratelimit.Options{PerDay: 100, Now: clk.Now})
		acquireOK(t, l, "org")
		l.Observe("org", http.StatusOK, headers("X-DayLimit-Remaining", "1"))
		assert.Equal(t, 99, l.Status("org").UsedDay)
		acquireOK(t, l, "org")
		clk.Advance(time.Minute) // the minute window has room; the day has none
		rle := refused(t, l, "org")
		assert.Equal(t, ratelimit.ProblemDay, rle.Problem)
		assert.Equal(t, 59*time.Minute, rle.RetryAfter, "the raised calls leave an hour after Xero's answer")
		clk.Advance(59 * time.Minute)
		assert.Equal(t, 2, l.Status("org").UsedDay, "the local calls stay for the day")
		acquireOK(t, l, "org")
	})
	t.Run("day: a day window shorter than an hour", func(t *testing.T) {
		clk := newClock()
		l := ratelimit.NewLocal(ratelimit.Options{PerDay: 100, DayWindow: 10 * time.Minute, Now: clk.Now})
		l.Observe("org", http.StatusOK, headers("X-DayLimit-Remaining", "1"))
		assert.Equal(t, 99, l.Status("org").UsedDay)
		clk.Advance(10 * time.Minute)
		assert.Zero(t, l.Status("org").UsedDay)
	})
	t.Run("a higher count, or none, changes nothing", func(t *testing.T) {
		clk := newClock()
		l := ratelimit.NewLocal(ratelimit.Options{PerMinute: 10, PerDay: 100, Now: clk.Now})
		for range 4 {
			acquireOK(t, l, "org")
		}
		l.Observe("org", http.StatusOK, headers("X-MinLimit-Remaining", "9", "X-DayLimit-Remaining", "99"))
		l.Observe("org", http.StatusOK, headers("X-MinLimit-Remaining", "junk"))
		l.Observe("org", http.StatusInternalServerError, nil)
		s := l.Status("org")
		assert.Equal(t, 4, s.UsedMinute)
		assert.Equal(t, 4, s.UsedDay)
	})
	t.Run("day: none left is the hour's pause, not a count", func(t *testing.T) {
		l := ratelimit.NewLocal(ratelimit.Options{PerDay: 100, Now: newClock().Now})
		l.Observe("org", http.StatusOK, headers("X-DayLimit-Remaining", "0"))
		s := l.Status("org")
		assert.Zero(t, s.UsedDay)
		assert.Equal(t, ratelimit.ProblemDay, s.Problem)
		assert.Equal(t, testNow.Add(time.Hour), s.PausedUntil)
	})
	t.Run("a 429 pauses for its Retry-After instead", func(t *testing.T) {
		clk := newClock()
		l := ratelimit.NewLocal(ratelimit.Options{PerMinute: 10, Now: clk.Now})
		l.Observe("org", http.StatusTooManyRequests, headers("Retry-After", "1", "X-Rate-Limit-Problem", "minute", "X-MinLimit-Remaining", "0"))
		assert.Zero(t, l.Status("org").UsedMinute)
		clk.Advance(time.Second)
		acquireOK(t, l, "org")
	})
	t.Run("tenants apart", func(t *testing.T) {
		l := ratelimit.NewLocal(ratelimit.Options{PerMinute: 10, Now: newClock().Now})
		l.Observe("org", http.StatusOK, headers("X-MinLimit-Remaining", "0"))
		acquireOK(t, l, "other")
		assert.Equal(t, 1, l.Status("other").UsedMinute)
	})
}
