package emulator_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/webhook"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const webhookKey = "test-webhook-key"

// receiver is a webhook endpoint that checks signatures the SDK's way and
// answers with the statuses it is given, then 200.
type receiver struct {
	mu       sync.Mutex
	statuses []int
	got      []webhook.Payload
	badSigs  int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if webhook.Verify([]billing.Secret{billing.NewSecret(webhookKey)}, body, r.Header.Get("X-Xero-Signature")) != nil {
		rc.badSigs++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	p, err := webhook.ParsePayload(body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	rc.got = append(rc.got, p)
	status := http.StatusOK
	if len(rc.statuses) > 0 {
		status, rc.statuses = rc.statuses[0], rc.statuses[1:]
	}
	w.WriteHeader(status)
}

func (rc *receiver) payloads() []webhook.Payload {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]webhook.Payload(nil), rc.got...)
}

func newWebhookAPI(t *testing.T, rc *receiver, opts emulator.Options) *api {
	t.Helper()
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	opts.WebhookURL = srv.URL
	opts.WebhookKey = webhookKey
	opts.WebhookRetryDelay = 5 * time.Millisecond
	return newAPI(t, opts)
}

func TestPayInvoiceDeliversSignedWebhook(t *testing.T) {
	rc := &receiver{}
	a := newWebhookAPI(t, rc, emulator.Options{})
	inv := a.createInvoice(a.createContact("Ann", "", ""))
	ctx := t.Context()
	require.NoError(t, a.e.FlushWebhooks(ctx)) // the CREATE event

	rc.mu.Lock()
	rc.statuses = []int{http.StatusInternalServerError} // the next delivery fails once
	rc.mu.Unlock()
	require.NoError(t, a.e.PayInvoice(ctx, inv.InvoiceID, decimal.RequireFromString("10"), billing.NewDate(2026, 2, 1)))
	require.NoError(t, a.e.FlushWebhooks(ctx))

	got := rc.payloads()
	assert.Zero(t, rc.badSigs)
	require.Len(t, got, 3, "create, then the payment twice (500, then 200)")
	assert.Equal(t, "CREATE", got[0].Events[0].EventType)
	assert.Equal(t, got[1], got[2], "a retry resends the same payload")
	ev := got[2].Events[0]
	assert.True(t, ev.IsInvoiceUpdate())
	assert.Equal(t, inv.InvoiceID, ev.ResourceID)
	assert.Equal(t, emulator.DefaultTenantID, ev.TenantID)
	assert.Equal(t, "ORGANISATION", ev.TenantType)
	assert.Equal(t, "https://api.xero.com/api.xro/2.0/Invoices/"+inv.InvoiceID, ev.ResourceURL)
	_, err := ev.Time()
	assert.NoError(t, err)
	assert.Equal(t, int64(2), got[2].FirstEventSequence)
	assert.Equal(t, int64(2), got[2].LastEventSequence)
	assert.Len(t, got[2].Entropy, 20)

	deliveries := a.e.Webhooks()
	require.Len(t, deliveries, 2)
	d := deliveries[1]
	assert.True(t, d.Delivered)
	require.Len(t, d.Attempts, 2)
	assert.Equal(t, http.StatusInternalServerError, d.Attempts[0].Status)
	assert.Equal(t, http.StatusOK, d.Attempts[1].Status)
	assert.Equal(t, webhook.Sign([]byte(webhookKey), d.Body), d.Signature)

	// The partial payment shows through the API.
	var out invoicesJSON
	a.call(http.MethodGet, "/Invoices/"+inv.InvoiceID, nil, &out)
	assert.Equal(t, "AUTHORISED", out.Invoices[0].Status)
	assert.Equal(t, "10.00", out.Invoices[0].AmountPaid.String())
	assert.Equal(t, "13.00", out.Invoices[0].AmountDue.String())
	assert.Empty(t, out.Invoices[0].FullyPaidOnDate)
}

