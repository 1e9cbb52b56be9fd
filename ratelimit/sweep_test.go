package ratelimit

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLocalForgetsIdleTenants(t *testing.T) {
	now := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	l := NewLocal(Options{Now: func() time.Time { return now }})

	for _, tenant := range []string{"old", "held", "paused"} {
		release, err := l.Acquire(context.Background(), tenant)
		require.NoError(t, err)
		if tenant != "held" {
			release()
		}
	}
	now = now.Add(24 * time.Hour)
	l.Observe("paused", http.StatusTooManyRequests, http.Header{"Retry-After": {"60"}})

	release, err := l.Acquire(context.Background(), "new")
	require.NoError(t, err)
	release()

	l.mu.Lock()
	defer l.mu.Unlock()
	assert.NotContains(t, l.tenants, "old", "no call for a day and nothing pending")
	assert.Contains(t, l.tenants, "held", "a call is still in flight")
	assert.Contains(t, l.tenants, "paused")
	assert.Contains(t, l.tenants, "new")
}
