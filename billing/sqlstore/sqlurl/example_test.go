package sqlurl_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/sqlstore/sqlurl"
)

// Open the store BILLING_DATABASE_URL names, here a SQLite file.
func ExampleOpen() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "billing-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	databaseURL := "sqlite://" + filepath.Join(dir, "billing.db") // or postgres://...
	store, err := sqlurl.Open(ctx, databaseURL)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	_, err = store.ContactLink(ctx, billing.UserAccount("u1"))
	fmt.Println(store.Dialect(), errors.Is(err, billing.ErrNotFound))
	// Output:
	// sqlite true
}

// A URL of a database the SDK does not support is a configuration error.
func ExampleOpen_unsupported() {
	_, err := sqlurl.Open(context.Background(), "mysql://app:secret@db/app")
	fmt.Println(errors.Is(err, billing.ErrInvalidConfig))
	fmt.Println(err)
	// Output:
	// true
	// billing: invalid configuration: BILLING_DATABASE_URL: unsupported database URL scheme "mysql": want postgres://, postgresql://, a libpq keyword/value string, sqlite: or a file path
}