func TestWebhookRetriesAreBounded(t *testing.T) {
	rc := &receiver{statuses: []int{500, 500, 500, 500}}
	a := newWebhookAPI(t, rc, emulator.Options{WebhookMaxAttempts: 3})
	a.createInvoice(a.createContact("Ann", "", ""))
	require.NoError(t, a.e.FlushWebhooks(t.Context()))
	d := a.e.Webhooks()
	require.Len(t, d, 1)
	assert.False(t, d[0].Delivered)
	assert.Len(t, d[0].Attempts, 3)
}

func TestWebhookUnreachableReceiver(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	a := newAPI(t, emulator.Options{WebhookURL: url, WebhookKey: webhookKey, WebhookRetryDelay: time.Millisecond, WebhookMaxAttempts: 2})
	a.createInvoice(a.createContact("Ann", "", ""))
	require.NoError(t, a.e.FlushWebhooks(t.Context()))
	d := a.e.Webhooks()
	require.Len(t, d, 1)
	require.Len(t, d[0].Attempts, 2)
	assert.Zero(t, d[0].Attempts[0].Status)
	assert.NotEmpty(t, d[0].Attempts[0].Err)
}

func TestCloseStopsDeliveries(t *testing.T) {
	// A receiver that never answers keeps the delivery in flight.
	hold := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hold:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(hold); srv.Close() })
	e := emulator.New(emulator.Options{WebhookURL: srv.URL, WebhookKey: webhookKey})
	a := &api{t: t, e: e, hc: e.Client(), base: base}
	a.token = a.fetchToken()
	a.createInvoice(a.createContact("Ann", "", ""))

	flushed := make(chan error, 1)
	go func() { flushed <- e.FlushWebhooks(context.Background()) }()
	require.NoError(t, e.Close())
	assert.ErrorIs(t, <-flushed, emulator.ErrClosed)
	assert.ErrorIs(t, e.FlushWebhooks(t.Context()), emulator.ErrClosed)
}

func TestFlushWebhooksHonoursContext(t *testing.T) {
	hold := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hold:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(hold); srv.Close() })
	a := newAPI(t, emulator.Options{WebhookURL: srv.URL})
	a.createInvoice(a.createContact("Ann", "", ""))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, a.e.FlushWebhooks(ctx), context.DeadlineExceeded)
}

func TestNoWebhookURLNoDeliveries(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	inv := a.createInvoice(a.createContact("Ann", "", ""))
	require.NoError(t, a.e.PayInvoice(t.Context(), inv.InvoiceID, decimal.RequireFromString("23"), billing.Date{}))
	require.NoError(t, a.e.FlushWebhooks(t.Context()))
	assert.Empty(t, a.e.Webhooks())
}

func TestPayInvoiceInFull(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	inv := a.createInvoice(a.createContact("Ann", "", ""))
	ctx := t.Context()
	require.NoError(t, a.e.PayInvoice(ctx, inv.InvoiceID, decimal.RequireFromString("3"), billing.NewDate(2026, 2, 1)))
	require.NoError(t, a.e.PayInvoice(ctx, inv.InvoiceID, decimal.RequireFromString("20"), billing.NewDate(2026, 2, 3)))

	var out invoicesJSON
	a.call(http.MethodGet, "/Invoices/"+inv.InvoiceID, nil, &out)
	got := out.Invoices[0]
	assert.Equal(t, "PAID", got.Status)
	assert.Equal(t, "23.00", got.AmountPaid.String())
	assert.Equal(t, "0.00", got.AmountDue.String())
	date := billing.NewDate(2026, 2, 3).In(time.UTC)
	assert.Equal(t, "/Date("+decimal.NewFromInt(date.UnixMilli()).String()+"+0000)/", got.FullyPaidOnDate)

	stored, _ := a.e.Invoice(inv.InvoiceID)
	assert.Equal(t, billing.NewDate(2026, 2, 3), stored.FullyPaidOnDate)
	assert.Len(t, stored.Payments, 2)
}

