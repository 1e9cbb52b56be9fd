package ratelimit

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/amsbilling/sdk/internal/ctxwait"
	"github.com/amsbilling/sdk/internal/xerolimit"
)

// Limiter decides whether a call to Xero may go ahead for a tenant, and
// learns from the responses.
type Limiter interface {
	// Acquire reserves one call for tenant before a request is sent. On
	// success the caller must call release once the call has completed;
	// calling release again is a no-op. When the call may not go ahead,
	// Acquire returns a *RateLimitError with Local set and RetryAfter saying
	// when budget returns, or, in waiting mode, blocks until budget is
	// available or ctx is done. A waiting Acquire gives up at once with the
	// *RateLimitError when ctx's deadline comes before the budget does.
	Acquire(ctx context.Context, tenant string) (release func(), err error)

	// Observe records what a response for tenant said, whatever its status.
	Observe(tenant string, status int, h http.Header)
}

// Options configures a Local limiter. Zero fields take Xero's defaults.
type Options struct {
	PerMinute  int           // calls per tenant per Window; default 60
	Window     time.Duration // the rolling "minute"; default 60s
	Concurrent int           // calls in flight per tenant; default 5
	PerDay     int           // calls per tenant per DayWindow; default 5000
	DayWindow  time.Duration // the rolling "day"; default 24h
	Wait       bool          // block until budget returns instead of refusing; for batch jobs
	// Margin widens the minute window the limiter counts in, because it
	// counts a call when the slot is taken and Xero when the request
	// arrives: without it a call granted the instant an old one leaves the
	// window can reach Xero inside Xero's window and draw a 429. Default:
	// Window/60 in waiting mode (a second a minute: 98% of the budget),
	// none in fail-fast mode; negative means none.
	Margin       time.Duration
	DefaultPause time.Duration    // pause after a 429 without Retry-After; default 60s
	Now          func() time.Time // clock; default time.Now
}

// withDefaults returns o with every zero field set to its default: Xero's
// limits (60 a minute, 5 at once, 5,000 a day), a 60 s pause and time.Now.
func (o Options) withDefaults() Options {
	xerolimit.FillDefaults(&o.PerMinute, &o.Window, &o.Concurrent, &o.PerDay, &o.DayWindow, &o.DefaultPause)
	o.Margin = xerolimit.Margin(o.Margin, o.Window, o.Wait)
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// span is the minute window as counted: Window plus Margin.
func (l *Local) span() time.Duration { return l.opts.Window + l.opts.Margin }

// concurrentRetry is the RetryAfter of a concurrency refusal: a release has
// no schedule, but "try again in 1s" is more useful than "later".
const concurrentRetry = time.Second

// Local is an in-process Limiter keeping separate budgets per tenant. It is
// safe for concurrent use; the zero value uses the default Options. Build it
// once and share it: two Locals do not know about each other's calls.
//
// A tenant's state is dropped once it has had no call for a DayWindow and
// has nothing in flight, waiting or paused, so memory follows the tenants
// actually in use.
type Local struct {
	opts Options

	mu             sync.Mutex
	tenants        map[string]*tenantState
	appPausedUntil time.Time // Xero's per-app limit spans every tenant
	appRemaining   Remaining
	lastSweep      time.Time
}

type tenantState struct {
	inFlight    int
	waiting     int
	minute, day window

	pausedUntil    time.Time
	pauseProblem   Problem
	pauseRemaining Remaining

	// released is closed (and cleared) when a call completes, waking waiters.
	released chan struct{}
}

// pause refuses calls until until, keeping whichever pause ends later.
func (s *tenantState) pause(until time.Time, p Problem, rem Remaining) {
	if until.After(s.pausedUntil) {
		s.pausedUntil, s.pauseProblem, s.pauseRemaining = until, p, rem
	}
}

// NewLocal returns an in-process Limiter using opts, with defaults filled in.
func NewLocal(opts Options) *Local {
	return &Local{opts: opts.withDefaults(), tenants: make(map[string]*tenantState)}
}

// Acquire implements Limiter.
func (l *Local) Acquire(ctx context.Context, tenant string) (func(), error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		l.mu.Lock()
		l.init()
		now := l.opts.Now()
		l.sweep(now)
		st := l.state(tenant)
		refusal, untilRelease := l.refusal(tenant, st, now)
		if refusal == nil {
			st.inFlight++
			st.minute.push(now)
			st.day.push(now)
			l.mu.Unlock()
			return l.releaser(st), nil
		}
		if !l.opts.Wait {
			l.mu.Unlock()
			return nil, refusal
		}
		// A concurrency refusal ends at a release, whose time is unknown;
		// any other ends at a known time, so a too-short deadline fails now.
		var wait time.Duration
		if !untilRelease {
			wait = refusal.RetryAfter
			if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
				l.mu.Unlock()
				return nil, refusal
			}
		}
		if st.released == nil {
			st.released = make(chan struct{})
		}
		released := st.released
		st.waiting++
		l.mu.Unlock()

		err := ctxwait.Sleep(ctx, wait, released)

		l.mu.Lock()
		st.waiting--
		l.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
}

