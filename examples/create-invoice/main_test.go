package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/sqlstore/sqlurl"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/webhook"
)

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// The README's local loop: the invoice this command creates is in the
// app's store, and paying it on the emulator's page sends a signed webhook
// that marks it there.
func TestCreateInvoiceThenPayOnThePage(t *testing.T) {
	ctx := context.Background()
	dbURL := filepath.Join(t.TempDir(), "billing.db")
	store, err := sqlurl.Open(ctx, dbURL)
	require.NoError(t, err)
	defer store.Close()
	hook, err := webhook.New(webhook.Config{Keys: []billing.Secret{billing.NewSecret("loop-key")}, TenantID: emulator.DefaultTenantID, Store: store})
	require.NoError(t, err)
	app := httptest.NewServer(hook)
	defer app.Close()

	xeroSrv := emulator.NewServer(emulator.Options{WebhookURL: app.URL, WebhookKey: "loop-key", WebhookRetryDelay: 10 * time.Millisecond})
	defer xeroSrv.Close()
	env := xeroSrv.Env()
	env["BILLING_DATABASE_URL"] = dbURL

	var out, errOut bytes.Buffer
	code := run(ctx, []string{"-amount", "50"}, lookup(env), &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2, out.String())
	assert.True(t, strings.HasPrefix(lines[0], "Created INV-0001 for NZD 57.50, due "), lines[0])
	page, ok := strings.CutPrefix(lines[1], "Online invoice: ")
	require.True(t, ok, lines[1])
	assert.True(t, strings.HasPrefix(page, xeroSrv.URL+"/invoice/"), page)

	inv, err := store.InvoiceByNumber(ctx, "INV-0001")
	require.NoError(t, err)
	assert.Equal(t, billing.StatusAuthorised, inv.Status)
	assert.False(t, inv.UpdateNeeded)

	// The page's "pay now" button.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.Post(page+"/pay", "application/x-www-form-urlencoded", nil)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.NoError(t, xeroSrv.FlushWebhooks(ctx))
	inv, err = store.InvoiceByNumber(ctx, "INV-0001")
	require.NoError(t, err)
	assert.True(t, inv.UpdateNeeded, "the signed webhook marked the invoice")
	x, _ := xeroSrv.Invoice(inv.ProviderID)
	assert.Equal(t, billing.StatusPaid, x.Status)
}

func TestCreateInvoiceExitCodes(t *testing.T) {
	db := filepath.Join(t.TempDir(), "billing.db")
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want int
	}{
		{"help", nil, []string{"-h"}, 0},
		{"bad flag", nil, []string{"-nope"}, 2},
		{"stray argument", nil, []string{"50"}, 2},
		{"bad amount", nil, []string{"-amount", "ten"}, 2},
		{"negative amount", nil, []string{"-amount", "-5"}, 2},
		{"user not a UUID", nil, []string{"-user", "ada"}, 2},
		{"no billing service", map[string]string{"BILLING_DATABASE_URL": db}, nil, 2},
		{"bad configuration", map[string]string{"AMS_BILLING_SERVICE_CLASS": "xero", "XERO_CLIENT_SECRET": "do-not-print-me"}, nil, 2},
		{"mock billing", map[string]string{"AMS_BILLING_SERVICE_CLASS": "mock", "BILLING_DATABASE_URL": db}, nil, 0},
		{"unsupported database URL", map[string]string{"AMS_BILLING_SERVICE_CLASS": "mock", "BILLING_DATABASE_URL": "mysql://app:do-not-print-me@db/app"}, nil, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tt.args, lookup(tt.env), &out, &errOut)
			assert.Equal(t, tt.want, code, errOut.String())
			assert.NotContains(t, out.String()+errOut.String(), "do-not-print-me")
		})
	}
}

