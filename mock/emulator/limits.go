package emulator

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/amsbilling/sdk/internal/xerolimit"
)

// Limits are the API limits the emulator enforces, counted the way Xero
// counts them. Zero fields take Xero's numbers (package xerolimit): 60
// calls a minute, 5 at once and 5,000 a day per tenant, 10,000 a minute
// for the app.
//
// Windows are fixed, not rolling, as Xero's are ("counted against a fixed
// window which will reset at different times for each tenant"): a tenant's
// minute window opens at its first call and resets every Window after that,
// whenever the calls came; its day window likewise every DayWindow. The
// app's minute window opens at the app's first call. A call counts when it
// arrives (by Options.Now), and a refused call counts against no limit.
type Limits struct {
	// PerMinute is how many calls a tenant may make per Window.
	PerMinute int
	// Window is the length of the "minute"; tests shorten it.
	Window time.Duration
	// Concurrent is how many calls a tenant may have in flight.
	Concurrent int
	// PerDay is how many calls a tenant may make per DayWindow.
	PerDay int
	// DayWindow is the length of the "day".
	DayWindow time.Duration
	// AppPerMinute is how many calls the app, all tenants together, may
	// make per Window.
	AppPerMinute int
}

func (l Limits) withDefaults() Limits {
	if l.PerMinute <= 0 {
		l.PerMinute = xerolimit.PerMinute
	}
	if l.Window <= 0 {
		l.Window = xerolimit.Minute
	}
	if l.Concurrent <= 0 {
		l.Concurrent = xerolimit.Concurrent
	}
	if l.PerDay <= 0 {
		l.PerDay = xerolimit.PerDay
	}
	if l.DayWindow <= 0 {
		l.DayWindow = xerolimit.Day
	}
	if l.AppPerMinute <= 0 {
		l.AppPerMinute = xerolimit.AppPerMinute
	}
	return l
}

// fixedWindow counts calls in a window that opens at the first call and
// resets at fixed boundaries after it.
type fixedWindow struct {
	start time.Time // zero until the first call
	used  int
}

// roll moves the window to the one now falls in, keeping its boundaries.
func (w *fixedWindow) roll(now time.Time, length time.Duration) {
	if w.start.IsZero() {
		return
	}
	if elapsed := now.Sub(w.start); elapsed >= length {
		w.start = w.start.Add(elapsed / length * length)
		w.used = 0
	}
}

func (w *fixedWindow) count(now time.Time) {
	if w.start.IsZero() {
		w.start = now
	}
	w.used++
}

// resetIn is how long until the window resets, as seen at now.
func (w *fixedWindow) resetIn(now time.Time, length time.Duration) time.Duration {
	if w.start.IsZero() {
		return 0
	}
	return w.start.Add(length).Sub(now)
}

type tenantLimits struct {
	minute, day fixedWindow
	inFlight    int
}

// limiter enforces Limits. It has its own lock, so a call waiting on e.mu
// never holds up the counting of another.
type limiter struct {
	lim Limits

	mu      sync.Mutex
	app     fixedWindow
	tenants map[string]*tenantLimits
}

func newLimiter(l Limits) *limiter {
	return &limiter{lim: l.withDefaults(), tenants: make(map[string]*tenantLimits)}
}

// admit counts a call for tenant that arrived at now. It returns the
// function that ends the call (freeing its concurrency slot) and the
// headers to answer with, or, when a limit is spent, the 429 to answer.
func (l *limiter) admit(tenant string, now time.Time) (func(), http.Header, *reply) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.tenants[tenant]
	if t == nil {
		t = &tenantLimits{}
		l.tenants[tenant] = t
	}
	t.minute.roll(now, l.lim.Window)
	t.day.roll(now, l.lim.DayWindow)
	l.app.roll(now, l.lim.Window)

	// The longest wait first, so Retry-After is honest.
	var problem string
	var wait time.Duration
	switch {
	case t.day.used >= l.lim.PerDay:
		problem, wait = xerolimit.ProblemDay, t.day.resetIn(now, l.lim.DayWindow)
	case t.minute.used >= l.lim.PerMinute:
		problem, wait = xerolimit.ProblemMinute, t.minute.resetIn(now, l.lim.Window)
	case l.app.used >= l.lim.AppPerMinute:
		problem, wait = xerolimit.ProblemAppMinute, l.app.resetIn(now, l.lim.Window)
	case t.inFlight >= l.lim.Concurrent:
		problem, wait = xerolimit.ProblemConcurrent, time.Second // no window: a call in flight will end soon
	}
	if problem != "" {
		rp := textReply(http.StatusTooManyRequests, "Rate limit exceeded")
		rp.header = l.headers(t)
		secs := int64((wait + time.Second - 1) / time.Second)
		rp.header.Set(xerolimit.HeaderRetryAfter, strconv.FormatInt(max(secs, 1), 10))
		rp.header.Set(xerolimit.HeaderProblem, problem)
		return nil, nil, &rp
	}

	t.minute.count(now)
	t.day.count(now)
	l.app.count(now)
	t.inFlight++
	var once sync.Once
	release := func() {
		once.Do(func() {
			l.mu.Lock()
			t.inFlight--
			l.mu.Unlock()
		})
	}
	return release, l.headers(t), nil
}

// headers reports the tenant's and the app's remaining calls as Xero does.
// l.mu must be held.
func (l *limiter) headers(t *tenantLimits) http.Header {
	h := http.Header{}
	h.Set(xerolimit.HeaderMinLimitRemaining, strconv.Itoa(max(l.lim.PerMinute-t.minute.used, 0)))
	h.Set(xerolimit.HeaderDayLimitRemaining, strconv.Itoa(max(l.lim.PerDay-t.day.used, 0)))
	h.Set(xerolimit.HeaderAppMinLimitRemaining, strconv.Itoa(max(l.lim.AppPerMinute-l.app.used, 0)))
	return h
}
