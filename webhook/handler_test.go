package webhook_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/webhook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewRejectsBadConfig(t *testing.T) {
	store := mock.NewStore()
	tests := []struct {
		name string
		cfg  webhook.Config
		want string
	}{
		{"no keys", webhook.Config{TenantID: testTenant, Store: store}, "at least one key"},
		{"empty key", webhook.Config{Keys: []billing.Secret{billing.NewSecret(testKey), billing.NewSecret("")}, TenantID: testTenant, Store: store}, "key 2 is empty"},
		{"no tenant", webhook.Config{Keys: []billing.Secret{billing.NewSecret(testKey)}, TenantID: "  ", Store: store}, "tenant id is required"},
		{"no store", webhook.Config{Keys: []billing.Secret{billing.NewSecret(testKey)}, TenantID: testTenant}, "store is required"},
		{"negative limit", webhook.Config{Keys: []billing.Secret{billing.NewSecret(testKey)}, TenantID: testTenant, Store: store, MaxBodyBytes: -1}, "max body bytes"},
		{"negative timeout", webhook.Config{Keys: []billing.Secret{billing.NewSecret(testKey)}, TenantID: testTenant, Store: store, MarkTimeout: -time.Second}, "mark timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := webhook.New(tt.cfg)
			require.Error(t, err)
			assert.Nil(t, h)
			assert.ErrorIs(t, err, billing.ErrInvalidConfig)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), testKey)
		})
	}
}

func TestHandlerSignatures(t *testing.T) {
	b := body(t, invoiceUpdate(invoiceIDs[0]))
	validSig := webhook.Sign([]byte(testKey), b)
	tests := []struct {
		name   string
		keys   []billing.Secret
		header []string // values of x-xero-signature
		want   int
	}{
		{"valid", nil, []string{validSig}, http.StatusOK},
		{"missing", nil, nil, http.StatusUnauthorized},
		{"empty", nil, []string{""}, http.StatusUnauthorized},
		{"wrong key", nil, []string{webhook.Sign([]byte(otherKey), b)}, http.StatusUnauthorized},
		{"other body", nil, []string{webhook.Sign([]byte(testKey), []byte(`{"events":[]}`))}, http.StatusUnauthorized},
		{"malformed base64", nil, []string{strings.Repeat("!", len(validSig))}, http.StatusUnauthorized},
		{"truncated", nil, []string{validSig[:len(validSig)-4]}, http.StatusUnauthorized},
		{"unpadded", nil, []string{strings.TrimRight(validSig, "=")}, http.StatusUnauthorized},
		{"url alphabet", nil, []string{base64.URLEncoding.EncodeToString(make([]byte, 32))}, http.StatusUnauthorized},
		{"hex instead of base64", nil, []string{strings.Repeat("ab", 22)}, http.StatusUnauthorized},
		{"two headers", nil, []string{validSig, validSig}, http.StatusUnauthorized},
		{"rotation: old key still accepted", []billing.Secret{billing.NewSecret(otherKey), billing.NewSecret(testKey)}, []string{validSig}, http.StatusOK},
		{"rotation: new key accepted", []billing.Secret{billing.NewSecret(testKey), billing.NewSecret(otherKey)}, []string{webhook.Sign([]byte(otherKey), b)}, http.StatusOK},
		{"rotation: neither key", []billing.Secret{billing.NewSecret(otherKey), billing.NewSecret("third-key")}, []string{validSig}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newStore(t, invoiceIDs...)
			h := newHandler(t, webhook.Config{Keys: tt.keys, Store: store})
			r := post(b, "")
			for _, v := range tt.header {
				r.Header.Add("X-Xero-Signature", v)
			}
			w := serve(h, r)
			assert.Equal(t, tt.want, w.Code)
			assert.Empty(t, w.Body.String(), "webhook answers carry no body")
			if tt.want == http.StatusOK {
				assert.Equal(t, invoiceIDs[:1], marked(t, store, invoiceIDs...))
			} else {
				assert.Empty(t, marked(t, store, invoiceIDs...))
			}
		})
	}
}