// Xero unreachable: an error, exit 1.
func TestCreateInvoiceXeroDown(t *testing.T) {
	xeroSrv := emulator.NewServer(emulator.Options{})
	env := xeroSrv.Env()
	require.NoError(t, xeroSrv.Close())
	env["BILLING_DATABASE_URL"] = filepath.Join(t.TempDir(), "billing.db")
	var out, errOut bytes.Buffer
	assert.Equal(t, 1, run(context.Background(), nil, lookup(env), &out, &errOut))
	assert.Contains(t, errOut.String(), "syncing the contact:")
	assert.NotContains(t, errOut.String(), emulator.DefaultClientSecret)
}

// XERO_DEBUG=true logs the HTTP exchanges, redacted.
func TestCreateInvoiceDebugLogsExchanges(t *testing.T) {
	xeroSrv := emulator.NewServer(emulator.Options{})
	defer xeroSrv.Close()
	env := xeroSrv.Env()
	env["BILLING_DATABASE_URL"] = filepath.Join(t.TempDir(), "billing.db")
	env["XERO_DEBUG"] = "true"
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(context.Background(), nil, lookup(env), &out, &errOut), errOut.String())
	assert.Contains(t, errOut.String(), "xero: http exchange")
	assert.NotContains(t, errOut.String(), emulator.DefaultClientSecret)
}

// Xero made the invoice but its answer was lost (and, in one case, Xero
// forgot the key before the rerun): running the same command again bills
// nobody twice.
func TestCreateInvoiceRerunAfterALostAnswerBillsOnce(t *testing.T) {
	for _, forget := range []bool{false, true} {
		t.Run(map[bool]string{false: "key remembered", true: "key forgotten"}[forget], func(t *testing.T) {
			var mu sync.Mutex
			offset := time.Duration(0)
			now := func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(offset) }
			xeroSrv := emulator.NewServer(emulator.Options{Now: now, TokenTTL: 24 * time.Hour})
			defer xeroSrv.Close()
			env := xeroSrv.Env()
			env["BILLING_DATABASE_URL"] = filepath.Join(t.TempDir(), "billing.db")
			xeroSrv.InjectFault(emulator.Fault{Path: emulator.APIPath + "/Invoices", LoseAnswer: emulator.AnswerDropped, Count: 4}) // the client's 3 attempts and net/http's own replay of a keyed request

			var out, errOut bytes.Buffer
			assert.Equal(t, 1, run(context.Background(), nil, lookup(env), &out, &errOut), out.String())
			assert.Contains(t, errOut.String(), "pending")
			require.Len(t, xeroSrv.Invoices(), 1, "Xero made it")
			if forget {
				mu.Lock()
				offset = time.Hour // past the emulator's key memory
				mu.Unlock()
			}
			out.Reset()
			errOut.Reset()
			assert.Equal(t, 0, run(context.Background(), nil, lookup(env), &out, &errOut), errOut.String())
			assert.Len(t, xeroSrv.Invoices(), 1, "billed once")
			assert.Contains(t, out.String(), "Created "+xeroSrv.Invoices()[0].InvoiceNumber)
		})
	}
}

// The invoice was created but its online link could not be read: exit 0
// with a warning, since a rerun would only find the same invoice.
func TestCreateInvoiceLinkFailureIsAWarning(t *testing.T) {
	xeroSrv := emulator.NewServer(emulator.Options{})
	defer xeroSrv.Close()
	env := xeroSrv.Env()
	env["BILLING_DATABASE_URL"] = filepath.Join(t.TempDir(), "billing.db")
	xeroSrv.InjectFault(emulator.Fault{Path: emulator.APIPath + "/Invoices/", Status: http.StatusServiceUnavailable, Count: 10})
	var out, errOut bytes.Buffer
	assert.Equal(t, 0, run(context.Background(), nil, lookup(env), &out, &errOut), errOut.String())
	assert.Contains(t, out.String(), "Created INV-0001")
	assert.Contains(t, errOut.String(), "warning: the invoice was created, but its online link could not be read")
	assert.Len(t, xeroSrv.Invoices(), 1)
}
