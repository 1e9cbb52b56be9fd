package xero_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/internal/metrictest"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/xero"
)

// meteredClient is emulatorClient recording its metrics in a reader.
func meteredClient(t *testing.T, opts emulator.Options, secret string) (*xero.Client, *emulator.Emulator, *metrictest.Reader) {
	t.Helper()
	emu := emulator.New(opts)
	t.Cleanup(func() { _ = emu.Close() })
	if secret == "" {
		secret = emu.ClientSecret()
	}
	r := metrictest.New(t)
	const base = "http://xero.emulator"
	client, err := xero.NewClient(xero.Config{
		ClientID:     emu.ClientID(),
		ClientSecret: billing.NewSecret(secret),
		TenantID:     emu.TenantID(),
		APIURL:       base + emulator.APIPath,
		TokenURL:     base + emulator.TokenPath,
	}, xero.WithHTTPClient(emu.Client()), xero.WithRetries(1, 0), xero.WithMeterProvider(r))
	require.NoError(t, err)
	return client, emu, r
}

// series is one http.client.request.duration series of the emulator's API.
func series(op string, status int, errorType string) string {
	method, _, _ := strings.Cut(op, " ")
	set := []attribute.KeyValue{
		attribute.String("http.request.method", method),
		attribute.String("server.address", "xero.emulator"),
		attribute.Int("server.port", 80),
		attribute.String("xero.operation", op),
	}
	if status > 0 {
		set = append(set, attribute.Int("http.response.status_code", status))
	}
	if errorType != "" {
		set = append(set, attribute.String("error.type", errorType))
	}
	return metrictest.Key(attribute.NewSet(set...))
}

// The client's metrics after a scripted run: three answered calls, one 429
// and the local refusal after it, and the one token request.
func TestClientMetrics(t *testing.T) {
	client, emu, r := meteredClient(t, emulator.Options{RateLimit: emulator.Limits{PerDay: 100, PerMinute: 10}}, "")
	ctx := t.Context()

	_, err := client.Connections(ctx)
	require.NoError(t, err)
	_, err = client.Organisation(ctx)
	require.NoError(t, err)
	_, err = client.Currencies(ctx)
	require.NoError(t, err)
	s := r.Collect(t)
	minute, _ := s.Gauge("xero.rate_limit.remaining", attribute.String("xero.rate_limit.window", "minute"))
	day, _ := s.Gauge("xero.rate_limit.remaining", attribute.String("xero.rate_limit.window", "day"))
	assert.Equal(t, 8.0, minute, "from the latest answer")
	assert.Equal(t, 98.0, day)

	emu.InjectFault(emulator.Fault{Status: http.StatusTooManyRequests, Path: emulator.APIPath})
	_, err = client.Organisation(ctx)
	var rl *ratelimit.RateLimitError
	require.ErrorAs(t, err, &rl)
	require.False(t, rl.Local)
	_, err = client.Organisation(ctx)
	require.ErrorAs(t, err, &rl)
	require.True(t, rl.Local, "the limiter waits out the 429")

	s = r.Collect(t)
	assert.Equal(t, map[string]float64{
		series("GET /connections", 200, ""):     1,
		series("GET /Organisation", 200, ""):    1,
		series("GET /Currencies", 200, ""):      1,
		series("GET /Organisation", 429, "429"): 1,
	}, s.Series("http.client.request.duration"), "one point per request sent; the refused call sent none")
	assert.Equal(t, "s", s["http.client.request.duration"].Unit)
	assert.Equal(t, map[string]float64{"xero.rate_limit.problem=minute": 1}, s.Series("xero.rate_limit.exceeded"))
	assert.Equal(t, map[string]float64{"xero.rate_limit.problem=minute": 1}, s.Series("xero.rate_limit.refused"))
	assert.Equal(t, map[string]float64{"outcome=ok": 1}, s.Series("xero.token.refreshes"))
	tenant := ",xero.tenant.id=" + emu.TenantID()
	assert.Equal(t, map[string]float64{
		"xero.rate_limit.window=minute" + tenant: 0, // the 429's X-MinLimit-Remaining
		"xero.rate_limit.window=day" + tenant:    98,
	}, s.Series("xero.rate_limit.remaining"), "a count the 429 left out keeps its last value")
}

