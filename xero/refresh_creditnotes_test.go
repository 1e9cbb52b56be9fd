package xero_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/internal/xerolimit"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/webhook"
	"github.com/amsbilling/sdk/xero"
)

// callsSince is what the emulator received since before, by operation,
// tokens left out.
func callsSince(before, after map[string]int) map[string]int {
	out := map[string]int{}
	for op, n := range after {
		if d := n - before[op]; d > 0 && op != "POST /connect/token" {
			out[op] = d
		}
	}
	return out
}

func cnAmount(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// A credit note made in Xero by hand and allocated to the app's invoice is
// saved with the member's account and its allocation, and the invoice is
// marked; one of no stored invoice, one Xero does not have and an id that
// is no GUID are dropped.
func TestUpdateCreditNotesOnEmulator(t *testing.T) {
	r := newCreationRig(t)
	ctx := t.Context()
	inv, err := r.svc.CreateInvoice(ctx, renewal("Membership 2027"))
	require.NoError(t, err)
	allocated, err := r.emu.CreateCreditNote(ctx, emulator.ManualCreditNote{InvoiceID: inv.ProviderID, Amount: cnAmount("20.00"), Reference: "Goodwill"})
	require.NoError(t, err)
	_, err = r.emu.AllocateCreditNote(ctx, allocated.CreditNoteID, inv.ProviderID, cnAmount("20.00"), billing.Date{})
	require.NoError(t, err)
	loose, err := r.emu.CreateCreditNote(ctx, emulator.ManualCreditNote{InvoiceID: inv.ProviderID, Amount: cnAmount("5.00")})
	require.NoError(t, err)
	unknown := "7e57c0de-0000-4000-8000-000000000404"

	before := r.emu.CallCounts()
	res, err := r.svc.UpdateCreditNotes(ctx, []string{allocated.CreditNoteID, loose.CreditNoteID, unknown, "not-a-guid", allocated.CreditNoteID})
	require.NoError(t, err)
	assert.Equal(t, []string{allocated.CreditNoteID}, res.Refreshed)
	assert.Equal(t, []string{allocated.CreditNoteID}, res.Changed)
	assert.ElementsMatch(t, []string{loose.CreditNoteID, unknown, "not-a-guid"}, res.Dropped)
	assert.Empty(t, res.Failed)
	assert.Equal(t, 1, res.InvoicesMarked)
	assert.Equal(t, 2, res.Calls)
	assert.Equal(t, map[string]int{"GET /CreditNotes": 1, "GET /CreditNotes/{CreditNoteID}": 1}, callsSince(before, r.emu.CallCounts()),
		"one query for all, one GET for the one it lacked (404)")

	got, err := r.store.CreditNoteByProviderID(ctx, allocated.CreditNoteID)
	require.NoError(t, err)
	assert.Equal(t, billing.UserAccount(memberID), got.Account, "the account of the invoice it is allocated to")
	assert.Empty(t, got.InvoiceID, "made by hand: raised for no invoice of the app")
	assert.Equal(t, billing.StatusPaid, got.Status)
	assert.True(t, got.Total.Equal(cnAmount("20")))
	assert.True(t, got.Remaining.IsZero())
	require.Len(t, got.Allocations, 1)
	assert.Equal(t, inv.ProviderID, got.Allocations[0].InvoiceID)
	_, err = r.store.CreditNoteByProviderID(ctx, loose.CreditNoteID)
	assert.ErrorIs(t, err, billing.ErrNotFound, "allocated to nothing the app holds: not kept")
	stored, err := r.store.InvoiceByProviderID(ctx, inv.ProviderID)
	require.NoError(t, err)
	assert.True(t, stored.UpdateNeeded, "the invoice it is allocated to is marked")

	again, err := r.svc.UpdateCreditNotes(ctx, []string{allocated.CreditNoteID})
	require.NoError(t, err)
	assert.Equal(t, []string{allocated.CreditNoteID}, again.Refreshed)
	assert.Empty(t, again.Changed, "nothing changed in Xero")
}

// Many credit notes are asked for in as few requests as Xero's URL limit
// allows, every URL within it.
func TestUpdateCreditNotesBatches(t *testing.T) {
	r := newCreationRig(t)
	ctx := t.Context()
	inv, err := r.svc.CreateInvoice(ctx, renewal("Membership 2027"))
	require.NoError(t, err)
	var ids []string
	for range 60 {
		cn, err := r.emu.CreateCreditNote(ctx, emulator.ManualCreditNote{InvoiceID: inv.ProviderID, Amount: cnAmount("1.00")})
		require.NoError(t, err)
		ids = append(ids, cn.CreditNoteID)
	}
	start := len(r.emu.Requests())
	res, err := r.svc.UpdateCreditNotes(ctx, ids)
	require.NoError(t, err)
	assert.Len(t, res.Dropped, 60, "allocated to nothing the app holds")
	reqs := r.emu.Requests()[start:]
	var sizes []int
	for _, q := range reqs {
		if q.Operation == "" || q.Operation == "POST /connect/token" {
			continue
		}
		require.Equal(t, "GET /CreditNotes", q.Operation, "no credit note asked alone")
		u := "https://api.xero.com" + q.Path + "?" + q.Query.Encode()
		assert.LessOrEqual(t, len(u), xerolimit.GatewayMaxURLLength)
		sizes = append(sizes, strings.Count(q.Query.Get("where"), "Guid("))
	}
	assert.Equal(t, 3, res.Calls)
	require.Len(t, sizes, 3)
	assert.Equal(t, 60, sizes[0]+sizes[1]+sizes[2])
	assert.GreaterOrEqual(t, sizes[0], 25, "ids a request")
	t.Logf("credit notes a request: %v", sizes)
}

// creditNoteRecord is a credit note as Xero lists it, of type typ.
func creditNoteRecord(id, typ, total string) string {
	return fmt.Sprintf(`{"CreditNoteID":%q,"CreditNoteNumber":"CN-%s","Type":%q,"Contact":{"ContactID":%q},"DateString":"2026-03-02T00:00:00","Status":"AUTHORISED","Total":%s,"RemainingCredit":0,"CurrencyCode":"NZD","Allocations":[{"Amount":%s,"Date":"/Date(1772409600000+0000)/","Invoice":{"InvoiceID":%q}}]}`,
		id, id[:4], typ, ctID, total, total, invID)
}

// A supplier's credit note (ACCPAYCREDIT) is never kept; a record that
// cannot be read fails that credit note only; a refused query is asked
// again one credit note at a time; a rate limit stops the call.
func TestUpdateCreditNotesAnswers(t *testing.T) {
	sales, purchase, broken := guid(901), guid(902), guid(903)
	list := `{"CreditNotes":[` + creditNoteRecord(sales, "ACCRECCREDIT", "10.00") + `,` + creditNoteRecord(purchase, "ACCPAYCREDIT", "10.00") +
		`,{"CreditNoteID":"` + broken + `","Type":"ACCRECCREDIT","Total":"ten","DateString":"2026-03-02T00:00:00"}]}`
	tests := []struct {
		name   string
		list   httpmock.Responder
		single func(id string) httpmock.Responder
		check  func(t *testing.T, res billing.CreditNoteUpdateResult, err error, h *harness, store *mock.Store)
	}{
		{"types and records", respond(200, list), nil, func(t *testing.T, res billing.CreditNoteUpdateResult, err error, h *harness, store *mock.Store) {
			require.NoError(t, err)
			assert.Equal(t, []string{sales}, res.Refreshed)
			assert.Equal(t, []string{purchase}, res.Dropped)
			require.Contains(t, res.Failed, broken)
			assert.ErrorIs(t, res.Failed[broken], billing.ErrUnreadable)
			assert.Equal(t, 1, res.Calls)
			_, err = store.CreditNoteByProviderID(context.Background(), purchase)
			assert.ErrorIs(t, err, billing.ErrNotFound)
			got, err := store.CreditNoteByProviderID(context.Background(), sales)
			require.NoError(t, err)
			assert.Equal(t, billing.UserAccount(userID), got.Account)
		}},
		{"query refused", respond(400, `{"ErrorNumber":16,"Type":"QueryParseException","Message":"No property or field 'CreditNoteID' exists"}`),
			func(id string) httpmock.Responder {
				if id == sales {
					return respond(200, `{"CreditNotes":[`+creditNoteRecord(sales, "ACCRECCREDIT", "10.00")+`]}`)
				}
				return respond(404, "The resource you're looking for cannot be found")
			}, func(t *testing.T, res billing.CreditNoteUpdateResult, err error, h *harness, _ *mock.Store) {
				require.NoError(t, err)
				assert.Equal(t, []string{sales}, res.Refreshed)
				assert.ElementsMatch(t, []string{purchase, broken}, res.Dropped)
				assert.Equal(t, 4, res.Calls, "the query, then each alone")
			}},
		{"rate limit", respond(429, `{}`, "Retry-After", "30", "X-Rate-Limit-Problem", "minute"), nil,
			func(t *testing.T, res billing.CreditNoteUpdateResult, err error, h *harness, store *mock.Store) {
				var rl *ratelimit.RateLimitError
				require.ErrorAs(t, err, &rl)
				assert.True(t, billing.IsTemporary(err))
				assert.Equal(t, 1, h.apiCalls(), "nothing asked alone after a rate limit")
				marks, _ := store.CreditNoteMarks(context.Background())
				assert.Empty(t, marks)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			svc, store := newService(t, h)
			require.NoError(t, store.CreateInvoice(context.Background(), billing.Invoice{Account: billing.UserAccount(userID),
				Number: "INV-0001", ProviderID: invID, Status: billing.StatusAuthorised, Amount: cnAmount("115")}))
			h.handle(http.MethodGet, "/CreditNotes", tt.list)
			for _, id := range []string{sales, purchase, broken} {
				r := respond(404, "The resource you're looking for cannot be found")
				if tt.single != nil {
					r = tt.single(id)
				}
				h.handle(http.MethodGet, "/CreditNotes/"+id, r)
			}
			res, err := svc.UpdateCreditNotes(context.Background(), []string{sales, purchase, broken})
			tt.check(t, res, err, h, store)
		})
	}
}

// switchHandler serves the handler set last, so a server can be started
// before what it serves exists.
type switchHandler struct {
	mu sync.Mutex
	h  http.Handler
}

func (s *switchHandler) set(h http.Handler) { s.mu.Lock(); s.h = h; s.mu.Unlock() }

func (s *switchHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	h := s.h
	s.mu.Unlock()
	if h == nil {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

// TestCreditNoteByHandEndToEnd is issue 16's flow on the emulator: the app
// bills a member; someone in Xero makes a credit note for the invoice and
// allocates it; Xero's webhooks reach the app's handler, which marks the
// credit note (and the invoice); the fetch job then holds the credit note
// and the invoice's amounts credited and due and its status as Xero
// computed them, and the app's hook hears the change. Every Xero call of
// the fetch is counted.
func TestCreditNoteByHandEndToEnd(t *testing.T) {
	const key = "credit-note-webhook-key-0123456789"
	ctx := t.Context()
	sw := &switchHandler{}
	srv := httptest.NewServer(sw)
	t.Cleanup(srv.Close)

	store := mock.NewStore()
	var (
		mu      sync.Mutex
		changes []billing.InvoiceChange
	)
	hook := func(_ context.Context, c billing.InvoiceChange) error {
		mu.Lock()
		defer mu.Unlock()
		changes = append(changes, c)
		return nil
	}
	svc, err := mock.NewXeroBillingService(store,
		mock.WithEmulatorOptions(emulator.Options{WebhookURL: srv.URL, WebhookKey: key, WebhookRetryDelay: time.Millisecond}),
		mock.WithServiceOptions(xero.WithInvoiceHook(hook)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = svc.Close() })
	emu := svc.Emulator()
	h, err := webhook.New(webhook.Config{Keys: []billing.Secret{billing.NewSecret(key)}, TenantID: emu.TenantID(), Store: store})
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close() })
	sw.set(h)

	require.NoError(t, svc.UpdateUserBillingDetails(ctx, billing.User{ID: memberID, Name: "Mae Jemison"}))
	inv, err := svc.CreateInvoice(ctx, renewal("Membership 2027"))
	require.NoError(t, err)
	require.NoError(t, emu.FlushWebhooks(ctx))
	_, err = billing.FetchAllInvoiceUpdates(ctx, svc, store, billing.FetchOptions{})
	require.NoError(t, err)
	mu.Lock()
	changes = nil
	mu.Unlock()

	// In Xero, by hand.
	cn, err := emu.CreateCreditNote(ctx, emulator.ManualCreditNote{InvoiceID: inv.Number, Amount: cnAmount("30.00"), Reference: "Hardship"})
	require.NoError(t, err)
	_, err = emu.AllocateCreditNote(ctx, cn.CreditNoteID, inv.Number, cnAmount("30.00"), billing.Date{})
	require.NoError(t, err)
	require.NoError(t, emu.FlushWebhooks(ctx))
	var creditEvents int
	for _, d := range emu.Webhooks() {
		require.True(t, d.Delivered, "the handler took every delivery")
		for _, e := range d.Events {
			if e.EventCategory == emulator.CategoryCreditNote {
				creditEvents++
			}
		}
	}
	assert.Equal(t, 2, creditEvents, "CREATE and UPDATE")
	marks, err := store.CreditNoteMarks(ctx)
	require.NoError(t, err)
	require.Len(t, marks, 1, "the webhook marked the credit note, unknown to the store")
	assert.Equal(t, cn.CreditNoteID, marks[0].ProviderID)

	before := emu.CallCounts()
	res, err := billing.FetchAllInvoiceUpdates(ctx, svc, store, billing.FetchOptions{})
	require.NoError(t, err)
	calls := callsSince(before, emu.CallCounts())
	t.Logf("Xero calls of the fetch: %v", calls)
	assert.Equal(t, map[string]int{"GET /CreditNotes": 1, "GET /Invoices": 1}, calls, "one call for the credit note, one for the invoice")
	assert.Equal(t, []string{cn.CreditNoteID}, res.CreditNotes.Refreshed)
	assert.Equal(t, 1, res.CreditNotes.Calls)
	assert.Equal(t, []string{inv.Number}, res.Updated)
	marks, err = store.CreditNoteMarks(ctx)
	require.NoError(t, err)
	assert.Empty(t, marks)

	x, ok := emu.Invoice(inv.ProviderID)
	require.True(t, ok)
	got, err := store.InvoiceByProviderID(ctx, inv.ProviderID)
	require.NoError(t, err)
	assert.True(t, x.AmountCredited.Equal(cnAmount("30")))
	assert.True(t, got.Credited.Equal(x.AmountCredited), "Credited %s, Xero %s", got.Credited, x.AmountCredited)
	assert.True(t, got.Due.Equal(x.AmountDue), "Due %s, Xero %s", got.Due, x.AmountDue)
	assert.Equal(t, x.Status, got.Status)
	assert.False(t, got.UpdateNeeded)

	stored, err := store.CreditNoteByProviderID(ctx, cn.CreditNoteID)
	require.NoError(t, err)
	assert.Equal(t, billing.UserAccount(memberID), stored.Account)
	assert.True(t, stored.Total.Equal(cnAmount("30")))
	assert.Equal(t, billing.StatusPaid, stored.Status)
	notes, err := store.CreditNotesOfInvoice(ctx, inv.ProviderID)
	require.NoError(t, err)
	assert.Len(t, notes, 1)

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, changes, 1, "the app's hook heard the invoice change once")
	assert.True(t, changes[0].After.Credited.Equal(cnAmount("30")))
	assert.True(t, changes[0].Before.Credited.IsZero())
	assert.NotEmpty(t, changes[0].EventID)
}
