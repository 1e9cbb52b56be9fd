package redislimit

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	randv2 "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/amsbilling/sdk/internal/ctxwait"
	"github.com/amsbilling/sdk/internal/xerolimit"
	"github.com/amsbilling/sdk/ratelimit"
)

// DefaultKeyPrefix starts every key the Limiter writes.
const DefaultKeyPrefix = "amsbilling:ratelimit:"

const (
	// concurrentRetry is the RetryAfter of a concurrency refusal: a release
	// has no schedule, but "try again in 1s" is more useful than "later".
	concurrentRetry = time.Second
	// A waiting Acquire polls Redis for a free concurrency slot, since other
	// processes' releases cannot wake it; local releases do.
	minPoll = 20 * time.Millisecond
	maxPoll = 250 * time.Millisecond
	// The defaults of Options.AcquireTimeout and Options.Timeout: well under
	// a second, since a call to Xero waits on them.
	defaultAcquireTimeout = 500 * time.Millisecond
	defaultTimeout        = 500 * time.Millisecond
)

// Options configures a Limiter. Zero fields take the defaults, which are
// Xero's limits as in ratelimit.Options. Every process sharing a tenant's
// budget must use the same limits and KeyPrefix.
type Options struct {
	// Limits are the per-tenant limits, the waiting mode, the Margin and
	// the pause after a 429, as for ratelimit.Local; zero fields take
	// Xero's, and the Margin the same default (Window/60 when waiting). Its
	// Now is not used: Redis's clock counts, so every process agrees.
	Limits ratelimit.Options
	// KeyPrefix starts every key; default DefaultKeyPrefix. Xero's limits
	// are per app, so Xero apps sharing one Redis need different prefixes.
	KeyPrefix string
	// SlotTTL is how long a concurrency slot is held when its process dies
	// before releasing it; default 2m. It must exceed the longest attempt
	// of a call (xero.Client bounds an attempt to 30s by default).
	SlotTTL time.Duration
	// FailOpen decides what Acquire does when Redis cannot be asked: false
	// (the default) returns an *UnavailableError; true allows the call
	// unlimited and logs a warning once per outage.
	FailOpen bool
	// AcquireTimeout bounds the Redis calls of one Acquire attempt (a
	// waiting Acquire's sleeps are not counted); default 500ms. When it
	// passes, Acquire answers as for an unreachable Redis: an
	// *UnavailableError, or with FailOpen a grant. See Bounds in the
	// package documentation for the Redis client options that go with it.
	AcquireTimeout time.Duration
	// Timeout bounds the Redis writes of release and Observe, which run on
	// the caller's goroutine after each response but cannot use its
	// context; default 500ms. A failure is logged.
	Timeout time.Duration
	// Logger receives warnings about Redis failures; default: discarded.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	l := &o.Limits
	xerolimit.FillDefaults(&l.PerMinute, &l.Window, &l.Concurrent, &l.PerDay, &l.DayWindow, &l.DefaultPause)
	l.Margin = xerolimit.Margin(l.Margin, l.Window, l.Wait)
	if o.KeyPrefix == "" {
		o.KeyPrefix = DefaultKeyPrefix
	}
	if o.SlotTTL <= 0 {
		o.SlotTTL = 2 * time.Minute
	}
	if o.AcquireTimeout <= 0 {
		o.AcquireTimeout = defaultAcquireTimeout
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Limiter is a ratelimit.Limiter whose budgets live in Redis, so every
// process using the same Redis and KeyPrefix shares each tenant's limits.
// It is safe for concurrent use. Build it with New.
type Limiter struct {
	client redis.UniversalClient
	opts   Options
	log    *slog.Logger

	// degraded is set while FailOpen lets calls through, so an outage is
	// logged once rather than per call.
	degraded atomic.Bool

	mu sync.Mutex
	// released is closed (and cleared) when a call of this process
	// completes, waking its waiters at once.
	released chan struct{}
}

var _ ratelimit.Limiter = (*Limiter)(nil)

// New returns a Limiter using client, with defaults filled into opts. It
// makes no call: a Redis that cannot be reached shows up in Acquire.
func New(client redis.UniversalClient, opts Options) *Limiter {
	opts = opts.withDefaults()
	return &Limiter{client: client, opts: opts, log: opts.Logger}
}

// Acquire implements ratelimit.Limiter. It runs one atomic script for the
// tenant (after reading the app-wide pause), refusing with a
// *ratelimit.RateLimitError with Local set while the tenant or the app is
// paused, while all concurrency slots are taken, or while the minute or day
// window is full. A granted call takes a slot that release gives back; a slot
// never released expires after Options.SlotTTL.
//
// When Redis cannot be asked, Acquire returns an *UnavailableError, or with
// Options.FailOpen allows the call. A context that ends first gives its
// error.
// span is the minute window as counted, as ratelimit.Local counts it:
// Window plus Margin.
func (l *Limiter) span() time.Duration { return l.opts.Limits.Window + l.opts.Limits.Margin }

func (l *Limiter) Acquire(ctx context.Context, tenant string) (func(), error) {
	poll := minPoll
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		release, refusal, untilRelease, err := l.try(ctx, tenant)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, ctxErr
			}
			return l.unavailable(ctx, tenant, err)
		}
		if l.degraded.CompareAndSwap(true, false) {
			l.log.InfoContext(ctx, "redislimit: Redis reachable again; rate limiting resumed")
		}
		if refusal == nil {
			return release, nil
		}
		if !l.opts.Limits.Wait {
			return nil, refusal
		}
		// A concurrency refusal ends at some release, maybe in another
		// process, so poll; any other ends at a known time, so a deadline
		// before it fails now.
		var wait time.Duration
		var released <-chan struct{}
		if untilRelease {
			wait = poll + randv2.N(poll/2)
			poll = min(2*poll, maxPoll)
			released = l.releasedChan()
		} else {
			wait = refusal.RetryAfter
			if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
				return nil, refusal
			}
		}
		if err := ctxwait.Sleep(ctx, wait, released); err != nil {
			return nil, err
		}
	}
}

