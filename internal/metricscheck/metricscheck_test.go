package metricscheck_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/internal/metrictest"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/webhook"
	"github.com/amsbilling/sdk/xero"
)

const (
	webhookKey = "metrics-check-webhook-key-7c1d"
	memberA    = "3e5a7c9e-1b2d-4f6a-8c0e-2a4c6e8a0b2d"
	memberB    = "4f6b8d0f-2c3e-4a7b-9d1f-3b5d7f9b1c3e"
)

// day is what the script did, for the assertions.
type day struct {
	svc        *mock.XeroBillingService
	emu        *emulator.Emulator
	store      *mock.Store
	paid, open billing.Invoice
	dayLeft    int // X-DayLimit-Remaining of the last answer before the 429
	markedAt   time.Time
}

func invoice(member, ref string) billing.CreateInvoiceParams {
	return billing.CreateInvoiceParams{
		Account: billing.UserAccount(member), Date: billing.NewDate(2026, 11, 1), DueDate: billing.NewDate(2026, 11, 30),
		Reference: ref,
		LineItems: []billing.LineItem{{Description: "Annual membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.RequireFromString("120.00")}},
	}
}

// signedDelivery is Xero's delivery of INVOICE UPDATE events for ids.
func signedDelivery(t *testing.T, tenant, key string, ids ...string) *http.Request {
	t.Helper()
	p := webhook.Payload{FirstEventSequence: 1, LastEventSequence: int64(len(ids)), Entropy: "QWERTYUIOPASDFGHJKLZ"}
	for _, id := range ids {
		p.Events = append(p.Events, webhook.Event{
			ResourceURL: "https://api.xero.com/api.xro/2.0/Invoices/" + id, ResourceID: id,
			EventDateUTC: "2026-11-03T09:00:00.000", EventType: webhook.TypeUpdate, EventCategory: webhook.CategoryInvoice,
			TenantID: tenant, TenantType: "ORGANISATION",
		})
	}
	b, err := json.Marshal(p)
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodPost, "/billing/xero/webhooks/", strings.NewReader(string(b)))
	r.Header.Set(webhook.SignatureHeader, webhook.Sign([]byte(key), b))
	return r
}

// runDay runs the script, recording every metric in r.
func runDay(t *testing.T, r *metrictest.Reader) day {
	t.Helper()
	ctx := context.Background()
	store := mock.NewStore()
	svc, err := mock.NewXeroBillingService(store,
		mock.WithXeroConfig(xero.Config{WebhookKeys: []billing.Secret{billing.NewSecret(webhookKey)}}),
		mock.WithEmulatorOptions(emulator.Options{RateLimit: emulator.Limits{PerDay: 1000, PerMinute: 50}}),
		mock.WithClientOptions(xero.WithMeterProvider(r), xero.WithRetries(1, 0)),
		mock.WithServiceOptions(xero.WithInvoiceHook(func(context.Context, billing.InvoiceChange) error {
			return errors.New("membership service down")
		})))
	require.NoError(t, err)
	t.Cleanup(func() { _ = svc.Close() })
	d := day{svc: svc, emu: svc.Emulator(), store: store}

	// Two members, an invoice each.
	for _, m := range []string{memberA, memberB} {
		require.NoError(t, svc.UpdateUserBillingDetails(ctx, billing.User{ID: m, Name: "Member " + m[:4], Email: m[:4] + "@example.com"}))
	}
	d.paid, err = svc.CreateInvoice(ctx, invoice(memberA, "Membership 2027"))
	require.NoError(t, err)
	d.open, err = svc.CreateInvoice(ctx, invoice(memberB, "Membership 2027"))
	require.NoError(t, err)
	// A creation whose answer is lost: it stays pending.
	d.emu.InjectFault(emulator.Fault{Path: emulator.APIPath + "/Invoices", LoseAnswer: emulator.AnswerTimedOut})
	_, err = svc.CreateInvoice(ctx, invoice(memberA, "Conference 2027"))
	require.Error(t, err)

	// Paid in Xero; the webhook marks both invoices (one delivery), and a
	// forged delivery is refused.
	require.NoError(t, d.emu.PayInvoice(ctx, d.paid.ProviderID, d.paid.Due, billing.NewDate(2026, 11, 3)))
	d.markedAt = time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
	h, err := webhook.New(webhook.Config{
		Keys: []billing.Secret{billing.NewSecret(webhookKey)}, TenantID: d.emu.TenantID(), Store: store,
		MeterProvider: r, Now: func() time.Time { return d.markedAt },
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close() })
	w := httptest.NewRecorder()
	h.ServeHTTP(w, signedDelivery(t, d.emu.TenantID(), webhookKey, d.paid.ProviderID, d.open.ProviderID))
	require.Equal(t, http.StatusOK, w.Code)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, signedDelivery(t, d.emu.TenantID(), "not-the-key", d.paid.ProviderID))
	require.Equal(t, http.StatusUnauthorized, w.Code)

	// One fetch run of one invoice (the oldest mark; ties by number): the
	// paid one. The hook refuses its event, which stays pending; the other
	// mark waits for the next run.
	res, err := billing.FetchInvoiceUpdates(ctx, svc, store, billing.FetchOptions{
		Limit: 1, MeterProvider: r, Now: func() time.Time { return d.markedAt.Add(time.Minute) },
	})
	require.NoError(t, err)
	require.Equal(t, []string{d.paid.Number}, res.Updated)

	// Xero's 429, and the local refusal after it.
	info, _ := svc.Client().LastRateInfo()
	d.dayLeft = info.Remaining.Day
	d.emu.InjectFault(emulator.Fault{Status: http.StatusTooManyRequests, Path: emulator.APIPath})
	var rl *ratelimit.RateLimitError
	_, err = svc.GetInvoiceURL(ctx, d.open)
	require.ErrorAs(t, err, &rl)
	require.False(t, rl.Local)
	_, err = svc.GetInvoiceURL(ctx, d.open)
	require.ErrorAs(t, err, &rl)
	require.True(t, rl.Local)

	_, err = billing.ObserveStore(store, billing.ObserveOptions{MeterProvider: r, Now: func() time.Time { return d.markedAt.Add(90 * time.Second) }})
	require.NoError(t, err)
	return d
}

