package emulator_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/ratelimit"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIdempotentReplay(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	contactID := a.createContact("Ann", "", "")
	put := func(key string) (*http.Response, []byte) {
		req := a.request(t.Context(), http.MethodPut, "/Invoices", invoicesBody(invoice(contactID)))
		req.Header.Set("Idempotency-Key", key)
		return a.send(req)
	}
	resp1, body1 := put("key-1")
	require.Equal(t, http.StatusOK, resp1.StatusCode)
	resp2, body2 := put("key-1")
	require.Equal(t, http.StatusOK, resp2.StatusCode)
	assert.Equal(t, body1, body2, "the first answer, byte for byte")
	assert.Len(t, a.e.Invoices(), 1)

	_, body3 := put("key-2")
	assert.NotEqual(t, body1, body3)
	assert.Len(t, a.e.Invoices(), 2)

	// A refused write is replayed too, whatever the body of the retry.
	for _, name := range []string{"", "Bob"} {
		req := a.request(t.Context(), http.MethodPut, "/Contacts", contactsBody(map[string]any{"Name": name}))
		req.Header.Set("Idempotency-Key", "key-3")
		resp, _ := a.send(req)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	}
	assert.Len(t, a.e.Contacts(), 1)

	keys := map[string]int{}
	for _, r := range a.e.Requests() {
		keys[r.IdempotencyKey]++
	}
	assert.Equal(t, 2, keys["key-1"])
}