// attempt is what one ask of Redis found.
type attempt struct {
	release      func()
	refusal      *ratelimit.RateLimitError
	untilRelease bool
}

// try asks Redis once, within Options.AcquireTimeout. It returns release on
// a grant, or the refusal and whether only a release can end it. A grant
// that comes after the bound gave up is released at once.
func (l *Limiter) try(ctx context.Context, tenant string) (func(), *ratelimit.RateLimitError, bool, error) {
	if l.client == nil {
		return nil, nil, false, errors.New("no Redis client")
	}
	a, err := bounded(ctx, l.opts.AcquireTimeout, func(ctx context.Context) (attempt, error) {
		release, refusal, untilRelease, err := l.tryOnce(ctx, tenant)
		return attempt{release, refusal, untilRelease}, err
	}, func(late attempt, err error) {
		if err == nil && late.release != nil {
			late.release()
		}
	})
	return a.release, a.refusal, a.untilRelease, err
}

// tryOnce runs the scripts of one try.
func (l *Limiter) tryOnce(ctx context.Context, tenant string) (func(), *ratelimit.RateLimitError, bool, error) {
	appRes, err := appPauseScript.Run(ctx, l.client, []string{l.appPauseKey()}).Slice()
	if err != nil {
		return nil, nil, false, err
	}
	appMS, appValue, err := parseAppPause(appRes)
	if err != nil {
		return nil, nil, false, err
	}

	k := l.keys(tenant)
	id := rand.Text()
	res, err := acquireScript.Run(ctx, l.client,
		[]string{k.minute, k.day, k.slots, k.pause},
		l.opts.Limits.PerMinute, l.span().Microseconds(),
		l.opts.Limits.PerDay, l.opts.Limits.DayWindow.Microseconds(),
		l.opts.Limits.Concurrent, l.opts.SlotTTL.Microseconds(),
		id, appMS*1000,
	).Slice()
	if err != nil {
		return nil, nil, false, err
	}
	code, ok := res[0].(int64)
	if !ok {
		return nil, nil, false, fmt.Errorf("unexpected script reply %v", res)
	}
	switch {
	case code == 0:
		return l.releaser(ctx, k.slots, id), nil, false, nil
	case code == 2:
		return nil, &ratelimit.RateLimitError{
			RetryAfter: concurrentRetry, Problem: ratelimit.ProblemConcurrent,
			Remaining: unknownRemaining(), Local: true, Tenant: tenant,
		}, true, nil
	case code == 1 && len(res) == 4:
		refusal, err := refusalFrom(tenant, res, appValue)
		return nil, refusal, false, err
	}
	return nil, nil, false, fmt.Errorf("unexpected script reply %v", res)
}

