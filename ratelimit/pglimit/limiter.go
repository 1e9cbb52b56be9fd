package pglimit

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	randv2 "math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/amsbilling/sdk/internal/ctxwait"
	"github.com/amsbilling/sdk/internal/xerolimit"
	"github.com/amsbilling/sdk/ratelimit"
)

// DefaultSchema holds the Limiter's tables and functions unless
// Options.Schema names another.
const DefaultSchema = "amsbilling_ratelimit"

const (
	// concurrentRetry is the RetryAfter of a concurrency refusal: a release
	// has no schedule, but "try again in 1s" is more useful than "later".
	concurrentRetry = time.Second
	// A waiting Acquire polls for a free concurrency slot, since other
	// processes' releases cannot wake it; local releases do.
	minPoll = 20 * time.Millisecond
	maxPoll = 250 * time.Millisecond
	// The defaults of Options.AcquireTimeout and Options.Timeout: well under
	// a second, since a call to Xero waits on them.
	defaultAcquireTimeout = 500 * time.Millisecond
	defaultTimeout        = 500 * time.Millisecond
)

// DB is what the Limiter needs of PostgreSQL: *pgxpool.Pool has it. It must
// be safe for concurrent use, so a single *pgx.Conn will not do.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Options configures a Limiter. Zero fields take the defaults, which are
// Xero's limits as in ratelimit.Options. Every process sharing a tenant's
// budget must use the same limits and Schema.
type Options struct {
	// Limits are the per-tenant limits, the waiting mode, the Margin and
	// the pause after a 429, as for ratelimit.Local; zero fields take
	// Xero's, and the Margin the same default (Window/60 when waiting). Its
	// Now is not used: the database server's clock counts, so every
	// process agrees.
	Limits ratelimit.Options
	// AppPerMinute is how many calls the app may make per Limits.Window
	// across all its tenants, counted like a tenant's minute (Window plus
	// Margin); default Xero's 10,000. Negative: not counted, though Xero's
	// app-wide 429 still pauses every tenant.
	AppPerMinute int
	// Schema holds the tables and functions (see Ensure); default
	// DefaultSchema. Xero's limits are per app, so Xero apps sharing one
	// database need different schemas. PostgreSQL keeps 63 bytes of a name.
	Schema string
	// SlotTTL is how long a concurrency slot is held when its process dies
	// before releasing it; default 2m. It must exceed the longest attempt
	// of a call (xero.Client bounds an attempt to 30s by default).
	SlotTTL time.Duration
	// FailOpen decides what Acquire does when PostgreSQL cannot be asked:
	// false (the default) returns an *UnavailableError; true allows the
	// call unlimited and logs a warning once per outage.
	FailOpen bool
	// AcquireTimeout bounds the database call of one Acquire attempt (a
	// waiting Acquire's sleeps are not counted); default 500ms. When it
	// passes, Acquire answers as for an unreachable database: an
	// *UnavailableError, or with FailOpen a grant.
	AcquireTimeout time.Duration
	// Timeout bounds the database writes of release and Observe, which run
	// on the caller's goroutine after each response but cannot use its
	// context; default 500ms. A failure is logged.
	Timeout time.Duration
	// Logger receives warnings about database failures; default: discarded.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	l := &o.Limits
	xerolimit.FillDefaults(&l.PerMinute, &l.Window, &l.Concurrent, &l.PerDay, &l.DayWindow, &l.DefaultPause)
	l.Margin = xerolimit.Margin(l.Margin, l.Window, l.Wait)
	switch {
	case o.AppPerMinute == 0:
		o.AppPerMinute = xerolimit.AppPerMinute
	case o.AppPerMinute < 0:
		o.AppPerMinute = 0
	}
	if o.Schema == "" {
		o.Schema = DefaultSchema
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

// Limiter is a ratelimit.Limiter whose budgets live in PostgreSQL, so every
// process using the same database and Schema shares each tenant's limits
// and the app's. It is safe for concurrent use. Build it with New and call
// Ensure once before use.
type Limiter struct {
	db     DB
	opts   Options
	log    *slog.Logger
	schema string // quoted
	sql    statements

	// degraded is set while FailOpen lets calls through, so an outage is
	// logged once rather than per call.
	degraded atomic.Bool

	mu sync.Mutex
	// released is closed (and cleared) when a call of this process
	// completes, waking its waiters at once.
	released chan struct{}
}

// statements are the Limiter's SQL, each one round trip.
type statements struct{ acquire, release, observe string }

var _ ratelimit.Limiter = (*Limiter)(nil)

// New returns a Limiter using db, with defaults filled into opts. It makes
// no call: a database that cannot be reached shows up in Ensure or Acquire.
func New(db DB, opts Options) *Limiter {
	opts = opts.withDefaults()
	s := pgx.Identifier{opts.Schema}.Sanitize()
	return &Limiter{
		db: db, opts: opts, log: opts.Logger, schema: s,
		sql: statements{
			acquire: "SELECT code, wait_us, kind, problem, remaining FROM " + s + ".acquire($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
			release: "SELECT " + s + ".release($1, $2)",
			observe: "SELECT " + s + ".observe($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
		},
	}
}

// span is the minute window as counted, as ratelimit.Local counts it:
// Window plus Margin.
func (l *Limiter) span() time.Duration { return l.opts.Limits.Window + l.opts.Limits.Margin }

// micros converts d to whole microseconds, at least 1.
func micros(d time.Duration) int64 { return max(d.Microseconds(), 1) }

// Acquire implements ratelimit.Limiter. It runs one database function for
// the tenant, refusing with a *ratelimit.RateLimitError with Local set while
// the tenant or the app is paused, while the tenant's minute or day window
// or the app's minute window is full, or while all the tenant's concurrency
// slots are taken. A granted call takes a slot that release gives back; a
// slot never released expires after Options.SlotTTL.
//
// When PostgreSQL cannot be asked, Acquire returns an *UnavailableError, or
// with Options.FailOpen allows the call. A context that ends first gives its
// error.
func (l *Limiter) Acquire(ctx context.Context, tenant string) (func(), error) {
	poll := minPoll
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		a, err := l.try(ctx, tenant)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, ctxErr
			}
			return l.unavailable(ctx, tenant, err)
		}
		if l.degraded.CompareAndSwap(true, false) {
			l.log.InfoContext(ctx, "pglimit: PostgreSQL reachable again; rate limiting resumed")
		}
		if a.refusal == nil {
			return a.release, nil
		}
		if !l.opts.Limits.Wait {
			return nil, a.refusal
		}
		// A concurrency refusal ends at some release, maybe in another
		// process, so poll; any other ends at a known time, so a deadline
		// before it fails now.
		var wait time.Duration
		var released <-chan struct{}
		if a.untilRelease {
			wait = poll + randv2.N(poll/2)
			poll = min(2*poll, maxPoll)
			released = l.releasedChan()
		} else {
			wait = a.refusal.RetryAfter
			if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
				return nil, a.refusal
			}
		}
		if err := ctxwait.Sleep(ctx, wait, released); err != nil {
			return nil, err
		}
	}
}

