package webhook_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/webhook"
)

func TestHandlerNeverPrintsItsKeys(t *testing.T) {
	key := "printed-key-must-not-appear"
	h, err := webhook.New(webhook.Config{Keys: []billing.Secret{billing.NewSecret(key)}, TenantID: "6f1a7a0e-0d3c-4a6e-9a39-1f1c0b0e7c11", Store: mock.NewStore()})
	require.NoError(t, err)
	defer h.Close()
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("handler", "h", h)
	out := fmt.Sprintf("%v %+v %#v %s", h, h, h, h) + logs.String()
	assert.NotContains(t, out, key)
	assert.NotContains(t, out, fmt.Sprint([]byte(key)[:4]))
	assert.Contains(t, out, "webhook.Handler{tenant: 6f1a7a0e-0d3c-4a6e-9a39-1f1c0b0e7c11, keys: 1}")
}
