package pglimit_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/ratelimit/pglimit"
)

// Xero's own numbers, shared by two replicas: the 61st call in a minute is
// refused, and so is the 6th at once.
func TestXeroDefaults(t *testing.T) {
	t.Run("61st call in a minute", func(t *testing.T) {
		a, b := pair(t, pglimit.Options{})
		for i := range 60 {
			acquireOK(t, []*pglimit.Limiter{a, b}[i%2], tenant)
		}
		for _, l := range []*pglimit.Limiter{a, b} {
			rle := refused(t, l, tenant)
			assert.Equal(t, ratelimit.ProblemMinute, rle.Problem)
			assert.Greater(t, rle.RetryAfter, 50*time.Second)
			assert.LessOrEqual(t, rle.RetryAfter, time.Minute)
		}
		acquireOK(t, a, "another-tenant")
	})
	t.Run("6th at once", func(t *testing.T) {
		a, b := pair(t, pglimit.Options{})
		var held []func()
		for i := range 5 {
			held = append(held, acquire(t, []*pglimit.Limiter{a, b}[i%2], tenant))
		}
		for _, l := range []*pglimit.Limiter{a, b} {
			rle := refused(t, l, tenant)
			assert.Equal(t, ratelimit.ProblemConcurrent, rle.Problem)
			assert.Equal(t, time.Second, rle.RetryAfter)
		}
		held[0]()
		held[0] = acquire(t, b, tenant)
		for _, r := range held {
			r()
		}
	})
}

func TestReplicasShareMinuteBudget(t *testing.T) {
	window := 500 * time.Millisecond
	a, b := pair(t, pglimit.Options{Limits: ratelimit.Options{PerMinute: 5, Window: window}})

	for i := range 5 {
		acquireOK(t, []*pglimit.Limiter{a, b}[i%2], tenant)
	}
	for _, l := range []*pglimit.Limiter{a, b} {
		rle := refused(t, l, tenant)
		assert.Equal(t, ratelimit.ProblemMinute, rle.Problem)
		assert.Positive(t, rle.RetryAfter)
		assert.LessOrEqual(t, rle.RetryAfter, window, "the oldest call leaves within one window")
		assert.Equal(t, -1, rle.Remaining.Minute, "no count reported by Xero")
	}
	allowedSoon(t, b, tenant)
}