// attempt is what one ask of the database found: a release on a grant, or
// the refusal and whether only a release can end it.
type attempt struct {
	release      func()
	refusal      *ratelimit.RateLimitError
	untilRelease bool
}

// try asks the database once, within Options.AcquireTimeout. A grant that
// comes after the bound gave up is released at once; when the bound passed
// with no answer, the slot the call would have taken is released too, in
// case the database recorded the grant after all.
func (l *Limiter) try(ctx context.Context, tenant string) (attempt, error) {
	if l.db == nil {
		return attempt{}, errNoDB
	}
	id := rand.Text()
	a, err := bounded(ctx, l.opts.AcquireTimeout, func(ctx context.Context) (attempt, error) {
		return l.tryOnce(ctx, tenant, id)
	}, func(late attempt, err error) {
		if err == nil && late.release != nil {
			late.release()
		}
	})
	var te *timeoutError
	if errors.As(err, &te) {
		go l.releaseSlot(context.WithoutCancel(ctx), tenant, id, false)
	}
	return a, err
}

func (l *Limiter) tryOnce(ctx context.Context, tenant, id string) (attempt, error) {
	lim := l.opts.Limits
	var (
		code          int
		waitUS        int64
		kind, problem string
		remaining     []int
	)
	err := l.db.QueryRow(ctx, l.sql.acquire,
		tenant, id,
		lim.PerMinute, micros(l.span()),
		lim.PerDay, micros(lim.DayWindow), micros(lim.DayWindow/dayBuckets),
		lim.Concurrent, micros(l.opts.SlotTTL),
		l.opts.AppPerMinute, micros(lim.Window/appMinuteBuckets),
		micros(l.opts.AcquireTimeout),
	).Scan(&code, &waitUS, &kind, &problem, &remaining)
	if err != nil {
		return attempt{}, err
	}
	switch code {
	case 0:
		return attempt{release: l.releaser(ctx, tenant, id)}, nil
	case 2:
		return attempt{refusal: &ratelimit.RateLimitError{
			RetryAfter: concurrentRetry, Problem: ratelimit.ProblemConcurrent,
			Remaining: unknownRemaining(), Local: true, Tenant: tenant,
		}, untilRelease: true}, nil
	case 1:
		e := &ratelimit.RateLimitError{
			RetryAfter: time.Duration(waitUS) * time.Microsecond,
			Remaining:  unknownRemaining(), Local: true, Tenant: tenant,
		}
		switch kind {
		case "pause":
			e.Problem, e.Remaining = ratelimit.Problem(problem), remainingFrom(remaining)
		case "app":
			e.Problem, e.Remaining = ratelimit.ProblemAppMinute, remainingFrom(remaining)
		case "appcount":
			e.Problem = ratelimit.ProblemAppMinute
		case "day":
			e.Problem = ratelimit.ProblemDay
		case "minute":
			e.Problem = ratelimit.ProblemMinute
		default:
			return attempt{}, fmt.Errorf("unexpected answer from %s.acquire: refusal kind %q", l.schema, kind)
		}
		return attempt{refusal: e}, nil
	}
	return attempt{}, fmt.Errorf("unexpected answer from %s.acquire: code %d", l.schema, code)
}