func (l *Local) releaser(st *tenantState) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			st.inFlight--
			if st.released != nil {
				close(st.released)
				st.released = nil
			}
		})
	}
}

// refusal says why tenant may not call now, or nil, and whether only a
// release can end it. Of several time-based reasons it reports the one
// lasting longest, so RetryAfter is honest.
func (l *Local) refusal(tenant string, st *tenantState, now time.Time) (*RateLimitError, bool) {
	st.minute.prune(now, l.span())
	st.day.prune(now, l.opts.DayWindow)

	var worst *RateLimitError
	consider := func(until time.Time, p Problem, rem Remaining) {
		d := until.Sub(now)
		if d > 0 && (worst == nil || d > worst.RetryAfter) {
			worst = &RateLimitError{RetryAfter: d, Problem: p, Remaining: rem, Local: true, Tenant: tenant}
		}
	}
	consider(st.pausedUntil, st.pauseProblem, st.pauseRemaining)
	consider(l.appPausedUntil, ProblemAppMinute, l.appRemaining)
	if st.day.n >= l.opts.PerDay {
		consider(st.day.oldest().Add(l.opts.DayWindow), ProblemDay, unknownRemaining())
	}
	if st.minute.n >= l.opts.PerMinute {
		consider(st.minute.oldest().Add(l.span()), ProblemMinute, unknownRemaining())
	}
	if worst != nil {
		return worst, false
	}
	if st.inFlight >= l.opts.Concurrent {
		return &RateLimitError{RetryAfter: concurrentRetry, Problem: ProblemConcurrent, Remaining: unknownRemaining(), Local: true, Tenant: tenant}, true
	}
	return nil, false
}

// Observe implements Limiter. After a 429 the tenant is paused for Xero's
// Retry-After, or Options.DefaultPause when Xero gave none (or zero); a 429
// for the app-wide limit pauses every tenant. On any other response a
// reported count of zero pauses before Xero has to refuse: no daily calls
// left pauses the tenant for an hour (DefaultPause when longer), no minute
// calls left pauses it until the oldest call in the local window leaves it
// (DefaultPause when there is none), and no app-wide calls left pauses
// every tenant for DefaultPause.
//
// On any response but a 429 (whose Retry-After says when Xero's window
// resets), when X-MinLimit-Remaining or X-DayLimit-Remaining says fewer
// calls are left than the tenant's window thinks, the window's count is
// raised to match, since Xero counts calls this limiter never saw
// in windows that reset at times of their own. Raised minute calls are
// counted for a whole window as counted (Window plus Margin), raised day
// calls for an hour (at most DayWindow), after which the next answer says
// again what Xero counts. A higher count from Xero changes nothing.
func (l *Local) Observe(tenant string, status int, h http.Header) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	now := l.opts.Now()
	st := l.state(tenant)
	info := ParseHeaders(h, now)
	for _, p := range xerolimit.Pauses(status, string(info.Problem), info.RetryAfter, info.Remaining.left(), l.opts.DefaultPause) {
		until := now.Add(p.For)
		if p.UntilWindowFrees {
			st.minute.prune(now, l.span())
			if st.minute.n > 0 {
				until = st.minute.oldest().Add(l.span())
			}
		}
		if p.App {
			l.pauseApp(until, info.Remaining)
		} else {
			st.pause(until, Problem(p.Problem), info.Remaining)
		}
	}
	l.align(st, xerolimit.Aligning(status, info.Remaining.left()), now)
}

