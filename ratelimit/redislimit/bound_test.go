package redislimit_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/ratelimit/redislimit"
)

// hangGuard is how long a test waits for a call the limiter must bound by
// itself before calling it hung. It is far above the limiter's default
// bound (500ms) and far below what go-redis would take on its own with the
// timeouts these tests give it (a minute per read, plus retries).
const hangGuard = 20 * time.Second

// frozenRedis returns the address of a TCP listener that accepts
// connections and never answers: a Redis that hangs.
func frozenRedis(t *testing.T) string {
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

// patientClient is a go-redis client with long timeouts of its own and no
// ContextTimeoutEnabled, as an app may well configure it: only the
// limiter's own bound can keep a call short.
func patientClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, ReadTimeout: time.Minute, WriteTimeout: time.Minute, DialTimeout: time.Minute})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

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

// TestFrozenRedisAcquireIsBounded: a Redis that accepts connections and
// never answers must not hold a call for the Redis client's own timeouts.
// Acquire gives up after Options.AcquireTimeout (500ms by default) and
// answers as for an unreachable Redis: an *UnavailableError, or with
// FailOpen a grant.
func TestFrozenRedisAcquireIsBounded(t *testing.T) {
	for _, failOpen := range []bool{false, true} {
		l := redislimit.New(patientClient(t, frozenRedis(t)), redislimit.Options{FailOpen: failOpen})
		var release func()
		var err error
		within(t, func() { release, err = l.Acquire(context.Background(), tenant) })
		if failOpen {
			require.NoError(t, err)
			release()
			continue
		}
		require.ErrorIs(t, err, redislimit.ErrUnavailable)
		assert.Contains(t, err.Error(), "did not answer within 500ms")
		assert.NotErrorIs(t, err, context.DeadlineExceeded, "the caller's context did not end")
	}
}

// TestFrozenRedisObserveIsBounded: Observe runs on the caller's goroutine
// after every response, so it is bounded by Options.Timeout as well.
func TestFrozenRedisObserveIsBounded(t *testing.T) {
	l := redislimit.New(patientClient(t, frozenRedis(t)), redislimit.Options{})
	within(t, func() { l.Observe(tenant, http.StatusTooManyRequests, header("Retry-After", "30")) })
}

// freezableProxy forwards to the test Redis until freeze is called, then
// stops forwarding without closing anything: Redis hanging mid-run.
type freezableProxy struct {
	addr   string
	frozen atomic.Bool
}

func newFreezableProxy(t *testing.T, target string) *freezableProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &freezableProxy{addr: ln.Addr().String()}
	var mu sync.Mutex
	var conns []net.Conn
	track := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 && !p.frozen.Load() {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				if err != io.EOF {
					return
				}
				return
			}
		}
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			track(c)
			track(up)
			go pipe(up, c)
			go pipe(c, up)
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
	return p
}

// TestRedisFreezingMidCallIsBounded: a slot taken while Redis answered is
// released, and a 429 observed, under the limiter's bound once Redis hangs.
func TestRedisFreezingMidCallIsBounded(t *testing.T) {
	rdb := testRedis(t)
	prefix := testPrefix(t, rdb)
	proxy := newFreezableProxy(t, rdb.Options().Addr)
	l := redislimit.New(patientClient(t, proxy.addr), redislimit.Options{KeyPrefix: prefix})

	release, err := l.Acquire(context.Background(), tenant)
	require.NoError(t, err)
	proxy.frozen.Store(true)
	within(t, release)
	within(t, func() { l.Observe(tenant, http.StatusTooManyRequests, header("Retry-After", "30")) })
	within(t, func() {
		_, err = l.Acquire(context.Background(), tenant)
	})
	require.ErrorIs(t, err, redislimit.ErrUnavailable)
}

// deadlineHook records whether each Redis command ran under a deadline,
// and how far away it was.
type deadlineHook struct {
	mu        sync.Mutex
	remaining []time.Duration
	missing   int
}

func (h *deadlineHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *deadlineHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.mu.Lock()
		if dl, ok := ctx.Deadline(); ok {
			h.remaining = append(h.remaining, time.Until(dl))
		} else {
			h.missing++
		}
		h.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (h *deadlineHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestRedisCallsCarryTheLimiterDeadline: every Redis command the limiter
// sends carries a deadline of its own bound, even when the caller's context
// has none, so a Redis client with ContextTimeoutEnabled stops at once.
func TestRedisCallsCarryTheLimiterDeadline(t *testing.T) {
	s := newShared(t)
	hook := &deadlineHook{}
	opt := *s.rdb.Options()
	rdb := redis.NewClient(&opt)
	rdb.AddHook(hook)
	t.Cleanup(func() { _ = rdb.Close() })
	l := redislimit.New(rdb, redislimit.Options{KeyPrefix: s.prefix, AcquireTimeout: 300 * time.Millisecond, Timeout: 400 * time.Millisecond})

	release, err := l.Acquire(context.Background(), tenant)
	require.NoError(t, err)
	release()
	l.Observe(tenant, http.StatusTooManyRequests, header("Retry-After", "1"))
	_, err = l.Acquire(context.Background(), tenant)
	var rle *ratelimit.RateLimitError
	require.ErrorAs(t, err, &rle)

	hook.mu.Lock()
	defer hook.mu.Unlock()
	assert.Zero(t, hook.missing, "a Redis command without a deadline")
	require.NotEmpty(t, hook.remaining)
	for _, d := range hook.remaining {
		assert.LessOrEqual(t, d, 400*time.Millisecond)
	}
}
