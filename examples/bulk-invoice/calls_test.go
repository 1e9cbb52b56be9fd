package main

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/xero"
)

// callRow is one line of the calls-per-1,000 table.
type callRow struct {
	work   string
	calls  int
	target string
	ok     bool
	by     map[string]int
}

// TestCallsPerThousand regenerates the README's table of Xero calls per
// 1,000 records, counted exactly from the emulator's CallCounts (token
// requests are not API calls), and holds each to its target:
//
//	go test -run TestCallsPerThousand -v ./examples/bulk-invoice/
func TestCallsPerThousand(t *testing.T) {
	const n = 1000
	ctx := context.Background()
	store := mock.NewStore()
	cfg := xero.Config{EmailInvoices: true, EmailWhitelist: regexp.MustCompile(`@example\.com$`)}
	svc, err := mock.NewXeroBillingService(store, mock.WithXeroConfig(cfg),
		mock.WithEmulatorOptions(emulator.Options{DisableRateLimit: true}),
		mock.WithClientOptions(xero.WithLimiter(ratelimit.NewLocal(ratelimit.Options{PerMinute: 1 << 20, PerDay: 1 << 20}))))
	require.NoError(t, err)
	t.Cleanup(func() { _ = svc.Close() })
	emu := svc.Emulator()

	var rows []callRow
	measure := func(work, target string, within func(int) bool, do func()) {
		before := emu.CallCounts()
		do()
		by := callDiff(before, emu.CallCounts())
		delete(by, "POST /connect/token")
		calls := 0
		for _, c := range by {
			calls += c
		}
		rows = append(rows, callRow{work: work, calls: calls, target: target, ok: within(calls), by: by})
	}
	atMost := func(max int) func(int) bool { return func(c int) bool { return c <= max } }
	exactly := func(want int) func(int) bool { return func(c int) bool { return c == want } }

	members := demoMembers(n, decimal.RequireFromString(defaultAmount))
	details := make([]billing.BillingDetails, n)
	for i, m := range members {
		details[i] = billing.UserDetails(billing.User{ID: m.ID, Name: m.Name, Email: m.Email})
	}
	s := settings{reference: defaultReference, description: defaultDescription, date: billing.NewDate(2026, 12, 1)}
	s.due = s.date.AddDays(defaultDueDays)
	params := make([]billing.CreateInvoiceParams, n)
	for i, m := range members {
		params[i] = s.params(m)
	}

	measure("1,000 new contacts", "≤ 20", atMost(20), func() {
		res, err := svc.SyncContacts(ctx, details, billing.BulkOptions{})
		require.NoError(t, err)
		assert.Equal(t, n, countOutcome(res, func(r billing.SyncResult) billing.Outcome { return r.Outcome }, billing.Created))
	})
	measure("1,000 unchanged re-syncs", "0", exactly(0), func() {
		res, err := svc.SyncContacts(ctx, details, billing.BulkOptions{})
		require.NoError(t, err)
		assert.Equal(t, n, countOutcome(res, func(r billing.SyncResult) billing.Outcome { return r.Outcome }, billing.Unchanged))
	})
	var invs []billing.Invoice
	measure("1,000 invoices", "≤ 20", atMost(20), func() {
		res, err := svc.CreateInvoices(ctx, params, billing.BulkOptions{})
		require.NoError(t, err)
		for _, r := range res {
			require.Equal(t, billing.Created, r.Outcome, r.Err)
			invs = append(invs, r.Invoice)
		}
	})
	measure("the same 1,000 invoices again (a rerun)", "0", exactly(0), func() {
		res, err := svc.CreateInvoices(ctx, params, billing.BulkOptions{})
		require.NoError(t, err)
		assert.Equal(t, n, countOutcome(res, func(r billing.CreateResult) billing.Outcome { return r.Outcome }, billing.Existing))
	})
	ids := make([]string, n)
	for i, inv := range invs {
		ids[i] = inv.ProviderID
	}
	measure("refreshing 1,000 invoices by id", "≤ 20", atMost(20), func() {
		res, err := svc.UpdateInvoices(ctx, ids)
		require.NoError(t, err)
		assert.Len(t, res.Updated, n)
		assert.Empty(t, res.Failed)
	})
	// The fetch job takes the marked invoices DefaultFetchAllLimit (50) a
	// request, fewer than UpdateInvoices' 53, for the URL's margin.
	measure("the fetch job over 1,000 marked invoices", "20", exactly(20), func() {
		marked, err := store.MarkUpdateNeeded(ctx, ids, time.Now())
		require.NoError(t, err)
		require.Equal(t, n, marked)
		res, err := billing.FetchAllInvoiceUpdates(ctx, svc, store, billing.FetchOptions{})
		require.NoError(t, err)
		assert.Equal(t, n, res.Claimed)
		assert.Empty(t, res.Failed)
	})

	// The sweep: a first one sets the marks (and checks the open invoices);
	// then all 1,000 are paid in Xero, no webhook heard, and the next sweep
	// finds them in the modified list. Each sweep also reads a page of
	// credit notes and the payments, 1,000 a page, and refreshes no invoice
	// for them: the invoice pages brought each one.
	sweep := billing.SweepOptions{Tenant: emu.TenantID()}
	_, err = billing.Sweep(ctx, svc, store, sweep)
	require.NoError(t, err)
	// A hundred members pay part of their invoice, no webhook heard.
	for _, inv := range invs[:100] {
		require.NoError(t, emu.PayInvoice(ctx, inv.ProviderID, decimal.NewFromInt(10), billing.Date{}))
	}
	measure("a sweep over 1,000 known invoices, 100 changed", "≤ 3", atMost(3), func() {
		res, err := billing.Sweep(ctx, svc, store, sweep)
		require.NoError(t, err)
		assert.Len(t, res.Changed, 100)
		assert.Equal(t, 100, res.Payments.Changed)
		assert.Zero(t, res.Repaired)
		assert.True(t, res.InStep())
	})
	measure("the daily check of 1,000 open invoices (OpenNow)", "≤ 23", atMost(23), func() {
		forced := sweep
		forced.OpenNow = true
		res, err := billing.Sweep(ctx, svc, store, forced)
		require.NoError(t, err)
		assert.Equal(t, n, res.OpenChecked)
		assert.Empty(t, res.Changed, "already in step")
	})
	for _, inv := range invs {
		x, ok := emu.Invoice(inv.ProviderID)
		require.True(t, ok)
		require.NoError(t, emu.PayInvoice(ctx, inv.ProviderID, x.AmountDue, billing.Date{}))
	}
	measure("a sweep with 1,000 changed", "≤ 4 (1,100 payments in the window: 2 pages)", atMost(4), func() {
		res, err := billing.Sweep(ctx, svc, store, sweep)
		require.NoError(t, err)
		assert.Len(t, res.Changed, n, "every payment found")
		assert.Equal(t, n, res.Payments.Changed)
		assert.Zero(t, res.Repaired)
		assert.Zero(t, res.OpenChecked, "the open check is not due")
		assert.True(t, res.InStep())
	})
	measure("emailing 1,000 invoices", "1,000 (Xero emails one a call)", exactly(n), func() {
		// Paid now, but Xero emails a paid invoice too; the whitelist is
		// read from the store, not from Xero.
		res, err := svc.EmailInvoices(ctx, invs, billing.BulkOptions{})
		require.NoError(t, err)
		for _, r := range res {
			require.NoError(t, r.Err)
			require.Equal(t, billing.Emailed, r.Outcome)
		}
	})
	measure("the same 1,000 emails again (a rerun)", "0", exactly(0), func() {
		res, err := svc.EmailInvoices(ctx, invs, billing.BulkOptions{})
		require.NoError(t, err)
		assert.Equal(t, n, countOutcome(res, func(r billing.EmailResult) billing.Outcome { return r.Outcome }, billing.AlreadyEmailed))
	})

	var b strings.Builder
	b.WriteString("Xero calls per 1,000 records (counted by the emulator's CallCounts; token requests excluded):\n\n")
	b.WriteString("| Work | Calls | Target | Requests |\n|---|---:|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %d | %s | %s |\n", r.work, r.calls, r.target, describe(r.by))
	}
	t.Log("\n" + b.String())
	for _, r := range rows {
		assert.True(t, r.ok, "%s: %d calls, target %s", r.work, r.calls, r.target)
	}
}

// describe lists a CallCounts difference, most calls first.
func describe(by map[string]int) string {
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

func countOutcome[T any](rs []T, of func(T) billing.Outcome, want billing.Outcome) int {
	n := 0
	for _, r := range rs {
		if of(r) == want {
			n++
		}
	}
	return n
}
