package xero_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/xero"
)

// markedInvoices creates n invoices with GUID provider ids, all marked.
func markedInvoices(t *testing.T, store *mock.Store, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		id := guid(i + 1)
		require.NoError(t, store.CreateInvoice(ctx, billing.Invoice{
			Account: billing.UserAccount(userID), Number: fmt.Sprintf("INV-%04d", i+1), ProviderID: id,
			Status: billing.StatusAuthorised, Amount: decimal.RequireFromString("10"),
		}))
		_, err := store.MarkUpdateNeeded(ctx, []string{id}, time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC))
		require.NoError(t, err)
	}
}

// TestFetchStopsOnAuthFailure: with credentials Xero refuses, a fetch run
// is one call that fails: no bisection (each half would fail the same way),
// nothing recorded against any invoice, every claim released, and one error
// that says what is wrong and matches billing.ErrUnauthorized.
func TestFetchStopsOnAuthFailure(t *testing.T) {
	unauthorized := respond(401, `{"Type":null,"Title":"Unauthorized","Status":401,"Detail":"AuthenticationUnsuccessful"}`)
	forbidden := respond(403, `{"Type":null,"Title":"Forbidden","Status":403,"Detail":"AuthenticationUnsuccessful"}`)
	tests := []struct {
		name     string
		token    func(int) (int, string) // nil: tokens are granted
		invoices func(*harness)
		tokens   int
		mentions string
		apiCalls int
	}{
		{"wrong client secret", func(int) (int, string) { return 400, `{"error":"invalid_client"}` }, nil, 1, "XERO_CLIENT_SECRET", 0},
		{"401 after a fresh token", nil, func(h *harness) { h.handle(http.MethodGet, "/Invoices", unauthorized) }, 2, "401", 2},
		{"403", nil, func(h *harness) { h.handle(http.MethodGet, "/Invoices", forbidden) }, 1, "403", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.tokenAnswer = tt.token
			if tt.invoices != nil {
				tt.invoices(h)
			}
			svc, store := newService(t, h)
			markedInvoices(t, store, 30)

			res, err := billing.FetchInvoiceUpdates(context.Background(), svc, store, billing.FetchOptions{})
			require.Error(t, err)
			assert.ErrorIs(t, err, billing.ErrUnauthorized)
			assert.Contains(t, err.Error(), tt.mentions)
			assert.Equal(t, tt.tokens, h.tokenCount(), "one call, not a bisection")
			assert.Equal(t, tt.apiCalls, h.apiCalls())
			assert.Equal(t, 30, res.Claimed)
			assert.Empty(t, res.Failed, "no invoice is blamed for the credentials")
			for _, inv := range store.Invoices() {
				assert.True(t, inv.UpdateNeeded, inv.Number)
				assert.Zero(t, inv.UpdateAttempts, inv.Number)
				assert.Empty(t, inv.UpdateError, inv.Number)
			}
			claims, err := store.ClaimUpdates(context.Background(), time.Now(), 100, time.Minute)
			require.NoError(t, err)
			assert.Len(t, claims, 30, "the claims were released")
		})
	}
}

// TestErrorsMatchingBillingUnauthorized: which of Xero's answers read as
// "the credentials or their permissions are refused" to provider-neutral
// code, and which do not.
func TestErrorsMatchingBillingUnauthorized(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"invalid_client", &xero.AuthError{StatusCode: 400, Code: "invalid_client"}, true},
		{"invalid_scope", &xero.AuthError{StatusCode: 400, Code: "invalid_scope"}, true},
		{"invalid_grant", &xero.AuthError{StatusCode: 400, Code: "invalid_grant"}, true},
		{"unauthorized_client", &xero.AuthError{StatusCode: 400, Code: "unauthorized_client"}, true},
		{"token 401 without a code", &xero.AuthError{StatusCode: 401}, true},
		{"token endpoint outage", &xero.AuthError{StatusCode: 503}, false},
		{"token server_error", &xero.AuthError{StatusCode: 500, Code: "server_error"}, false},
		{"API 401", &xero.APIError{StatusCode: 401}, true},
		{"API 403", &xero.APIError{StatusCode: 403}, true},
		{"API 400", &xero.APIError{StatusCode: 400}, false},
		{"API 404", &xero.APIError{StatusCode: 404}, false},
		{"API 500", &xero.APIError{StatusCode: 500}, false},
		{"wrapped", fmt.Errorf("sync: %w", &xero.APIError{StatusCode: 403}), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, errors.Is(tt.err, billing.ErrUnauthorized))
			if tt.want {
				assert.False(t, billing.IsTemporary(tt.err), "unauthorized and temporary exclude each other")
			}
		})
	}
}