// align raises the tenant's counts to what Xero reported, when Xero counts
// more: the added calls stay a whole minute window as counted, and
// xerolimit.RaisedDayLife in the day window. l.mu must be held.
func (l *Local) align(st *tenantState, left xerolimit.Left, now time.Time) {
	st.minute.prune(now, l.span())
	if k := xerolimit.Raise(l.opts.PerMinute, st.minute.n, left.Minute); k > 0 {
		st.minute.add(now, k)
	}
	st.day.prune(now, l.opts.DayWindow)
	if k := xerolimit.Raise(l.opts.PerDay, st.day.n, left.Day); k > 0 {
		st.day.add(now.Add(xerolimit.RaisedDayLife(l.opts.DayWindow)-l.opts.DayWindow), k)
	}
}

func (l *Local) pauseApp(until time.Time, rem Remaining) {
	if until.After(l.appPausedUntil) {
		l.appPausedUntil, l.appRemaining = until, rem
	}
}

// init makes the zero Local usable. l.mu must be held.
func (l *Local) init() {
	if l.tenants == nil {
		l.opts = l.opts.withDefaults()
		l.tenants = make(map[string]*tenantState)
	}
}

// state returns tenant's state, creating it. l.mu must be held.
func (l *Local) state(tenant string) *tenantState {
	st, ok := l.tenants[tenant]
	if !ok {
		st = &tenantState{}
		l.tenants[tenant] = st
	}
	return st
}

// sweep drops idle tenants, at most once per Window so Acquire stays cheap.
// l.mu must be held.
func (l *Local) sweep(now time.Time) {
	if !l.lastSweep.IsZero() && now.Sub(l.lastSweep) < l.opts.Window {
		return
	}
	l.lastSweep = now
	for name, st := range l.tenants {
		st.minute.prune(now, l.span())
		st.day.prune(now, l.opts.DayWindow)
		if st.inFlight == 0 && st.waiting == 0 && st.minute.n == 0 && st.day.n == 0 && !st.pausedUntil.After(now) {
			delete(l.tenants, name)
		}
	}
}

// Status is a snapshot of one tenant's budget, for metrics and tests.
type Status struct {
	InFlight    int       // calls acquired and not yet released
	Waiting     int       // Acquire calls blocked in waiting mode
	UsedMinute  int       // calls granted in the current rolling Window
	UsedDay     int       // calls granted in the current rolling DayWindow
	PausedUntil time.Time // zero unless calls are refused until then after Observe
	Problem     Problem   // the limit behind PausedUntil
}

// Status reports tenant's current budget. An unknown tenant has a zero
// Status, apart from any app-wide pause.
func (l *Local) Status(tenant string) Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	now := l.opts.Now()
	var s Status
	if st, ok := l.tenants[tenant]; ok {
		st.minute.prune(now, l.span())
		st.day.prune(now, l.opts.DayWindow)
		s = Status{InFlight: st.inFlight, Waiting: st.waiting, UsedMinute: st.minute.n, UsedDay: st.day.n}
		if st.pausedUntil.After(now) {
			s.PausedUntil, s.Problem = st.pausedUntil, st.pauseProblem
		}
	}
	if l.appPausedUntil.After(now) && l.appPausedUntil.After(s.PausedUntil) {
		s.PausedUntil, s.Problem = l.appPausedUntil, ProblemAppMinute
	}
	return s
}