// unavailable answers an Acquire whose database call failed.
func (l *Limiter) unavailable(ctx context.Context, tenant string, err error) (func(), error) {
	if !l.opts.FailOpen {
		return nil, &UnavailableError{Tenant: tenant, Err: err}
	}
	if l.degraded.CompareAndSwap(false, true) {
		l.log.WarnContext(ctx, "pglimit: PostgreSQL unavailable; allowing calls without rate limiting (FailOpen)",
			slog.String("tenant", tenant), slog.String("error", err.Error()))
	}
	return func() {}, nil
}

// releaser returns the release of the slot id. It outlives the caller's
// context, so it keeps only its values, under Options.Timeout.
func (l *Limiter) releaser(ctx context.Context, tenant, id string) func() {
	ctx = context.WithoutCancel(ctx)
	var once sync.Once
	return func() {
		once.Do(func() {
			l.releaseSlot(ctx, tenant, id, true)
			l.wake()
		})
	}
}

// releaseSlot deletes the slot id, logging a failure when warn is set.
func (l *Limiter) releaseSlot(ctx context.Context, tenant, id string, warn bool) {
	_, err := bounded(ctx, l.opts.Timeout, func(ctx context.Context) (struct{}, error) {
		_, err := l.db.Exec(ctx, l.sql.release, tenant, id)
		return struct{}{}, err
	}, nil)
	if err != nil && warn {
		l.log.WarnContext(ctx, "pglimit: releasing a concurrency slot failed; it expires after SlotTTL",
			slog.String("tenant", tenant), slog.Duration("slot_ttl", l.opts.SlotTTL), slog.String("error", err.Error()))
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
// through PostgreSQL: after a 429 the tenant is paused for Xero's
// Retry-After, or Options.DefaultPause when Xero gave none, and a 429 for
// the app-wide limit pauses every tenant. On any other response a reported
// count of zero pauses before Xero has to refuse: no daily calls left pauses
// the tenant for an hour (DefaultPause when longer), no minute calls left
// pauses it until the oldest call in the shared window leaves it
// (DefaultPause when there is none), and no app-wide calls left pauses every
// tenant for DefaultPause, or, while the limiter counts the app's calls
// (Options.AppPerMinute), until the oldest of them leaves the app's window.
// A pause never shortens a longer one. On any response but a 429, when Xero
// reports fewer minute or day calls left than the shared window thinks, the
// window's count is raised to match, as ratelimit.Local does: raised minute
// calls stay a whole window as counted, raised day calls about an hour (at
// most DayWindow); so is the app's count when counted, from
// X-AppMinLimit-Remaining.
//
// Observe writes when a pause is due or when Xero reports a count below the
// limit (nearly every answer: one function call), synchronously and bounded
// by Options.Timeout; a failure is logged.
func (l *Limiter) Observe(tenant string, status int, h http.Header) {
	if l.db == nil {
		return
	}
	info := ratelimit.ParseHeaders(h, time.Now())
	left := xerolimit.Left{Minute: info.Remaining.Minute, Day: info.Remaining.Day, AppMinute: info.Remaining.AppMinute}
	pauses := xerolimit.Pauses(status, string(info.Problem), info.RetryAfter, left, l.opts.Limits.DefaultPause)
	align := xerolimit.Aligning(status, left)
	lim := l.opts.Limits
	counted := l.opts.AppPerMinute > 0
	// A count of the whole limit or more cannot raise ours: no call to make.
	mayRaise := (align.Minute >= 0 && align.Minute < lim.PerMinute) || (align.Day >= 0 && align.Day < lim.PerDay) ||
		(counted && align.AppMinute >= 0 && align.AppMinute < l.opts.AppPerMinute)
	if len(pauses) == 0 && !mayRaise {
		return
	}
	var (
		app, untilFrees []bool
		problems        []string
		fors            []int64
	)
	for _, p := range pauses {
		app = append(app, p.App)
		// Counting the app's minute, the limiter knows when it frees a
		// call, as it knows the tenant's: no app calls left on an answer
		// but a 429 (whose Retry-After says when) pauses until then.
		untilFrees = append(untilFrees, p.UntilWindowFrees || (p.App && counted && status != http.StatusTooManyRequests))
		problems = append(problems, p.Problem)
		fors = append(fors, micros(p.For))
	}
	r := info.Remaining
	_, err := bounded(context.Background(), l.opts.Timeout, func(ctx context.Context) (struct{}, error) {
		_, err := l.db.Exec(ctx, l.sql.observe,
			tenant, app, problems, fors, untilFrees,
			[]int{r.Minute, r.Day, r.AppMinute, r.Limit, r.Legacy},
			lim.PerMinute, micros(l.span()), align.Minute,
			lim.PerDay, micros(lim.DayWindow), micros(lim.DayWindow/dayBuckets), align.Day,
			micros(xerolimit.RaisedDayLife(lim.DayWindow)),
			l.opts.AppPerMinute, micros(lim.Window/appMinuteBuckets), align.AppMinute,
			micros(l.opts.Timeout),
		)
		return struct{}{}, err
	}, nil)
	if err != nil {
		l.log.Warn("pglimit: recording what Xero's answer said failed",
			slog.String("tenant", tenant), slog.Int("status", status), slog.Int("pauses", len(pauses)),
			slog.String("error", err.Error()))
	}
}

// remainingFrom reads the counts a pause stored, in ratelimit.Remaining's
// field order; anything else gives unknown counts.
func remainingFrom(v []int) ratelimit.Remaining {
	if len(v) != 5 {
		return unknownRemaining()
	}
	return ratelimit.Remaining{Minute: v[0], Day: v[1], AppMinute: v[2], Limit: v[3], Legacy: v[4]}
}

// unknownRemaining is a Remaining with nothing reported, as ratelimit uses.
func unknownRemaining() ratelimit.Remaining {
	return ratelimit.Remaining{Minute: -1, Day: -1, AppMinute: -1, Limit: -1, Legacy: -1}
}
