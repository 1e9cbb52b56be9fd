package sqlstore_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/sqlstore"
	"github.com/amsbilling/sdk/billing/sqlstore/internal/sqltest"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/xero"
)

// roundTrips counts what a pgx connection sends to the server: queries and
// prepares (pgx's tracers), the pings database/sql's session reset makes
// (stdlib's ShouldPing hook), and, as a cross-check, the writes on the
// socket, each of which the client follows by waiting for the answer.
type roundTrips struct {
	mu       sync.Mutex
	queries  int
	prepares int
	pings    int
	sql      []string
	writes   atomic.Int64
}

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queries++
	r.sql = append(r.sql, "query: "+firstLine(d.SQL))
	return ctx
}

func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *roundTrips) TracePrepareStart(ctx context.Context, _ *pgx.Conn, d pgx.TracePrepareStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.prepares++
	r.sql = append(r.sql, "prepare: "+firstLine(d.SQL))
	return ctx
}

func (r *roundTrips) TracePrepareEnd(context.Context, *pgx.Conn, pgx.TracePrepareEndData) {}

func (r *roundTrips) shouldPing(_ context.Context, p stdlib.ShouldPingParams) bool {
	ping := p.IdleDuration > time.Second // stdlib's default rule
	if ping {
		r.mu.Lock()
		r.pings++
		r.sql = append(r.sql, "ping")
		r.mu.Unlock()
	}
	return ping
}

// take returns the round trips since the last take, and what they were.
func (r *roundTrips) take() (n int, writes int64, what []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, what = r.queries+r.prepares+r.pings, r.sql
	r.queries, r.prepares, r.pings, r.sql = 0, 0, 0, nil
	return n, r.writes.Swap(0), what
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' || i >= 60 {
			return s[:i]
		}
	}
	return s
}

// openTracedPostgres opens a store through stdlib.OpenDB and sqlstore.New on
// one connection (so the warm-up fills the statement cache the measured
// calls use), counting its round trips.
func openTracedPostgres(t *testing.T) (*sqlstore.Store, *roundTrips) {
	t.Helper()
	url, schema := sqltest.PostgresSchema(t)
	cfg, err := pgx.ParseConfig(url)
	require.NoError(t, err)
	cfg.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
	rt := &roundTrips{}
	cfg.Tracer = rt
	dial := cfg.DialFunc
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{Conn: c, writes: &rt.writes}, nil
	}
	db := stdlib.OpenDB(*cfg, stdlib.OptionShouldPing(rt.shouldPing))
	db.SetMaxOpenConns(1)
	s, err := sqlstore.New(db, sqlstore.Postgres, sqlstore.OwnDB())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	require.NoError(t, s.Migrate(t.Context()))
	return s, rt
}

// providerStub plays the billing service in the fetch job: its
// UpdateInvoices does what xero.Service.UpdateInvoices does with the store
// (one SaveInvoiceStates, then DeliverEvents) with states from a map
// instead of Xero.
type providerStub struct {
	store  billing.Store
	states map[string]billing.Invoice
	now    time.Time
}

func (p *providerStub) UpdateInvoices(ctx context.Context, ids []string) (billing.UpdateResult, error) {
	res := billing.UpdateResult{Failed: map[string]error{}}
	invs := make([]billing.Invoice, len(ids))
	for i, id := range ids {
		invs[i] = p.states[id]
	}
	saved, err := p.store.SaveInvoiceStates(ctx, invs)
	if err != nil {
		return res, err
	}
	for i, sv := range saved {
		if sv.Err != nil {
			res.Failed[ids[i]] = sv.Err
			continue
		}
		res.Updated = append(res.Updated, sv.After)
		if sv.Changed {
			res.Changed = append(res.Changed, sv.After.Number)
		}
	}
	_, err = billing.DeliverEvents(ctx, p.store, nil, billing.DeliverOptions{Now: func() time.Time { return p.now }})
	return res, err
}

