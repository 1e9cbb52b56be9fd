package mock_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/webhook"
	"github.com/amsbilling/sdk/xero"
)

const (
	xeroUserID = "3a6f0d2e-8c41-4b7a-9f15-2d8e6c0b4a71"
	xeroOrgID  = "9e2b7c14-0f3d-4a68-b5c9-71d0e3f2a8b6"
)

func newXeroService(t *testing.T, opts ...mock.XeroOption) (*mock.XeroBillingService, *mock.Store) {
	t.Helper()
	store := mock.NewStore()
	svc, err := mock.NewXeroBillingService(store, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = svc.Close() })
	return svc, store
}

func membership(account billing.Account) billing.CreateInvoiceParams {
	return billing.CreateInvoiceParams{
		Account:   account,
		Date:      billing.NewDate(2026, 1, 31),
		DueDate:   billing.NewDate(2026, 2, 14),
		Reference: "Membership 2026",
		LineItems: []billing.LineItem{{Description: "Annual membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.NewFromInt(100)}},
	}
}

func TestXeroBillingServiceRunsTheRealCodePath(t *testing.T) {
	var mu sync.Mutex
	var changes []billing.InvoiceChange
	hook := func(_ context.Context, c billing.InvoiceChange) error {
		mu.Lock()
		defer mu.Unlock()
		changes = append(changes, c)
		return nil
	}
	svc, store := newXeroService(t, mock.WithServiceOptions(xero.WithInvoiceHook(hook)))
	ctx := t.Context()
	emu := svc.Emulator()

	_, simulated := any(svc).(billing.Simulated)
	assert.False(t, simulated, "FetchInvoiceUpdates must not skip it")

	require.NoError(t, svc.UpdateUserBillingDetails(ctx, billing.User{ID: xeroUserID, Name: "Ann Lee", Email: "ann@example.com"}))
	contacts := emu.Contacts()
	require.Len(t, contacts, 1)
	assert.Equal(t, "00000000-0000-4000-8000-000000000001", contacts[0].ContactID)
	assert.Equal(t, "Ann Lee ("+xeroUserID+")", contacts[0].Name)
	assert.Equal(t, xeroUserID, contacts[0].AccountNumber)
	link, err := store.ContactLink(ctx, billing.UserAccount(xeroUserID))
	require.NoError(t, err)
	assert.Equal(t, contacts[0].ContactID, link.ContactID)

	inv, err := svc.CreateInvoice(ctx, membership(billing.UserAccount(xeroUserID)))
	require.NoError(t, err)
	assert.Equal(t, "INV-0001", inv.Number)
	assert.Equal(t, "00000000-0000-4000-9000-000000000001", inv.ProviderID)
	assert.Equal(t, billing.StatusAuthorised, inv.Status)
	assert.Equal(t, "115.00", inv.Amount.StringFixed(2), "100 + 15% tax, exclusive")
	assert.Equal(t, "115.00", inv.Due.StringFixed(2))
	assert.Equal(t, billing.NewDate(2026, 2, 14), inv.DueDate)
	saved, err := store.InvoiceByNumber(ctx, "INV-0001")
	require.NoError(t, err)
	assert.Equal(t, inv.ProviderID, saved.ProviderID)

	require.NoError(t, svc.EmailInvoice(ctx, inv))
	emails := emu.Emails()
	require.Len(t, emails, 1)
	assert.Equal(t, "ann@example.com", emails[0].To)

	link2, err := svc.GetInvoiceURL(ctx, inv)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(link2, mock.XeroEmulatorURL+"/invoice/"), link2)

	require.NoError(t, emu.PayInvoice(ctx, inv.ProviderID, inv.Due, billing.NewDate(2026, 2, 3)))
	res, err := svc.UpdateInvoices(ctx, []string{inv.ProviderID})
	require.NoError(t, err)
	require.Len(t, res.Updated, 1)
	got := res.Updated[0]
	assert.True(t, got.IsPaid())
	assert.Equal(t, billing.NewDate(2026, 2, 3), got.PaidDate)
	assert.True(t, got.Due.IsZero())
	mu.Lock()
	require.Len(t, changes, 1)
	assert.True(t, changes[0].BecamePaid())
	mu.Unlock()

	// Every request carried the tenant and, for writes, an idempotency key.
	for _, r := range emu.Requests() {
		if strings.HasPrefix(r.Path, emulator.APIPath) {
			assert.Equal(t, emu.TenantID(), r.Header.Get("Xero-Tenant-Id"), r.Path)
			if r.Method == http.MethodPut || r.Method == http.MethodPost {
				assert.NotEmpty(t, r.IdempotencyKey, r.Method+" "+r.Path)
			}
		}
	}
}

func TestXeroBillingServiceFetchInvoiceUpdates(t *testing.T) {
	svc, store := newXeroService(t)
	ctx := t.Context()
	account := billing.OrganisationAccount(xeroOrgID)
	require.NoError(t, svc.UpdateOrganisationBillingDetails(ctx, billing.Organisation{ID: xeroOrgID, Name: "Acme Club", Email: "club@example.com"}))
	inv, err := svc.CreateInvoice(ctx, membership(account))
	require.NoError(t, err)

	require.NoError(t, svc.Emulator().PayInvoice(ctx, inv.ProviderID, decimal.NewFromInt(15), billing.NewDate(2026, 2, 1)))
	_, err = store.MarkUpdateNeeded(ctx, []string{inv.ProviderID}, time.Now())
	require.NoError(t, err)

	res, err := billing.FetchInvoiceUpdates(ctx, svc, store, billing.FetchOptions{})
	require.NoError(t, err)
	assert.False(t, res.Simulated)
	assert.Equal(t, []string{inv.Number}, res.Updated)
	saved, err := store.InvoiceByNumber(ctx, inv.Number)
	require.NoError(t, err)
	assert.Equal(t, "15.00", saved.Paid.StringFixed(2))
	assert.Equal(t, "100.00", saved.Due.StringFixed(2))
	assert.False(t, saved.UpdateNeeded)
}

func TestXeroBillingServiceAdoptsExistingContact(t *testing.T) {
	svc, store := newXeroService(t)
	ctx := t.Context()
	emu := svc.Emulator()

	// Someone created the contact in Xero already, under the same name.
	existing := createContactDirectly(t, emu, xero.ContactName("Ann Lee", xeroUserID), xeroUserID)

	require.NoError(t, svc.UpdateUserBillingDetails(ctx, billing.User{ID: xeroUserID, Name: "Ann Lee", Email: "ann@example.com"}))
	link, err := store.ContactLink(ctx, billing.UserAccount(xeroUserID))
	require.NoError(t, err)
	assert.Equal(t, existing, link.ContactID)
	contacts := emu.Contacts()
	require.Len(t, contacts, 1, "no second contact")
	assert.Equal(t, "ann@example.com", contacts[0].EmailAddress)
}

// createContactDirectly creates a contact through the emulator's API, as an
// accountant working in Xero would have.
func createContactDirectly(t *testing.T, emu *emulator.Emulator, name, accountNumber string) string {
	t.Helper()
	hc := emu.Client()
	req, err := http.NewRequest(http.MethodPost, mock.XeroEmulatorURL+emulator.TokenPath,
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(emu.ClientID(), emu.ClientSecret())
	resp, err := hc.Do(req)
	require.NoError(t, err)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	resp.Body.Close()

	body, err := json.Marshal(map[string]any{"Contacts": []map[string]string{{"Name": name, "AccountNumber": accountNumber}}})
	require.NoError(t, err)
	req, err = http.NewRequest(http.MethodPut, mock.XeroEmulatorURL+emulator.APIPath+"/Contacts", strings.NewReader(string(body)))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Xero-Tenant-Id", emu.TenantID())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	resp, err = hc.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out struct{ Contacts []struct{ ContactID string } }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.Len(t, out.Contacts, 1)
	return out.Contacts[0].ContactID
}

func TestXeroBillingServiceUsesTheAppsSettings(t *testing.T) {
	cfg := xero.Config{
		AccountCode:   "4000",
		AmountType:    xero.AmountInclusive,
		Currency:      "AUD",
		EmailInvoices: false,
		Scopes:        []string{"accounting.transactions"}, // dropped: the emulator is a 2026 connection
		ClientID:      "the app's real id, never used",
	}
	svc, _ := newXeroService(t, mock.WithXeroConfig(cfg))
	ctx := t.Context()
	require.NoError(t, svc.UpdateUserBillingDetails(ctx, billing.User{ID: xeroUserID, Name: "Ann Lee", Email: "ann@example.com"}))
	inv, err := svc.CreateInvoice(ctx, membership(billing.UserAccount(xeroUserID)))
	require.NoError(t, err)
	assert.Equal(t, "AUD", inv.Currency)
	assert.Equal(t, "100.00", inv.Amount.StringFixed(2), "inclusive: the tax is inside")

	stored, ok := svc.Emulator().Invoice(inv.ProviderID)
	require.True(t, ok)
	assert.Equal(t, "Inclusive", stored.LineAmountTypes)
	assert.Equal(t, "4000", stored.LineItems[0].AccountCode)
	assert.Equal(t, "13.04", stored.TotalTax.StringFixed(2))

	require.NoError(t, svc.EmailInvoice(ctx, inv))
	assert.Empty(t, svc.Emulator().Emails(), "emailing is off")
}

func TestXeroBillingServiceSurvivesAnOutage(t *testing.T) {
	svc, _ := newXeroService(t, mock.WithClientOptions(xero.WithRetries(3, time.Millisecond)))
	ctx := t.Context()
	require.NoError(t, svc.UpdateUserBillingDetails(ctx, billing.User{ID: xeroUserID, Name: "Ann Lee"}))

	tests := []struct {
		name  string
		fault emulator.Fault
	}{
		{"503 before Xero did anything", emulator.Fault{Status: http.StatusServiceUnavailable}},
		{"answer lost after Xero created the invoice", emulator.Fault{DropResponse: true}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fault.Path = emulator.APIPath + "/Invoices"
			svc.Emulator().InjectFault(tt.fault)
			p := membership(billing.UserAccount(xeroUserID))
			p.Reference = tt.name // a logical invoice of its own
			inv, err := svc.CreateInvoice(ctx, p)
			require.NoError(t, err)
			assert.Len(t, svc.Emulator().Invoices(), i+1, "billed once")

			var keys []string
			for _, r := range svc.Emulator().Requests() {
				if r.Method == http.MethodPut && strings.HasSuffix(r.Path, "/Invoices") {
					keys = append(keys, r.IdempotencyKey)
				}
			}
			require.Len(t, keys, 2*(i+1), "one failed attempt and one retry each")
			keys = keys[len(keys)-2:]
			assert.Equal(t, keys[0], keys[1], "the retry carries the same Idempotency-Key")
			stored, ok := svc.Emulator().Invoice(inv.ProviderID)
			require.True(t, ok)
			assert.Equal(t, stored.InvoiceNumber, inv.Number)
		})
	}
}

func TestNewXeroBillingServiceNeedsAStore(t *testing.T) {
	_, err := mock.NewXeroBillingService(nil)
	assert.Error(t, err)
}

func TestXeroBillingServiceWhereFilterRoundTrip(t *testing.T) {
	svc, _ := newXeroService(t)
	ctx := t.Context()
	client := svc.Client()
	for _, number := range []string{`quote " inside`, `back\slash`, `both \" mixed`} {
		created, err := client.CreateContact(ctx, xero.Contact{Name: "Contact " + number, AccountNumber: number})
		require.NoError(t, err)
		found, err := client.FindContactByAccountNumber(ctx, number)
		require.NoError(t, err, number)
		assert.Equal(t, created.ContactID, found.ContactID, number)
	}
}

// The real Xero code path against the in-process emulator: the emulator
// plays the customer paying, and UpdateInvoices brings the payment home.
func ExampleNewXeroBillingService() {
	ctx := context.Background()
	store := mock.NewStore()
	svc, err := mock.NewXeroBillingService(store)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer svc.Close()

	user := billing.User{ID: "3a6f0d2e-8c41-4b7a-9f15-2d8e6c0b4a71", Name: "Ann Lee", Email: "ann@example.com"}
	if err := svc.UpdateUserBillingDetails(ctx, user); err != nil {
		fmt.Println(err)
		return
	}
	inv, err := svc.CreateInvoice(ctx, billing.CreateInvoiceParams{
		Account:   billing.UserAccount(user.ID),
		Date:      billing.NewDate(2026, 1, 31),
		DueDate:   billing.NewDate(2026, 2, 14),
		LineItems: []billing.LineItem{{Description: "Membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.NewFromInt(100)}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(inv.Number, inv.ProviderID, inv.Status, inv.Amount.StringFixed(2))

	_ = svc.Emulator().PayInvoice(ctx, inv.ProviderID, inv.Due, billing.NewDate(2026, 2, 3))
	res, err := svc.UpdateInvoices(ctx, []string{inv.ProviderID})
	if err != nil {
		fmt.Println(err)
		return
	}
	paid := res.Updated[0]
	fmt.Println(paid.Status, paid.PaidDate, paid.Due.StringFixed(2))
	// Output:
	// INV-0001 00000000-0000-4000-9000-000000000001 AUTHORISED 115.00
	// PAID 2026-02-03 0.00
}

// The emulator signs its webhooks with the app's own webhook key, so the
// app's webhook handler, configured from the same settings, accepts them.
func TestXeroBillingServiceSignsWebhooksWithTheAppsKey(t *testing.T) {
	var mu sync.Mutex
	var verified []error
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		verified = append(verified, webhook.Verify([]billing.Secret{billing.NewSecret("app-webhook-key")}, body, r.Header.Get(webhook.SignatureHeader)))
		mu.Unlock()
	}))
	t.Cleanup(receiver.Close)
	svc, _ := newXeroService(t,
		mock.WithXeroConfig(xero.Config{WebhookKeys: []billing.Secret{billing.NewSecret("app-webhook-key")}, EmailInvoices: true}),
		mock.WithEmulatorOptions(emulator.Options{WebhookURL: receiver.URL}))
	ctx := t.Context()
	require.NoError(t, svc.UpdateUserBillingDetails(ctx, billing.User{ID: xeroUserID, Name: "Ada", Email: "ada@example.com"}))
	_, err := svc.CreateInvoice(ctx, membership(billing.UserAccount(xeroUserID)))
	require.NoError(t, err)
	require.NoError(t, svc.Emulator().FlushWebhooks(ctx))
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, verified)
	for _, err := range verified {
		assert.NoError(t, err)
	}
}

// One not-found: an invoice Xero no longer has is a billing.ErrNotFound
// through the Xero service, and the invoice redirect answers 404 for it,
// not 502.
func TestRedirectAnswers404ForAnInvoiceXeroLost(t *testing.T) {
	svc, store := newXeroService(t)
	ctx := t.Context()
	lost := billing.Invoice{Account: billing.UserAccount(xeroUserID), Number: "INV-0404", ProviderID: "0e5a1b2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c"}
	require.NoError(t, store.CreateInvoice(ctx, lost))
	_, err := svc.GetInvoiceURL(ctx, lost)
	require.ErrorIs(t, err, billing.ErrNotFound)
	require.ErrorIs(t, err, xero.ErrNotFound)

	h := webhook.NewInvoiceRedirect(webhook.RedirectConfig{Service: svc, Store: store,
		Authorize: func(*http.Request, billing.Invoice) bool { return true }})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/billing/invoices/INV-0404", nil))
	assert.Equal(t, http.StatusNotFound, w.Code)
}
