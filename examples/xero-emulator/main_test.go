package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/amsbilling/sdk/xero/setup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEmulatorCommandPrintsEnvAndServes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-webhook-url", "http://127.0.0.1:1/hook"}, pw, io.Discard)
		pw.Close()
	}()

	required := []string{"XERO_API_URL", "XERO_TOKEN_URL", "XERO_CLIENT_ID", "XERO_CLIENT_SECRET", "XERO_TENANT_ID", "XERO_WEBHOOK_KEY", "AMS_BILLING_SERVICE_CLASS"}
	env := map[string]string{}
	missing := func() bool {
		for _, k := range required {
			if env[k] == "" {
				return true
			}
		}
		return false
	}
	sc := bufio.NewScanner(pr)
	for missing() && sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "export "); ok {
			k, v, _ := strings.Cut(rest, "=")
			env[k] = strings.Trim(v, "'")
		}
	}
	for _, k := range required {
		require.NotEmpty(t, env[k], k)
	}
	// The printed token URL really serves tokens.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, env["XERO_TOKEN_URL"], strings.NewReader("grant_type=client_credentials"))
	require.NoError(t, err)
	req.SetBasicAuth(env["XERO_CLIENT_ID"], env["XERO_CLIENT_SECRET"])
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)

	cancel()
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	select {
	case code := <-done:
		assert.Equal(t, 0, code)
	case <-time.After(10 * time.Second):
		t.Fatal("the emulator did not stop on cancel")
	}
}

func TestEmulatorCommandExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"help", []string{"-h"}, 0},
		{"unknown flag", []string{"-no-such-flag"}, 2},
		{"stray argument", []string{"8080"}, 2},
		{"webhook URL without a scheme", []string{"-webhook-url", "127.0.0.1:8000/billing/xero/webhooks/"}, 2},
		{"cannot listen", []string{"-addr", "256.0.0.1:0"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, run(t.Context(), tt.args, io.Discard, io.Discard))
		})
	}
}

// Without -webhook-url the printed environment is still one the SDK
// accepts (XERO_WEBHOOK_KEY included), so the app starts.
func TestEmulatorCommandEnvWithoutWebhookURL(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, pw, io.Discard)
		pw.Close()
	}()
	env := map[string]string{}
	sc := bufio.NewScanner(pr)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "# Overview") {
		if rest, ok := strings.CutPrefix(sc.Text(), "export "); ok {
			k, v, _ := strings.Cut(rest, "=")
			env[k] = strings.Trim(v, "'")
		}
	}
	cancel()
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	assert.Equal(t, 0, <-done)
	_, err := setup.LoadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	assert.NoError(t, err)
}
