package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/sqlstore/sqlurl"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/xero"
	"github.com/amsbilling/sdk/xero/setup"
)

type result struct {
	code           int
	stdout, stderr string
}

func runCmd(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, &out, &errOut, setup.New)
	return result{code, out.String(), errOut.String()}
}

func TestNoServiceAndMock(t *testing.T) {
	db := filepath.Join(t.TempDir(), "billing.db")
	r := runCmd(t, map[string]string{"BILLING_DATABASE_URL": db})
	assert.Equal(t, 0, r.code)
	assert.Equal(t, "Fetching updates to invoices for Xero billing...\nNo billing service configured.\nDone\n", r.stdout)

	r = runCmd(t, map[string]string{"BILLING_DATABASE_URL": db, "AMS_BILLING_SERVICE_CLASS": "mock"})
	assert.Equal(t, 0, r.code)
	assert.Equal(t, "Fetching updates to invoices for Xero billing...\nNo invoice updates to fetch with mock billing.\nDone\n", r.stdout)
}

func TestBadConfigurationExits2(t *testing.T) {
	r := runCmd(t, map[string]string{"AMS_BILLING_SERVICE_CLASS": "xero", "XERO_CLIENT_SECRET": "do-not-print-me"})
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "XERO_CLIENT_ID")
	assert.NotContains(t, r.stderr+r.stdout, "do-not-print-me")

	r = runCmd(t, nil, "-limit", "0")
	assert.Equal(t, 2, r.code)
	r = runCmd(t, map[string]string{"AMS_BILLING_SERVICE_CLASS": "xero", "XERO_CLIENT_ID": "id", "XERO_CLIENT_SECRET": "do-not-print-me",
		"XERO_TENANT_ID": "6f1a7a0e-0d3c-4a6e-9a39-1f1c0b0e7c11", "XERO_WEBHOOK_KEY": "k", "XERO_ACCOUNT_CODE": "200",
		"XERO_AMOUNT_TYPE": "EXCLUSIVE", "XERO_CURRENCY_CODE": "NZD", "BILLING_DATABASE_URL": "mysql://app:do-not-print-me@db/app"})
	assert.Equal(t, 2, r.code, "an unsupported BILLING_DATABASE_URL is a configuration error")
	assert.Contains(t, r.stderr, "BILLING_DATABASE_URL")
	assert.NotContains(t, r.stderr+r.stdout, "do-not-print-me")
	r = runCmd(t, nil, "-no-such-flag")
	assert.Equal(t, 2, r.code)
}

