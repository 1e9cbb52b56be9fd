package redislimit_test

import (
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/ratelimit/redislimit"
	"github.com/amsbilling/sdk/xero"
)

// Two replicas' xero.Clients share one tenant's budget through Redis: once
// it is spent, the next call fails locally and nothing reaches Xero.
func TestXeroClientsShareBudget(t *testing.T) {
	s := newShared(t)
	srv := emulator.NewServer(emulator.Options{Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { _ = srv.Close() })

	cfg := xero.Config{
		ClientID:     srv.ClientID(),
		ClientSecret: billing.NewSecret(srv.ClientSecret()),
		TenantID:     srv.TenantID(),
		APIURL:       srv.APIURL,
		TokenURL:     srv.TokenURL,
	}
	newClient := func() *xero.Client {
		c, err := xero.NewClient(cfg,
			xero.WithLimiter(s.limiter(redislimit.Options{Limits: ratelimit.Options{PerMinute: 3}})),
			xero.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}),
			xero.WithLogger(slog.New(slog.DiscardHandler)),
		)
		require.NoError(t, err)
		return c
	}
	replica1, replica2 := newClient(), newClient()

	for _, c := range []*xero.Client{replica1, replica2, replica1} {
		_, _, err := c.GetInvoices(t.Context(), []string{"0b7a4c1e-8f2d-4e3a-9c5b-6d1f2e3a4b5c"})
		require.NoError(t, err)
	}
	sent := len(srv.Requests())
	require.Positive(t, sent)

	for _, c := range []*xero.Client{replica2, replica1} {
		_, _, err := c.GetInvoices(t.Context(), []string{"0b7a4c1e-8f2d-4e3a-9c5b-6d1f2e3a4b5c"})
		var rle *ratelimit.RateLimitError
		require.ErrorAs(t, err, &rle)
		assert.True(t, rle.Local)
		assert.Equal(t, ratelimit.ProblemMinute, rle.Problem)
		assert.Equal(t, srv.TenantID(), rle.Tenant)
		assert.True(t, billing.IsTemporary(err))
	}
	assert.Len(t, srv.Requests(), sent, "a refused call sends nothing")
}

// A xero.Client on a Redis that hangs fails each call once, within the
// limiter's bound: the limiter's error is returned untried, and nothing is
// sent to Xero or logged as a retried request.
func TestXeroClientOnFrozenRedis(t *testing.T) {
	srv := emulator.NewServer(emulator.Options{Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { _ = srv.Close() })
	var logs syncBuffer
	c, err := xero.NewClient(xero.Config{
		ClientID:     srv.ClientID(),
		ClientSecret: billing.NewSecret(srv.ClientSecret()),
		TenantID:     srv.TenantID(),
		APIURL:       srv.APIURL,
		TokenURL:     srv.TokenURL,
	},
		xero.WithLimiter(redislimit.New(patientClient(t, frozenRedis(t)), redislimit.Options{})),
		xero.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}),
		xero.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
	)
	require.NoError(t, err)

	within(t, func() {
		_, _, err = c.GetInvoices(t.Context(), []string{"0b7a4c1e-8f2d-4e3a-9c5b-6d1f2e3a4b5c"})
	})
	require.ErrorIs(t, err, redislimit.ErrUnavailable)
	assert.True(t, billing.IsTemporary(err))
	assert.NotContains(t, logs.String(), "retrying request")
	for _, r := range srv.Requests() {
		assert.NotContains(t, r.Path, "/Invoices", "no API request without the limiter's grant")
	}
}