// TestPostgresRoundTrips measures, after a warm-up, the round trips the
// fetch job's store calls make on PostgreSQL for a batch of 30 invoices:
// one each for ClaimUpdates, SaveInvoiceStates, CompleteUpdates and
// ClaimEvents, at most 5 for a whole FetchInvoiceUpdates whose states are
// unchanged (so no event is delivered), and 5 when 10 of them changed.
func TestPostgresRoundTrips(t *testing.T) {
	t.Parallel()
	s, rt := openTracedPostgres(t)
	ctx := t.Context()
	const n, changed = 30, 10
	now := epoch.Add(time.Hour)
	ids := make([]string, n)
	stub := &providerStub{store: s, states: map[string]billing.Invoice{}, now: now}
	for i := range ids {
		ids[i] = pid(i + 1)
		inv := billing.Invoice{
			Account: billing.UserAccount(fmt.Sprintf("user-%d", i%5)), Number: fmt.Sprintf("INV-%04d", i+1),
			ProviderID: ids[i], Status: billing.StatusAuthorised, Currency: "NZD",
			IssueDate: billing.NewDate(2026, time.March, 1), DueDate: billing.NewDate(2026, time.March, 31),
			Amount: decimal.RequireFromString("115.00"), Due: decimal.RequireFromString("115.00"),
		}
		require.NoError(t, s.CreateInvoice(ctx, inv))
		stub.states[ids[i]] = inv
	}
	// payFirst makes the provider report the first k invoices paid, each
	// with a new reference so every call changes them.
	round := 0
	payFirst := func(k int) {
		round++
		for i := range k {
			inv := stub.states[ids[i]]
			inv.Status, inv.Paid, inv.Due = billing.StatusPaid, inv.Amount, decimal.Zero
			inv.Reference = fmt.Sprintf("round %d", round)
			stub.states[ids[i]] = inv
		}
	}
	fetchOpts := billing.FetchOptions{Limit: n, Now: func() time.Time { return now }}
	mark := func() {
		t.Helper()
		_, err := s.MarkUpdateNeeded(ctx, ids, epoch)
		require.NoError(t, err)
	}

	// Warm-up: every statement of the sequence runs once, so pgx has
	// prepared and cached it on the one connection.
	mark()
	payFirst(changed)
	rt.take()
	res, err := billing.FetchInvoiceUpdates(ctx, stub, s, fetchOpts)
	require.NoError(t, err)
	require.Len(t, res.Updated, n)
	cold, _, what := rt.take()
	t.Logf("warm-up FetchInvoiceUpdates of 30, 10 changed, cold statement cache: %d round trips: %q", cold, what)

	measure := func(name string, max int, fn func()) int {
		t.Helper()
		fn()
		got, writes, what := rt.take()
		t.Logf("%s: %d round trips (%d socket writes): %q", name, got, writes, what)
		assert.LessOrEqual(t, got, max, "%s round trips", name)
		assert.Equal(t, int64(got), writes, "%s: socket writes and traced round trips disagree", name)
		return got
	}

	mark()
	rt.take()
	var claims []billing.Claim
	measure("ClaimUpdates of 30", 1, func() {
		claims, err = s.ClaimUpdates(ctx, now, n, time.Minute)
		require.NoError(t, err)
		require.Len(t, claims, n)
	})
	payFirst(changed)
	states := make([]billing.Invoice, n)
	for i, id := range ids {
		states[i] = stub.states[id]
	}
	measure("SaveInvoiceStates of 30, 10 changed", 1, func() {
		saved, err := s.SaveInvoiceStates(ctx, states)
		require.NoError(t, err)
		require.Len(t, saved, n)
		for i, sv := range saved {
			require.NoError(t, sv.Err)
			require.Equal(t, i < changed, sv.Changed, "invoice %d Changed", i)
		}
	})
	measure("CompleteUpdates of 30", 1, func() {
		cleared, err := s.CompleteUpdates(ctx, claims)
		require.NoError(t, err)
		require.Len(t, cleared, n)
		for i, c := range cleared {
			require.True(t, c, "claim %d", i)
		}
	})
	var evs []billing.InvoiceEvent
	measure("ClaimEvents, 10 pending", 1, func() {
		evs, err = s.ClaimEvents(ctx, now, billing.DefaultDeliverLimit, time.Minute)
		require.NoError(t, err)
		require.Len(t, evs, changed)
	})
	for _, ev := range evs {
		require.NoError(t, s.EventDelivered(ctx, ev.ID))
	}
	rt.take()
	measure("ClaimEvents, none pending", 1, func() {
		evs, err = s.ClaimEvents(ctx, now, billing.DefaultDeliverLimit, time.Minute)
		require.NoError(t, err)
		require.Empty(t, evs)
	})

	// The whole fetch job, states unchanged: ClaimUpdates, SaveInvoiceStates,
	// CompleteUpdates and one ClaimEvents that finds nothing.
	mark()
	rt.take()
	measure("FetchInvoiceUpdates of 30, unchanged", 5, func() {
		res, err := billing.FetchInvoiceUpdates(ctx, stub, s, fetchOpts)
		require.NoError(t, err)
		require.Len(t, res.Updated, n)
	})

	// With changes, delivery adds one EventDelivered for the round's events,
	// and no second ClaimEvents: the first took every event due, none with
	// another behind it (NextWaiting).
	mark()
	payFirst(changed)
	rt.take()
	measure("FetchInvoiceUpdates of 30, 10 changed", 5, func() {
		res, err := billing.FetchInvoiceUpdates(ctx, stub, s, fetchOpts)
		require.NoError(t, err)
		require.Len(t, res.Updated, n)
	})
	pending, err := s.PendingEvents(ctx, 0)
	require.NoError(t, err)
	require.Empty(t, pending, "the fetch job delivered every event")
}

