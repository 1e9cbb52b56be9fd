package mock_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
)

// A webhook marks an invoice; the fetch job claims it, fetches, and clears
// the mark.
func ExampleNewStore() {
	ctx := context.Background()
	store := mock.NewStore()

	account := billing.UserAccount("7d3c1f0e-5b6a-4c2d-9e8f-0a1b2c3d4e5f")
	err := store.CreateInvoice(ctx, billing.Invoice{
		Account:    account,
		Number:     "INV-0001",
		ProviderID: "00000000-0000-4000-9000-000000000001",
		Status:     billing.StatusAuthorised,
		Amount:     decimal.RequireFromString("115.00"),
		Due:        decimal.RequireFromString("115.00"),
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	n, _ := store.MarkUpdateNeeded(ctx, []string{"00000000-0000-4000-9000-000000000001"}, now)
	fmt.Println("marked:", n)

	claims, _ := store.ClaimUpdates(ctx, now, 30, time.Minute)
	for _, c := range claims {
		cleared, _ := store.CompleteUpdate(ctx, c)
		fmt.Println("claimed", c.Number, "cleared:", cleared)
	}

	inv, _ := store.InvoiceByNumber(ctx, "INV-0001")
	fmt.Println("update needed:", inv.UpdateNeeded)
	// Output:
	// marked: 1
	// claimed INV-0001 cleared: true
	// update needed: false
}

func ExampleBillingService() {
	ctx := context.Background()
	store := mock.NewStore()
	svc := mock.NewBillingService(store)

	user := billing.User{ID: "7d3c1f0e-5b6a-4c2d-9e8f-0a1b2c3d4e5f", Name: "Ada Lovelace", Email: "ada@example.com"}
	if err := svc.UpdateUserBillingDetails(ctx, user); err != nil {
		fmt.Println(err)
		return
	}
	inv, err := svc.CreateInvoice(ctx, billing.CreateInvoiceParams{
		Account: billing.UserAccount(user.ID),
		Date:    billing.NewDate(2026, time.January, 2),
		DueDate: billing.NewDate(2026, time.February, 1),
		LineItems: []billing.LineItem{
			{Description: "Membership", Quantity: decimal.NewFromInt(2), UnitAmount: decimal.RequireFromString("57.50")},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	url, _ := svc.GetInvoiceURL(ctx, inv)

	fmt.Println(store.ContactLinks()[0].ContactID)
	fmt.Println(inv.Number, inv.ProviderID, inv.Status, inv.Amount.StringFixed(2), inv.Currency)
	fmt.Println(url)
	for _, c := range svc.Calls() {
		fmt.Println(c.Method)
	}
	// Output:
	// 00000000-0000-4000-8000-000000000001
	// INV-0001 00000000-0000-4000-9000-000000000001 AUTHORISED 115.00 NZD
	// https://invoicing.example.invalid/INV-0001
	// UpdateUserBillingDetails
	// CreateInvoice
	// GetInvoiceURL
}

// Accounts must be synced before they can be invoiced, as with Xero.
func ExampleBillingService_CreateInvoice_noContact() {
	svc := mock.NewBillingService(mock.NewStore())
	_, err := svc.CreateInvoice(context.Background(), billing.CreateInvoiceParams{
		Account: billing.OrganisationAccount("0f9e8d7c-6b5a-4433-8221-1a2b3c4d5e6f"),
		Date:    billing.NewDate(2026, time.January, 2),
		DueDate: billing.NewDate(2026, time.February, 1),
		LineItems: []billing.LineItem{
			{Description: "Membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.NewFromInt(115)},
		},
	})
	fmt.Println(errors.Is(err, billing.ErrNoContact))
	// Output: true
}

func ExampleBillingService_FailNext() {
	ctx := context.Background()
	svc := mock.NewBillingService(mock.NewStore())
	svc.FailNext(mock.MethodEmailInvoice, errors.New("provider unavailable"))

	fmt.Println(svc.EmailInvoice(ctx, billing.Invoice{Number: "INV-0001"}))
	fmt.Println(svc.EmailInvoice(ctx, billing.Invoice{Number: "INV-0001"}))
	fmt.Println(len(svc.Calls()), "calls")
	// Output:
	// provider unavailable
	// <nil>
	// 2 calls
}
