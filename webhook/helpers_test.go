package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/webhook"
	"github.com/stretchr/testify/require"
)

const (
	testKey    = "k3y-Secr3t-do-not-log-9f8e7d6c"
	testTenant = "aef86862-2015-4b6b-88bc-d89032cecc50"
	otherKey   = "another-key-entirely-5a4b3c2d1e"
)

// invoiceIDs are provider ids of invoices newStore creates.
var invoiceIDs = []string{
	"55d84274-a3da-4829-a7c0-0cab601b95cc",
	"6f1e0c3a-2b7d-4e8f-9a01-23456789abcd",
	"0b9a8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d",
}

// newStore returns a mock store holding one invoice per id, numbered INV-0001...
func newStore(t testing.TB, ids ...string) *mock.Store {
	t.Helper()
	s := mock.NewStore()
	for i, id := range ids {
		require.NoError(t, s.CreateInvoice(context.Background(), billing.Invoice{
			Account:    billing.UserAccount(fmt.Sprintf("user-%d", i+1)),
			Number:     fmt.Sprintf("INV-%04d", i+1),
			ProviderID: id,
			Status:     billing.StatusAuthorised,
		}))
	}
	return s
}

// marked returns the provider ids of the flagged invoices.
func marked(t testing.TB, s billing.Store, ids ...string) []string {
	t.Helper()
	var out []string
	for _, id := range ids {
		inv, err := s.InvoiceByProviderID(context.Background(), id)
		require.NoError(t, err)
		if inv.UpdateNeeded {
			out = append(out, id)
		}
	}
	return out
}

func event(category, typ, tenant, id string) webhook.Event {
	return webhook.Event{
		ResourceURL:   "https://api.xero.com/api.xro/2.0/Invoices/" + id,
		ResourceID:    id,
		EventDateUTC:  "2025-12-02T00:44:09.923",
		EventType:     typ,
		EventCategory: category,
		TenantID:      tenant,
		TenantType:    "ORGANISATION",
	}
}

func invoiceUpdate(id string) webhook.Event {
	return event(webhook.CategoryInvoice, webhook.TypeUpdate, testTenant, id)
}

func body(t testing.TB, events ...webhook.Event) []byte {
	t.Helper()
	if events == nil {
		events = []webhook.Event{}
	}
	b, err := json.Marshal(webhook.Payload{
		Events:             events,
		FirstEventSequence: 1,
		LastEventSequence:  int64(len(events)),
		Entropy:            "FXNGWLCCGVANWHKILRUB",
	})
	require.NoError(t, err)
	return b
}

// post builds a request for ServeHTTP; sig "" sends no signature header.
func post(body []byte, sig string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/billing/xero/webhooks/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if sig != "" {
		r.Header.Set("x-xero-signature", sig)
	}
	return r
}

func signed(body []byte) *http.Request {
	return post(body, webhook.Sign([]byte(testKey), body))
}

func newHandler(t testing.TB, cfg webhook.Config) *webhook.Handler {
	t.Helper()
	if cfg.Keys == nil {
		cfg.Keys = []billing.Secret{billing.NewSecret(testKey)}
	}
	if cfg.TenantID == "" {
		cfg.TenantID = testTenant
	}
	h, err := webhook.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
	})
	return h
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// recordingStore records MarkUpdateNeeded calls and can fail them.
type recordingStore struct {
	billing.Store
	fail error

	mu     sync.Mutex
	calls  [][]string
	ctxErr []error
	dl     []bool
	after  func() // called after a successful mark
}

func (s *recordingStore) MarkUpdateNeeded(ctx context.Context, ids []string, at time.Time) (int, error) {
	s.mu.Lock()
	s.calls = append(s.calls, append([]string(nil), ids...))
	s.ctxErr = append(s.ctxErr, ctx.Err())
	_, hasDeadline := ctx.Deadline()
	s.dl = append(s.dl, hasDeadline)
	s.mu.Unlock()
	if s.fail != nil {
		return 0, s.fail
	}
	n, err := s.Store.MarkUpdateNeeded(ctx, ids, at)
	if err == nil && s.after != nil {
		s.after()
	}
	return n, err
}

func (s *recordingStore) Calls() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]string(nil), s.calls...)
}

var errStoreDown = errors.New("store down")

// syncBuffer is a bytes.Buffer safe for the handler's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// receive waits for a value on ch, failing the test if none comes.
func receive[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}
