package xero_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/xero"
)

func ExampleNewClient() {
	// Usually xero.ConfigFromEnv(); a map keeps the example self-contained.
	env := map[string]string{
		"XERO_CLIENT_ID":     "91E5715B1199038080D6D0296EBC1648",
		"XERO_CLIENT_SECRET": "your-secret-here",
		"XERO_TENANT_ID":     "a3a4dbaf-3495-a808-ed7a-7b964388f53d",
		"XERO_WEBHOOK_KEY":   "your-webhook-key",
		"XERO_ACCOUNT_CODE":  "200",
		"XERO_AMOUNT_TYPE":   "INCLUSIVE",
		"XERO_CURRENCY_CODE": "NZD",
	}
	cfg, err := xero.LoadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		log.Fatal(err)
	}

	// One Client per process, shared by every request handler.
	client, err := xero.NewClient(cfg,
		xero.WithUserAgent("myapp/1.0"),
		xero.WithRetries(3, 500*time.Millisecond),
		// One limiter per tenant and process; Wait suits batch jobs.
		xero.WithLimiter(ratelimit.NewLocal(ratelimit.Options{})),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("tenant:", client.TenantID())
	// At start-up, client.CheckConnection(ctx) proves the credentials and
	// the tenant id before the first real call.

	// Output:
	// tenant: a3a4dbaf-3495-a808-ed7a-7b964388f53d
}

func ExampleService_CreateInvoice() {
	ctx := context.Background()
	store := mock.NewStore() // in production: a billing/sqlstore Store
	cfg := exampleConfig()
	// WithHTTPClient points the client at a stand-in for Xero; leave it out
	// in production.
	client, err := xero.NewClient(cfg, xero.WithHTTPClient(exampleXero()))
	if err != nil {
		log.Fatal(err)
	}
	svc := xero.NewService(client, store, cfg)

	// The account needs a contact first.
	user := billing.User{ID: "9b2f3c1e-4d5a-4e6f-8a7b-1c2d3e4f5a6b", Name: "Jane Doe", Email: "jane@example.com"}
	if err := svc.UpdateUserBillingDetails(ctx, user); err != nil {
		log.Fatal(err)
	}
	inv, err := svc.CreateInvoice(ctx, billing.CreateInvoiceParams{
		Account:   billing.UserAccount(user.ID),
		Date:      billing.NewDate(2026, time.January, 31),
		DueDate:   billing.NewDate(2026, time.February, 28),
		Reference: "Membership 2026",
		LineItems: []billing.LineItem{{
			Description: "Annual membership",
			Quantity:    decimal.NewFromInt(1),
			UnitAmount:  decimal.RequireFromString("115.50"),
		}},
		// Reuse the key when retrying, so Xero cannot bill twice.
		IdempotencyKey: "membership-2026-" + user.ID,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(inv.Number, inv.Status, inv.Due.StringFixed(2), inv.Currency, "due", inv.DueDate)

	// Output:
	// INV-0042 AUTHORISED 115.50 NZD due 2026-02-28
}

// Handling Xero's rate limits: a 429 is never retried, and later calls fail
// fast without a request until the wait is over.
func Example_rateLimit() {
	ctx := context.Background()
	now := time.Date(2026, 1, 31, 9, 0, 0, 0, time.UTC)
	limiter := ratelimit.NewLocal(ratelimit.Options{Now: func() time.Time { return now }})
	client, err := xero.NewClient(exampleConfig(), xero.WithHTTPClient(exampleXero()), xero.WithLimiter(limiter))
	if err != nil {
		log.Fatal(err)
	}

	for range 2 {
		_, _, err := client.GetInvoices(ctx, []string{"0e4b2a4e-7d5b-4d8e-8a55-2c5d8f1b9f01"})
		var rl *ratelimit.RateLimitError
		if errors.As(err, &rl) {
			// Show rl.Error() to the person, or schedule a retry after
			// rl.RetryAfter.
			fmt.Printf("%v (refused locally: %t)\n", err, rl.Local)
		}
	}

	// Output:
	// billing system busy, try again in 30s: minute limit (refused locally: false)
	// billing system busy, try again in 30s: minute limit (refused locally: true)
}

func exampleConfig() xero.Config {
	return xero.Config{
		ClientID:      "91E5715B1199038080D6D0296EBC1648",
		ClientSecret:  billing.NewSecret("your-secret-here"),
		TenantID:      "a3a4dbaf-3495-a808-ed7a-7b964388f53d",
		AccountCode:   "200",
		AmountType:    xero.AmountInclusive,
		Currency:      "NZD",
		EmailInvoices: true,
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// exampleXero is a tiny stand-in for Xero's token endpoint and API, so the
// examples run without a network.
func exampleXero() *http.Client {
	answer := func(status int, body string, headers ...string) *http.Response {
		h := http.Header{"Content-Type": {"application/json"}}
		for i := 0; i+1 < len(headers); i += 2 {
			h.Set(headers[i], headers[i+1])
		}
		return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body))}
	}
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		switch {
		case r.URL.Host == "identity.xero.com":
			return answer(200, `{"access_token":"example-token","expires_in":1800,"token_type":"Bearer"}`), nil
		case r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/Contacts"):
			return answer(200, `{"Contacts":[{"ContactID":"c0ffee00-0000-4000-8000-000000000001"}]}`), nil
		case r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/Invoices"):
			return answer(200, `{"Invoices":[{"InvoiceID":"0e4b2a4e-7d5b-4d8e-8a55-2c5d8f1b9f01","InvoiceNumber":"INV-0042",`+
				`"Status":"AUTHORISED","CurrencyCode":"NZD","DateString":"2026-01-31T00:00:00","DueDateString":"2026-02-28T00:00:00",`+
				`"Total":115.50,"AmountPaid":0.00,"AmountDue":115.50}]}`), nil
		default:
			return answer(429, "", "Retry-After", "30", "X-Rate-Limit-Problem", "minute"), nil
		}
	})}
}