func TestSharedBudgetIsAtomic(t *testing.T) {
	a, b := pair(t, pglimit.Options{Limits: ratelimit.Options{PerMinute: 10, Concurrent: 100}})

	var granted atomic.Int32
	var wg sync.WaitGroup
	for i := range 40 {
		l := []*pglimit.Limiter{a, b}[i%2]
		wg.Go(func() {
			release, err := l.Acquire(context.Background(), tenant)
			if err == nil {
				granted.Add(1)
				release()
				return
			}
			var rle *ratelimit.RateLimitError
			if assert.ErrorAs(t, err, &rle) {
				assert.Equal(t, ratelimit.ProblemMinute, rle.Problem)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(10), granted.Load())
}

func TestConcurrencySlotsShared(t *testing.T) {
	a, b := pair(t, pglimit.Options{Limits: ratelimit.Options{Concurrent: 2}})

	r1 := acquire(t, a, tenant)
	r2 := acquire(t, b, tenant)
	for _, l := range []*pglimit.Limiter{a, b} {
		rle := refused(t, l, tenant)
		assert.Equal(t, ratelimit.ProblemConcurrent, rle.Problem)
	}
	r1() // released by replica a, free for replica b
	r3 := acquire(t, b, tenant)
	refused(t, a, tenant)
	r2()
	r3()
	acquireOK(t, a, tenant)
}

func TestReleaseIsIdempotent(t *testing.T) {
	a, b := pair(t, pglimit.Options{Limits: ratelimit.Options{Concurrent: 1}})

	r1 := acquire(t, a, tenant)
	r1()
	r1()
	r2 := acquire(t, b, tenant)
	r1() // must not free r2's slot
	rle := refused(t, a, tenant)
	assert.Equal(t, ratelimit.ProblemConcurrent, rle.Problem)
	r2()
	acquireOK(t, a, tenant)
}

func TestReleaseWorksAfterContextEnds(t *testing.T) {
	a, b := pair(t, pglimit.Options{Limits: ratelimit.Options{Concurrent: 1}})

	ctx, cancel := context.WithCancel(t.Context())
	release, err := a.Acquire(ctx, tenant)
	require.NoError(t, err)
	cancel()
	release()
	acquireOK(t, b, tenant)
}

func TestCrashedSlotExpires(t *testing.T) {
	a, b := pair(t, pglimit.Options{Limits: ratelimit.Options{Concurrent: 1}, SlotTTL: 300 * time.Millisecond})

	_ = acquire(t, a, tenant) // the process "dies" without releasing
	rle := refused(t, b, tenant)
	assert.Equal(t, ratelimit.ProblemConcurrent, rle.Problem)
	allowedSoon(t, b, tenant)
}

func TestDayLimit(t *testing.T) {
	a, b := pair(t, pglimit.Options{Limits: ratelimit.Options{PerDay: 3, DayWindow: 400 * time.Millisecond}})

	acquireOK(t, a, tenant)
	acquireOK(t, b, tenant)
	acquireOK(t, a, tenant)
	rle := refused(t, b, tenant)
	assert.Equal(t, ratelimit.ProblemDay, rle.Problem)
	assert.Positive(t, rle.RetryAfter)
	assert.LessOrEqual(t, rle.RetryAfter, 400*time.Millisecond+400*time.Millisecond/96, "at most a bucket past the window")
	acquireOK(t, a, "another-tenant")
	allowedSoon(t, a, tenant)
}

func TestTenantsAreIsolated(t *testing.T) {
	a, b := pair(t, pglimit.Options{Limits: ratelimit.Options{PerMinute: 2, Concurrent: 1}})

	acquireOK(t, a, "org-1")
	hold := acquire(t, b, "org-1")
	refused(t, a, "org-1")
	a.Observe("org-1", http.StatusTooManyRequests, header("Retry-After", "60"))

	r := acquire(t, a, "org-2") // neither org-1's window, slot nor pause applies
	r()
	hold()
	acquireOK(t, b, "org-2")
	refused(t, b, "org-2")
	assert.Equal(t, ratelimit.Problem(""), refused(t, b, "org-1").Problem, "org-1 is paused still")
}

func TestOddTenantStringsDoNotCollide(t *testing.T) {
	long := strings.Repeat("x", 500)
	tenants := []string{
		"", "'", "''; DROP TABLE tenants; --", "a:b", "aA", "a%41", "{}", "tenant\r\nX-Injected: 1",
		"naïve-日本", "with space", "*?[]", "$$", long, long + "y",
	}
	a, b := pair(t, pglimit.Options{Limits: ratelimit.Options{PerMinute: 1}})

	for _, tn := range tenants {
		acquireOK(t, a, tn) // a collision would find the budget already spent
	}
	for _, tn := range tenants {
		assert.Equal(t, ratelimit.ProblemMinute, refused(t, b, tn).Problem)
	}
}

// The app's calls are counted across every tenant and every replica: once
// AppPerMinute calls are made, a tenant that has made none is refused too.
func TestAppLimitAcrossTenants(t *testing.T) {
	const window = 400 * time.Millisecond
	a, b := pair(t, pglimit.Options{AppPerMinute: 4, Limits: ratelimit.Options{Window: window}})

	for i, tn := range []string{"org-1", "org-2", "org-3", "org-1"} {
		acquireOK(t, []*pglimit.Limiter{a, b}[i%2], tn)
	}
	for _, l := range []*pglimit.Limiter{a, b} {
		rle := refused(t, l, "org-4")
		assert.Equal(t, ratelimit.ProblemAppMinute, rle.Problem)
		assert.Positive(t, rle.RetryAfter)
		assert.LessOrEqual(t, rle.RetryAfter, window+window/120, "at most a bucket past the window")
		assert.Equal(t, "billing system busy, try again in 1s: app-wide minute limit", rle.Error())
	}
	allowedSoon(t, b, "org-4")
}

func TestAppLimitNotCounted(t *testing.T) {
	a, b := pair(t, pglimit.Options{AppPerMinute: -1, Limits: ratelimit.Options{PerMinute: 1}})
	for i := range 30 {
		acquireOK(t, []*pglimit.Limiter{a, b}[i%2], "org-"+string(rune('a'+i)))
	}
}

func TestAppLimitIsAtomic(t *testing.T) {
	a, b := pair(t, pglimit.Options{AppPerMinute: 10, Limits: ratelimit.Options{Concurrent: 100}})

	var granted atomic.Int32
	var wg sync.WaitGroup
	for i := range 40 {
		l := []*pglimit.Limiter{a, b}[i%2]
		wg.Go(func() {
			release, err := l.Acquire(context.Background(), "org-"+string(rune('a'+i%7)))
			if err == nil {
				granted.Add(1)
				release()
				return
			}
			var rle *ratelimit.RateLimitError
			if assert.ErrorAs(t, err, &rle) {
				assert.Equal(t, ratelimit.ProblemAppMinute, rle.Problem)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(10), granted.Load())
}

func TestObserved429PausesEveryReplica(t *testing.T) {
	a, b := pair(t, pglimit.Options{Limits: ratelimit.Options{DefaultPause: time.Hour}})

	a.Observe(tenant, http.StatusTooManyRequests, header(
		"Retry-After", "0.4",
		"X-Rate-Limit-Problem", "minute",
		"X-MinLimit-Remaining", "0",
		"X-DayLimit-Remaining", "4000",
	))
	for _, l := range []*pglimit.Limiter{b, a} {
		rle := refused(t, l, tenant)
		assert.Equal(t, ratelimit.ProblemMinute, rle.Problem)
		assert.Positive(t, rle.RetryAfter)
		assert.LessOrEqual(t, rle.RetryAfter, 400*time.Millisecond)
		assert.Equal(t, 0, rle.Remaining.Minute)
		assert.Equal(t, 4000, rle.Remaining.Day)
		assert.Equal(t, -1, rle.Remaining.AppMinute)
		assert.Equal(t, "billing system busy, try again in 1s: minute limit", rle.Error())
	}
	acquireOK(t, b, "another-tenant")
	allowedSoon(t, b, tenant)
}

func TestObserved429WithoutRetryAfterUsesDefaultPause(t *testing.T) {
	a, b := pair(t, pglimit.Options{Limits: ratelimit.Options{DefaultPause: 300 * time.Millisecond}})

	a.Observe(tenant, http.StatusTooManyRequests, http.Header{})
	rle := refused(t, b, tenant)
	assert.Equal(t, ratelimit.Problem(""), rle.Problem)
	assert.Positive(t, rle.RetryAfter)
	assert.LessOrEqual(t, rle.RetryAfter, 300*time.Millisecond)
	allowedSoon(t, b, tenant)
}

func TestPauseNeverShortened(t *testing.T) {
	a, b := pair(t, pglimit.Options{})

	a.Observe(tenant, http.StatusTooManyRequests, header("Retry-After", "120", "X-Rate-Limit-Problem", "day"))
	b.Observe(tenant, http.StatusTooManyRequests, header("Retry-After", "1", "X-Rate-Limit-Problem", "minute"))
	rle := refused(t, b, tenant)
	assert.Equal(t, ratelimit.ProblemDay, rle.Problem)
	assert.Greater(t, rle.RetryAfter, 100*time.Second)
}

func TestAppWidePause(t *testing.T) {
	tests := []struct {
		name         string
		appPerMinute int
		status       int
		h            http.Header
	}{
		{"429 appminute", 0, http.StatusTooManyRequests, header("Retry-After", "0.4", "X-Rate-Limit-Problem", "appminute", "X-AppMinLimit-Remaining", "0")},
		{"429 appminute, app calls not counted", -1, http.StatusTooManyRequests, header("Retry-After", "0.4", "X-Rate-Limit-Problem", "appminute", "X-AppMinLimit-Remaining", "0")},
		// Counted, see TestObservedZeroAppCount.
		{"no app calls left, app calls not counted", -1, http.StatusOK, header("X-AppMinLimit-Remaining", "0", "X-MinLimit-Remaining", "12")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := pair(t, pglimit.Options{AppPerMinute: tt.appPerMinute, Limits: ratelimit.Options{DefaultPause: 400 * time.Millisecond}})

			a.Observe(tenant, tt.status, tt.h)
			for _, other := range []string{tenant, "other-tenant", ""} {
				rle := refused(t, b, other)
				assert.Equal(t, ratelimit.ProblemAppMinute, rle.Problem)
				assert.Positive(t, rle.RetryAfter)
				assert.LessOrEqual(t, rle.RetryAfter, 400*time.Millisecond)
				assert.Equal(t, 0, rle.Remaining.AppMinute)
			}
			allowedSoon(t, b, "other-tenant")
			allowedSoon(t, b, tenant)
		})
	}
}

func TestAppWidePauseReportsLongestReason(t *testing.T) {
	a, b := pair(t, pglimit.Options{Limits: ratelimit.Options{DefaultPause: 400 * time.Millisecond}})

	a.Observe(tenant, http.StatusTooManyRequests, header("Retry-After", "300", "X-Rate-Limit-Problem", "day"))
	a.Observe("other-tenant", http.StatusOK, header("X-AppMinLimit-Remaining", "0"))
	rle := refused(t, b, tenant)
	assert.Equal(t, ratelimit.ProblemDay, rle.Problem, "the tenant's 5-minute pause outlasts the app's")
	rle = refused(t, b, "other-tenant")
	assert.Equal(t, ratelimit.ProblemAppMinute, rle.Problem)
}

func TestObservedZeroCountsPause(t *testing.T) {
	const window = 400 * time.Millisecond
	tests := []struct {
		name      string
		h         http.Header
		callFirst bool
		problem   ratelimit.Problem
		short     bool // paused for at most the window, not DefaultPause
	}{
		{"no daily calls left", header("X-DayLimit-Remaining", "0"), false, ratelimit.ProblemDay, false},
		{"no minute calls left, calls in window", header("X-MinLimit-Remaining", "0"), true, ratelimit.ProblemMinute, true},
		{"no minute calls left, empty window", header("X-MinLimit-Remaining", "0"), false, ratelimit.ProblemMinute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := pair(t, pglimit.Options{Limits: ratelimit.Options{Window: window, DefaultPause: time.Hour}})
			if tt.callFirst {
				acquireOK(t, b, tenant)
			}
			a.Observe(tenant, http.StatusOK, tt.h)
			rle := refused(t, b, tenant)
			assert.Equal(t, tt.problem, rle.Problem)
			assert.Equal(t, 0, map[ratelimit.Problem]int{ratelimit.ProblemDay: rle.Remaining.Day, ratelimit.ProblemMinute: rle.Remaining.Minute}[tt.problem])
			if tt.short {
				assert.LessOrEqual(t, rle.RetryAfter, window)
				allowedSoon(t, b, tenant)
			} else {
				assert.Greater(t, rle.RetryAfter, 50*time.Minute)
			}
			acquireOK(t, b, "other-tenant")
		})
	}
}

func TestObservedOrdinaryResponseChangesNothing(t *testing.T) {
	a, b := pair(t, pglimit.Options{Limits: ratelimit.Options{Concurrent: 1}})

	a.Observe(tenant, http.StatusOK, header("X-MinLimit-Remaining", "60", "X-DayLimit-Remaining", "5000", "X-AppMinLimit-Remaining", "9000"))
	a.Observe(tenant, http.StatusInternalServerError, http.Header{})
	acquireOK(t, b, tenant)
}

// waitFor runs a waiting Acquire in the background.
func waitFor(ctx context.Context, l ratelimit.Limiter, tenant string) <-chan acquired {
	done := make(chan acquired, 1)
	go func() {
		release, err := l.Acquire(ctx, tenant)
		done <- acquired{release, err}
	}()
	return done
}

type acquired struct {
	release func()
	err     error
}

// result takes the outcome of waitFor, failing after a generous bound.
func result(t *testing.T, done <-chan acquired) acquired {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("waiting Acquire did not return")
		return acquired{}
	}
}

func TestWaitingModeProceedsAfterRelease(t *testing.T) {
	tests := []struct {
		name        string
		sameProcess bool // the release wakes the waiter directly
	}{
		{"release in another replica", false},
		{"release in the same process", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newShared(t)
			waiter := s.limiter(pglimit.Options{Limits: ratelimit.Options{Concurrent: 1, Wait: true}})
			holder := s.limiter(pglimit.Options{Limits: ratelimit.Options{Concurrent: 1}})
			if tt.sameProcess {
				holder = waiter
			}

			hold := acquire(t, holder, tenant)
			done := waitFor(t.Context(), waiter, tenant)
			require.Never(t, func() bool { return len(done) > 0 }, 150*time.Millisecond, 10*time.Millisecond,
				"the waiter must wait while the slot is held")
			hold()
			r := result(t, done)
			require.NoError(t, r.err)
			refused(t, s.limiter(pglimit.Options{Limits: ratelimit.Options{Concurrent: 1}}), tenant) // the waiter holds the slot now
			r.release()
		})
	}
}

func TestWaitingModeWaitsForMinuteWindow(t *testing.T) {
	s := newShared(t)
	l := s.limiter(pglimit.Options{Limits: ratelimit.Options{PerMinute: 2, Window: 300 * time.Millisecond, Wait: true}})

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for range 4 {
		release, err := l.Acquire(ctx, tenant)
		require.NoError(t, err)
		release()
	}
}

func TestWaitingModeHonoursCancel(t *testing.T) {
	s := newShared(t)
	waiter := s.limiter(pglimit.Options{Limits: ratelimit.Options{Concurrent: 1, Wait: true}})
	hold := acquire(t, waiter, tenant)
	defer hold()

	ctx, cancel := context.WithCancel(t.Context())
	done := waitFor(ctx, waiter, tenant)
	require.Never(t, func() bool { return len(done) > 0 }, 100*time.Millisecond, 10*time.Millisecond)
	cancel()
	r := result(t, done)
	require.ErrorIs(t, r.err, context.Canceled)
	require.Nil(t, r.release)
}

func TestWaitingModeGivesUpWhenDeadlineComesFirst(t *testing.T) {
	s := newShared(t)
	observer := s.limiter(pglimit.Options{})
	waiter := s.limiter(pglimit.Options{Limits: ratelimit.Options{Wait: true}})
	observer.Observe(tenant, http.StatusTooManyRequests, header("Retry-After", "30", "X-Rate-Limit-Problem", "minute"))

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	release, err := waiter.Acquire(ctx, tenant)
	require.Nil(t, release)
	var rle *ratelimit.RateLimitError
	require.ErrorAs(t, err, &rle)
	assert.True(t, rle.Local)
	assert.Equal(t, ratelimit.ProblemMinute, rle.Problem)
	assert.Greater(t, rle.RetryAfter, 20*time.Second)
	assert.NoError(t, ctx.Err(), "given up at once, not at the deadline")
}

func TestWaitingModeWaitsOutPause(t *testing.T) {
	s := newShared(t)
	observer := s.limiter(pglimit.Options{})
	waiter := s.limiter(pglimit.Options{Limits: ratelimit.Options{Wait: true}})
	observer.Observe(tenant, http.StatusTooManyRequests, header("Retry-After", "0.3"))

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	release, err := waiter.Acquire(ctx, tenant)
	require.NoError(t, err)
	release()
}

func TestCanceledContext(t *testing.T) {
	a, _ := pair(t, pglimit.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	release, err := a.Acquire(ctx, tenant)
	require.ErrorIs(t, err, context.Canceled)
	require.Nil(t, release)
}

// The shared minute window is counted Margin wider than Window, by
// ratelimit.Local's rule: by default Window/60 in waiting mode and none
// when failing fast.
func TestMarginWidensMinuteWindow(t *testing.T) {
	const window = 6 * time.Second
	tests := []struct {
		name string
		opts ratelimit.Options
		span time.Duration // when the second call may go, after the first
	}{
		{"fail fast: none", ratelimit.Options{}, window},
		{"fail fast, explicit", ratelimit.Options{Margin: 3 * time.Second}, window + 3*time.Second},
		{"waiting: Window/60", ratelimit.Options{Wait: true}, window + 100*time.Millisecond},
		{"waiting, explicit", ratelimit.Options{Wait: true, Margin: 2 * time.Second}, window + 2*time.Second},
		{"waiting, none", ratelimit.Options{Wait: true, Margin: -1}, window},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.PerMinute, tt.opts.Window = 1, window
			a, b := pair(t, pglimit.Options{Limits: tt.opts})
			acquireOK(t, a, tenant)
			// A context too short to wait shows when the budget returns.
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
			defer cancel()
			_, err := b.Acquire(ctx, tenant)
			var rle *ratelimit.RateLimitError
			require.ErrorAs(t, err, &rle)
			assert.Equal(t, ratelimit.ProblemMinute, rle.Problem)
			assert.LessOrEqual(t, rle.RetryAfter, tt.span)
			assert.Greater(t, rle.RetryAfter, tt.span-200*time.Millisecond, "counted from the first call's grant")
		})
	}
}

// A pause for "no minute calls left" lasts until the oldest call leaves the
// window as counted, Margin included.
func TestObservedZeroMinuteCountsMargin(t *testing.T) {
	const window = 6 * time.Second
	a, b := pair(t, pglimit.Options{Limits: ratelimit.Options{PerMinute: 10, Window: window, Margin: 3 * time.Second}})
	acquireOK(t, a, tenant)
	a.Observe(tenant, http.StatusOK, header("X-MinLimit-Remaining", "0"))
	rle := refused(t, b, tenant)
	assert.Equal(t, ratelimit.ProblemMinute, rle.Problem)
	assert.Greater(t, rle.RetryAfter, window+3*time.Second-500*time.Millisecond)
	assert.LessOrEqual(t, rle.RetryAfter, window+3*time.Second)
}

// When Xero reports fewer calls left than the shared window thinks, every
// replica counts Xero's number, as ratelimit.Local does: raised minute calls
// stay a window as counted (Margin included), raised day calls about an
// hour; a higher count, a 429's counts or none change nothing.
func TestObserveAlignsWithXerosCount(t *testing.T) {
	t.Run("minute", func(t *testing.T) {
		const window, margin = 300 * time.Millisecond, 200 * time.Millisecond
		a, b := pair(t, pglimit.Options{Limits: ratelimit.Options{PerMinute: 10, Window: window, Margin: margin, Concurrent: 100}})
		acquireOK(t, a, tenant)
		acquireOK(t, b, tenant)
		a.Observe(tenant, http.StatusOK, header("X-MinLimit-Remaining", "3"))
		for range 3 {
			acquireOK(t, b, tenant)
		}
		rle := refused(t, a, tenant)
		assert.Equal(t, ratelimit.ProblemMinute, rle.Problem)
		allowedSoon(t, a, tenant)
	})
	t.Run("minute, none left and an empty window: a whole window as counted", func(t *testing.T) {
		const window, margin = 300 * time.Millisecond, 200 * time.Millisecond
		a, b := pair(t, pglimit.Options{Limits: ratelimit.Options{PerMinute: 10, Window: window, Margin: margin, DefaultPause: time.Millisecond}})
		a.Observe(tenant, http.StatusOK, header("X-MinLimit-Remaining", "0"))
		time.Sleep(10 * time.Millisecond) // past DefaultPause
		rle := refused(t, b, tenant)
		assert.Equal(t, ratelimit.ProblemMinute, rle.Problem)
		assert.Greater(t, rle.RetryAfter, window, "Margin counted")
		assert.LessOrEqual(t, rle.RetryAfter, window+margin)
		allowedSoon(t, b, tenant)
	})
	t.Run("day: for about an hour", func(t *testing.T) {
		a, b := pair(t, pglimit.Options{}) // 5,000 a day: 4,998 raised
		acquireOK(t, a, tenant)
		a.Observe(tenant, http.StatusOK, header("X-DayLimit-Remaining", "1"))
		acquireOK(t, b, tenant)
		rle := refused(t, b, tenant)
		assert.Equal(t, ratelimit.ProblemDay, rle.Problem)
		assert.Greater(t, rle.RetryAfter, 44*time.Minute, "a quarter-hour bucket short of an hour at most")
		assert.LessOrEqual(t, rle.RetryAfter, time.Hour, "not the day window's 24h")
	})
	t.Run("a higher count, a 429's or none", func(t *testing.T) {
		a, b := pair(t, pglimit.Options{Limits: ratelimit.Options{PerMinute: 10, PerDay: 100, Concurrent: 100}})
		for range 4 {
			acquireOK(t, a, tenant)
		}
		a.Observe(tenant, http.StatusOK, header("X-MinLimit-Remaining", "9", "X-DayLimit-Remaining", "99"))
		a.Observe(tenant, http.StatusTooManyRequests, header("Retry-After", "0.2", "X-Rate-Limit-Problem", "concurrent", "X-MinLimit-Remaining", "0"))
		a.Observe(tenant, http.StatusOK, header("X-MinLimit-Remaining", "junk"))
		allowedSoon(t, b, tenant) // the 429's pause ends
		for range 5 {
			acquireOK(t, b, tenant)
		}
		assert.Equal(t, ratelimit.ProblemMinute, refused(t, a, tenant).Problem, "4 + 6 calls: only the limiter's own count")
	})
}

// Ensure may run in every replica at once, and again on a schema that exists.
func TestEnsureConcurrentAndRepeated(t *testing.T) {
	pool := testPool(t)
	schema := testSchema(t, pool)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = pglimit.New(pool, pglimit.Options{Schema: schema}).Ensure(t.Context()) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	l := pglimit.New(pool, pglimit.Options{Schema: schema})
	require.NoError(t, l.Ensure(t.Context()))
	acquireOK(t, l, tenant)
}

// A schema name is quoted, never spliced: an odd one works and stays apart.
func TestOddSchemaName(t *testing.T) {
	pool := testPool(t)
	schema := `pglimit_test_odd"; DROP SCHEMA public; --$$$fn$$fn0$` + testSchema(t, pool)
	t.Cleanup(func() {
		_, err := pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		require.NoError(t, err)
	})
	l := pglimit.New(pool, pglimit.Options{Schema: schema, Limits: ratelimit.Options{PerMinute: 1}})
	require.NoError(t, l.Ensure(t.Context()))
	acquireOK(t, l, tenant)
	refused(t, l, tenant)
}

func TestWithoutEnsureAcquireIsUnavailable(t *testing.T) {
	pool := testPool(t)
	l := pglimit.New(pool, pglimit.Options{Schema: testSchema(t, pool)})
	_, err := l.Acquire(t.Context(), tenant)
	require.ErrorIs(t, err, pglimit.ErrUnavailable)
	assert.Contains(t, err.Error(), "does not exist")
}

// Expired slots and tenants idle for a whole day are swept once a window,
// so the tables follow the tenants in use.
func TestSweepDropsIdleTenantsAndExpiredSlots(t *testing.T) {
	s := newShared(t)
	opts := pglimit.Options{
		Limits:  ratelimit.Options{Window: 100 * time.Millisecond, DayWindow: 200 * time.Millisecond},
		SlotTTL: 50 * time.Millisecond,
	}
	l := s.limiter(opts)
	for _, tn := range []string{"org-1", "org-2", "org-3"} {
		_ = acquire(t, l, tn) // never released: the process "died"
	}
	l.Observe("org-4", http.StatusTooManyRequests, header("Retry-After", "3600"))
	require.Equal(t, 4, s.count("tenants"))
	require.Equal(t, 3, s.count("slots"))
	require.Eventually(t, func() bool {
		acquireOK(t, l, "org-5")
		return s.count("tenants") == 2 && s.count("slots") == 0
	}, 10*time.Second, 50*time.Millisecond, "org-1 to org-3 swept, org-4 kept for its pause")
	assert.Equal(t, ratelimit.Problem(""), refused(t, l, "org-4").Problem)
}

// Counting the app's minute, the limiter knows when it frees a call: Xero
// saying none are left pauses every tenant until then, not DefaultPause;
// with an empty window, DefaultPause, as for a tenant's minute.
func TestObservedZeroAppCount(t *testing.T) {
	const window = 300 * time.Millisecond
	for _, callFirst := range []bool{true, false} {
		a, b := pair(t, pglimit.Options{AppPerMinute: 100, Limits: ratelimit.Options{Window: window, DefaultPause: time.Hour}})
		if callFirst {
			acquireOK(t, a, "org-1")
		}
		a.Observe("org-1", http.StatusOK, header("X-AppMinLimit-Remaining", "0"))
		rle := refused(t, b, "org-2")
		assert.Equal(t, ratelimit.ProblemAppMinute, rle.Problem)
		assert.Equal(t, 0, rle.Remaining.AppMinute)
		if !callFirst {
			assert.Greater(t, rle.RetryAfter, 50*time.Minute)
			continue
		}
		assert.LessOrEqual(t, rle.RetryAfter, window+window/120)
		allowedSoon(t, b, "org-2")
	}
}

// Xero counting more of the app's calls than the limiter does (another
// process of the same Xero app, say) raises the app's count to match.
func TestObserveAlignsWithXerosAppCount(t *testing.T) {
	a, b := pair(t, pglimit.Options{AppPerMinute: 10})
	acquireOK(t, a, "org-1")
	a.Observe("org-1", http.StatusOK, header("X-AppMinLimit-Remaining", "3"))
	for _, tn := range []string{"org-2", "org-3", "org-4"} {
		acquireOK(t, b, tn)
	}
	assert.Equal(t, ratelimit.ProblemAppMinute, refused(t, a, "org-5").Problem)

	c, d := pair(t, pglimit.Options{AppPerMinute: -1})
	c.Observe("org-1", http.StatusOK, header("X-AppMinLimit-Remaining", "0"))
	assert.Equal(t, ratelimit.ProblemAppMinute, refused(t, d, "org-2").Problem, "the app's pause applies uncounted")
}
