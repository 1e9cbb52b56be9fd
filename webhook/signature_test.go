package webhook_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/webhook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSignKnownVector(t *testing.T) {
	// HMAC-SHA256 test case 2 of RFC 4231, base64-encoded.
	got := webhook.Sign([]byte("Jefe"), []byte("what do ya want for nothing?"))
	assert.Equal(t, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=", got)
}

func TestVerify(t *testing.T) {
	b := []byte(`{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"X"}`)
	sig := webhook.Sign([]byte(testKey), b)
	tests := []struct {
		name string
		keys []billing.Secret
		body []byte
		sig  string
		want error
	}{
		{"valid", []billing.Secret{billing.NewSecret(testKey)}, b, sig, nil},
		{"second key", []billing.Secret{billing.NewSecret(otherKey), billing.NewSecret(testKey)}, b, sig, nil},
		{"missing", []billing.Secret{billing.NewSecret(testKey)}, b, "", webhook.ErrMissingSignature},
		{"wrong key", []billing.Secret{billing.NewSecret(otherKey)}, b, sig, webhook.ErrInvalidSignature},
		{"changed body", []billing.Secret{billing.NewSecret(testKey)}, append([]byte(" "), b...), sig, webhook.ErrInvalidSignature},
		{"malformed", []billing.Secret{billing.NewSecret(testKey)}, b, "not base64 at all, not even close!!!!!!!!!!", webhook.ErrInvalidSignature},
		{"too short", []billing.Secret{billing.NewSecret(testKey)}, b, sig[:40], webhook.ErrInvalidSignature},
		{"too long", []billing.Secret{billing.NewSecret(testKey)}, b, sig + "AAAA", webhook.ErrInvalidSignature},
		{"no keys", nil, b, sig, webhook.ErrInvalidSignature},
		{"empty key never verifies", []billing.Secret{billing.NewSecret("")}, b, webhook.Sign(nil, b), webhook.ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhook.Verify(tt.keys, tt.body, tt.sig)
			if tt.want == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tt.want)
			assert.NotContains(t, err.Error(), testKey)
			assert.NotContains(t, err.Error(), sig)
		})
	}
}

func TestNewSignedRequest(t *testing.T) {
	b := body(t, invoiceUpdate(invoiceIDs[0]))
	req, err := webhook.NewSignedRequest(context.Background(), []byte(testKey), "http://127.0.0.1/billing/xero/webhooks/", b)
	require.NoError(t, err)
	assert.Equal(t, http.MethodPost, req.Method)
	assert.Equal(t, "application/json", req.Header.Get("Content-Type"))
	got, err := io.ReadAll(req.Body)
	require.NoError(t, err)
	assert.Equal(t, b, got)
	assert.NoError(t, webhook.Verify([]billing.Secret{billing.NewSecret(testKey)}, got, req.Header.Get("x-xero-signature")))

	_, err = webhook.NewSignedRequest(context.Background(), []byte(testKey), "://bad", b)
	assert.Error(t, err)
}
