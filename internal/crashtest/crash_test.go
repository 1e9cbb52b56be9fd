//go:build unix

package crashtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the parent's schema housekeeping
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/sqlstore"
	"github.com/amsbilling/sdk/billing/sqlstore/pgstore"
	"github.com/amsbilling/sdk/billing/sqlstore/sqlitestore"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/xero"
)

// The child's environment.
const (
	envChild   = "CRASHTEST_CHILD"
	envDB      = "CRASHTEST_DB"
	envSchema  = "CRASHTEST_SCHEMA"
	envXero    = "CRASHTEST_XERO"
	envMembers = "CRASHTEST_MEMBERS"
	envKillAt  = "CRASHTEST_KILL_AT"
)

// The steps the child kills itself at, on the first creation that reaches
// one; "random" is a kill by the parent at a random moment.
const (
	atRecorded = "recorded" // the creation is stored; Xero not called yet
	atApplied  = "applied"  // Xero made the invoice; its answer not read
	atAnswered = "answered" // the answer is read; nothing saved yet
	atSaved    = "saved"    // the invoice is saved
	atRandom   = "random"
)

func member(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1) }

func renewal(i int) billing.CreateInvoiceParams {
	return billing.CreateInvoiceParams{
		Account:   billing.UserAccount(member(i)),
		Date:      billing.NewDate(2026, 12, 1),
		DueDate:   billing.NewDate(2026, 12, 31),
		Reference: "Renewal 2027",
		LineItems: []billing.LineItem{{Description: "Annual membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.RequireFromString("120.00")}},
	}
}

// TestCrashChild is the app under test; it does nothing unless the parent
// started it.
func TestCrashChild(t *testing.T) {
	if os.Getenv(envChild) != "1" {
		t.Skip("the crash campaign's child process; TestCrashCampaign runs it")
	}
	if err := child(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
}

func die() { _ = syscall.Kill(os.Getpid(), syscall.SIGKILL); select {} }

// childSetup opens the store and reads the Xero settings a child was
// given.
func childSetup(ctx context.Context) (*sqlstore.Store, xero.Config, error) {
	var store *sqlstore.Store
	var err error
	if schema := os.Getenv(envSchema); schema != "" {
		store, err = pgstore.Open(ctx, os.Getenv(envDB), pgstore.WithSchema(schema))
	} else {
		store, err = sqlitestore.Open(ctx, os.Getenv(envDB))
	}
	if err != nil {
		return nil, xero.Config{}, err
	}
	var env map[string]string
	if err := json.Unmarshal([]byte(os.Getenv(envXero)), &env); err != nil {
		store.Close()
		return nil, xero.Config{}, err
	}
	cfg, err := xero.LoadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		store.Close()
		return nil, xero.Config{}, err
	}
	return store, cfg, nil
}

func child(ctx context.Context) error {
	store, cfg, err := childSetup(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	killAt := os.Getenv(envKillAt)
	client, err := xero.NewClient(cfg,
		xero.WithHTTPClient(&http.Client{Transport: killTransport{next: http.DefaultTransport, killAt: killAt}}),
		xero.WithLimiter(ratelimit.NewLocal(ratelimit.Options{PerMinute: 1 << 20, PerDay: 1 << 20, Concurrent: 64})))
	if err != nil {
		return err
	}
	svc := xero.NewService(client, killStore{Store: store, killAt: killAt}, cfg)
	n, _ := strconv.Atoi(os.Getenv(envMembers))
	for i := range n {
		if err := svc.UpdateUserBillingDetails(ctx, billing.User{ID: member(i), Name: fmt.Sprintf("Member %d", i+1)}); err != nil {
			return fmt.Errorf("member %d: contact: %w", i+1, err)
		}
		if _, err := svc.CreateInvoice(ctx, renewal(i)); err != nil {
			return fmt.Errorf("member %d: invoice: %w", i+1, err)
		}
	}
	return nil
}

// killStore dies around the store's creation steps.
type killStore struct {
	billing.Store
	killAt string
}

func (s killStore) BeginCreations(ctx context.Context, cs []billing.Creation) ([]billing.Begun, error) {
	b, err := s.Store.BeginCreations(ctx, cs)
	if s.killAt == atRecorded && err == nil && b[0].New {
		die()
	}
	return b, err
}

func (s killStore) CompleteCreations(ctx context.Context, cs []billing.Completion) ([]billing.Completed, error) {
	if s.killAt == atAnswered {
		die()
	}
	c, err := s.Store.CompleteCreations(ctx, cs)
	if s.killAt == atSaved {
		die()
	}
	return c, err
}

// killTransport dies once Xero has answered a creation, before the answer
// is read: Xero has the invoice, the app does not know it.
type killTransport struct {
	next   http.RoundTripper
	killAt string
}

func (t killTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := t.next.RoundTrip(r)
	if t.killAt == atApplied && err == nil && r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/Invoices") {
		die()
	}
	return res, err
}

// clock is the emulator's, moved forward so Xero forgets keys.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.off) }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

type backend struct {
	name         string
	db, schema   string
	open         func(ctx context.Context) (*sqlstore.Store, error)
	skipBecause  string
	dropAfterUse func()
}

func backends(t *testing.T) []backend {
	file := filepath.Join(t.TempDir(), "billing.db")
	out := []backend{{name: "sqlite", db: file, open: func(ctx context.Context) (*sqlstore.Store, error) { return sqlitestore.Open(ctx, file) }}}
	url := os.Getenv("BILLING_TEST_POSTGRES_URL")
	if url == "" {
		return append(out, backend{name: "postgres", skipBecause: "BILLING_TEST_POSTGRES_URL is unset: set it to run the crash campaign on PostgreSQL"})
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "crash_" + hex.EncodeToString(b)
	return append(out, backend{name: "postgres", db: url, schema: schema,
		open: func(ctx context.Context) (*sqlstore.Store, error) {
			return pgstore.Open(ctx, url, pgstore.WithSchema(schema))
		},
		dropAfterUse: func() {
			if db, err := sql.Open("pgx", url); err == nil {
				_, _ = db.Exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE")
				_ = db.Close()
			}
		}})
}

// onBackends runs fn on each backend in a subtest: on an empty SQLite file,
// and on an empty PostgreSQL schema (dropped afterwards) when
// BILLING_TEST_POSTGRES_URL is set.
func onBackends(t *testing.T, fn func(t *testing.T, b backend)) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			if b.skipBecause != "" {
				t.Skip(b.skipBecause)
			}
			if b.schema != "" {
				t.Cleanup(b.dropAfterUse)
				db, err := sql.Open("pgx", b.db)
				require.NoError(t, err)
				_, err = db.Exec("CREATE SCHEMA " + b.schema)
				require.NoError(t, err)
				require.NoError(t, db.Close())
			}
			fn(t, b)
		})
	}
}