func parseAppPause(res []any) (int64, string, error) {
	if len(res) == 2 {
		ms, ok1 := res[0].(int64)
		v, ok2 := res[1].(string)
		if ok1 && ok2 {
			return ms, v, nil
		}
	}
	return 0, "", fmt.Errorf("unexpected script reply %v", res)
}

// refusalFrom builds the refusal for a time-based reply {1, µs, kind, value}.
func refusalFrom(tenant string, res []any, appValue string) (*ratelimit.RateLimitError, error) {
	usText, _ := res[1].(string)
	kind, _ := res[2].(string)
	value, _ := res[3].(string)
	us, err := strconv.ParseInt(usText, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("unexpected script reply %v", res)
	}
	e := &ratelimit.RateLimitError{
		RetryAfter: time.Duration(us) * time.Microsecond,
		Remaining:  unknownRemaining(), Local: true, Tenant: tenant,
	}
	switch kind {
	case "pause":
		e.Problem, e.Remaining = decodePause(value)
	case "app":
		_, e.Remaining = decodePause(appValue)
		e.Problem = ratelimit.ProblemAppMinute
	case "day":
		e.Problem = ratelimit.ProblemDay
	case "minute":
		e.Problem = ratelimit.ProblemMinute
	default:
		return nil, fmt.Errorf("unexpected script reply %v", res)
	}
	return e, nil
}

// unavailable answers an Acquire whose Redis call failed.
func (l *Limiter) unavailable(ctx context.Context, tenant string, err error) (func(), error) {
	if !l.opts.FailOpen {
		return nil, &UnavailableError{Tenant: tenant, Err: err}
	}
	if l.degraded.CompareAndSwap(false, true) {
		l.log.WarnContext(ctx, "redislimit: Redis unavailable; allowing calls without rate limiting (FailOpen)",
			slog.String("tenant", tenant), slog.String("error", err.Error()))
	}
	return func() {}, nil
}

// releaser returns the release of the slot id. It outlives the caller's
// context, so it keeps only its values, under Options.Timeout.
func (l *Limiter) releaser(ctx context.Context, slots, id string) func() {
	ctx = context.WithoutCancel(ctx)
	var once sync.Once
	return func() {
		once.Do(func() {
			_, err := bounded(ctx, l.opts.Timeout, func(ctx context.Context) (struct{}, error) {
				return struct{}{}, l.client.ZRem(ctx, slots, id).Err()
			}, nil)
			if err != nil {
				l.log.WarnContext(ctx, "redislimit: releasing a concurrency slot failed; it expires after SlotTTL",
					slog.Duration("slot_ttl", l.opts.SlotTTL), slog.String("error", err.Error()))
			}
			l.wake()
		})
	}
}

func (l *Limiter) releasedChan() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released == nil {
		l.released = make(chan struct{})
	}
	return l.released
}

func (l *Limiter) wake() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released != nil {
		close(l.released)
		l.released = nil
	}
}