func TestSimulationErrors(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	contactID := a.createContact("Ann", "", "")
	inv := a.createInvoice(contactID)
	draftBody := invoice(contactID)
	draftBody["Status"] = "DRAFT"
	var drafts invoicesJSON
	a.call(http.MethodPut, "/Invoices", invoicesBody(draftBody), &drafts)
	draft := drafts.Invoices[0]
	ctx := t.Context()

	tests := []struct {
		name string
		err  error
		want error
	}{
		{"pay unknown", a.e.PayInvoice(ctx, uuid.NewString(), decimal.NewFromInt(1), billing.Date{}), emulator.ErrNotFound},
		{"pay more than due", a.e.PayInvoice(ctx, inv.InvoiceID, decimal.NewFromInt(24), billing.Date{}), emulator.ErrInvalid},
		{"pay nothing", a.e.PayInvoice(ctx, inv.InvoiceID, decimal.Zero, billing.Date{}), emulator.ErrInvalid},
		{"pay a draft", a.e.PayInvoice(ctx, draft.InvoiceID, decimal.NewFromInt(1), billing.Date{}), emulator.ErrInvalid},
		{"void unknown", a.e.VoidInvoice(ctx, uuid.NewString()), emulator.ErrNotFound},
		{"void a draft", a.e.VoidInvoice(ctx, draft.InvoiceID), emulator.ErrInvalid},
	}
	for _, tt := range tests {
		assert.ErrorIs(t, tt.err, tt.want, tt.name)
	}

	require.NoError(t, a.e.PayInvoice(ctx, inv.InvoiceID, decimal.NewFromInt(1), billing.Date{}))
	assert.ErrorIs(t, a.e.VoidInvoice(ctx, inv.InvoiceID), emulator.ErrInvalid, "void with payments")

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	assert.True(t, errors.Is(a.e.PayInvoice(cancelled, inv.InvoiceID, decimal.NewFromInt(1), billing.Date{}), context.Canceled))
}

func TestVoidInvoice(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	inv := a.createInvoice(a.createContact("Ann", "", ""))
	require.NoError(t, a.e.VoidInvoice(t.Context(), inv.InvoiceID))
	var out invoicesJSON
	a.call(http.MethodGet, "/Invoices/"+inv.InvoiceID, nil, &out)
	assert.Equal(t, "VOIDED", out.Invoices[0].Status)
	assert.Equal(t, "0.00", out.Invoices[0].AmountDue.String())
}

// Webhooks switched off are missed for good; switched on again, deliveries
// resume and their sequence numbers show the gap.
func TestSetWebhooksEnabled(t *testing.T) {
	rc := &receiver{}
	a := newWebhookAPI(t, rc, emulator.Options{})
	ctx := t.Context()
	assert.True(t, a.e.WebhooksEnabled())
	inv := a.createInvoice(a.createContact("Ann", "", ""))
	require.NoError(t, a.e.FlushWebhooks(ctx))
	require.Len(t, rc.payloads(), 1)

	a.e.SetWebhooksEnabled(false)
	assert.False(t, a.e.WebhooksEnabled())
	require.NoError(t, a.e.PayInvoice(ctx, inv.InvoiceID, decimal.NewFromInt(1), billing.Date{}))
	a.createInvoice(inv.Contact.ContactID)
	require.NoError(t, a.e.FlushWebhooks(ctx))
	assert.Len(t, rc.payloads(), 1, "nothing delivered while off")
	assert.Len(t, a.e.Webhooks(), 1)

	a.e.SetWebhooksEnabled(true)
	require.NoError(t, a.e.PayInvoice(ctx, inv.InvoiceID, decimal.NewFromInt(1), billing.Date{}))
	require.NoError(t, a.e.FlushWebhooks(ctx))
	got := rc.payloads()
	require.Len(t, got, 2, "the missed events are not sent later")
	assert.Equal(t, int64(4), got[1].FirstEventSequence, "2 and 3 were missed")
	assert.Equal(t, inv.InvoiceID, got[1].Events[0].ResourceID)

	none := newAPI(t, emulator.Options{})
	assert.False(t, none.e.WebhooksEnabled(), "no WebhookURL, no webhooks")
}