func TestRateLimitMinute(t *testing.T) {
	clk := newClock()
	a := newAPI(t, emulator.Options{Now: clk.Now, RateLimit: emulator.Limits{PerMinute: 3, Window: 10 * time.Second}})
	for want := 2; want >= 0; want-- {
		resp, _ := a.raw(http.MethodGet, "/Contacts", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, strconv.Itoa(want), resp.Header.Get("X-MinLimit-Remaining"))
		assert.Equal(t, strconv.Itoa(5000-3+want), resp.Header.Get("X-DayLimit-Remaining"))
		assert.Equal(t, strconv.Itoa(10000-3+want), resp.Header.Get("X-AppMinLimit-Remaining"))
	}
	clk.Add(4 * time.Second)
	resp, _ := a.raw(http.MethodGet, "/Contacts", nil)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "minute", resp.Header.Get("X-Rate-Limit-Problem"))
	assert.Equal(t, "6", resp.Header.Get("Retry-After"))

	// The SDK's own parser reads the answer.
	rle := ratelimit.FromResponse(resp.StatusCode, resp.Header, clk.Now())
	require.NotNil(t, rle)
	assert.Equal(t, ratelimit.ProblemMinute, rle.Problem)
	assert.Equal(t, 6*time.Second, rle.RetryAfter)

	clk.Add(6 * time.Second)
	resp, _ = a.raw(http.MethodGet, "/Contacts", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// Xero's windows are fixed: they open at the tenant's first call and reset
// at fixed boundaries after it, so a burst at a boundary is allowed where a
// rolling window would refuse it, and a quiet spell keeps the boundaries.
func TestRateLimitFixedWindows(t *testing.T) {
	type step struct {
		advance    time.Duration // before the call
		status     int
		remaining  string // X-MinLimit-Remaining
		retryAfter string // on a 429
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"a burst at the boundary is allowed", []step{
			{0, 200, "2", ""},
			{9 * time.Second, 200, "1", ""},
			{0, 200, "0", ""},
			{500 * time.Millisecond, 429, "0", "1"},
			{500 * time.Millisecond, 200, "2", ""}, // t0+10s: a new window, though two calls were a second ago
			{0, 200, "1", ""},
			{0, 200, "0", ""},
			{0, 429, "0", "10"},
		}},
		{"boundaries stay put through a quiet spell", []step{
			{0, 200, "2", ""},
			{35 * time.Second, 200, "2", ""}, // the window of t0+30s..t0+40s
			{0, 200, "1", ""},
			{0, 200, "0", ""},
			{0, 429, "0", "5"},
			{5 * time.Second, 200, "2", ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			a := newAPI(t, emulator.Options{Now: clk.Now, RateLimit: emulator.Limits{PerMinute: 3, Window: 10 * time.Second}})
			for i, st := range tt.steps {
				clk.Add(st.advance)
				resp, _ := a.raw(http.MethodGet, "/Contacts", nil)
				require.Equal(t, st.status, resp.StatusCode, "step %d", i)
				assert.Equal(t, st.remaining, resp.Header.Get("X-MinLimit-Remaining"), "step %d", i)
				assert.Equal(t, st.retryAfter, resp.Header.Get("Retry-After"), "step %d", i)
			}
		})
	}
}

// A call counts in the window it arrived in, however long it takes.
func TestRateLimitCountsOnArrival(t *testing.T) {
	clk := newClock()
	var slowed bool
	a := newAPI(t, emulator.Options{
		Now:       clk.Now,
		RateLimit: emulator.Limits{PerMinute: 1, Window: 10 * time.Second},
		// The first API call takes 9 seconds by the emulator's clock.
		RequestValidator: func(r *http.Request, _ []byte) error {
			if strings.HasPrefix(r.URL.Path, emulator.APIPath) && !slowed {
				slowed = true
				clk.Add(9 * time.Second)
			}
			return nil
		},
	})
	resp, _ := a.raw(http.MethodGet, "/Contacts", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	clk.Add(time.Second)
	resp, _ = a.raw(http.MethodGet, "/Contacts", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the first call's window (from its arrival) has reset")
}

// Every answer to a counted call carries the limits, errors included; a
// call that is not the tenant's is not counted.
func TestRateLimitHeadersOnErrors(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	resp, _ := a.raw(http.MethodGet, "/Invoices/"+uuid.NewString(), nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "59", resp.Header.Get("X-MinLimit-Remaining"))
	resp, _ = a.raw(http.MethodGet, "/Nothing", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "58", resp.Header.Get("X-MinLimit-Remaining"))

	req := a.request(t.Context(), http.MethodGet, "/Contacts", nil)
	req.Header.Set("Authorization", "Bearer not-a-token")
	resp, _ = a.send(req)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Empty(t, resp.Header.Get("X-MinLimit-Remaining"))
	resp, _ = a.raw(http.MethodGet, "/Contacts", nil)
	assert.Equal(t, "57", resp.Header.Get("X-MinLimit-Remaining"), "the 401 was not counted")
}

func TestRateLimitDay(t *testing.T) {
	clk := newClock()
	a := newAPI(t, emulator.Options{Now: clk.Now, TokenTTL: 48 * time.Hour, RateLimit: emulator.Limits{PerDay: 2}})
	for range 2 {
		resp, _ := a.raw(http.MethodGet, "/Contacts", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	resp, _ := a.raw(http.MethodGet, "/Contacts", nil)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "day", resp.Header.Get("X-Rate-Limit-Problem"))
	assert.Equal(t, "0", resp.Header.Get("X-DayLimit-Remaining"))
	assert.Equal(t, strconv.Itoa(24*3600), resp.Header.Get("Retry-After"))

	// The day is a fixed window from the first call, not a rolling one.
	clk.Add(23 * time.Hour)
	resp, _ = a.raw(http.MethodGet, "/Contacts", nil)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "3600", resp.Header.Get("Retry-After"))
	clk.Add(time.Hour)
	resp, _ = a.raw(http.MethodGet, "/Contacts", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "1", resp.Header.Get("X-DayLimit-Remaining"))
}

func TestRateLimitApp(t *testing.T) {
	a := newAPI(t, emulator.Options{RateLimit: emulator.Limits{AppPerMinute: 2, PerMinute: 100}})
	for want := 1; want >= 0; want-- {
		resp, _ := a.raw(http.MethodGet, "/Contacts", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, strconv.Itoa(want), resp.Header.Get("X-AppMinLimit-Remaining"))
	}
	resp, _ := a.raw(http.MethodGet, "/Contacts", nil)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "appminute", resp.Header.Get("X-Rate-Limit-Problem"))
	assert.Equal(t, "98", resp.Header.Get("X-MinLimit-Remaining"), "the refused call did not count for the tenant")
}

func TestRateLimitConcurrent(t *testing.T) {
	a := newAPI(t, emulator.Options{RateLimit: emulator.Limits{Concurrent: 1, PerMinute: 1000}})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	type result struct {
		status int
		err    error
	}
	// slow starts a call that holds the tenant's only slot until cancelled.
	slow := func() chan result {
		a.e.InjectFault(emulator.Fault{Path: emulator.APIPath + "/Invoices", Latency: time.Hour})
		done := make(chan result, 1)
		go func() {
			resp, err := a.hc.Do(a.request(ctx, http.MethodGet, "/Invoices", nil))
			if err != nil {
				done <- result{err: err}
				return
			}
			resp.Body.Close()
			done <- result{status: resp.StatusCode}
		}()
		return done
	}
	done := slow()
	var problem string
	require.Eventually(t, func() bool {
		select {
		case <-done: // a probe held the slot first, so the slow call was refused: again
			done = slow()
			return false
		default:
		}
		resp, _ := a.raw(http.MethodGet, "/Contacts", nil)
		problem = resp.Header.Get("X-Rate-Limit-Problem")
		return resp.StatusCode == http.StatusTooManyRequests
	}, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, "concurrent", problem)

	cancel()
	assert.ErrorIs(t, (<-done).err, context.Canceled)
	resp, _ := a.raw(http.MethodGet, "/Contacts", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the slot is released")
}

func TestDisableRateLimit(t *testing.T) {
	a := newAPI(t, emulator.Options{DisableRateLimit: true, RateLimit: emulator.Limits{PerMinute: 1}})
	for range 3 {
		resp, _ := a.raw(http.MethodGet, "/Contacts", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Empty(t, resp.Header.Get("X-MinLimit-Remaining"))
	}
}

func TestFaultStatus(t *testing.T) {
	tests := []struct {
		status   int
		wantBody string
		header   string
		value    string
	}{
		{500, `"Type":"UnknownErrorException"`, "", ""},
		{503, "503 Service Unavailable", "", ""},
		{429, "Rate limit exceeded", "X-Rate-Limit-Problem", "minute"},
		{401, `"Detail":"AuthenticationUnsuccessful"`, "", ""},
		{400, `"Type":"ValidationException"`, "", ""},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			a := newAPI(t, emulator.Options{})
			a.e.InjectFault(emulator.Fault{Status: tt.status, Count: 2})
			for range 2 {
				resp, body := a.raw(http.MethodPut, "/Contacts", contactsBody(map[string]any{"Name": "Ann"}))
				require.Equal(t, tt.status, resp.StatusCode)
				assert.Contains(t, string(body), tt.wantBody)
				if tt.header != "" {
					assert.Equal(t, tt.value, resp.Header.Get(tt.header))
				}
			}
			assert.Empty(t, a.e.Contacts(), "a fault changes nothing")
			resp, _ := a.raw(http.MethodPut, "/Contacts", contactsBody(map[string]any{"Name": "Ann"}))
			assert.Equal(t, http.StatusOK, resp.StatusCode, "faults are used up")
			reqs := a.e.Requests()
			assert.True(t, reqs[len(reqs)-2].Fault)
			assert.False(t, reqs[len(reqs)-1].Fault)
		})
	}
}

func TestFaultPathAndHeader(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	a.e.InjectFault(emulator.Fault{Status: 429, Path: emulator.APIPath + "/invoices", Header: http.Header{"Retry-After": {"7"}}})
	resp, _ := a.raw(http.MethodGet, "/Contacts", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "other paths are untouched")
	resp, _ = a.raw(http.MethodGet, "/Invoices", nil)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "7", resp.Header.Get("Retry-After"))
}

func TestFaultLatencyHonoursContext(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	a.e.InjectFault(emulator.Fault{Latency: time.Hour})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err := a.hc.Do(a.request(ctx, http.MethodGet, "/Contacts", nil))
	require.ErrorIs(t, err, context.DeadlineExceeded)

	a.e.InjectFault(emulator.Fault{Latency: time.Millisecond})
	resp, _ := a.raw(http.MethodGet, "/Contacts", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "a short latency still answers")
}

func TestFaultDropInProcess(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	a.e.InjectFault(emulator.Fault{Drop: true})
	_, err := a.hc.Do(a.request(t.Context(), http.MethodGet, "/Contacts", nil))
	require.Error(t, err)
	assert.ErrorIs(t, err, emulator.ErrDropped)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	resp, _ := a.raw(http.MethodGet, "/Contacts", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestFaultDropOnServer(t *testing.T) {
	s := emulator.NewServer(emulator.Options{})
	t.Cleanup(func() { _ = s.Close() })
	// No keep-alive, so net/http cannot quietly retry on a fresh connection.
	a := &api{t: t, e: s.Emulator, hc: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}, base: s.URL}
	a.token = a.fetchToken()
	a.e.InjectFault(emulator.Fault{Drop: true})
	_, err := a.hc.Do(a.request(t.Context(), http.MethodGet, "/Contacts", nil))
	require.Error(t, err)
	var reqErr interface{ Timeout() bool }
	assert.False(t, errors.As(err, &reqErr) && reqErr.Timeout(), "a dropped connection, not a timeout")
	resp, _ := a.raw(http.MethodGet, "/Contacts", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestFaultDropResponse(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	contactID := a.createContact("Ann", "", "")
	a.e.InjectFault(emulator.Fault{DropResponse: true, Path: emulator.APIPath + "/Invoices"})
	put := func() (*http.Response, error) {
		req := a.request(t.Context(), http.MethodPut, "/Invoices", invoicesBody(invoice(contactID)))
		req.Header.Set("Idempotency-Key", "lost-answer")
		return a.hc.Do(req)
	}
	_, err := put()
	require.ErrorIs(t, err, emulator.ErrDropped)
	assert.Len(t, a.e.Invoices(), 1, "the invoice was created all the same")

	resp, err := put()
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Len(t, a.e.Invoices(), 1, "the retry gets the first answer")
}

func TestClearFaults(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	a.e.InjectFault(emulator.Fault{Status: 500, Count: 10})
	a.e.ClearFaults()
	resp, _ := a.raw(http.MethodGet, "/Contacts", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// Xero's gateway answers 404 to a URL over 2,091 characters, measured as
// sent to https://api.xero.com, whatever the host the emulator is reached
// at; the 404 counts against no limit.
func TestURLLengthLimit(t *testing.T) {
	guids := func(n int, sep string) string {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = uuid.NewString()
		}
		return strings.Join(ids, sep)
	}
	// "https://api.xero.com" + "/api.xro/2.0/Invoices?padding=" is 50 characters.
	padded := func(total int) string { return "/Invoices?padding=" + strings.Repeat("a", total-50) }
	tests := []struct {
		name   string
		path   string
		status int
	}{
		{"2,091 characters", padded(2091), http.StatusOK},
		{"2,092 characters", padded(2092), http.StatusNotFound},
		{"52 GUIDs, commas encoded", "/Invoices?IDs=" + guids(52, "%2C"), http.StatusOK},
		{"53 GUIDs, commas encoded", "/Invoices?IDs=" + guids(53, "%2C"), http.StatusNotFound},
		{"53 GUIDs, commas as they are", "/Invoices?IDs=" + guids(53, ","), http.StatusOK},
		{"a long unknown path", "/" + strings.Repeat("x", 2100), http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t, emulator.Options{})
			resp, body := a.raw(http.MethodGet, tt.path, nil)
			require.Equal(t, tt.status, resp.StatusCode)
			if tt.status == http.StatusNotFound {
				assert.Equal(t, "The resource you're looking for cannot be found", string(body))
				assert.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
				assert.Empty(t, resp.Header.Get("X-MinLimit-Remaining"), "refused by the gateway, not counted")
			}
		})
	}
}

// Xero remembers an Idempotency-Key for minutes only: after
// Options.IdempotencyTTL the same key makes a new invoice.
func TestIdempotencyKeyExpires(t *testing.T) {
	tests := []struct {
		name     string
		ttl      time.Duration
		after    time.Duration
		invoices int
	}{
		{"replayed within the default six minutes", 0, 6*time.Minute - time.Millisecond, 1},
		{"new after the default six minutes", 0, 6 * time.Minute, 2},
		{"replayed within a longer TTL", time.Hour, 59 * time.Minute, 1},
		{"new after a shorter TTL", time.Second, time.Second, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			a := newAPI(t, emulator.Options{Now: clk.Now, IdempotencyTTL: tt.ttl, TokenTTL: 2 * time.Hour})
			contactID := a.createContact("Ann", "", "")
			put := func() []byte {
				req := a.request(t.Context(), http.MethodPut, "/Invoices", invoicesBody(invoice(contactID)))
				req.Header.Set("Idempotency-Key", "key-1")
				resp, body := a.send(req)
				require.Equal(t, http.StatusOK, resp.StatusCode)
				return body
			}
			first := put()
			clk.Add(tt.after)
			second := put()
			assert.Len(t, a.e.Invoices(), tt.invoices)
			assert.Equal(t, tt.invoices == 1, bytes.Equal(first, second))
		})
	}
}
