package redislimit_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/ratelimit/redislimit"
)

// redisURLEnv names the Redis the tests use, e.g. redis://127.0.0.1:6379/0.
const redisURLEnv = "BILLING_TEST_REDIS_URL"

// testRedis connects to the test Redis, or skips the test when none is set.
func testRedis(t *testing.T) *redis.Client {
	t.Helper()
	url := os.Getenv(redisURLEnv)
	if url == "" {
		t.Skipf("%s is not set; set it (e.g. redis://127.0.0.1:6379/0) to run the Redis tests", redisURLEnv)
	}
	opt, err := redis.ParseURL(url)
	require.NoError(t, err, redisURLEnv)
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	require.NoError(t, rdb.Ping(t.Context()).Err(), "Redis at %s", redisURLEnv)
	return rdb
}

// testPrefix returns a fresh key prefix whose keys are deleted after the test.
func testPrefix(t *testing.T, rdb *redis.Client) string {
	t.Helper()
	prefix := "redislimit-test:" + rand.Text() + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, k := range keysUnder(t, ctx, rdb, prefix) {
			require.NoError(t, rdb.Del(ctx, k).Err())
		}
	})
	return prefix
}

func keysUnder(t *testing.T, ctx context.Context, rdb *redis.Client, prefix string) []string {
	t.Helper()
	var keys []string
	iter := rdb.Scan(ctx, 0, redisPattern(prefix)+"*", 100).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	require.NoError(t, iter.Err())
	return keys
}

// redisPattern escapes glob characters so SCAN matches prefix literally.
func redisPattern(prefix string) string {
	var b []byte
	for i := 0; i < len(prefix); i++ {
		switch c := prefix[i]; c {
		case '*', '?', '[', ']', '\\':
			b = append(b, '\\', c)
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// shared is one Redis and key prefix: the budget every replica sees.
type shared struct {
	rdb    *redis.Client
	prefix string
}

func newShared(t *testing.T) shared {
	t.Helper()
	rdb := testRedis(t)
	return shared{rdb: rdb, prefix: testPrefix(t, rdb)}
}

// limiter is one replica's Limiter.
func (s shared) limiter(opts redislimit.Options) *redislimit.Limiter {
	opts.KeyPrefix = s.prefix
	return redislimit.New(s.rdb, opts)
}

// pair returns two Limiters on the same Redis and prefix: two replicas.
func pair(t *testing.T, opts redislimit.Options) (*redislimit.Limiter, *redislimit.Limiter) {
	t.Helper()
	s := newShared(t)
	return s.limiter(opts), s.limiter(opts)
}

// acquire takes a call, failing the test on refusal; the caller releases.
func acquire(t *testing.T, l ratelimit.Limiter, tenant string) func() {
	t.Helper()
	release, err := l.Acquire(t.Context(), tenant)
	require.NoError(t, err)
	require.NotNil(t, release)
	return release
}

// acquireOK takes and releases one call.
func acquireOK(t *testing.T, l ratelimit.Limiter, tenant string) {
	t.Helper()
	acquire(t, l, tenant)()
}

// refused asserts a local refusal for tenant and returns it.
func refused(t *testing.T, l ratelimit.Limiter, tenant string) *ratelimit.RateLimitError {
	t.Helper()
	release, err := l.Acquire(t.Context(), tenant)
	require.Error(t, err)
	require.Nil(t, release)
	require.ErrorIs(t, err, ratelimit.ErrRateLimited)
	var rle *ratelimit.RateLimitError
	require.ErrorAs(t, err, &rle)
	require.True(t, rle.Local, "a limiter refusal is local")
	require.Equal(t, tenant, rle.Tenant)
	return rle
}

// allowedSoon waits (bounded) until tenant may call again, taking and
// releasing that call.
func allowedSoon(t *testing.T, l ratelimit.Limiter, tenant string) {
	t.Helper()
	require.Eventually(t, func() bool {
		release, err := l.Acquire(t.Context(), tenant)
		if err != nil {
			return false
		}
		release()
		return true
	}, 10*time.Second, 20*time.Millisecond)
}

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}
