package pglimit_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/ratelimit/pglimit"
)

// hangGuard is how long a test waits for a call the limiter must bound by
// itself before calling it hung: far above the limiter's bounds (at most
// 500ms here) and far below what the database would take (a minute).
const hangGuard = 20 * time.Second

// within runs f and fails the test if it has not returned after hangGuard.
func within(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(hangGuard):
		t.Fatalf("the call did not return within %v: the limiter's bound does not apply", hangGuard)
	}
}

// frozenPostgres returns the address of a TCP listener that accepts
// connections and never answers: a database that hangs.
func frozenPostgres(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

// patientPool is a pool with a minute's connect timeout of its own: only
// the limiter's bound can keep a call short.
func patientPool(t *testing.T, addr string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), "postgres://postgres@"+addr+"/test?sslmode=disable&connect_timeout=60")
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// TestFrozenDatabaseAcquireIsBounded: a database that accepts connections
// and never answers must not hold a call. Acquire gives up after
// Options.AcquireTimeout (500ms by default) and answers as for an
// unreachable database: an *UnavailableError, or with FailOpen a grant.
func TestFrozenDatabaseAcquireIsBounded(t *testing.T) {
	for _, failOpen := range []bool{false, true} {
		l := pglimit.New(patientPool(t, frozenPostgres(t)), pglimit.Options{FailOpen: failOpen})
		var release func()
		var err error
		within(t, func() { release, err = l.Acquire(context.Background(), tenant) })
		if failOpen {
			require.NoError(t, err)
			release()
			continue
		}
		require.ErrorIs(t, err, pglimit.ErrUnavailable)
		assert.Contains(t, err.Error(), "did not answer within 500ms")
		assert.NotErrorIs(t, err, context.DeadlineExceeded, "the caller's context did not end")
	}
}

// TestFrozenDatabaseObserveIsBounded: Observe runs on the caller's goroutine
// after every response, so it is bounded by Options.Timeout as well.
func TestFrozenDatabaseObserveIsBounded(t *testing.T) {
	l := pglimit.New(patientPool(t, frozenPostgres(t)), pglimit.Options{})
	within(t, func() { l.Observe(tenant, http.StatusTooManyRequests, header("Retry-After", "30")) })
}

// holdLock runs lockSQL in a transaction on its own connection and keeps it
// open until the returned function is called (or the test ends): another
// session holding the limiter's rows.
func holdLock(t *testing.T, s shared, lockSQL string) func() {
	t.Helper()
	conn, err := s.pool.Acquire(t.Context())
	require.NoError(t, err)
	tx, err := conn.Begin(t.Context())
	require.NoError(t, err)
	_, err = tx.Exec(t.Context(), lockSQL)
	require.NoError(t, err)
	var once sync.Once
	unlock := func() {
		once.Do(func() {
			_ = tx.Rollback(context.Background())
			conn.Release()
		})
	}
	t.Cleanup(unlock)
	return unlock
}

// A row locked by another session makes the database slow for the limiter:
// the call fails within the bound, records nothing, and the limiter works
// again once the lock is gone.
func TestLockedRowsAreBounded(t *testing.T) {
	tests := []struct {
		name string
		lock func(s shared) string
	}{
		{"the tenant's row", func(s shared) string {
			return "SELECT 1 FROM " + pgx.Identifier{s.schema, "tenants"}.Sanitize() + " WHERE tenant = '" + tenant + "' FOR UPDATE"
		}},
		{"the app's row, taken to grant", func(s shared) string {
			return "SELECT 1 FROM " + pgx.Identifier{s.schema, "app"}.Sanitize() + " FOR UPDATE"
		}},
		{"every table", func(s shared) string {
			return "LOCK TABLE " + pgx.Identifier{s.schema, "tenants"}.Sanitize() + ", " +
				pgx.Identifier{s.schema, "slots"}.Sanitize() + ", " + pgx.Identifier{s.schema, "app"}.Sanitize() + " IN ACCESS EXCLUSIVE MODE"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newShared(t)
			opts := pglimit.Options{Limits: ratelimit.Options{Concurrent: 1, PerMinute: 2}, AcquireTimeout: 300 * time.Millisecond, SlotTTL: time.Hour}
			l := s.limiter(opts)
			acquireOK(t, l, tenant) // the tenant's row exists

			unlock := holdLock(t, s, tt.lock(s))
			var err error
			within(t, func() { _, err = l.Acquire(context.Background(), tenant) })
			require.ErrorIs(t, err, pglimit.ErrUnavailable)
			within(t, func() { l.Observe(tenant, http.StatusTooManyRequests, header("Retry-After", "0.1")) })
			unlock()

			// Once the observed pause is over, one call of two is left and
			// no slot is held: the failed attempt recorded nothing.
			var release func()
			require.Eventually(t, func() bool {
				r, err := l.Acquire(t.Context(), tenant)
				release = r
				return err == nil
			}, 10*time.Second, 20*time.Millisecond)
			// The pause may be recorded late, when the lock goes: a slot
			// is refused once it is over.
			other := s.limiter(pglimit.Options{Limits: ratelimit.Options{Concurrent: 1, PerMinute: 3}})
			require.Eventually(t, func() bool {
				_, err := other.Acquire(t.Context(), tenant)
				var rle *ratelimit.RateLimitError
				return errors.As(err, &rle) && rle.Problem == ratelimit.ProblemConcurrent
			}, 10*time.Second, 20*time.Millisecond)
			release()
			assert.Equal(t, ratelimit.ProblemMinute, refused(t, l, tenant).Problem)
		})
	}
}