// TestCrashCampaign: ≥ 30 kills at every step and at random moments, resumed
// as an app would (the same calls again), with Xero forgetting the keys
// before some resumes and members paying before others. Afterwards Xero
// holds exactly one invoice per member, each with exactly one local row in
// Xero's current state.
func TestCrashCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("starts dozens of processes")
	}
	if os.Getenv(envChild) == "1" {
		t.Skip("inside the child")
	}
	onBackends(t, campaign)
}

func campaign(t *testing.T, b backend) {
	ctx := context.Background()
	const members = 60
	clk := &clock{}
	srv, err := emulator.Listen("127.0.0.1:0", emulator.Options{DisableRateLimit: true, Now: clk.Now, TokenTTL: 365 * 24 * time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	xeroEnv, err := json.Marshal(srv.Env())
	require.NoError(t, err)
	s, err := b.open(ctx)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	start := func(killAt string, upTo int) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), envChild+"=1", envDB+"="+b.db, envSchema+"="+b.schema,
			envXero+"="+string(xeroEnv), envMembers+"="+strconv.Itoa(upTo), envKillAt+"="+killAt)
		cmd.Stderr = &strings.Builder{}
		require.NoError(t, cmd.Start())
		return cmd
	}

	steps := []string{atRecorded, atApplied, atAnswered, atSaved, atRandom}
	kills := map[string]int{}
	for run := 0; run < 3*members && kills["total"] < 45; run++ {
		step := steps[run%len(steps)]
		var cmd *exec.Cmd
		if step == atRandom {
			// A few members past those billed, so a child that outruns the
			// kill does not use up the campaign.
			cmd = start("", min(members, len(srv.Invoices())+5))
			n, _ := rand.Int(rand.Reader, big.NewInt(40))
			time.Sleep(time.Duration(2+n.Int64()) * time.Millisecond)
			_ = cmd.Process.Signal(syscall.SIGKILL)
		} else {
			cmd = start(step, members)
		}
		err := cmd.Wait()
		if killed(err) {
			kills[step]++
			kills["total"]++
		} else if err != nil {
			t.Logf("run %d (%s) ended: %v: %s", run, step, err, cmd.Stderr)
		}
		switch run % 4 {
		case 1:
			clk.Advance(10 * time.Minute) // Xero forgets every key
		case 2:
			payUnknown(t, b, srv) // members pay invoices the app does not know yet
		}
	}
	t.Logf("kills: %v", kills)
	assert.GreaterOrEqual(t, kills["total"], 30)
	for _, st := range steps[:4] {
		assert.Positive(t, kills[st], "killed at %s", st)
	}

	cmd := start("", members)
	require.NoError(t, cmd.Wait(), "the final resume finishes: %s", cmd.Stderr)
	verify(t, b, srv, members)
}

