package emulator_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// connTracker counts a server's open connections.
type connTracker struct {
	mu   sync.Mutex
	open map[net.Conn]bool
}

func (c *connTracker) state(conn net.Conn, s http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch s {
	case http.StateNew:
		c.open[conn] = true
	case http.StateClosed, http.StateHijacked:
		delete(c.open, conn)
	}
}

func (c *connTracker) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.open)
}

// After Close the emulator keeps no keep-alive connection to the webhook
// receiver (nor the goroutines that serve it).
func TestCloseReleasesWebhookConnections(t *testing.T) {
	tracker := &connTracker{open: map[net.Conn]bool{}}
	rc := &receiver{}
	srv := httptest.NewUnstartedServer(rc)
	srv.Config.ConnState = tracker.state
	srv.Start()
	t.Cleanup(srv.Close)

	e := emulator.New(emulator.Options{WebhookURL: srv.URL, WebhookKey: webhookKey})
	a := &api{t: t, e: e, hc: e.Client(), base: base}
	a.token = a.fetchToken()
	a.createInvoice(a.createContact("Ann", "", ""))
	require.NoError(t, e.FlushWebhooks(t.Context()))
	require.Len(t, rc.payloads(), 1)
	require.Equal(t, 1, tracker.count(), "the delivery's connection is kept alive")

	require.NoError(t, e.Close())
	assert.Eventually(t, func() bool { return tracker.count() == 0 }, 5*time.Second, 5*time.Millisecond,
		"Close closes the idle webhook connection")
}

// Server.Close returns only once no handler is running any more.
func TestServerCloseWaitsForHandlers(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	s := emulator.NewServer(emulator.Options{RequestValidator: func(r *http.Request, _ []byte) error {
		if strings.HasSuffix(r.URL.Path, "/slow") {
			close(entered)
			<-release
		}
		return nil
	}})
	go func() {
		if res, err := http.Get(s.URL + "/slow"); err == nil {
			res.Body.Close()
		}
	}()
	<-entered

	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case <-closed:
		t.Fatal("Close returned while a handler was still running")
	case <-time.After(100 * time.Millisecond):
	}
	releaseOnce.Do(func() { close(release) })
	require.NoError(t, <-closed)
}

// A payment is rounded to cents before it is checked, so it can never
// record a zero payment or refuse one that rounds to what is due.
func TestPayInvoiceRoundsBeforeChecking(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	inv := a.createInvoice(a.createContact("Ann", "", "")) // 23.00 due
	ctx := t.Context()

	assert.ErrorIs(t, a.e.PayInvoice(ctx, inv.InvoiceID, decimal.RequireFromString("0.004"), billing.Date{}), emulator.ErrInvalid)
	got, _ := a.e.Invoice(inv.InvoiceID)
	assert.Empty(t, got.Payments, "no zero payment was recorded")

	require.NoError(t, a.e.PayInvoice(ctx, inv.InvoiceID, decimal.RequireFromString("23.004"), billing.Date{}))
	got, _ = a.e.Invoice(inv.InvoiceID)
	assert.Equal(t, billing.StatusPaid, got.Status)
	assert.Equal(t, "23.00", got.AmountPaid.StringFixed(2))
}

// Close does not wait out an injected latency: the request's context ends
// with its connection.
func TestServerCloseEndsSlowRequests(t *testing.T) {
	s := emulator.NewServer(emulator.Options{})
	s.InjectFault(emulator.Fault{Latency: time.Hour})
	errc := make(chan error, 1)
	go func() {
		res, err := http.Get(s.URL + "/")
		if err == nil {
			res.Body.Close()
		}
		errc <- err
	}()
	require.Eventually(t, func() bool {
		reqs := s.Requests()
		return len(reqs) == 1 && reqs[0].Fault
	}, 5*time.Second, time.Millisecond)
	require.NoError(t, s.Close())
	assert.Error(t, <-errc, "the slow request got no answer")
}
