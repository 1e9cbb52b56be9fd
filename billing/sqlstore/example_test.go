package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"

	_ "modernc.org/sqlite" // the "sqlite" driver; sqlitestore.Open links it too

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/sqlstore"
)

// New wraps a *sql.DB the app already manages; the app keeps owning it
// (pass sqlstore.OwnDB() to have Store.Close close it).
func ExampleNew() {
	ctx := context.Background()
	// The settings sqlitestore.Open would choose: write transactions take
	// the write lock at BEGIN, and one connection holds the in-memory
	// database.
	db, err := sql.Open("sqlite", ":memory:?_txlock=immediate&_pragma=foreign_keys(1)&_pragma=busy_timeout(5000)")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	store, err := sqlstore.New(db, sqlstore.SQLite)
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	_, err = store.ContactLink(ctx, billing.OrganisationAccount("org-1"))
	fmt.Println(err)
	// Output:
	// billing: not found: no contact link for organisation:org-1
}
