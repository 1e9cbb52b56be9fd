package sqlitestore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/shopspring/decimal"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/sqlstore/sqlitestore"
)

// Open a SQLite store in a file, save an invoice, and run one webhook mark
// through a claim.
func ExampleOpen() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "billing-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	store, err := sqlitestore.Open(ctx, "sqlite://"+filepath.Join(dir, "billing.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	account := billing.UserAccount("6f1c2a9e-8d1b-4b7e-9a51-0c3f4d2e1b7a")
	if _, err := store.LinkContact(ctx, account, "c1a2b3c4-0000-4000-8000-000000000001"); err != nil {
		log.Fatal(err)
	}
	err = store.CreateInvoice(ctx, billing.Invoice{
		Account:    account,
		Number:     "INV-0001",
		ProviderID: "a1b2c3d4-0000-4000-8000-000000000001",
		Status:     billing.StatusAuthorised,
		Currency:   "NZD",
		IssueDate:  billing.NewDate(2026, time.January, 2),
		DueDate:    billing.NewDate(2026, time.February, 1),
		Amount:     decimal.RequireFromString("115.00"),
		Due:        decimal.RequireFromString("115.00"),
	})
	if err != nil {
		log.Fatal(err)
	}

	// A webhook says the invoice changed; the fetch job claims it.
	at := time.Date(2026, time.January, 10, 9, 0, 0, 0, time.UTC)
	if _, err := store.MarkUpdateNeeded(ctx, []string{"a1b2c3d4-0000-4000-8000-000000000001"}, at); err != nil {
		log.Fatal(err)
	}
	claims, err := store.ClaimUpdates(ctx, at.Add(time.Second), 30, 5*time.Minute)
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range claims {
		cleared, err := store.CompleteUpdate(ctx, c)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("fetched", c.Number, "cleared:", cleared)
	}

	inv, err := store.InvoiceByNumber(ctx, "INV-0001")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(inv.Number, inv.Amount.StringFixed(2), inv.Currency, "due", inv.DueDate, "update needed:", inv.UpdateNeeded)
	// Output:
	// fetched INV-0001 cleared: true
	// INV-0001 115.00 NZD due 2026-02-01 update needed: false
}