// sleepyDB runs pg_sleep on the server before every statement, under the
// statement's context: a database answering slowly.
type sleepyDB struct {
	pool  *pgxpool.Pool
	sleep string // seconds
}

func (d sleepyDB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if _, err := d.pool.Exec(ctx, "SELECT pg_sleep("+d.sleep+")"); err != nil {
		return pgconn.CommandTag{}, err
	}
	return d.pool.Exec(ctx, sql, args...)
}

func (d sleepyDB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if _, err := d.pool.Exec(ctx, "SELECT pg_sleep("+d.sleep+")"); err != nil {
		return errRow{err}
	}
	return d.pool.QueryRow(ctx, sql, args...)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func TestSlowDatabaseIsBounded(t *testing.T) {
	s := newShared(t)
	var logs syncBuffer
	l := s.on(sleepyDB{pool: s.pool, sleep: "30"}, pglimit.Options{AcquireTimeout: 200 * time.Millisecond, Timeout: 200 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	var err error
	within(t, func() { _, err = l.Acquire(context.Background(), tenant) })
	require.ErrorIs(t, err, pglimit.ErrUnavailable)
	assert.Contains(t, err.Error(), "did not answer within 200ms")
	within(t, func() { l.Observe(tenant, http.StatusTooManyRequests, header("Retry-After", "30")) })
	assert.Contains(t, logs.String(), "did not answer within 200ms")
}

// deafDB ignores the context and answers late: a wrapper the limiter cannot
// interrupt, whose grant arrives after the limiter gave up.
type deafDB struct {
	pool  *pgxpool.Pool
	delay time.Duration
	slow  atomic.Bool
}

func (d *deafDB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return d.pool.Exec(context.WithoutCancel(ctx), sql, args...)
}

func (d *deafDB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if d.slow.Load() {
		time.Sleep(d.delay)
	}
	return d.pool.QueryRow(context.WithoutCancel(ctx), sql, args...)
}

// A grant that arrives after the bound is given back at once, not held
// until SlotTTL.
func TestLateGrantIsReleased(t *testing.T) {
	s := newShared(t)
	deaf := &deafDB{pool: s.pool, delay: 600 * time.Millisecond}
	deaf.slow.Store(true)
	opts := pglimit.Options{Limits: ratelimit.Options{Concurrent: 1}, AcquireTimeout: 200 * time.Millisecond, SlotTTL: time.Hour}
	l := s.on(deaf, opts)
	var err error
	within(t, func() { _, err = l.Acquire(context.Background(), tenant) })
	require.ErrorIs(t, err, pglimit.ErrUnavailable)
	allowedSoon(t, s.limiter(opts), tenant)
}

// deadlineDB records whether each statement ran under a deadline, and how
// far away it was.
type deadlineDB struct {
	pool      *pgxpool.Pool
	mu        sync.Mutex
	remaining []time.Duration
	missing   int
}

func (d *deadlineDB) record(ctx context.Context) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if dl, ok := ctx.Deadline(); ok {
		d.remaining = append(d.remaining, time.Until(dl))
	} else {
		d.missing++
	}
}

func (d *deadlineDB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	d.record(ctx)
	return d.pool.Exec(ctx, sql, args...)
}

func (d *deadlineDB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	d.record(ctx)
	return d.pool.QueryRow(ctx, sql, args...)
}

// Every statement the limiter sends carries a deadline of its own bound,
// even when the caller's context has none.
func TestStatementsCarryTheLimiterDeadline(t *testing.T) {
	s := newShared(t)
	db := &deadlineDB{pool: s.pool}
	l := s.on(db, pglimit.Options{AcquireTimeout: 300 * time.Millisecond, Timeout: 400 * time.Millisecond})

	release, err := l.Acquire(context.Background(), tenant)
	require.NoError(t, err)
	release()
	l.Observe(tenant, http.StatusTooManyRequests, header("Retry-After", "1"))
	_, err = l.Acquire(context.Background(), tenant)
	var rle *ratelimit.RateLimitError
	require.ErrorAs(t, err, &rle)

	db.mu.Lock()
	defer db.mu.Unlock()
	assert.Zero(t, db.missing, "a statement without a deadline")
	require.Len(t, db.remaining, 4, "acquire, release, observe, acquire: one round trip each")
	for _, d := range db.remaining {
		assert.LessOrEqual(t, d, 400*time.Millisecond)
	}
}

// switchDB sends every statement to down while broken is set, else to up:
// a database that goes away and comes back.
type switchDB struct {
	up, down *pgxpool.Pool
	broken   atomic.Bool
}

func (d *switchDB) pick() *pgxpool.Pool {
	if d.broken.Load() {
		return d.down
	}
	return d.up
}

func (d *switchDB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return d.pick().Exec(ctx, sql, args...)
}

func (d *switchDB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return d.pick().QueryRow(ctx, sql, args...)
}