// payUnknown pays, in Xero, every other invoice the store has no row for.
func payUnknown(t *testing.T, b backend, srv *emulator.Server) {
	t.Helper()
	ctx := context.Background()
	s, err := b.open(ctx)
	require.NoError(t, err)
	defer s.Close()
	for i, x := range srv.Invoices() {
		if _, err := s.InvoiceByProviderID(ctx, x.InvoiceID); errors.Is(err, billing.ErrNotFound) && i%2 == 0 && x.Status == billing.StatusAuthorised {
			require.NoError(t, srv.PayInvoice(ctx, x.InvoiceID, x.AmountDue, billing.NewDate(2026, 12, 2)))
		}
	}
}

func verify(t *testing.T, b backend, srv *emulator.Server, members int) {
	ctx := context.Background()
	s, err := b.open(ctx)
	require.NoError(t, err)
	defer s.Close()
	perMember := map[string]int{}
	contacts := map[string]string{}
	for _, c := range srv.Contacts() {
		contacts[c.ContactID] = c.AccountNumber
	}
	withoutRow, differs := 0, 0
	for _, x := range srv.Invoices() {
		perMember[contacts[x.ContactID]]++
		inv, err := s.InvoiceByProviderID(ctx, x.InvoiceID)
		if err != nil {
			withoutRow++
			t.Errorf("Xero's %s (%s) has no local row: %v", x.InvoiceNumber, x.InvoiceID, err)
			continue
		}
		if inv.Status != x.Status || !inv.Paid.Equal(x.AmountPaid) || !inv.Due.Equal(x.AmountDue) || !inv.Amount.Equal(x.Total) {
			differs++
			t.Errorf("%s: local %s paid %s due %s; Xero %s paid %s due %s", x.InvoiceNumber, inv.Status, inv.Paid, inv.Due, x.Status, x.AmountPaid, x.AmountDue)
		}
	}
	twice := 0
	for i := range members {
		switch n := perMember[member(i)]; {
		case n > 1:
			twice++
			t.Errorf("member %d billed %d times", i+1, n)
		case n == 0:
			t.Errorf("member %d never billed", i+1)
		}
	}
	pending, err := s.PendingCreations(ctx)
	require.NoError(t, err)
	assert.Empty(t, pending, "every creation resolved")
	t.Logf("%d members, %d invoices in Xero: %d without a local row, %d members billed twice, %d rows differing from Xero",
		members, len(srv.Invoices()), withoutRow, twice, differs)
}
