package billing_test

import (
	"context"
	"fmt"
	"time"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/xero/setup"
)

func ExampleParseProvider() {
	for _, s := range []string{"ams.billing.providers.xero.XeroBillingService", "mock-xero", ""} {
		p, err := setup.ParseProvider(s)
		fmt.Printf("%q -> %q %v\n", s, p, err)
	}
	// Output:
	// "ams.billing.providers.xero.XeroBillingService" -> "xero" <nil>
	// "mock-xero" -> "mock-xero" <nil>
	// "" -> "" <nil>
}

// Secrets print redacted however they are formatted.
func ExampleSecret() {
	s := billing.NewSecret("client-secret-value")
	fmt.Println(s, fmt.Sprintf("%q %x", s, s), len(s.Reveal()))
	// Output: [REDACTED] [REDACTED] [REDACTED] 19
}

// Calendar dates never move through a time zone.
func ExampleDate() {
	due := billing.NewDate(2026, time.December, 31)
	fmt.Println(due, due.AddDays(1), due.Before(due.AddDays(1)))
	// Output: 2026-12-31 2027-01-01 true
}

// FetchInvoiceUpdates is what a cron job or the webhook handler runs. With
// the generic mock service it does nothing, and says so.
func ExampleFetchInvoiceUpdates() {
	store := mock.NewStore()
	res, err := billing.FetchInvoiceUpdates(context.Background(), mock.NewBillingService(store), store, billing.FetchOptions{})
	fmt.Println(res.Simulated, res.Claimed, err)
	// Output: true 0 <nil>
}

// The invoice hook is where an app activates a membership once paid.
func ExampleInvoiceHook() {
	var hook billing.InvoiceHook = func(_ context.Context, c billing.InvoiceChange) error {
		if c.BecamePaid() {
			fmt.Println("activate membership for", c.After.Account)
		}
		return nil
	}
	_ = hook(context.Background(), billing.InvoiceChange{
		Before: billing.Invoice{Account: billing.UserAccount("u-1"), Status: billing.StatusAuthorised},
		After:  billing.Invoice{Account: billing.UserAccount("u-1"), Status: billing.StatusPaid},
	})
	// Output: activate membership for user:u-1
}
