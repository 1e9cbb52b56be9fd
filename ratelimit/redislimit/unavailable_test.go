package redislimit_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/ratelimit/redislimit"
)

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// unreachable is a client for a port nothing listens on; it needs no Redis.
func unreachable(t *testing.T) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func TestUnreachableRedisFailsClosedByDefault(t *testing.T) {
	for _, wait := range []bool{false, true} {
		l := redislimit.New(unreachable(t), redislimit.Options{Limits: ratelimit.Options{Wait: wait}, Logger: slog.New(slog.DiscardHandler)})

		release, err := l.Acquire(t.Context(), tenant)
		require.Error(t, err)
		assert.Nil(t, release)
		assert.ErrorIs(t, err, redislimit.ErrUnavailable)
		var ue *redislimit.UnavailableError
		require.ErrorAs(t, err, &ue)
		assert.Equal(t, tenant, ue.Tenant)
		assert.NotNil(t, errors.Unwrap(err), "the Redis error is kept")
		var rle *ratelimit.RateLimitError
		assert.False(t, errors.As(err, &rle), "an outage is not a rate limit")
		assert.NotErrorIs(t, err, ratelimit.ErrRateLimited)
		var temp interface{ Temporary() bool }
		require.ErrorAs(t, err, &temp)
		assert.True(t, temp.Temporary())
	}
}

func TestUnreachableRedisFailOpen(t *testing.T) {
	var logs syncBuffer
	l := redislimit.New(unreachable(t), redislimit.Options{
		FailOpen: true,
		Logger:   slog.New(slog.NewTextHandler(&logs, nil)),
	})

	for range 3 {
		release, err := l.Acquire(t.Context(), tenant)
		require.NoError(t, err)
		require.NotNil(t, release)
		release()
		release()
	}
	assert.Equal(t, 1, strings.Count(logs.String(), "level=WARN"), "one warning per outage, not per call:\n%s", logs.String())
	assert.Contains(t, logs.String(), "FailOpen")
}

func TestUnreachableRedisObserveLogs(t *testing.T) {
	var logs syncBuffer
	l := redislimit.New(unreachable(t), redislimit.Options{
		Timeout: 500 * time.Millisecond,
		Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
	})

	l.Observe(tenant, http.StatusTooManyRequests, header("Retry-After", "30"))
	assert.Contains(t, logs.String(), "level=WARN")
	assert.Contains(t, logs.String(), "answer said failed")
	assert.Contains(t, logs.String(), "pause of 30s")

	before := logs.String()
	l.Observe(tenant, http.StatusOK, header("X-MinLimit-Remaining", "60", "X-DayLimit-Remaining", "5000"))
	assert.Equal(t, before, logs.String(), "nothing to record, so no Redis call")

	l.Observe(tenant, http.StatusOK, header("X-MinLimit-Remaining", "40"))
	assert.Contains(t, strings.TrimPrefix(logs.String(), before), "aligning with Xero's counts", "a count to align with needs Redis")
}

func TestNilClient(t *testing.T) {
	l := redislimit.New(nil, redislimit.Options{})
	_, err := l.Acquire(t.Context(), tenant)
	require.ErrorIs(t, err, redislimit.ErrUnavailable)
	l.Observe(tenant, http.StatusTooManyRequests, http.Header{})

	open := redislimit.New(nil, redislimit.Options{FailOpen: true, Logger: slog.New(slog.DiscardHandler)})
	release, err := open.Acquire(t.Context(), tenant)
	require.NoError(t, err)
	release()
}