// Observe implements ratelimit.Limiter with ratelimit.Local's rules, shared
// through Redis: after a 429 the tenant is paused for Xero's Retry-After, or
// Options.DefaultPause when Xero gave none, and a 429 for the app-wide limit
// pauses every tenant. On any other response a reported count of zero pauses
// before Xero has to refuse: no daily calls left pauses the tenant for an
// hour (DefaultPause when longer), no minute calls left pauses it until the
// oldest call in the shared window leaves it (DefaultPause when there is
// none), and no app-wide calls left pauses every tenant for DefaultPause. A
// pause never shortens a longer one. On any response but a 429, when Xero
// reports fewer minute or day calls left than the shared window thinks, the
// window's count is raised to match, as ratelimit.Local does: raised minute
// calls stay a whole window as counted, raised day calls an hour (at most
// DayWindow).
//
// Observe writes when a pause is due or when Xero reports a count below the
// limit (nearly every answer: one script call), synchronously and bounded
// by Options.Timeout (see Bounds in the package documentation); a failure
// is logged.
func (l *Limiter) Observe(tenant string, status int, h http.Header) {
	if l.client == nil {
		return
	}
	info := ratelimit.ParseHeaders(h, time.Now())
	left := xerolimit.Left{Minute: info.Remaining.Minute, Day: info.Remaining.Day, AppMinute: info.Remaining.AppMinute}
	pauses := xerolimit.Pauses(status, string(info.Problem), info.RetryAfter, left, l.opts.Limits.DefaultPause)
	align := xerolimit.Aligning(status, left)
	lim := l.opts.Limits
	// A count of the whole limit or more cannot raise ours: no call to make.
	mayRaise := (align.Minute >= 0 && align.Minute < lim.PerMinute) || (align.Day >= 0 && align.Day < lim.PerDay)
	if len(pauses) == 0 && !mayRaise {
		return
	}
	k := l.keys(tenant)
	_, err := bounded(context.Background(), l.opts.Timeout, func(ctx context.Context) (struct{}, error) {
		var errs []error
		for _, p := range pauses {
			keys := []string{k.pause}
			if p.App {
				keys[0] = l.appPauseKey()
			}
			var window int64
			if p.UntilWindowFrees {
				keys = append(keys, k.minute)
				window = l.span().Microseconds()
			}
			ms := (p.For + time.Millisecond - 1) / time.Millisecond
			value := encodePause(ratelimit.Problem(p.Problem), info.Remaining)
			if err := pauseScript.Run(ctx, l.client, keys, int64(ms), value, window).Err(); err != nil {
				errs = append(errs, fmt.Errorf("%s pause of %v: %w", p.Problem, p.For, err))
			}
		}
		// After the pauses, as Local does: a pause until the window frees
		// reads the window as it was.
		if mayRaise {
			err := alignScript.Run(ctx, l.client, []string{k.minute, k.day},
				lim.PerMinute, l.span().Microseconds(), align.Minute,
				lim.PerDay, lim.DayWindow.Microseconds(), align.Day,
				xerolimit.RaisedDayLife(lim.DayWindow).Microseconds(), "raised:"+rand.Text(),
			).Err()
			if err != nil {
				errs = append(errs, fmt.Errorf("aligning with Xero's counts: %w", err))
			}
		}
		return struct{}{}, errors.Join(errs...)
	}, nil)
	if err != nil {
		l.log.Warn("redislimit: recording what Xero's answer said failed",
			slog.String("tenant", tenant), slog.String("error", err.Error()))
	}
}

// encodePause stores what a pause's refusal reports: the counts Xero sent,
// then the problem, which is printable ASCII and so may hold spaces only.
func encodePause(p ratelimit.Problem, r ratelimit.Remaining) string {
	return fmt.Sprintf("%d %d %d %d %d %s", r.Minute, r.Day, r.AppMinute, r.Limit, r.Legacy, string(p))
}

// decodePause reverses encodePause; a value it cannot read gives an unknown
// problem and counts.
func decodePause(v string) (ratelimit.Problem, ratelimit.Remaining) {
	f := strings.SplitN(v, " ", 6)
	if len(f) != 6 {
		return "", unknownRemaining()
	}
	var n [5]int
	for i := range n {
		x, err := strconv.Atoi(f[i])
		if err != nil {
			return "", unknownRemaining()
		}
		n[i] = x
	}
	return ratelimit.Problem(f[5]), ratelimit.Remaining{Minute: n[0], Day: n[1], AppMinute: n[2], Limit: n[3], Legacy: n[4]}
}

// unknownRemaining is a Remaining with nothing reported, as ratelimit uses.
func unknownRemaining() ratelimit.Remaining {
	return ratelimit.Remaining{Minute: -1, Day: -1, AppMinute: -1, Limit: -1, Legacy: -1}
}
