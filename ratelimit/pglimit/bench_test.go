package pglimit_test

import (
	"context"
	"crypto/rand"
	"os"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/ratelimit/pglimit"
	"github.com/amsbilling/sdk/ratelimit/redislimit"
)

// BenchmarkAcquireRelease is one Acquire and its release at Xero's limits,
// a new tenant every 50 calls so none is refused and each works with a
// nearly full minute, in process, on Redis and on PostgreSQL; the last two
// run only with BILLING_TEST_REDIS_URL and BILLING_TEST_POSTGRES_URL set:
//
//	go test -run '^$' -bench AcquireRelease -benchtime 2000x ./ratelimit/pglimit/
func BenchmarkAcquireRelease(b *testing.B) {
	var limits ratelimit.Options
	run := func(b *testing.B, l ratelimit.Limiter) {
		ctx := context.Background()
		i := 0
		for b.Loop() {
			release, err := l.Acquire(ctx, "org-"+strconv.Itoa(i/50))
			if err != nil {
				b.Fatal(err)
			}
			release()
			i++
		}
	}
	b.Run("local", func(b *testing.B) {
		run(b, ratelimit.NewLocal(limits))
	})
	b.Run("redis", func(b *testing.B) {
		url := os.Getenv("BILLING_TEST_REDIS_URL")
		if url == "" {
			b.Skip("BILLING_TEST_REDIS_URL is not set")
		}
		opt, err := redis.ParseURL(url)
		if err != nil {
			b.Fatal(err)
		}
		rdb := redis.NewClient(opt)
		defer func() { _ = rdb.Close() }()
		prefix := "pglimit-bench:" + rand.Text() + ":"
		defer func() {
			keys, _ := rdb.Keys(context.Background(), prefix+"*").Result()
			if len(keys) > 0 {
				_ = rdb.Del(context.Background(), keys...).Err()
			}
		}()
		run(b, redislimit.New(rdb, redislimit.Options{KeyPrefix: prefix, Limits: limits}))
	})
	b.Run("postgres", func(b *testing.B) {
		s := newShared(b)
		run(b, s.limiter(pglimit.Options{Limits: limits, AppPerMinute: 1 << 30} /* counted, never reached */))
	})
	b.Run("postgres, app not counted", func(b *testing.B) {
		s := newShared(b)
		run(b, s.limiter(pglimit.Options{Limits: limits, AppPerMinute: -1}))
	})
}
