package webhook_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/internal/metrictest"
	"github.com/amsbilling/sdk/webhook"
)

// failingBody fails every read, as a client that hangs up mid-body does.
type failingBody struct{}

func (failingBody) Read([]byte) (int, error) { return 0, errors.New("connection reset by peer") }

// Every delivery is counted once, with the outcome its answer says, and
// timed; the marks it stored are counted too.
func TestHandlerMetrics(t *testing.T) {
	two := body(t, invoiceUpdate(invoiceIDs[0]), invoiceUpdate(invoiceIDs[1]), invoiceUpdate("unknown-to-the-store"))
	tests := []struct {
		name    string
		req     func() *http.Request
		fail    error
		status  int
		outcome string
		marked  float64
	}{
		{"marked", func() *http.Request { return signed(two) }, nil, http.StatusOK, "ok", 2},
		{"nothing to mark", func() *http.Request { return signed(body(t)) }, nil, http.StatusOK, "ok", 0},
		{"bad signature", func() *http.Request { return post(two, webhook.Sign([]byte(otherKey), two)) }, nil, http.StatusUnauthorized, "bad_signature", 0},
		{"no signature", func() *http.Request { return post(two, "") }, nil, http.StatusUnauthorized, "bad_signature", 0},
		{"too large", func() *http.Request { return signed(bytes.Repeat([]byte(" "), 2<<10)) }, nil, http.StatusRequestEntityTooLarge, "too_large", 0},
		{"malformed", func() *http.Request { return signed([]byte(`{"events": 3}`)) }, nil, http.StatusBadRequest, "malformed", 0},
		{"unreadable", func() *http.Request {
			r := post(nil, "sig")
			r.Body, r.ContentLength = io.NopCloser(failingBody{}), -1
			return r
		}, nil, http.StatusBadRequest, "read_failed", 0},
		{"store failed", func() *http.Request { return signed(two) }, errStoreDown, http.StatusInternalServerError, "store_failed", 0},
		{"not a POST", func() *http.Request { return httptest.NewRequest(http.MethodGet, "/billing/xero/webhooks/", nil) }, nil, http.StatusMethodNotAllowed, "method_not_allowed", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := metrictest.New(t)
			store := &recordingStore{Store: newStore(t, invoiceIDs...), fail: tt.fail}
			h := newHandler(t, webhook.Config{Store: store, MaxBodyBytes: 1 << 10, MeterProvider: r})
			w := serve(h, tt.req())
			require.Equal(t, tt.status, w.Code)

			s := r.Collect(t)
			assert.Equal(t, map[string]float64{"outcome=" + tt.outcome: 1}, s.Series("webhook.deliveries"))
			assert.Equal(t, map[string]float64{"outcome=" + tt.outcome: 1}, s.Series("webhook.delivery.duration"))
			assert.Equal(t, "s", s["webhook.delivery.duration"].Unit)
			assert.Equal(t, tt.marked, s.Sum("billing.invoices.marked"))
		})
	}
}

// No attribute carries a key, a signature, a tenant or an invoice id.
func TestHandlerMetricsHoldNoSecret(t *testing.T) {
	r := metrictest.New(t)
	h := newHandler(t, webhook.Config{Store: newStore(t, invoiceIDs...), MeterProvider: r})
	b := body(t, invoiceUpdate(invoiceIDs[0]))
	serve(h, signed(b))
	serve(h, post(b, webhook.Sign([]byte(otherKey), b)))
	values := r.Collect(t).AttributeValues()
	require.NotEmpty(t, values)
	for _, v := range values {
		for _, secret := range []string{testKey, otherKey, testTenant, invoiceIDs[0], webhook.Sign([]byte(testKey), b)} {
			assert.False(t, strings.Contains(v, secret), "attribute value %q", v)
		}
	}
}

// Config.MeterProvider left nil: the global provider, a no-op here.
func TestHandlerMetricsDefaultProvider(t *testing.T) {
	h := newHandler(t, webhook.Config{Store: newStore(t, invoiceIDs...), Keys: []billing.Secret{billing.NewSecret(testKey)}})
	assert.Equal(t, http.StatusOK, serve(h, signed(body(t, invoiceUpdate(invoiceIDs[0])))).Code)
}