// Xero's intent-to-receive check sends a badly signed and a correctly signed
// delivery with no events and expects 401 then 200, both with empty bodies.
func TestIntentToReceive(t *testing.T) {
	store := &recordingStore{Store: newStore(t, invoiceIDs...)}
	var fetches atomic.Int32
	h := newHandler(t, webhook.Config{Store: store, Fetch: func(context.Context) error { fetches.Add(1); return nil }})
	b := []byte(`{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"YSXCMKAQBJOEPRLWNEQZ"}`)

	bad := serve(h, post(b, webhook.Sign([]byte("not-the-key"), b)))
	assert.Equal(t, http.StatusUnauthorized, bad.Code)
	assert.Empty(t, bad.Body.Bytes())

	good := serve(h, signed(b))
	assert.Equal(t, http.StatusOK, good.Code)
	assert.Empty(t, good.Body.Bytes())
	assert.Empty(t, good.Result().Cookies())

	require.NoError(t, h.Close())
	assert.Empty(t, store.Calls(), "no events: the store is not called")
	assert.Zero(t, fetches.Load(), "no events: nothing to fetch")
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func TestBodyLimit(t *testing.T) {
	const limit = 1024
	small := body(t, invoiceUpdate(invoiceIDs[0]))
	padded := func(n int) []byte {
		// A valid payload of exactly n bytes, thanks to the entropy field.
		b := []byte(`{"events":[],"entropy":"`)
		b = append(b, bytes.Repeat([]byte("A"), n-len(b)-2)...)
		return append(b, `"}`...)
	}
	tests := []struct {
		name          string
		body          []byte
		contentLength int64 // as the request claims; -1 unknown
		want          int
	}{
		{"within the limit", small, int64(len(small)), http.StatusOK},
		{"exactly the limit", padded(limit), limit, http.StatusOK},
		{"one byte over", padded(limit + 1), limit + 1, http.StatusRequestEntityTooLarge},
		{"declared too large", padded(10 * limit), 10 * limit, http.StatusRequestEntityTooLarge},
		{"lying content length", padded(10 * limit), 100, http.StatusRequestEntityTooLarge},
		{"unknown length, too large", padded(10 * limit), -1, http.StatusRequestEntityTooLarge},
		{"unknown length, small", small, -1, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newStore(t, invoiceIDs...)
			h := newHandler(t, webhook.Config{Store: store, MaxBodyBytes: limit})
			src := &countingReader{r: bytes.NewReader(tt.body)}
			r := httptest.NewRequest(http.MethodPost, "/", src)
			r.ContentLength = tt.contentLength
			r.Header.Set("X-Xero-Signature", webhook.Sign([]byte(testKey), tt.body))

			w := serve(h, r)
			assert.Equal(t, tt.want, w.Code)
			assert.LessOrEqual(t, src.n.Load(), int64(limit+1), "never reads past limit+1 bytes")
			if tt.contentLength > limit {
				assert.Zero(t, src.n.Load(), "a declared oversize body is refused before reading")
			}
			if tt.want != http.StatusOK {
				assert.Empty(t, marked(t, store, invoiceIDs...))
			}
		})
	}
}

func TestBodyLimitDefaultIsOneMiB(t *testing.T) {
	h := newHandler(t, webhook.Config{Store: mock.NewStore()})
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(make([]byte, 1<<20+1)))
	r.Header.Set("X-Xero-Signature", webhook.Sign([]byte(testKey), nil))
	assert.Equal(t, http.StatusRequestEntityTooLarge, serve(h, r).Code)
}