// fixture is an emulator with paid invoices marked in a SQLite store, as
// webhooks would leave them.
func fixture(t *testing.T, invoices int) (map[string]string, *emulator.Server) {
	t.Helper()
	ctx := context.Background()
	srv, err := emulator.Listen("127.0.0.1:0", emulator.Options{WebhookKey: "fixture-webhook-key"})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	env := srv.Env()
	env["BILLING_DATABASE_URL"] = filepath.Join(t.TempDir(), "billing.db")
	cfg, err := setup.LoadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)

	store, err := sqlurl.Open(ctx, env["BILLING_DATABASE_URL"])
	require.NoError(t, err)
	defer store.Close()
	client, err := xero.NewClient(cfg.Xero)
	require.NoError(t, err)
	svc := xero.NewService(client, store, cfg.Xero)
	user := billing.User{ID: "0b7e8a52-54a4-4f57-9c1e-1d1f3c2b4a59", Name: "Ada", Email: "ada@example.com"}
	require.NoError(t, svc.UpdateUserBillingDetails(ctx, user))
	var ids []string
	for i := range invoices {
		inv, err := svc.CreateInvoice(ctx, billing.CreateInvoiceParams{
			Reference: fmt.Sprintf("Membership %d", i+1), // each its own logical invoice
			Account:   billing.UserAccount(user.ID), Date: billing.NewDate(2026, 11, 1), DueDate: billing.NewDate(2026, 11, 30),
			LineItems: []billing.LineItem{{Description: "Membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.NewFromInt(100)}},
		})
		require.NoError(t, err)
		require.NoError(t, srv.PayInvoice(ctx, inv.ProviderID, inv.Due, billing.NewDate(2026, 11, 5)))
		ids = append(ids, inv.ProviderID)
	}
	n, err := store.MarkUpdateNeeded(ctx, ids, time.Now())
	require.NoError(t, err)
	require.Equal(t, invoices, n)
	return env, srv
}

func paidCount(t *testing.T, env map[string]string) (paid, marked int) {
	t.Helper()
	store, err := sqlurl.Open(context.Background(), env["BILLING_DATABASE_URL"])
	require.NoError(t, err)
	defer store.Close()
	for i := 1; ; i++ {
		inv, err := store.InvoiceByNumber(context.Background(), fmt.Sprintf("INV-%04d", i))
		if err != nil {
			return paid, marked
		}
		if inv.IsPaid() {
			paid++
		}
		if inv.UpdateNeeded {
			marked++
		}
	}
}

func TestFetchUpdatesInvoices(t *testing.T) {
	env, _ := fixture(t, 3)
	r := runCmd(t, env)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "Fetching updates to invoices for Xero billing...\nUpdated 3 invoice(s):\n  - INV-0001\n  - INV-0002\n  - INV-0003\nDone\n", r.stdout)
	paid, marked := paidCount(t, env)
	assert.Equal(t, 3, paid)
	assert.Zero(t, marked)

	r = runCmd(t, env)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "Fetching updates to invoices for Xero billing...\nNo invoices needed updating\nDone\n", r.stdout)
}

func TestLimitAndAll(t *testing.T) {
	env, _ := fixture(t, 3)
	r := runCmd(t, env, "-limit", "2")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "Fetching updates to invoices for Xero billing...\nUpdated 2 invoice(s):\n  - INV-0001\n  - INV-0002\nDone\n", r.stdout)
	_, marked := paidCount(t, env)
	assert.Equal(t, 1, marked)

	env, _ = fixture(t, 3)
	r = runCmd(t, env, "-limit", "1", "-all")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "Fetching updates to invoices for Xero billing...\nUpdated 3 invoice(s):\n  - INV-0001\n  - INV-0002\n  - INV-0003\nDone\n", r.stdout, "batches of 1, reported together")
	_, marked = paidCount(t, env)
	assert.Zero(t, marked)
}

func TestRateLimitStopsCleanly(t *testing.T) {
	for _, args := range [][]string{{"-all"}, nil} {
		env, srv := fixture(t, 2)
		srv.InjectFault(emulator.Fault{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"42"}}, Path: "/api.xro/2.0/Invoices"})
		r := runCmd(t, maps.Clone(env), args...)
		assert.Contains(t, r.stdout, "Stopped: billing system busy, try again in 42s: minute limit. Invoices stay marked; run again after ")
		if len(args) > 0 {
			assert.Equal(t, 0, r.code, "-all stops cleanly")
		} else {
			assert.Equal(t, 1, r.code)
		}
		_, marked := paidCount(t, env)
		assert.Equal(t, 2, marked, "every flag stays set")
	}
}

// -h is a request for help, not a mistake; stray arguments are a mistake.
func TestHelpAndStrayArguments(t *testing.T) {
	r := runCmd(t, nil, "-h")
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.stderr, "-limit")

	r = runCmd(t, nil, "now")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, `unexpected argument "now"`)
}

