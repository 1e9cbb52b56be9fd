package pgstore_test

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/amsbilling/sdk/billing/sqlstore/pgstore"
)

// Open a PostgreSQL store with its tables in the schema "billing", and a
// pool for up to 64 concurrent webhook deliveries per replica. (Not run: it
// needs a server.)
func ExampleOpen() {
	ctx := context.Background()
	store, err := pgstore.Open(ctx, os.Getenv("BILLING_DATABASE_URL"), // postgres://app:...@db:5432/app?sslmode=require
		pgstore.WithSchema("billing"),
		pgstore.WithPool(pgstore.Pool{MaxOpenConns: 64, ConnMaxIdleTime: 10 * time.Minute}),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	// A webhook said the invoice changed.
	if _, err := store.MarkUpdateNeeded(ctx, []string{"a1b2c3d4-0000-4000-8000-000000000001"}, time.Now()); err != nil {
		log.Fatal(err)
	}
}