// TestPostgresCreateInvoiceRoundTrips measures the store's share of one
// CreateInvoice through the Xero service (on the in-process emulator): one
// write records the creation before the call, one saves the invoice after
// it, besides the read of the contact link.
func TestPostgresCreateInvoiceRoundTrips(t *testing.T) {
	t.Parallel()
	s, rt := openTracedPostgres(t)
	ctx := t.Context()
	emu := emulator.New(emulator.Options{DisableRateLimit: true})
	t.Cleanup(func() { _ = emu.Close() })
	cfg := xero.Config{ClientID: emu.ClientID(), ClientSecret: billing.NewSecret(emu.ClientSecret()), TenantID: emu.TenantID(),
		APIURL: "http://emulator.invalid" + emulator.APIPath, TokenURL: "http://emulator.invalid" + emulator.TokenPath,
		AccountCode: emulator.DefaultAccountCode, AmountType: xero.AmountExclusive}
	client, err := xero.NewClient(cfg, xero.WithHTTPClient(emu.Client()))
	require.NoError(t, err)
	svc := xero.NewService(client, s, cfg)
	const member = "4a1b2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
	require.NoError(t, svc.UpdateUserBillingDetails(ctx, billing.User{ID: member, Name: "Ida Wells"}))
	params := func(ref string) billing.CreateInvoiceParams {
		return billing.CreateInvoiceParams{Account: billing.UserAccount(member), Date: billing.NewDate(2026, 12, 1), DueDate: billing.NewDate(2026, 12, 31),
			Reference: ref, LineItems: []billing.LineItem{{Description: "Annual membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.NewFromInt(120)}}}
	}
	_, err = svc.CreateInvoice(ctx, params("warm-up")) // prepares every statement
	require.NoError(t, err)
	rt.take()
	_, err = svc.CreateInvoice(ctx, params("Renewal 2027"))
	require.NoError(t, err)
	got, writes, what := rt.take()
	t.Logf("CreateInvoice: %d store round trips (%d socket writes): %q", got, writes, what)
	assert.Equal(t, 3, got, "ContactLink, BeginCreations, CompleteCreations: no event to deliver")

	// The fetch job through the same service, the state unchanged: the
	// claim, the save, the refresh's one event claim, the clear.
	inv, err := s.InvoiceByNumber(ctx, "INV-0002")
	require.NoError(t, err)
	fetch := func() {
		t.Helper()
		_, err = s.MarkUpdateNeeded(ctx, []string{inv.ProviderID}, time.Now())
		require.NoError(t, err)
		rt.take()
		res, err := billing.FetchInvoiceUpdates(ctx, svc, s, billing.FetchOptions{})
		require.NoError(t, err)
		require.Len(t, res.Updated, 1)
	}
	fetch() // prepares the fetch's statements
	fetch()
	got, _, what = rt.take()
	t.Logf("FetchInvoiceUpdates through the Xero service, unchanged: %d store round trips: %q", got, what)
	assert.Equal(t, 5, got, "ClaimCreditNotes, ClaimUpdates, SaveInvoiceStates, ClaimEvents, CompleteUpdates: events delivered once")
}

// TestPostgresBulkRoundTrips measures the store's share of a renewal run of
// 1,000 members through the Xero service (on the in-process emulator) on
// PostgreSQL, step by step: the sync of new contacts, the creation of their
// invoices, the emails, and a rerun of the finished run. Each step is held
// to one write per 50 records (a write a Xero call, so an answer in hand is
// saved before the next call) and at most two reads for the whole step:
//
//	go test -run TestPostgresBulkRoundTrips -v ./billing/sqlstore/
func TestPostgresBulkRoundTrips(t *testing.T) {
	t.Parallel()
	s, rt := openTracedPostgres(t)
	ctx := t.Context()
	emu := emulator.New(emulator.Options{DisableRateLimit: true})
	t.Cleanup(func() { _ = emu.Close() })
	cfg := xero.Config{ClientID: emu.ClientID(), ClientSecret: billing.NewSecret(emu.ClientSecret()), TenantID: emu.TenantID(),
		APIURL: "http://emulator.invalid" + emulator.APIPath, TokenURL: "http://emulator.invalid" + emulator.TokenPath,
		AccountCode: emulator.DefaultAccountCode, AmountType: xero.AmountExclusive, EmailInvoices: true}
	client, err := xero.NewClient(cfg, xero.WithHTTPClient(emu.Client()),
		xero.WithLimiter(ratelimit.NewLocal(ratelimit.Options{PerMinute: 1 << 20, PerDay: 1 << 20})))
	require.NoError(t, err)
	svc := xero.NewService(client, s, cfg)

	const n = 1000
	details := make([]billing.BillingDetails, n)
	params := make([]billing.CreateInvoiceParams, n)
	for i := range details {
		id := fmt.Sprintf("5b000000-0000-4000-8000-%012d", i+1)
		details[i] = billing.UserDetails(billing.User{ID: id, Name: fmt.Sprintf("Member %d", i+1), Email: fmt.Sprintf("m%d@example.com", i+1)})
		params[i] = billing.CreateInvoiceParams{Account: billing.UserAccount(id), Date: billing.NewDate(2026, 12, 1), DueDate: billing.NewDate(2026, 12, 31),
			Reference: "Renewal 2027", LineItems: []billing.LineItem{{Description: "Annual membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.NewFromInt(120)}}}
	}
	// A warm-up run on 60 other members prepares every statement.
	warm := make([]billing.BillingDetails, 60)
	warmParams := make([]billing.CreateInvoiceParams, 60)
	for i := range warm {
		id := fmt.Sprintf("5c000000-0000-4000-8000-%012d", i+1)
		warm[i] = billing.UserDetails(billing.User{ID: id, Name: "Warm", Email: "w@example.com"})
		warmParams[i] = params[0]
		warmParams[i].Account = billing.UserAccount(id)
	}
	_, err = svc.SyncContacts(ctx, warm, billing.BulkOptions{})
	require.NoError(t, err)
	made, err := svc.CreateInvoices(ctx, warmParams, billing.BulkOptions{})
	require.NoError(t, err)
	warmInvs := make([]billing.Invoice, len(made))
	for i, r := range made {
		warmInvs[i] = r.Invoice
	}
	_, err = svc.EmailInvoices(ctx, warmInvs, billing.BulkOptions{})
	require.NoError(t, err)
	_, err = svc.SyncContacts(ctx, warm, billing.BulkOptions{})
	require.NoError(t, err)
	_, err = svc.CreateInvoices(ctx, warmParams, billing.BulkOptions{})
	require.NoError(t, err)
	_, err = svc.EmailInvoices(ctx, warmInvs, billing.BulkOptions{})
	require.NoError(t, err)

	step := func(name string, fn func()) {
		t.Helper()
		rt.take()
		fn()
		got, _, what := rt.take()
		// database/sql pings a connection idle for over a second before
		// reusing it (a slow machine between two Xero calls): not the
		// store's work, so counted apart.
		pings := 0
		for _, w := range what {
			if w == "ping" {
				pings++
			}
		}
		got -= pings
		max := n/50 + 2
		t.Logf("%s of %d members: %d store round trips (%.3f a member; at most %d allowed), and %d idle pings",
			name, n, got, float64(got)/n, max, pings)
		if got > max {
			t.Logf("what: %q", what)
		}
		assert.LessOrEqual(t, got, max, "%s: one write per 50 records, two reads", name)
	}
	var invs []billing.Invoice
	step("sync of new contacts", func() {
		res, err := svc.SyncContacts(ctx, details, billing.BulkOptions{})
		require.NoError(t, err)
		for _, r := range res {
			require.Equal(t, billing.Created, r.Outcome, r.Err)
		}
	})
	step("creation of invoices", func() {
		res, err := svc.CreateInvoices(ctx, params, billing.BulkOptions{})
		require.NoError(t, err)
		for _, r := range res {
			require.Equal(t, billing.Created, r.Outcome, r.Err)
			invs = append(invs, r.Invoice)
		}
	})
	step("emails", func() {
		res, err := svc.EmailInvoices(ctx, invs, billing.BulkOptions{})
		require.NoError(t, err)
		for _, r := range res {
			require.Equal(t, billing.Emailed, r.Outcome, r.Err)
		}
	})
	step("rerun: sync", func() {
		res, err := svc.SyncContacts(ctx, details, billing.BulkOptions{})
		require.NoError(t, err)
		for _, r := range res {
			require.Equal(t, billing.Unchanged, r.Outcome, r.Err)
		}
	})
	step("rerun: creation", func() {
		res, err := svc.CreateInvoices(ctx, params, billing.BulkOptions{})
		require.NoError(t, err)
		for _, r := range res {
			require.Equal(t, billing.Existing, r.Outcome, r.Err)
		}
	})
	step("rerun: emails", func() {
		res, err := svc.EmailInvoices(ctx, invs, billing.BulkOptions{})
		require.NoError(t, err)
		for _, r := range res {
			require.Equal(t, billing.AlreadyEmailed, r.Outcome, r.Err)
		}
	})
}
