package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQuickstart runs the README's first command as CI sees it: every step
// must happen, in order.
func TestQuickstart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, run(ctx, &out, ""), out.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{"Xero emulator running at http://127.0.0.1:", "Store: ", "1. Synced Ada Lovelace (", "2. Created invoice INV-0001 for NZD 242.65",
		"3. Emailed INV-0001 to ada@example.com", "4. Online invoice: http://127.0.0.1:", "5. Paid NZD 242.65",
		"6. Webhook received: signature verified", "7. Fetched invoice updates: 1 updated [INV-0001]",
		"8. Hook: INV-0001 went AUTHORISED -> PAID", "Done: INV-0001 is PAID"}
	require.Len(t, lines, len(want), out.String())
	for i, prefix := range want {
		assert.True(t, strings.HasPrefix(lines[i], prefix), "line %d: %q, want prefix %q", i+1, lines[i], prefix)
	}
}
