package xero_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/xero"
	"github.com/amsbilling/sdk/xero/doctor"
)

// rawPut sends inv to the emulator as PUT /Invoices with key, past the
// SDK's validation, the way v0.2 sent an invoice dated with a typo.
func rawPut(t *testing.T, emu *emulator.Emulator, inv xero.Invoice, key string) {
	t.Helper()
	c := emu.Client()
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequest(http.MethodPost, mock.XeroEmulatorURL+emulator.TokenPath, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.SetBasicAuth(emu.ClientID(), emu.ClientSecret())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	require.NoError(t, err)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)

	body, err := json.Marshal(map[string][]xero.Invoice{"Invoices": {inv}})
	require.NoError(t, err)
	req, err = http.NewRequest(http.MethodPut, mock.XeroEmulatorURL+emulator.APIPath+"/Invoices", bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range map[string]string{"Authorization": "Bearer " + tok.AccessToken, "xero-tenant-id": emu.TenantID(),
		"Accept": "application/json", "Content-Type": "application/json", "Idempotency-Key": key} {
		req.Header.Set(k, v)
	}
	resp, err = c.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode, "Xero stores it")
}

// TestPoisonRecordEndToEnd is issue 15's reproduction: an invoice Xero
// holds dated the year 226 (a typo for 2026) whose creation is pending in
// the store, and an invoice paid in Xero behind it on the same sweep page,
// its webhook missed. The sweep repairs the paid one and reports the bad
// one by id; the resolution adopts the bad one with what it can read, so
// the member is billed once and has a local row; the next sweep queues it;
// the fetch job sets it aside with the reason; the doctor shows it.
func TestPoisonRecordEndToEnd(t *testing.T) {
	ctx := t.Context()
	store := mock.NewStore()
	svc, err := mock.NewXeroBillingService(store, mock.WithClientOptions(xero.WithRetries(1, 0)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = svc.Close() })
	emu := svc.Emulator()
	const memberA, memberB = "0b6e3c52-8f0d-4c1a-9e27-5d4a3b2c1f00", "1c7f4d63-9a1e-4d2b-8f38-6e5b4c3d2a11"
	for _, m := range []string{memberA, memberB} {
		require.NoError(t, svc.UpdateUserBillingDetails(ctx, billing.User{ID: m, Name: "Member " + m[:4]}))
	}
	line := []billing.LineItem{{Description: "Annual membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.RequireFromString("120.00")}}

	// Member A's creation as v0.2 recorded it before sending; today's
	// validation refuses its date, so it is planted, and sent past the SDK.
	typo := billing.CreateInvoiceParams{Account: billing.UserAccount(memberA), Date: billing.NewDate(226, 12, 1), DueDate: billing.NewDate(2026, 12, 15),
		Reference: "Membership 2027", LineItems: line, IdempotencyKey: "key-a"}
	require.ErrorIs(t, typo.Validate(), billing.ErrInvalidInvoice)
	linkA, err := store.ContactLink(ctx, typo.Account)
	require.NoError(t, err)
	_, err = store.BeginCreations(ctx, []billing.Creation{{Key: "key-a", Fingerprint: typo.Fingerprint(), Account: typo.Account,
		ContactID: linkA.ContactID, Params: typo, CreatedAt: time.Now()}})
	require.NoError(t, err)
	rawPut(t, emu, xero.Invoice{Type: xero.InvoiceTypeSales, Contact: xero.Contact{ContactID: linkA.ContactID}, Date: typo.Date, DueDate: typo.DueDate,
		Status: billing.StatusAuthorised, LineAmountTypes: "Exclusive", Reference: typo.Reference,
		LineItems: []xero.LineItem{{Description: "Annual membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.RequireFromString("120.00"), AccountCode: "200"}}}, "key-a")
	require.Len(t, emu.Invoices(), 1)
	bad := emu.Invoices()[0]

	// Member B's invoice behind it, paid in Xero; no webhook reaches the app.
	invB, err := svc.CreateInvoice(ctx, billing.CreateInvoiceParams{Account: billing.UserAccount(memberB), Date: billing.NewDate(2026, 12, 1),
		DueDate: billing.NewDate(2026, 12, 15), Reference: "Membership 2027", LineItems: line})
	require.NoError(t, err)
	require.NoError(t, emu.PayInvoice(ctx, invB.ProviderID, invB.Due, billing.NewDate(2026, 12, 3)))

	// The sweep: one page, the bad invoice first.
	sweep := billing.SweepOptions{Tenant: emu.TenantID()}
	res, err := billing.Sweep(ctx, svc, store, sweep)
	require.NoError(t, err, "one unreadable invoice does not stop the sweep")
	assert.Equal(t, 1, res.Pages)
	assert.Equal(t, []string{invB.Number}, res.Changed, "the missed payment is repaired")
	got, err := store.InvoiceByProviderID(ctx, invB.ProviderID)
	require.NoError(t, err)
	assert.Equal(t, billing.StatusPaid, got.Status)
	require.Len(t, res.Unreadable, 1, "the bad one is reported")
	assert.Equal(t, bad.InvoiceID, res.Unreadable[0].ProviderID, "by id")
	assert.ErrorContains(t, res.Unreadable[0].Err, "year 226 is outside 1900-9999")
	assert.False(t, res.Unreadable[0].Queued, "not in the store yet: the pending creation's")
	mark, err := store.SweepMark(ctx, "modified:"+emu.TenantID())
	require.NoError(t, err)
	assert.False(t, mark.IsZero(), "the mark moved")

	// The resolution adopts it with what it can read: billed once, and
	// the member has a local row.
	rr, err := svc.ResolveCreations(ctx)
	require.NoError(t, err)
	assert.Empty(t, rr.Pending)
	require.Len(t, rr.Resolved, 1)
	adopted := rr.Resolved[0]
	assert.Equal(t, bad.InvoiceID, adopted.ProviderID)
	assert.Equal(t, bad.InvoiceNumber, adopted.Number)
	assert.Equal(t, typo.Date, adopted.IssueDate)
	assert.True(t, adopted.Amount.Equal(bad.Total))
	ofA := 0
	for _, inv := range emu.Invoices() {
		if inv.ContactID == linkA.ContactID {
			ofA++
		}
	}
	assert.Equal(t, 1, ofA, "Xero holds one invoice for member A: nothing billed twice")
	pending, err := store.PendingCreations(ctx)
	require.NoError(t, err)
	assert.Empty(t, pending)

	// The next sweep sees it again (within the overlap): known now, queued.
	res, err = billing.Sweep(ctx, svc, store, sweep)
	require.NoError(t, err)
	require.Len(t, res.Unreadable, 1)
	assert.True(t, res.Unreadable[0].Queued)
	assert.False(t, res.InStep())

	// The fetch job cannot read it either and sets it aside, with the
	// reason; the doctor shows it.
	fr, err := billing.FetchInvoiceUpdates(ctx, svc, store, billing.FetchOptions{MaxAttempts: 1})
	require.ErrorContains(t, err, bad.InvoiceNumber, "the run names what failed")
	assert.Empty(t, fr.Updated)
	require.Len(t, fr.Failed, 1)
	assert.True(t, fr.Failed[0].SetAside)
	checks := map[string]doctor.Check{}
	for _, c := range doctor.Run(ctx, doctor.Target{Store: store}) {
		checks[c.Name] = c
	}
	assert.Equal(t, doctor.Warn, checks["set aside"].Status)
	assert.Contains(t, checks["set aside"].String(), bad.InvoiceNumber+" (unreadable in Xero: ")
	assert.Contains(t, checks["set aside"].String(), "year 226 is outside 1900-9999")
	assert.Contains(t, checks["marked invoices"].String(), "1 more set aside, 1 of them unreadable in Xero")
}
