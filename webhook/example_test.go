package webhook_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/webhook"
)

// Mount the webhook handler on the app's mux, at the delivery URL configured
// in the Xero developer portal.
func ExampleNew() {
	ctx := context.Background()
	store := mock.NewStore() // billing/sqlstore in production
	svc := mock.NewBillingService(store)
	_ = store.CreateInvoice(ctx, billing.Invoice{
		Account: billing.UserAccount("9b2f6c1e-5d4a-4c3b-8a29-1f0e7d6c5b4a"), Number: "INV-0001",
		ProviderID: "55d84274-a3da-4829-a7c0-0cab601b95cc",
	})

	// Usually from setup.ConfigFromEnv: cfg.Xero.WebhookKeys, cfg.Xero.TenantID.
	key := billing.NewSecret("webhook-key-from-the-developer-portal")
	h, err := webhook.New(webhook.Config{
		Keys:     []billing.Secret{key},
		TenantID: "aef86862-2015-4b6b-88bc-d89032cecc50",
		Store:    store,
		Fetch: func(ctx context.Context) error {
			_, err := billing.FetchInvoiceUpdates(ctx, svc, store, billing.FetchOptions{})
			return err
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/billing/xero/webhooks/", h)
	// On shutdown, after http.Server.Shutdown: let a running fetch finish.
	defer h.Close()

	// What Xero sends when the invoice is paid.
	body := []byte(`{"events":[{"resourceUrl":"https://api.xero.com/api.xro/2.0/Invoices/55d84274-a3da-4829-a7c0-0cab601b95cc",` +
		`"resourceId":"55d84274-a3da-4829-a7c0-0cab601b95cc","eventDateUtc":"2026-01-31T00:44:09.923","eventType":"UPDATE",` +
		`"eventCategory":"INVOICE","tenantId":"aef86862-2015-4b6b-88bc-d89032cecc50","tenantType":"ORGANISATION"}],` +
		`"firstEventSequence":1,"lastEventSequence":1,"entropy":"FXNGWLCCGVANWHKILRUB"}`)
	req, _ := webhook.NewSignedRequest(ctx, []byte(key.Reveal()), "/billing/xero/webhooks/", body)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)

	inv, _ := store.InvoiceByNumber(ctx, "INV-0001")
	fmt.Println(w.Code, inv.UpdateNeeded)
	// Output: 200 true
}

// Sign a payload as Xero does, to test an endpoint.
func ExampleSign() {
	body := []byte(`{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"YSXCMKAQBJOEPRLWNEQZ"}`)
	sig := webhook.Sign([]byte("webhook-key"), body)
	fmt.Println(sig)
	fmt.Println(webhook.Verify([]billing.Secret{billing.NewSecret("webhook-key")}, body, sig))
	fmt.Println(webhook.Verify([]billing.Secret{billing.NewSecret("old-key")}, body, sig))
	// Output:
	// eyzWwL3zyqGnR4of6WHHxAfCGR3oNYnqtItZERlrCsw=
	// <nil>
	// webhook: invalid signature
}

// Send signed-in customers to the online view of their own invoices.
func ExampleNewInvoiceRedirect() {
	ctx := context.Background()
	store := mock.NewStore()
	svc := mock.NewBillingService(store)
	user := billing.User{ID: "9b2f6c1e-5d4a-4c3b-8a29-1f0e7d6c5b4a", Name: "Ada Lovelace", Email: "ada@example.com"}
	_ = svc.UpdateUserBillingDetails(ctx, user)
	inv, err := svc.CreateInvoice(ctx, billing.CreateInvoiceParams{
		Account: billing.UserAccount(user.ID),
		Date:    billing.NewDate(2026, 1, 1), DueDate: billing.NewDate(2026, 1, 31),
		LineItems: []billing.LineItem{{Description: "Membership 2026", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.NewFromInt(100)}},
	})
	if err != nil {
		log.Fatal(err)
	}

	redirect := webhook.NewInvoiceRedirect(webhook.RedirectConfig{
		Service: svc,
		Store:   store,
		Authorize: func(r *http.Request, inv billing.Invoice) bool {
			// The app's own session check; a header stands in for it here.
			return r.Header.Get("X-User-ID") == inv.Account.UserID
		},
	})
	mux := http.NewServeMux()
	mux.Handle("GET /billing/invoices/{number}", redirect)

	for _, who := range []string{user.ID, "someone-else"} {
		r := httptest.NewRequest(http.MethodGet, "/billing/invoices/"+inv.Number, nil)
		r.Header.Set("X-User-ID", who)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Println(w.Code, strings.TrimSpace(w.Header().Get("Location")))
	}
	// Output:
	// 302 https://invoicing.example.invalid/INV-0001
	// 403
}
