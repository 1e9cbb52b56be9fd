package redislimit_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/ratelimit/redislimit"
	"github.com/amsbilling/sdk/xero"
	"github.com/amsbilling/sdk/xero/setup"
)

// Every replica builds its Xero client with a Limiter on the same Redis, so
// the tenant's budget is shared. The example needs a Redis server (here
// REDIS_URL), so it has no checked output.
func Example() {
	opt, err := redis.ParseURL(os.Getenv("REDIS_URL")) // e.g. redis://127.0.0.1:6379/0
	if err != nil {
		fmt.Println(err)
		return
	}
	// Let context deadlines bound Redis calls too.
	opt.ContextTimeoutEnabled = true
	rdb := redis.NewClient(opt)
	defer rdb.Close()

	limiter := redislimit.New(rdb, redislimit.Options{
		KeyPrefix: "myapp:xero:", // one prefix per Xero app
	})

	cfg, err := setup.ConfigFromEnv()
	if err != nil {
		fmt.Println(err)
		return
	}
	client, err := xero.NewClient(cfg.Xero, xero.WithLimiter(limiter))
	if err != nil {
		fmt.Println(err)
		return
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = client.Connections(ctx)
	var rle *ratelimit.RateLimitError
	switch {
	case errors.As(err, &rle) && rle.Local:
		// Refused before any request: the tenant's budget, shared by every
		// replica, is spent. Show rle.Error() ("try again in 30s") to a person.
		fmt.Println(rle)
	case errors.Is(err, redislimit.ErrUnavailable):
		// Redis is down and FailOpen is off: nothing was sent.
		fmt.Println(err)
	case err != nil:
		fmt.Println(err)
	}
}