func TestScriptedDay(t *testing.T) {
	r := metrictest.New(t)
	d := runDay(t, r)
	s := r.Collect(t)

	// Every request the emulator received from the client, by its own
	// template and status, is one point of the histogram; token requests
	// are counted apart.
	want := map[string]float64{}
	tokens := 0
	for _, req := range d.emu.Requests() {
		if req.Operation == "POST /connect/token" {
			tokens++
			continue
		}
		want[fmt.Sprintf("%s %d", req.Operation, req.Status)]++
	}
	got := map[string]float64{}
	for _, p := range s.Points("http.client.request.duration") {
		op, _ := p.Attributes.Value("xero.operation")
		status, _ := p.Attributes.Value("http.response.status_code")
		got[fmt.Sprintf("%s %d", op.AsString(), status.AsInt64())] += float64(p.Count)
	}
	assert.Equal(t, want, got, "the client's requests, as the emulator logged them")
	for _, key := range []string{"GET /Invoices 200", "PUT /Invoices 200", "PUT /Invoices 504", "GET /Invoices/{InvoiceID}/OnlineInvoice 429"} {
		assert.Contains(t, got, key, "the script made this request")
	}
	assert.Equal(t, 1, tokens)

	for _, tt := range []struct {
		name string
		want map[string]float64
	}{
		{"xero.rate_limit.exceeded", map[string]float64{"xero.rate_limit.problem=minute": 1}},
		{"xero.rate_limit.refused", map[string]float64{"xero.rate_limit.problem=minute": 1}},
		{"xero.rate_limit.remaining", map[string]float64{
			"xero.rate_limit.window=minute,xero.tenant.id=" + d.emu.TenantID(): 0,
			"xero.rate_limit.window=day,xero.tenant.id=" + d.emu.TenantID():    float64(d.dayLeft),
		}},
		{"xero.token.refreshes", map[string]float64{"outcome=ok": 1}},
		{"webhook.deliveries", map[string]float64{"outcome=ok": 1, "outcome=bad_signature": 1}},
		{"webhook.delivery.duration", map[string]float64{"outcome=ok": 1, "outcome=bad_signature": 1}},
		{"billing.invoices.marked", map[string]float64{"": 2}},
		{"billing.fetch.runs", map[string]float64{"outcome=ok": 1}},
		{"billing.fetch.invoices", map[string]float64{"outcome=updated": 1}},
		{"billing.events.failed", map[string]float64{"": 1}},
		{"billing.marks.pending", map[string]float64{"": 1}},
		{"billing.marks.oldest_age", map[string]float64{"": 90}},
		{"billing.events.pending", map[string]float64{"": 1}},
		{"billing.creations.pending", map[string]float64{"": 1}},
		{"billing.invoices.set_aside", map[string]float64{"": 0}},
	} {
		assert.Equal(t, tt.want, s.Series(tt.name), tt.name)
	}
	assert.Empty(t, s.Series("billing.events.delivered"), "the hook took nothing")
}

