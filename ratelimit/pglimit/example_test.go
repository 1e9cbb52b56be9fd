package pglimit_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/ratelimit/pglimit"
	"github.com/amsbilling/sdk/xero"
	"github.com/amsbilling/sdk/xero/setup"
)

// Every replica builds its Xero client with a Limiter on the same
// PostgreSQL database, so each tenant's budget, and the app's, is shared.
// The example needs a database (here DATABASE_URL), so it has no checked
// output.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// connect_timeout: fail fast when the database is down.
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL")) // e.g. postgres://app@db/app?connect_timeout=2
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close()

	limiter := pglimit.New(pool, pglimit.Options{
		Schema: "myapp_xero_limits", // one schema per Xero app
	})
	if err := limiter.Ensure(ctx); err != nil { // at start, in every replica
		fmt.Println(err)
		return
	}

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

	_, err = client.Connections(ctx)
	var rle *ratelimit.RateLimitError
	switch {
	case errors.As(err, &rle) && rle.Local:
		// Refused before any request: the budget, shared by every replica,
		// is spent. Show rle.Error() ("try again in 30s") to a person.
		fmt.Println(rle)
	case errors.Is(err, pglimit.ErrUnavailable):
		// PostgreSQL is down and FailOpen is off: nothing was sent.
		fmt.Println(err)
	case err != nil:
		fmt.Println(err)
	}
}
