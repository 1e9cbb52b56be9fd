package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEmulatorCommandPrintsEnvAndServes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
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
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the emulator did not stop on cancel")
	}
}
