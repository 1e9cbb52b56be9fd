package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/examples/internal/moneycmd/moneytest"
	"github.com/amsbilling/sdk/mock/emulator"
)

// TestCallsPerThousandPayments measures the Xero calls of recording 1,000
// payments from a CSV file with this command, counted exactly from the
// emulator's CallCounts (token requests are not API calls), and of
// running the same file again; billing the 1,000 invoices first is the
// test's own setup, counted separately:
//
//	go test -run TestCallsPerThousandPayments -v ./examples/record-payment/
func TestCallsPerThousandPayments(t *testing.T) {
	const n = 1000
	r := moneytest.New(t, emulator.Options{DisableRateLimit: true})
	calls := func(before map[string]int) map[string]int {
		by := map[string]int{}
		for op, c := range r.Server.CallCounts() {
			if d := c - before[op]; d > 0 && op != "POST /connect/token" {
				by[op] = d
			}
		}
		return by
	}

	start := r.Server.CallCounts()
	invs := r.Bill(t, n)
	setup := calls(start)

	var b strings.Builder
	b.WriteString("invoice,amount,date,reference\n")
	for i, inv := range invs {
		// Half pay in full, half in part: both are one record of a call.
		amount := "115.00"
		if i%2 == 1 {
			amount = "40.00"
		}
		fmt.Fprintf(&b, "%s,%s,2026-12-05,card %d\n", inv.Number, amount, i+1)
	}
	file := filepath.Join(t.TempDir(), "payments.csv")
	require.NoError(t, os.WriteFile(file, []byte(b.String()), 0o600))

	before := r.Server.CallCounts()
	res := r.Run(t, run, "-csv", file)
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Contains(t, res.Stdout, fmt.Sprintf("%d payment(s): %d created", n, n))
	record := calls(before)

	before = r.Server.CallCounts()
	res = r.Run(t, run, "-csv", file)
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Contains(t, res.Stdout, fmt.Sprintf("%d payment(s): %d existing", n, n))
	rerun := calls(before)

	var table strings.Builder
	table.WriteString("Xero calls per 1,000 payments (the emulator's CallCounts; token requests excluded):\n\n")
	table.WriteString("| Work | Calls | Target | Requests |\n|---|---:|---|---|\n")
	fmt.Fprintf(&table, "| 1,000 payments recorded from a CSV | %d | 20 | %s |\n", total(record), byOperation(record))
	fmt.Fprintf(&table, "| the same CSV again (a rerun) | %d | 0 | %s |\n", total(rerun), byOperation(rerun))
	fmt.Fprintf(&table, "| (setup: 1,000 contacts and invoices) | %d | - | %s |\n", total(setup), byOperation(setup))
	t.Log("\n" + table.String())

	assert.Equal(t, map[string]int{"PUT /Payments": 20}, record, "50 payments a call, nothing else")
	assert.Empty(t, rerun, "a rerun calls nothing")
	live := 0
	for _, p := range r.Server.Payments() {
		if p.Status != emulator.PaymentDeleted {
			live++
		}
	}
	assert.Equal(t, n, live, "one payment each")
}

func total(by map[string]int) int {
	n := 0
	for _, c := range by {
		n += c
	}
	return n
}

// byOperation lists calls by operation, most first.
func byOperation(by map[string]int) string {
	if len(by) == 0 {
		return "none"
	}
	ops := slices.Collect(maps.Keys(by))
	slices.SortFunc(ops, func(a, b string) int {
		if by[a] != by[b] {
			return by[b] - by[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(ops))
	for i, op := range ops {
		parts[i] = fmt.Sprintf("%d × %s", by[op], op)
	}
	return strings.Join(parts, ", ")
}