// Names and units, as the package docs list them.
func TestUnits(t *testing.T) {
	r := metrictest.New(t)
	runDay(t, r)
	s := r.Collect(t)
	units := map[string]string{
		"http.client.request.duration": "s",
		"xero.rate_limit.exceeded":     "{response}",
		"xero.rate_limit.refused":      "{call}",
		"xero.rate_limit.remaining":    "{call}",
		"xero.token.refreshes":         "{request}",
		"webhook.deliveries":           "{delivery}",
		"webhook.delivery.duration":    "s",
		"billing.invoices.marked":      "{invoice}",
		"billing.fetch.runs":           "{run}",
		"billing.fetch.invoices":       "{invoice}",
		"billing.events.failed":        "{event}",
		"billing.marks.pending":        "{invoice}",
		"billing.marks.oldest_age":     "s",
		"billing.events.pending":       "{event}",
		"billing.creations.pending":    "{creation}",
		"billing.invoices.set_aside":   "{invoice}",
	}
	got := map[string]string{}
	for name, m := range s {
		got[name] = m.Unit
		assert.NotEmpty(t, m.Description, name)
	}
	assert.Equal(t, units, got)
}

var (
	guid     = regexp.MustCompile(`(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	template = regexp.MustCompile(`^(GET|PUT|POST) (/connections|(/([A-Z][A-Za-z]+|\{[A-Za-z]+\}))+)$`)
)

// No attribute value holds a secret, the client id, the webhook key, a
// tenant, a member, an invoice or contact id, an invoice number or a
// query; xero.operation is a template. The one exception is the tenant's
// id as xero.tenant.id on xero.rate_limit.remaining, whose counts are the
// tenant's. (The emulator's log redacts the access token, so it is not
// listed: no attribute is built from a header.)
func TestNoSecretOrIDInAttributes(t *testing.T) {
	r := metrictest.New(t)
	d := runDay(t, r)
	s := r.Collect(t)

	forbidden := []string{d.emu.ClientSecret(), d.emu.ClientID(), webhookKey, d.emu.TenantID(), memberA, memberB, "Bearer", "INV-", "?"}
	for _, inv := range d.emu.Invoices() {
		forbidden = append(forbidden, inv.InvoiceID, inv.InvoiceNumber)
	}
	for _, c := range d.emu.Contacts() {
		forbidden = append(forbidden, c.ContactID)
	}
	var values []string
	tenants := 0
	for name := range s {
		for _, p := range s.Points(name) {
			for _, kv := range p.Attributes.ToSlice() {
				if kv.Key == "xero.tenant.id" {
					assert.Equal(t, "xero.rate_limit.remaining", name, "only the remaining gauge carries the tenant")
					assert.Equal(t, d.emu.TenantID(), kv.Value.AsString())
					tenants++
					continue
				}
				values = append(values, kv.Value.String())
			}
		}
	}
	assert.Equal(t, 2, tenants, "the minute's and the day's remaining")
	require.NotEmpty(t, values)
	assert.Len(t, values, len(s.AttributeValues())-tenants, "every other value is checked")
	for _, v := range values {
		assert.False(t, guid.MatchString(v), "attribute value %q holds an id", v)
		for _, f := range forbidden {
			if f != "" {
				assert.NotContains(t, v, f)
			}
		}
	}
	for _, p := range s.Points("http.client.request.duration") {
		op, ok := p.Attributes.Value(attribute.Key("xero.operation"))
		require.True(t, ok)
		assert.Regexp(t, template, op.AsString())
	}
}
