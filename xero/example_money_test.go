package xero_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/shopspring/decimal"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
)

// Recording a payment the member made by card, then crediting part of the
// invoice. The service here runs against the emulator; in production it is
// xero.NewService on a real client and store.
func ExampleService_RecordPayment() {
	ctx := context.Background()
	svc, err := mock.NewXeroBillingService(mock.NewStore())
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close()
	user := billing.User{ID: "9b2f3c1e-4d5a-4e6f-8a7b-1c2d3e4f5a6b", Name: "Jane Doe", Email: "jane@example.com"}
	if err := svc.UpdateUserBillingDetails(ctx, user); err != nil {
		log.Fatal(err)
	}
	inv, err := svc.CreateInvoice(ctx, billing.CreateInvoiceParams{
		Account:   billing.UserAccount(user.ID),
		Date:      billing.NewDate(2026, time.December, 1),
		DueDate:   billing.NewDate(2026, time.December, 31),
		Reference: "Membership 2027",
		LineItems: []billing.LineItem{{Description: "Annual membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.RequireFromString("100.00")}},
	})
	if err != nil {
		log.Fatal(err)
	}

	// (invoice, reference) names the payment: asking again pays nothing.
	for range 2 {
		pay, err := svc.RecordPayment(ctx, billing.PaymentParams{
			InvoiceID: inv.ProviderID,
			Amount:    decimal.RequireFromString("50.00"),
			Date:      billing.NewDate(2026, time.December, 5),
			Reference: "stripe ch_3Q1x2y",
		})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("payment", pay.Amount.StringFixed(2), pay.Status)
	}
	credit, err := svc.CreditInvoice(ctx, billing.CreditNoteParams{
		InvoiceID: inv.ProviderID,
		Reason:    "Loyalty discount",
		Amount:    decimal.RequireFromString("15.00"),
		Allocate:  true,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(credit.CreditNote.Number, "credited", credit.Invoice.Credited.StringFixed(2))
	fmt.Println(credit.Invoice.Number, credit.Invoice.Status, "due", credit.Invoice.Due.StringFixed(2))

	// Output:
	// payment 50.00 AUTHORISED
	// payment 50.00 AUTHORISED
	// CN-0001 credited 15.00
	// INV-0001 AUTHORISED due 50.00
}
