package webhook_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/webhook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// busyError looks like a rate limit: it asks the caller to try later.
type busyError struct{}

func (busyError) Error() string   { return "rate limited: secret-internal-detail" }
func (busyError) Temporary() bool { return true }

// ownerOnly lets a request see the invoices of the user named in X-User.
func ownerOnly(r *http.Request, inv billing.Invoice) bool {
	return r.Header.Get("X-User") == inv.Account.UserID
}

func TestInvoiceRedirect(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		path     string
		user     string
		fail     error // GetInvoiceURL's error
		noSvc    bool
		want     int
		location string
	}{
		{"redirects the owner", http.MethodGet, "/billing/invoices/INV-0001", "user-1", nil, false, http.StatusFound, mock.InvoiceURLPrefix + "INV-0001"},
		{"HEAD", http.MethodHead, "/billing/invoices/INV-0001", "user-1", nil, false, http.StatusFound, mock.InvoiceURLPrefix + "INV-0001"},
		{"someone else's invoice", http.MethodGet, "/billing/invoices/INV-0001", "user-2", nil, false, http.StatusForbidden, ""},
		{"unknown number", http.MethodGet, "/billing/invoices/INV-9999", "user-1", nil, false, http.StatusNotFound, ""},
		{"no online URL", http.MethodGet, "/billing/invoices/LOCAL-1", "user-1", nil, false, http.StatusNotFound, ""},
		{"no billing service", http.MethodGet, "/billing/invoices/INV-0001", "user-1", nil, true, http.StatusServiceUnavailable, ""},
		{"rate limited", http.MethodGet, "/billing/invoices/INV-0001", "user-1", busyError{}, false, http.StatusServiceUnavailable, ""},
		{"provider error", http.MethodGet, "/billing/invoices/INV-0001", "user-1", errors.New("xero said 500: secret-internal-detail"), false, http.StatusBadGateway, ""},
		{"provider lost the invoice", http.MethodGet, "/billing/invoices/INV-0001", "user-1", billing.ErrNotFound, false, http.StatusNotFound, ""},
		{"POST", http.MethodPost, "/billing/invoices/INV-0001", "user-1", nil, false, http.StatusMethodNotAllowed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newStore(t, invoiceIDs[0])
			require.NoError(t, store.CreateInvoice(context.Background(), billing.Invoice{
				Account: billing.UserAccount("user-1"), Number: "LOCAL-1", // never sent to the provider
			}))
			svc := mock.NewBillingService(store)
			if tt.fail != nil {
				svc.FailNext(mock.MethodGetInvoiceURL, tt.fail)
			}
			cfg := webhook.RedirectConfig{Service: svc, Store: store, Authorize: ownerOnly}
			if tt.noSvc {
				cfg.Service = nil
			}
			mux := http.NewServeMux()
			mux.Handle("/billing/invoices/{number}", webhook.NewInvoiceRedirect(cfg))

			r := httptest.NewRequest(tt.method, tt.path, nil)
			r.Header.Set("X-User", tt.user)
			w := serve(mux, r)
			assert.Equal(t, tt.want, w.Code)
			assert.Equal(t, tt.location, w.Header().Get("Location"))
			assert.NotContains(t, w.Body.String(), "secret-internal-detail")
			if tt.want == http.StatusFound {
				assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
			}
			if tt.want == http.StatusMethodNotAllowed {
				assert.Equal(t, "GET, HEAD", w.Header().Get("Allow"))
			}
		})
	}
}

func TestInvoiceRedirectNumber(t *testing.T) {
	store := newStore(t, invoiceIDs[0])
	svc := mock.NewBillingService(store)
	allow := func(*http.Request, billing.Invoice) bool { return true }

	t.Run("last path segment without a pattern", func(t *testing.T) {
		h := webhook.NewInvoiceRedirect(webhook.RedirectConfig{Service: svc, Store: store, Authorize: allow})
		w := serve(h, httptest.NewRequest(http.MethodGet, "/invoices/INV-0001/", nil))
		assert.Equal(t, http.StatusFound, w.Code)
	})
	t.Run("custom extractor", func(t *testing.T) {
		h := webhook.NewInvoiceRedirect(webhook.RedirectConfig{Service: svc, Store: store, Authorize: allow,
			Number: func(r *http.Request) string { return r.URL.Query().Get("n") }})
		assert.Equal(t, http.StatusFound, serve(h, httptest.NewRequest(http.MethodGet, "/invoice?n=INV-0001", nil)).Code)
		assert.Equal(t, http.StatusNotFound, serve(h, httptest.NewRequest(http.MethodGet, "/invoice", nil)).Code)
	})
	t.Run("no Authorize denies", func(t *testing.T) {
		h := webhook.NewInvoiceRedirect(webhook.RedirectConfig{Service: svc, Store: store})
		assert.Equal(t, http.StatusForbidden, serve(h, httptest.NewRequest(http.MethodGet, "/invoices/INV-0001", nil)).Code)
	})
}

// urlService returns a fixed URL, to check what the handler refuses to
// redirect to.
type urlService struct {
	billing.Service
	url string
}

func (s urlService) GetInvoiceURL(context.Context, billing.Invoice) (string, error) {
	return s.url, nil
}

func TestInvoiceRedirectRefusesUnsafeURLs(t *testing.T) {
	store := newStore(t, invoiceIDs[0])
	for _, u := range []string{"javascript:alert(1)", "/relative/path", "//evil.example/x", "ftp://x.example/", "https://"} {
		t.Run(u, func(t *testing.T) {
			var logs syncBuffer
			h := webhook.NewInvoiceRedirect(webhook.RedirectConfig{
				Service: urlService{url: u}, Store: store,
				Authorize: func(*http.Request, billing.Invoice) bool { return true },
				Logger:    slog.New(slog.NewTextHandler(&logs, nil)),
			})
			w := serve(h, httptest.NewRequest(http.MethodGet, "/invoices/INV-0001", nil))
			assert.Equal(t, http.StatusBadGateway, w.Code)
			assert.Empty(t, w.Header().Get("Location"))
			assert.Contains(t, logs.String(), "unusable invoice URL")
		})
	}
}

// failingLookup makes InvoiceByNumber fail with a store error.
type failingLookup struct{ billing.Store }

func (failingLookup) InvoiceByNumber(context.Context, string) (billing.Invoice, error) {
	return billing.Invoice{}, errStoreDown
}

func TestInvoiceRedirectStoreError(t *testing.T) {
	store := failingLookup{newStore(t, invoiceIDs[0])}
	h := webhook.NewInvoiceRedirect(webhook.RedirectConfig{Service: mock.NewBillingService(store), Store: store,
		Authorize: func(*http.Request, billing.Invoice) bool { return true }})
	w := serve(h, httptest.NewRequest(http.MethodGet, "/invoices/INV-0001", nil))
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.NotContains(t, w.Body.String(), errStoreDown.Error())
}
