package webhook_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/internal/metrictest"
	"github.com/amsbilling/sdk/webhook"
)

// Credit notes of the tests: none is in the store.
const (
	creditA = "7a1b2c3d-0000-4000-8000-00000000000a"
	creditB = "7a1b2c3d-0000-4000-8000-00000000000b"
)

// creditNoteEvent is a CREDITNOTE event of the test tenant; data "" sends
// none.
func creditNoteEvent(typ, id, data string) webhook.Event {
	e := event(webhook.CategoryCreditNote, typ, testTenant, id)
	e.ResourceURL = "https://api.xero.com/api.xro/2.0/CreditNotes/" + id
	if data != "" {
		e.Data = json.RawMessage(data)
	}
	return e
}

const (
	salesData    = `{"Type":"ACCRECCREDIT","Status":"AUTHORISED"}`
	purchaseData = `{"Type":"ACCPAYCREDIT","Status":"AUTHORISED"}`
)

// creditMarkIDs lists the credit notes marked in s.
func creditMarkIDs(t *testing.T, s billing.Store) []string {
	t.Helper()
	marks, err := s.CreditNoteMarks(context.Background())
	require.NoError(t, err)
	var ids []string
	for _, m := range marks {
		ids = append(ids, m.ProviderID)
	}
	return ids
}

// Which CREDITNOTE events mark their credit note: those of the tenant
// whose data says ACCRECCREDIT or cannot say anything; not a supplier's
// (ACCPAYCREDIT), nor another tenant's. They are marked in the request that
// brings them, with the invoice updates beside them.
func TestCreditNoteEventsMarked(t *testing.T) {
	otherTenant := creditNoteEvent(webhook.TypeUpdate, creditA, salesData)
	otherTenant.TenantID = "11111111-2222-3333-4444-555555555555"
	tests := []struct {
		name     string
		events   []webhook.Event
		credits  []string
		invoices []string
	}{
		{"sales update", []webhook.Event{creditNoteEvent(webhook.TypeUpdate, creditA, salesData)}, []string{creditA}, nil},
		{"sales create, any case", []webhook.Event{creditNoteEvent("CREATE", creditA, `{"Type":"accreccredit","Status":"DRAFT"}`)}, []string{creditA}, nil},
		{"no data", []webhook.Event{creditNoteEvent(webhook.TypeUpdate, creditA, "")}, []string{creditA}, nil},
		{"null data", []webhook.Event{creditNoteEvent(webhook.TypeUpdate, creditA, "null")}, []string{creditA}, nil},
		{"unreadable data", []webhook.Event{creditNoteEvent(webhook.TypeUpdate, creditA, `{"Type":42}`)}, []string{creditA}, nil},
		{"data without a type", []webhook.Event{creditNoteEvent(webhook.TypeUpdate, creditA, `{"Status":"PAID"}`)}, []string{creditA}, nil},
		{"supplier's credit note", []webhook.Event{creditNoteEvent(webhook.TypeUpdate, creditA, purchaseData)}, nil, nil},
		{"another tenant", []webhook.Event{otherTenant}, nil, nil},
		{"no resource id", []webhook.Event{creditNoteEvent(webhook.TypeUpdate, "", salesData)}, nil, nil},
		{"twice, and beside invoices", []webhook.Event{
			creditNoteEvent("CREATE", creditB, salesData),
			invoiceUpdate(invoiceIDs[0]),
			creditNoteEvent(webhook.TypeUpdate, creditA, salesData),
			creditNoteEvent(webhook.TypeUpdate, creditB, salesData),
			creditNoteEvent(webhook.TypeUpdate, creditA, purchaseData),
		}, []string{creditA, creditB}, []string{invoiceIDs[0]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newStore(t, invoiceIDs...)
			h := newHandler(t, webhook.Config{Store: store})
			w := serve(h, signed(body(t, tt.events...)))
			require.Equal(t, http.StatusOK, w.Code)
			assert.Empty(t, w.Body.Bytes())
			assert.Equal(t, tt.credits, creditMarkIDs(t, store), "credit notes marked")
			assert.Equal(t, tt.invoices, marked(t, store, invoiceIDs...), "invoices marked")
		})
	}
}

// A delivery of credit-note events only triggers the fetch, as none of its
// ids is an invoice the store knows.
func TestCreditNoteEventTriggersFetch(t *testing.T) {
	fetched := make(chan struct{}, 1)
	store := newStore(t, invoiceIDs...)
	h := newHandler(t, webhook.Config{Store: store, Fetch: func(context.Context) error {
		fetched <- struct{}{}
		return nil
	}})
	require.Equal(t, http.StatusOK, serve(h, signed(body(t, creditNoteEvent(webhook.TypeUpdate, creditA, salesData)))).Code)
	receive(t, fetched, "the fetch")

	var fetches atomic.Int32
	h2 := newHandler(t, webhook.Config{Store: store, Fetch: func(context.Context) error { fetches.Add(1); return nil }})
	require.Equal(t, http.StatusOK, serve(h2, signed(body(t, creditNoteEvent(webhook.TypeUpdate, creditA, purchaseData)))).Code)
	require.NoError(t, h2.Close())
	assert.Zero(t, fetches.Load(), "an ignored event fetches nothing")
}