// Clients of two tenants on one MeterProvider report each tenant's
// remaining calls apart, under xero.tenant.id.
func TestRemainingGaugePerTenant(t *testing.T) {
	r := metrictest.New(t)
	const base = "http://xero.emulator"
	calls := map[string]int{"1c5e7a9b-2d4f-4a6c-8e0b-3d5f7a9c1e2b": 1, "2d6f8b0c-3e5a-4b7d-9f1c-4e6a8b0d2f3c": 3}
	for tenant, n := range calls {
		emu := emulator.New(emulator.Options{TenantID: tenant, RateLimit: emulator.Limits{PerMinute: 10, PerDay: 100}})
		t.Cleanup(func() { _ = emu.Close() })
		client, err := xero.NewClient(xero.Config{
			ClientID:     emu.ClientID(),
			ClientSecret: billing.NewSecret(emu.ClientSecret()),
			TenantID:     tenant,
			APIURL:       base + emulator.APIPath,
			TokenURL:     base + emulator.TokenPath,
		}, xero.WithHTTPClient(emu.Client()), xero.WithMeterProvider(r))
		require.NoError(t, err)
		for range n {
			_, err = client.Organisation(t.Context())
			require.NoError(t, err)
		}
	}
	s := r.Collect(t)
	for tenant, n := range calls {
		minute, ok := s.Gauge("xero.rate_limit.remaining", attribute.String("xero.rate_limit.window", "minute"), attribute.String("xero.tenant.id", tenant))
		require.True(t, ok, tenant)
		assert.Equal(t, float64(10-n), minute, tenant)
		day, ok := s.Gauge("xero.rate_limit.remaining", attribute.String("xero.rate_limit.window", "day"), attribute.String("xero.tenant.id", tenant))
		require.True(t, ok, tenant)
		assert.Equal(t, float64(100-n), day, tenant)
	}
	assert.Len(t, s.Points("xero.rate_limit.remaining"), 4, "a minute and a day series per tenant")
}

// Failed requests carry error.type: the status of an error answer, or a
// word for no answer; token failures count as refreshes with outcome
// error, and a token 429 as a rate limit exceeded.
func TestClientMetricsFailures(t *testing.T) {
	tests := []struct {
		name      string
		secret    string
		fault     *emulator.Fault
		requests  map[string]float64
		refreshes map[string]float64
		exceeded  map[string]float64
	}{
		{
			name:      "server error",
			fault:     &emulator.Fault{Status: http.StatusInternalServerError, Path: emulator.APIPath},
			requests:  map[string]float64{series("GET /Organisation", 500, "500"): 1},
			refreshes: map[string]float64{"outcome=ok": 1},
		},
		{
			name:      "not found",
			fault:     &emulator.Fault{Status: http.StatusNotFound, Path: emulator.APIPath},
			requests:  map[string]float64{series("GET /Organisation", 404, "404"): 1},
			refreshes: map[string]float64{"outcome=ok": 1},
		},
		{
			name:      "no answer",
			fault:     &emulator.Fault{Drop: true, Path: emulator.APIPath},
			requests:  map[string]float64{series("GET /Organisation", 0, "_OTHER"): 1},
			refreshes: map[string]float64{"outcome=ok": 1},
		},
		{
			name:      "refused credentials",
			secret:    "not-the-secret",
			requests:  map[string]float64{},
			refreshes: map[string]float64{"outcome=error": 1},
		},
		{
			name:      "token endpoint's 429",
			fault:     &emulator.Fault{Status: http.StatusTooManyRequests, Path: emulator.TokenPath},
			requests:  map[string]float64{},
			refreshes: map[string]float64{"outcome=error": 1},
			exceeded:  map[string]float64{"xero.rate_limit.problem=minute": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, emu, r := meteredClient(t, emulator.Options{}, tt.secret)
			if tt.fault != nil {
				emu.InjectFault(*tt.fault)
			}
			_, err := client.Organisation(t.Context())
			require.Error(t, err)
			s := r.Collect(t)
			assert.Equal(t, tt.requests, s.Series("http.client.request.duration"))
			assert.Equal(t, tt.refreshes, s.Series("xero.token.refreshes"))
			if tt.exceeded == nil {
				tt.exceeded = map[string]float64{}
			}
			assert.Equal(t, tt.exceeded, s.Series("xero.rate_limit.exceeded"))
		})
	}
}

// Without WithMeterProvider the client records through the global
// provider, a no-op unless the app set one: nothing to see, nothing fails.
func TestClientMetricsDefaultProvider(t *testing.T) {
	client, _ := emulatorClient(t, emulator.Options{})
	_, err := client.Organisation(context.Background())
	require.NoError(t, err)
}