func TestSignedButMalformedPayload(t *testing.T) {
	tests := []struct{ name, body string }{
		{"not JSON", `events`},
		{"truncated", `{"events":[{"resourceId":"x"`},
		{"null", `null`},
		{"array", `[]`},
		{"empty", ``},
		{"events not a list", `{"events":{}}`},
		{"sequence not a number", `{"events":[],"firstEventSequence":"one"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &recordingStore{Store: newStore(t, invoiceIDs...)}
			h := newHandler(t, webhook.Config{Store: store})
			w := serve(h, signed([]byte(tt.body)))
			assert.Equal(t, http.StatusBadRequest, w.Code)
			assert.Empty(t, store.Calls())
		})
	}
}

func TestEventFiltering(t *testing.T) {
	a, b, c := invoiceIDs[0], invoiceIDs[1], invoiceIDs[2]
	tests := []struct {
		name   string
		events []webhook.Event
		want   []string
	}{
		{"invoice update", []webhook.Event{invoiceUpdate(a)}, []string{a}},
		{"wrong tenant", []webhook.Event{event("INVOICE", "UPDATE", "11111111-2222-3333-4444-555555555555", a)}, nil},
		{"tenant in upper case", []webhook.Event{event("INVOICE", "UPDATE", strings.ToUpper(testTenant), a)}, []string{a}},
		{"invoice create", []webhook.Event{event("INVOICE", "CREATE", testTenant, a)}, nil},
		{"contact update", []webhook.Event{event("CONTACT", "UPDATE", testTenant, a)}, nil},
		{"credit note", []webhook.Event{event("CREDITNOTE", "UPDATE", testTenant, a)}, nil},
		{"no resource id", []webhook.Event{invoiceUpdate("")}, nil},
		{"unknown invoice", []webhook.Event{invoiceUpdate("99999999-0000-0000-0000-000000000000")}, nil},
		{"mixed", []webhook.Event{
			event("CONTACT", "UPDATE", testTenant, a),
			invoiceUpdate(b),
			event("INVOICE", "UPDATE", "11111111-2222-3333-4444-555555555555", c),
			invoiceUpdate(c),
		}, []string{b, c}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newStore(t, invoiceIDs...)
			h := newHandler(t, webhook.Config{Store: store})
			w := serve(h, signed(body(t, tt.events...)))
			assert.Equal(t, http.StatusOK, w.Code)
			assert.Empty(t, w.Body.String())
			assert.Equal(t, tt.want, marked(t, store, invoiceIDs...))
		})
	}
}

func TestDeduplicatesResourceIDs(t *testing.T) {
	// Enough events to pass from the small-list path to the map path.
	var events []webhook.Event
	for i := range 40 {
		events = append(events, invoiceUpdate(invoiceIDs[i%3]))
	}
	store := &recordingStore{Store: newStore(t, invoiceIDs...)}
	h := newHandler(t, webhook.Config{Store: store})
	require.Equal(t, http.StatusOK, serve(h, signed(body(t, events...))).Code)
	assert.Equal(t, [][]string{invoiceIDs}, store.Calls())
}

func TestStoreFailure(t *testing.T) {
	inner := newStore(t, invoiceIDs...)
	store := &recordingStore{Store: inner, fail: errStoreDown}
	var fetches atomic.Int32
	h := newHandler(t, webhook.Config{Store: store, Fetch: func(context.Context) error { fetches.Add(1); return nil }})

	w := serve(h, signed(body(t, invoiceUpdate(invoiceIDs[0]))))
	assert.Equal(t, http.StatusInternalServerError, w.Code, "Xero must deliver again")
	assert.NotContains(t, w.Body.String(), errStoreDown.Error(), "no internals in the answer")
	require.NoError(t, h.Close())
	assert.Len(t, store.Calls(), 1)
	assert.Empty(t, marked(t, inner, invoiceIDs...))
	assert.Zero(t, fetches.Load())
}

func TestDuplicateDeliveryIsIdempotent(t *testing.T) {
	store := newStore(t, invoiceIDs...)
	h := newHandler(t, webhook.Config{Store: store})
	b := body(t, invoiceUpdate(invoiceIDs[1]))
	for range 2 {
		w := serve(h, signed(b))
		assert.Equal(t, http.StatusOK, w.Code)
	}
	assert.Equal(t, invoiceIDs[1:2], marked(t, store, invoiceIDs...))
}

// The store write is bounded by MarkTimeout but survives the client going
// away, so a write under way is not rolled back.
func TestMarkOutlivesClientDisconnect(t *testing.T) {
	store := &recordingStore{Store: newStore(t, invoiceIDs...)}
	h := newHandler(t, webhook.Config{Store: store})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w := serve(h, signed(body(t, invoiceUpdate(invoiceIDs[0]))).WithContext(ctx))
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, invoiceIDs[:1], marked(t, store, invoiceIDs...))
	store.mu.Lock()
	defer store.mu.Unlock()
	assert.Equal(t, []error{nil}, store.ctxErr)
	assert.Equal(t, []bool{true}, store.dl, "the write has a deadline")
}

func TestMarkUsesNow(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("NZDT", 13*3600))
	store := newStore(t, invoiceIDs...)
	h := newHandler(t, webhook.Config{Store: store, Now: func() time.Time { return at }})
	require.Equal(t, http.StatusOK, serve(h, signed(body(t, invoiceUpdate(invoiceIDs[0])))).Code)
	inv, err := store.InvoiceByProviderID(context.Background(), invoiceIDs[0])
	require.NoError(t, err)
	assert.True(t, inv.UpdateRequestedAt.Equal(at))
}

func TestMethodNotAllowed(t *testing.T) {
	h := newHandler(t, webhook.Config{Store: mock.NewStore()})
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions} {
		t.Run(m, func(t *testing.T) {
			w := serve(h, httptest.NewRequest(m, "/billing/xero/webhooks/", nil))
			assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
			assert.Equal(t, "POST", w.Header().Get("Allow"))
		})
	}
}

func TestSuccessHeaders(t *testing.T) {
	h := newHandler(t, webhook.Config{Store: newStore(t, invoiceIDs...)})
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, err := webhook.NewSignedRequest(context.Background(), []byte(testKey), srv.URL, body(t, invoiceUpdate(invoiceIDs[0])))
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, got)
	assert.Empty(t, resp.Cookies())
	assert.Equal(t, int64(0), resp.ContentLength)
	assert.Empty(t, resp.TransferEncoding, "a fixed empty body, not chunked")
	for name := range resp.Header {
		assert.Contains(t, []string{"Content-Length", "Date"}, name)
	}
}

// The answer must reach Xero while the fetch it triggers is still running.
func TestRespondsBeforeFetch(t *testing.T) {
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	h := newHandler(t, webhook.Config{
		Store: newStore(t, invoiceIDs...),
		Fetch: func(ctx context.Context) error {
			started <- struct{}{}
			<-release
			return nil
		},
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer close(release)

	client := &http.Client{Timeout: 10 * time.Second}
	req, err := webhook.NewSignedRequest(context.Background(), []byte(testKey), srv.URL+"/billing/xero/webhooks/", body(t, invoiceUpdate(invoiceIDs[0])))
	require.NoError(t, err)
	resp, err := client.Do(req)
	require.NoError(t, err, "the answer must not wait for the fetch")
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	receive(t, started, "the fetch to start")
}

// The fetch starts only once the 200 has been written and flushed.
func TestFetchStartsAfterResponseIsFlushed(t *testing.T) {
	w := httptest.NewRecorder()
	seen := make(chan [2]any, 1)
	h := newHandler(t, webhook.Config{
		Store: newStore(t, invoiceIDs...),
		Fetch: func(ctx context.Context) error {
			seen <- [2]any{w.Code, w.Flushed}
			return nil
		},
	})
	h.ServeHTTP(w, signed(body(t, invoiceUpdate(invoiceIDs[0]))))
	got := receive(t, seen, "the fetch")
	assert.Equal(t, [2]any{http.StatusOK, true}, got)
}

// fetchLog records marks and fetch starts in the order they happen.
type fetchLog struct {
	mu     sync.Mutex
	events []string
}

func (l *fetchLog) add(e string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *fetchLog) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.events...)
}

func count(events []string, e string) int {
	n := 0
	for _, x := range events {
		if x == e {
			n++
		}
	}
	return n
}

// fetchAfterLastMark reports whether a fetch started after the last mark.
func fetchAfterLastMark(events []string) bool {
	lastMark := -1
	for i, e := range events {
		if e == "mark" {
			lastMark = i
		}
	}
	for _, e := range events[lastMark+1:] {
		if e == "fetch" {
			return true
		}
	}
	return false
}

func TestBurstIsCoalesced(t *testing.T) {
	const n = 100
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
	}
	var log fetchLog
	store := &recordingStore{Store: newStore(t, ids...), after: func() { log.add("mark") }}
	gate := make(chan struct{})
	var first sync.Once
	h := newHandler(t, webhook.Config{
		Store: store,
		Fetch: func(ctx context.Context) error {
			log.add("fetch")
			// Hold the first run until the whole burst is in.
			first.Do(func() { <-gate })
			return nil
		},
	})

	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		wg.Go(func() {
			codes[i] = serve(h, signed(body(t, invoiceUpdate(ids[i])))).Code
		})
	}
	wg.Wait()
	close(gate)
	for i, c := range codes {
		require.Equal(t, http.StatusOK, c, "delivery %d", i)
	}

	require.Eventually(t, func() bool { return fetchAfterLastMark(log.snapshot()) },
		10*time.Second, time.Millisecond, "every mark is followed by a fetch")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, h.Shutdown(ctx))

	events := log.snapshot()
	assert.Equal(t, n, count(events, "mark"))
	assert.True(t, fetchAfterLastMark(events))
	assert.GreaterOrEqual(t, count(events, "fetch"), 1)
	assert.LessOrEqual(t, count(events, "fetch"), 3, "a burst must not start a burst of fetches")
	assert.Len(t, marked(t, store, ids...), n)
}

func TestMarkDuringFetchTriggersAnotherFetch(t *testing.T) {
	var runs atomic.Int32
	started := make(chan int32, 10)
	release := make(chan struct{})
	h := newHandler(t, webhook.Config{
		Store: newStore(t, invoiceIDs...),
		Fetch: func(ctx context.Context) error {
			n := runs.Add(1)
			started <- n
			if n == 1 {
				<-release
			}
			return nil
		},
	})
	require.Equal(t, http.StatusOK, serve(h, signed(body(t, invoiceUpdate(invoiceIDs[0])))).Code)
	assert.Equal(t, int32(1), receive(t, started, "the first fetch"))

	// Three more deliveries while the first fetch runs: one more fetch.
	for _, id := range invoiceIDs {
		require.Equal(t, http.StatusOK, serve(h, signed(body(t, invoiceUpdate(id)))).Code)
	}
	close(release)
	assert.Equal(t, int32(2), receive(t, started, "the second fetch"))
	require.NoError(t, h.Close())
	assert.Equal(t, int32(2), runs.Load())
}

func TestFetchPanicsAndErrorsAreContained(t *testing.T) {
	var logs syncBuffer
	var runs atomic.Int32
	done := make(chan struct{}, 10)
	h := newHandler(t, webhook.Config{
		Store:  newStore(t, invoiceIDs...),
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Fetch: func(ctx context.Context) error {
			defer func() { done <- struct{}{} }()
			switch runs.Add(1) {
			case 1:
				panic("fetch exploded")
			case 2:
				return errors.New("xero unreachable")
			}
			return nil
		},
	})
	for range 3 {
		require.Equal(t, http.StatusOK, serve(h, signed(body(t, invoiceUpdate(invoiceIDs[0])))).Code)
		receive(t, done, "a fetch")
	}
	require.NoError(t, h.Close())
	assert.Equal(t, int32(3), runs.Load(), "the handler keeps fetching after a panic")
	out := logs.String()
	assert.Contains(t, out, "fetch panicked")
	assert.Contains(t, out, "fetch exploded")
	assert.Contains(t, out, "fetch failed")
	assert.Contains(t, out, "xero unreachable")
}

func TestShutdownWaitsForRunningFetch(t *testing.T) {
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	var finished atomic.Bool
	var runs atomic.Int32
	store := newStore(t, invoiceIDs...)
	h := newHandler(t, webhook.Config{
		Store: store,
		Fetch: func(ctx context.Context) error {
			runs.Add(1)
			started <- struct{}{}
			<-release
			finished.Store(true)
			return nil
		},
	})
	require.Equal(t, http.StatusOK, serve(h, signed(body(t, invoiceUpdate(invoiceIDs[0])))).Code)
	receive(t, started, "the fetch")

	shut := make(chan bool, 1)
	go func() {
		err := h.Shutdown(context.Background())
		assert.NoError(t, err)
		shut <- finished.Load()
	}()
	close(release)
	assert.True(t, receive(t, shut, "Shutdown"), "Shutdown returned before the fetch finished")
	assert.Equal(t, int32(1), runs.Load())

	// Deliveries are still marked after Shutdown, without a fetch.
	for _, id := range invoiceIDs[1:] {
		require.Equal(t, http.StatusOK, serve(h, signed(body(t, invoiceUpdate(id)))).Code)
	}
	assert.Equal(t, invoiceIDs, marked(t, store, invoiceIDs...))
	assert.Equal(t, int32(1), runs.Load(), "no fetch starts after Shutdown")
	assert.NoError(t, h.Close(), "Shutdown twice is fine")
}

func TestShutdownDropsQueuedFetch(t *testing.T) {
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	var runs atomic.Int32
	h := newHandler(t, webhook.Config{
		Store: newStore(t, invoiceIDs...),
		Fetch: func(ctx context.Context) error {
			runs.Add(1)
			started <- struct{}{}
			<-release // ignores ctx on purpose
			return nil
		},
	})
	require.Equal(t, http.StatusOK, serve(h, signed(body(t, invoiceUpdate(invoiceIDs[0])))).Code)
	receive(t, started, "the fetch")
	// Queues a second run.
	require.Equal(t, http.StatusOK, serve(h, signed(body(t, invoiceUpdate(invoiceIDs[1])))).Code)

	// An expired deadline returns at once; the fetch is still running.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, h.Shutdown(ctx), context.Canceled)
	close(release)
	require.NoError(t, h.Close(), "waits for the running fetch")
	assert.Equal(t, int32(1), runs.Load(), "the queued fetch was dropped")
}

func TestShutdownDeadlineCancelsFetch(t *testing.T) {
	started := make(chan struct{}, 1)
	stopped := make(chan error, 1)
	h := newHandler(t, webhook.Config{
		Store: newStore(t, invoiceIDs...),
		Fetch: func(ctx context.Context) error {
			started <- struct{}{}
			<-ctx.Done()
			stopped <- ctx.Err()
			return ctx.Err()
		},
	})
	require.Equal(t, http.StatusOK, serve(h, signed(body(t, invoiceUpdate(invoiceIDs[0])))).Code)
	receive(t, started, "the fetch")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, h.Shutdown(ctx), context.Canceled)
	assert.ErrorIs(t, receive(t, stopped, "the fetch to see cancellation"), context.Canceled)
}

func TestNoFetchWhenNothingMarked(t *testing.T) {
	var fetches atomic.Int32
	h := newHandler(t, webhook.Config{Store: newStore(t, invoiceIDs...), Fetch: func(context.Context) error { fetches.Add(1); return nil }})
	for _, b := range [][]byte{
		body(t, invoiceUpdate("99999999-0000-0000-0000-000000000000")), // not an invoice of this app
		body(t, event("CONTACT", "UPDATE", testTenant, invoiceIDs[0])),
		body(t),
	} {
		require.Equal(t, http.StatusOK, serve(h, signed(b)).Code)
	}
	require.NoError(t, h.Close())
	assert.Zero(t, fetches.Load())
}

func TestNoFetchConfigured(t *testing.T) {
	store := newStore(t, invoiceIDs...)
	h := newHandler(t, webhook.Config{Store: store})
	require.Equal(t, http.StatusOK, serve(h, signed(body(t, invoiceUpdate(invoiceIDs[0])))).Code)
	assert.Equal(t, invoiceIDs[:1], marked(t, store, invoiceIDs...))
	assert.NoError(t, h.Close())
}

// Nothing logged, at debug level, may reveal a key, a signature or a header.
func TestLogsHoldNoSecrets(t *testing.T) {
	var logs syncBuffer
	done := make(chan struct{}, 10)
	inner := newStore(t, invoiceIDs...)
	store := &recordingStore{Store: inner}
	h := newHandler(t, webhook.Config{
		Keys:   []billing.Secret{billing.NewSecret(testKey), billing.NewSecret(otherKey)},
		Store:  store,
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Fetch: func(ctx context.Context) error {
			done <- struct{}{}
			return errors.New("fetch failed for a reason")
		},
	})

	good := body(t, invoiceUpdate(invoiceIDs[0]), event("CONTACT", "UPDATE", testTenant, invoiceIDs[1]),
		event("INVOICE", "UPDATE", "11111111-2222-3333-4444-555555555555", invoiceIDs[2]))
	goodSig := webhook.Sign([]byte(testKey), good)
	rotatedSig := webhook.Sign([]byte(otherKey), good)
	forged := webhook.Sign([]byte("attacker-key"), good)
	var sent []string // signature header values sent
	do := func(b []byte, sig string, want int) {
		t.Helper()
		r := post(b, sig)
		r.Header.Set("Authorization", "Bearer tok-abcdef-123456")
		r.Header.Set("User-Agent", "agent-Zq9-unique-ua")
		r.Header.Set("Cookie", "session=cookie-Zq9-unique")
		sent = append(sent, sig)
		assert.Equal(t, want, serve(h, r).Code)
	}
	do(good, goodSig, http.StatusOK)
	receive(t, done, "the fetch")
	do(good, rotatedSig, http.StatusOK)
	do(good, forged, http.StatusUnauthorized)
	do(good, "", http.StatusUnauthorized)
	do(good, goodSig[:20]+"!!!"+goodSig[23:], http.StatusUnauthorized)
	do([]byte(`{"events":`), webhook.Sign([]byte(testKey), []byte(`{"events":`)), http.StatusBadRequest)
	failing := &recordingStore{Store: inner, fail: errStoreDown}
	h2 := newHandler(t, webhook.Config{Keys: []billing.Secret{billing.NewSecret(testKey)}, Store: failing,
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	w := serve(h2, post(good, goodSig))
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	require.NoError(t, h.Close())

	out := logs.String()
	// The test is only meaningful if the handler did log.
	for _, want := range []string{"rejected delivery", "ignored event", "CONTACT", "delivery received", "fetch failed", "marking invoices or credit notes failed", "malformed"} {
		assert.Contains(t, out, want)
	}

	lower := strings.ToLower(out)
	for _, key := range []string{testKey, otherKey} {
		for i := 0; i+8 <= len(key); i++ {
			assert.NotContains(t, out, key[i:i+8], "part of a key")
		}
		assert.NotContains(t, out, base64.StdEncoding.EncodeToString([]byte(key)))
	}
	for _, sig := range append(sent, goodSig, rotatedSig, forged) {
		if len(sig) >= 12 {
			assert.NotContains(t, out, sig[:12], "a signature")
			assert.NotContains(t, out, sig[len(sig)-12:], "a signature")
		}
	}
	for _, header := range []string{"x-xero-signature", "authorization", "bearer", "tok-abcdef", "agent-zq9", "cookie", "user-agent", "content-type", "application/json"} {
		assert.NotContains(t, lower, header, "a request header")
	}
}

// A stalled provider cannot hold the background fetch: each run has a
// deadline (FetchTimeout), and ending it leaves the marks for the next run.
func TestFetchHasADeadline(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		want    time.Duration
	}{
		{"default", 0, webhook.DefaultFetchTimeout},
		{"configured", 50 * time.Millisecond, 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			type seen struct {
				deadline time.Time
				ok       bool
				err      error
			}
			got := make(chan seen, 1)
			before := time.Now()
			h := newHandler(t, webhook.Config{
				Store:        newStore(t, invoiceIDs...),
				FetchTimeout: tt.timeout,
				Fetch: func(ctx context.Context) error {
					d, ok := ctx.Deadline()
					if tt.timeout > 0 {
						<-ctx.Done() // stalls until the deadline ends it
					}
					got <- seen{d, ok, ctx.Err()}
					return ctx.Err()
				},
			})
			srv := httptest.NewServer(h)
			defer srv.Close()
			req, err := webhook.NewSignedRequest(context.Background(), []byte(testKey), srv.URL+"/", body(t, invoiceUpdate(invoiceIDs[0])))
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			s := receive(t, got, "the fetch to run")
			require.True(t, s.ok, "the fetch's context has a deadline")
			assert.False(t, s.deadline.After(time.Now().Add(tt.want)), "no later than FetchTimeout")
			assert.False(t, s.deadline.Before(before.Add(tt.want)), "no earlier than FetchTimeout")
			if tt.timeout > 0 {
				assert.ErrorIs(t, s.err, context.DeadlineExceeded)
			}
		})
	}
}

// Each delivery is logged at Info with its counts, never with the key, the
// signature or a header.
func TestDeliveryIsLoggedWithCounts(t *testing.T) {
	var logs strings.Builder
	h := newHandler(t, webhook.Config{
		Store:  newStore(t, invoiceIDs...),
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	b := body(t, invoiceUpdate(invoiceIDs[0]), invoiceUpdate(invoiceIDs[1]))
	sig := webhook.Sign([]byte(testKey), b)
	w := serve(h, post(b, sig))
	require.Equal(t, http.StatusOK, w.Code)
	out := logs.String()
	assert.Contains(t, out, `msg="webhook: delivery received" events=2 invoices=2 marked=2`)
	assert.NotContains(t, out, testKey)
	assert.NotContains(t, out, sig)
	assert.NotContains(t, strings.ToLower(out), "x-xero-signature")
}

// pausedErr is a temporary failure, as a rate limit or an unreachable
// Xero is.
type pausedErr struct{}

func (pausedErr) Error() string   { return "billing system busy, try again in 30s" }
func (pausedErr) Temporary() bool { return true }

// TestTemporaryFetchFailuresLogOncePerPause: a burst of deliveries during a
// rate-limit pause logs one warning, not an error per fetch; the warning
// comes again after fetchQuiet, a working fetch says how many went unlogged,
// and any other failure is an error every time.
func TestTemporaryFetchFailuresLogOncePerPause(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	steps := []struct {
		advance time.Duration
		err     error
	}{
		{0, pausedErr{}},                    // warn
		{time.Second, pausedErr{}},          // debug
		{time.Second, pausedErr{}},          // debug
		{time.Second, errors.New("bad id")}, // error
		{time.Second, errors.New("bad id")}, // error
		{2 * time.Minute, pausedErr{}},      // warn again: the quiet minute is over
		{time.Second, nil},                  // info: works again, 0 unlogged
		{time.Second, pausedErr{}},          // warn: a new pause
		{time.Second, pausedErr{}},          // debug
		{time.Second, nil},                  // info: works again, 1 unlogged
	}
	var logs syncBuffer
	var run atomic.Int32
	done := make(chan struct{}, len(steps))
	h := newHandler(t, webhook.Config{
		Store:  newStore(t, invoiceIDs...),
		Now:    clock,
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Fetch: func(ctx context.Context) error {
			defer func() { done <- struct{}{} }()
			return steps[run.Add(1)-1].err
		},
	})
	for _, st := range steps {
		mu.Lock()
		now = now.Add(st.advance)
		mu.Unlock()
		require.Equal(t, http.StatusOK, serve(h, signed(body(t, invoiceUpdate(invoiceIDs[0])))).Code)
		receive(t, done, "a fetch")
	}
	require.NoError(t, h.Close())

	levels := map[string]int{}
	var unlogged []float64
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		msg, _ := rec["msg"].(string)
		if !strings.HasPrefix(msg, "webhook: fetch") {
			continue
		}
		levels[rec["level"].(string)]++
		if msg == "webhook: fetch works again" {
			unlogged = append(unlogged, rec["failed_runs_not_logged"].(float64))
		}
	}
	assert.Equal(t, map[string]int{"WARN": 3, "ERROR": 2, "INFO": 2}, levels)
	assert.Equal(t, []float64{0, 1}, unlogged, "the first recovery followed a warning only; the second, one unlogged failure")
}