// creditFailStore fails MarkCreditNotes while fail is set, and records the
// credit notes it was asked to mark.
type creditFailStore struct {
	billing.Store
	mu    sync.Mutex
	fail  error
	calls [][]string
}

func (s *creditFailStore) MarkCreditNotes(ctx context.Context, ids []string, at time.Time) (int, error) {
	s.mu.Lock()
	s.calls = append(s.calls, append([]string(nil), ids...))
	fail := s.fail
	s.mu.Unlock()
	if fail != nil {
		return 0, fail
	}
	return s.Store.MarkCreditNotes(ctx, ids, at)
}

func (s *creditFailStore) setFail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

// A credit-note mark that cannot be stored answers 500, so Xero delivers
// again, and nothing is fetched; the delivery again, once the store works,
// marks everything and answers 200.
func TestCreditNoteStoreFailure(t *testing.T) {
	inner := newStore(t, invoiceIDs...)
	store := &creditFailStore{Store: inner, fail: errStoreDown}
	var fetches atomic.Int32
	logs := &syncBuffer{}
	h := newHandler(t, webhook.Config{Store: store, Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Fetch: func(context.Context) error { fetches.Add(1); return nil }})
	delivery := body(t, invoiceUpdate(invoiceIDs[1]), creditNoteEvent(webhook.TypeUpdate, creditA, salesData))

	w := serve(h, signed(delivery))
	assert.Equal(t, http.StatusInternalServerError, w.Code, "Xero must deliver again")
	assert.NotContains(t, w.Body.String(), errStoreDown.Error(), "no internals in the answer")
	assert.Empty(t, creditMarkIDs(t, inner))
	assert.Contains(t, logs.String(), "marking invoices or credit notes failed")

	store.setFail(nil)
	require.Equal(t, http.StatusOK, serve(h, signed(delivery)).Code)
	require.NoError(t, h.Close())
	assert.Equal(t, []string{creditA}, creditMarkIDs(t, inner))
	assert.Equal(t, []string{invoiceIDs[1]}, marked(t, inner, invoiceIDs...))
	assert.Equal(t, [][]string{{creditA}, {creditA}}, store.calls)
	assert.Equal(t, int32(1), fetches.Load(), "only the delivery that was stored fetches")
}

// An invoice-only delivery does not call MarkCreditNotes at all.
func TestInvoiceOnlyDeliveryMarksNoCreditNote(t *testing.T) {
	store := &creditFailStore{Store: newStore(t, invoiceIDs...), fail: errStoreDown}
	h := newHandler(t, webhook.Config{Store: store})
	require.Equal(t, http.StatusOK, serve(h, signed(body(t, invoiceUpdate(invoiceIDs[0])))).Code)
	assert.Empty(t, store.calls)
}

func TestCreditNoteMetric(t *testing.T) {
	r := metrictest.New(t)
	h := newHandler(t, webhook.Config{Store: newStore(t, invoiceIDs...), MeterProvider: r})
	require.Equal(t, http.StatusOK, serve(h, signed(body(t,
		creditNoteEvent(webhook.TypeUpdate, creditA, salesData),
		creditNoteEvent(webhook.TypeUpdate, creditB, ""),
		creditNoteEvent(webhook.TypeUpdate, creditB, purchaseData),
		invoiceUpdate(invoiceIDs[0])))).Code)
	s := r.Collect(t)
	assert.Equal(t, 2.0, s.Sum("billing.credit_notes.marked"))
	assert.Equal(t, 1.0, s.Sum("billing.invoices.marked"))
}

func TestIsSalesCreditNoteChange(t *testing.T) {
	tests := []struct {
		name string
		e    webhook.Event
		want bool
	}{
		{"sales", creditNoteEvent(webhook.TypeUpdate, creditA, salesData), true},
		{"sales, lower case category", func() webhook.Event {
			e := creditNoteEvent("CREATE", creditA, salesData)
			e.EventCategory = "creditnote"
			return e
		}(), true},
		{"no data", creditNoteEvent(webhook.TypeUpdate, creditA, ""), true},
		{"not an object", creditNoteEvent(webhook.TypeUpdate, creditA, `"ACCRECCREDIT"`), true},
		{"supplier's", creditNoteEvent(webhook.TypeUpdate, creditA, purchaseData), false},
		{"another type", creditNoteEvent(webhook.TypeUpdate, creditA, `{"Type":"ACCREC"}`), false},
		{"an invoice", invoiceUpdate(invoiceIDs[0]), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.e.IsSalesCreditNoteChange())
		})
	}
	data, ok := creditNoteEvent(webhook.TypeUpdate, creditA, salesData).CreditNote()
	require.True(t, ok)
	assert.Equal(t, webhook.CreditNoteData{Type: "ACCRECCREDIT", Status: "AUTHORISED"}, data)
}