// A webhook Xero never delivered: with deliveries off, a member pays, and
// -sweep brings the invoice in step, in at most ceil(changed / page size) + 1
// calls for the changed ones (one page of 1,000 here), then exits 0.
func TestSweepRepairsAMissedWebhook(t *testing.T) {
	env, srv := fixture(t, 3)
	r := runCmd(t, env, "-sweep")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Updated 3 invoice(s):")
	assert.Contains(t, r.stdout, "checked 0 open invoice(s)", "all three are paid now")

	// Another invoice, then a payment whose webhook never comes.
	ctx := context.Background()
	cfg, err := setup.LoadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	store, err := sqlurl.Open(ctx, env["BILLING_DATABASE_URL"])
	require.NoError(t, err)
	client, err := xero.NewClient(cfg.Xero)
	require.NoError(t, err)
	svc := xero.NewService(client, store, cfg.Xero)
	inv, err := svc.CreateInvoice(ctx, billing.CreateInvoiceParams{
		Reference: "Membership 4", Account: billing.UserAccount("0b7e8a52-54a4-4f57-9c1e-1d1f3c2b4a59"),
		Date: billing.NewDate(2026, 11, 1), DueDate: billing.NewDate(2026, 11, 30),
		LineItems: []billing.LineItem{{Description: "Membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.NewFromInt(100)}},
	})
	require.NoError(t, err)
	require.NoError(t, store.Close())
	srv.SetWebhooksEnabled(false)
	require.NoError(t, srv.PayInvoice(ctx, inv.ProviderID, inv.Due, billing.NewDate(2026, 11, 6)))

	before := srv.CallCounts()
	r = runCmd(t, env, "-sweep")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "Repaired 1 invoice(s):\n  - "+inv.Number)
	after := srv.CallCounts()
	assert.LessOrEqual(t, after["GET /Invoices"]-before["GET /Invoices"], 2, "ceil(1 / 1000) + 1")
	paid, marked := paidCount(t, env)
	assert.Equal(t, 4, paid)
	assert.Zero(t, marked)
}

// A credit note made in Xero by hand for a member's invoice, marked by its
// CREDITNOTE webhook: the run refreshes it, then the invoice it credits,
// and says so in a line of its own before AMS's lines.
func TestFetchRefreshesMarkedCreditNotes(t *testing.T) {
	env, srv := fixture(t, 0)
	ctx := context.Background()
	cfg, err := setup.LoadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	store, err := sqlurl.Open(ctx, env["BILLING_DATABASE_URL"])
	require.NoError(t, err)
	client, err := xero.NewClient(cfg.Xero)
	require.NoError(t, err)
	svc := xero.NewService(client, store, cfg.Xero)
	require.NoError(t, svc.UpdateUserBillingDetails(ctx, billing.User{ID: "0b7e8a52-54a4-4f57-9c1e-1d1f3c2b4a59", Name: "Ada"}))
	inv, err := svc.CreateInvoice(ctx, billing.CreateInvoiceParams{
		Reference: "Membership", Account: billing.UserAccount("0b7e8a52-54a4-4f57-9c1e-1d1f3c2b4a59"),
		Date: billing.NewDate(2026, 11, 1), DueDate: billing.NewDate(2026, 11, 30),
		LineItems: []billing.LineItem{{Description: "Membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.NewFromInt(100)}},
	})
	require.NoError(t, err)
	cn, err := srv.CreateCreditNote(ctx, emulator.ManualCreditNote{InvoiceID: inv.ProviderID, Amount: decimal.NewFromInt(25)})
	require.NoError(t, err)
	_, err = srv.AllocateCreditNote(ctx, cn.CreditNoteID, inv.ProviderID, decimal.NewFromInt(25), billing.Date{})
	require.NoError(t, err)
	_, err = store.MarkCreditNotes(ctx, []string{cn.CreditNoteID}, time.Now())
	require.NoError(t, err)
	require.NoError(t, store.Close())

	r := runCmd(t, env)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "Fetching updates to invoices for Xero billing...\n"+
		"Refreshed 1 credit note(s) from Xero (0 not kept, 1 invoice(s) marked, 1 Xero call(s))\n"+
		"Updated 1 invoice(s):\n  - "+inv.Number+"\nDone\n", r.stdout)

	store, err = sqlurl.Open(ctx, env["BILLING_DATABASE_URL"])
	require.NoError(t, err)
	defer store.Close()
	got, err := store.InvoiceByProviderID(ctx, inv.ProviderID)
	require.NoError(t, err)
	x, _ := srv.Invoice(inv.ProviderID)
	assert.True(t, got.Credited.Equal(decimal.NewFromInt(25)))
	assert.True(t, got.Due.Equal(x.AmountDue))
	_, err = store.CreditNoteByProviderID(ctx, cn.CreditNoteID)
	require.NoError(t, err)
}

// A part payment made in Xero by hand, with no webhook: -sweep prints the
// payments it swept, stores the payment, and the invoice is partly paid as
// Xero says; a second -sweep finds nothing new.
func TestSweepBringsAPaymentMadeByHand(t *testing.T) {
	env, srv := fixture(t, 1)
	srv.SetWebhooksEnabled(false)
	r := runCmd(t, env, "-sweep")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `Swept 1 payment\(s\) modified in Xero since \S+ in 1 page\(s\): 1 kept, 1 new or changed, 0 not the app's\n`, r.stdout)
	assert.Regexp(t, `Swept 0 credit note\(s\) modified in Xero since \S+ in 1 page\(s\): 0 kept, 0 new or changed, 0 not the app's\n`, r.stdout)

	ctx := context.Background()
	cfg, err := setup.LoadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	store, err := sqlurl.Open(ctx, env["BILLING_DATABASE_URL"])
	require.NoError(t, err)
	client, err := xero.NewClient(cfg.Xero)
	require.NoError(t, err)
	inv, err := xero.NewService(client, store, cfg.Xero).CreateInvoice(ctx, billing.CreateInvoiceParams{
		Reference: "Membership 2", Account: billing.UserAccount("0b7e8a52-54a4-4f57-9c1e-1d1f3c2b4a59"),
		Date: billing.NewDate(2026, 11, 1), DueDate: billing.NewDate(2026, 11, 30),
		LineItems: []billing.LineItem{{Description: "Membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.NewFromInt(100)}},
	})
	require.NoError(t, err)
	require.NoError(t, store.Close())
	p, err := srv.RecordPayment(ctx, emulator.ManualPayment{InvoiceID: inv.ProviderID, Amount: decimal.NewFromInt(40), Reference: "cheque"})
	require.NoError(t, err)

	before := srv.CallCounts()
	r = runCmd(t, env, "-sweep")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "2 kept, 1 new or changed, 0 not the app's\n", "the first payment again, within the overlap, and the new one")
	assert.Contains(t, r.stdout, "Repaired 1 invoice(s):\n  - "+inv.Number)
	after := srv.CallCounts()
	assert.Equal(t, 1, after["GET /Payments"]-before["GET /Payments"])
	assert.Equal(t, 1, after["GET /CreditNotes"]-before["GET /CreditNotes"])

	store, err = sqlurl.Open(ctx, env["BILLING_DATABASE_URL"])
	require.NoError(t, err)
	defer store.Close()
	ps, err := store.PaymentsOfInvoice(ctx, inv.ProviderID)
	require.NoError(t, err)
	require.Len(t, ps, 1)
	assert.Equal(t, p.PaymentID, ps[0].ProviderID)
	got, err := store.InvoiceByProviderID(ctx, inv.ProviderID)
	require.NoError(t, err)
	x, ok := srv.Invoice(inv.ProviderID)
	require.True(t, ok)
	assert.True(t, got.Paid.Equal(decimal.NewFromInt(40)))
	assert.True(t, got.Due.Equal(x.AmountDue), "due: Xero %s, stored %s", x.AmountDue, got.Due)
	assert.Equal(t, billing.StatusAuthorised, got.Status)

	r = runCmd(t, env, "-sweep")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "2 kept, 0 new or changed, 0 not the app's\n")
	assert.NotContains(t, r.stdout, "Repaired")
}
