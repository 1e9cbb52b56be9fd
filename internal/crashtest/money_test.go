//go:build unix

package crashtest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/sqlstore"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/xero"
)

// The money child's environment, besides envDB, envSchema and envXero.
const (
	envMoney     = "CRASHTEST_MONEY"       // "1" in the money child
	envMoneyWork = "CRASHTEST_MONEY_WORK"  // the work file (JSON units)
	envMoneyDone = "CRASHTEST_MONEY_DONE"  // the directory of done markers
	envMoneyUpTo = "CRASHTEST_MONEY_UPTO"  // units past this index are left for later runs
	envMoneyAll  = "CRASHTEST_MONEY_ALL"   // "1": rerun every unit, done or not
	envMoneyKill = "CRASHTEST_MONEY_KILL"  // a killSpec: "phase kind step nth"
	envMoneyLog  = "CRASHTEST_MONEY_LOG"   // where the child says where it killed itself
	envClockOff  = "CRASHTEST_CLOCK_SHIFT" // the service's clock offset (the emulator's)
)

// The phases of a money child's run: ResolveMoneyOps at start, as the cron
// does, then the units of work.
const (
	phaseResolve = "resolve"
	unitBulk     = "bulk"     // a CSV file of payments: RecordPayments
	unitSingle   = "single"   // one payment: RecordPayment
	unitAllocate = "allocate" // CreditInvoice with Allocate
	unitRefund   = "refund"   // CreditInvoice with Refund
	phaseWork    = "work"     // any unit
)

// moneyUnit is one piece of the app's work, done by one call.
type moneyUnit struct {
	Kind     string
	Payments []billing.PaymentParams   `json:",omitempty"`
	Credit   *billing.CreditNoteParams `json:",omitempty"`
}

// killSpec says where a money child kills itself: at the nth time step is
// reached, in phase (a unit kind, phaseResolve, or phaseWork for any unit),
// by an operation of kind; empty phase or kind match any.
type killSpec struct {
	phase string
	kind  billing.MoneyKind
	step  string
	nth   int
}

func (k killSpec) String() string {
	if k.step == "" || k.step == atRandom {
		return atRandom
	}
	return fmt.Sprintf("%s %s %s %d", orAny(k.phase), orAny(string(k.kind)), k.step, max(k.nth, 1))
}

func orAny(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func parseKillSpec(s string) killSpec {
	f := strings.Fields(s)
	if len(f) != 4 {
		return killSpec{}
	}
	anyOf := func(v string) string {
		if v == "-" {
			return ""
		}
		return v
	}
	n, _ := strconv.Atoi(f[3])
	return killSpec{phase: anyOf(f[0]), kind: billing.MoneyKind(anyOf(f[1])), step: f[2], nth: max(n, 1)}
}

// TestMoneyCrashChild is the app of the money crash campaigns; it does
// nothing unless one of them started it.
func TestMoneyCrashChild(t *testing.T) {
	if os.Getenv(envMoney) != "1" {
		t.Skip("the money crash campaigns' child process; TestPaymentCrashCampaign and TestCreditNoteCrashCampaign run it")
	}
	if err := moneyChild(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
}

func moneyChild(ctx context.Context) error {
	store, cfg, err := childSetup(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	raw, err := os.ReadFile(os.Getenv(envMoneyWork))
	if err != nil {
		return err
	}
	var units []moneyUnit
	if err := json.Unmarshal(raw, &units); err != nil {
		return err
	}
	shift, err := time.ParseDuration(os.Getenv(envClockOff))
	if err != nil {
		return err
	}
	k := &killer{spec: parseKillSpec(os.Getenv(envMoneyKill)), log: os.Getenv(envMoneyLog), kinds: map[string]billing.MoneyKind{}}
	client, err := xero.NewClient(cfg,
		xero.WithHTTPClient(&http.Client{Transport: moneyKillTransport{next: http.DefaultTransport, k: k}}),
		xero.WithLimiter(ratelimit.NewLocal(ratelimit.Options{PerMinute: 1 << 20, PerDay: 1 << 20, Concurrent: 64})))
	if err != nil {
		return err
	}
	now := func() time.Time { return time.Now().Add(shift) }
	svc := xero.NewService(client, moneyKillStore{Store: store, k: k}, cfg, xero.WithCreationTiming(now, 0, 0))
	upTo, err := strconv.Atoi(os.Getenv(envMoneyUpTo))
	if err != nil {
		return err
	}
	all := os.Getenv(envMoneyAll) == "1"
	done := os.Getenv(envMoneyDone)
	fmt.Println("ready") // the parent's random kill counts from here

	var failed []error
	k.enter(phaseResolve)
	res, err := svc.ResolveMoneyOps(ctx)
	if err != nil {
		failed = append(failed, fmt.Errorf("resolving: %w", err))
	}
	for key, e := range res.Pending {
		failed = append(failed, fmt.Errorf("still pending %s: %w", key, e))
	}
	for i, u := range units[:min(upTo, len(units))] {
		marker := filepath.Join(done, strconv.Itoa(i))
		if _, err := os.Stat(marker); err == nil && !all {
			continue // the app knows this file went through
		}
		k.enter(u.Kind)
		if err := runUnit(ctx, svc, u); err != nil {
			failed = append(failed, fmt.Errorf("unit %d (%s): %w", i, u.Kind, err))
			continue
		}
		if err := os.WriteFile(marker, nil, 0o600); err != nil {
			return err
		}
	}
	return errors.Join(failed...)
}

func runUnit(ctx context.Context, svc *xero.Service, u moneyUnit) error {
	switch u.Kind {
	case unitBulk:
		res, err := svc.RecordPayments(ctx, u.Payments, billing.BulkOptions{})
		if err != nil {
			return err
		}
		var errs []error
		for i, r := range res {
			if r.Outcome != billing.Created && r.Outcome != billing.Existing {
				errs = append(errs, fmt.Errorf("row %d: %s: %w", i+1, r.Outcome, r.Err))
			}
		}
		return errors.Join(errs...)
	case unitSingle:
		_, err := svc.RecordPayment(ctx, u.Payments[0])
		return err
	case unitAllocate, unitRefund:
		_, err := svc.CreditInvoice(ctx, *u.Credit)
		return err
	}
	return fmt.Errorf("unknown unit %q", u.Kind)
}

// killer kills the child where its spec says, once it is reached nth
// times, and first writes down where, so the parent can count.
type killer struct {
	spec  killSpec
	log   string
	mu    sync.Mutex
	phase string
	hits  int
	kinds map[string]billing.MoneyKind // operation keys seen, by kind
}

func (k *killer) enter(phase string) { k.mu.Lock(); k.phase = phase; k.mu.Unlock() }

func (k *killer) learn(ops ...billing.MoneyOp) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, op := range ops {
		if op.Key != "" {
			k.kinds[op.Key] = op.Kind
		}
	}
}

func (k *killer) kindOf(key string) billing.MoneyKind {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.kinds[key]
}

// at is called each time an operation of kind reaches step.
func (k *killer) at(step string, kind billing.MoneyKind) {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.spec
	if s.step != step || (s.kind != "" && s.kind != kind) {
		return
	}
	if s.phase != "" && s.phase != k.phase && (s.phase != phaseWork || k.phase == phaseResolve) {
		return
	}
	if k.hits++; k.hits < s.nth {
		return
	}
	if f, err := os.OpenFile(k.log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
		phase := k.phase
		if s.phase == phaseWork {
			phase = phaseWork
		}
		fmt.Fprintf(f, "%s/%s/%s\n", phase, kind, step)
		_ = f.Close()
	}
	die()
}

// moneyKillStore dies around the store's money operation steps.
type moneyKillStore struct {
	billing.Store
	k *killer
}

func (s moneyKillStore) BeginOps(ctx context.Context, ops []billing.MoneyOp) ([]billing.BegunOp, error) {
	s.k.learn(ops...)
	b, err := s.Store.BeginOps(ctx, ops)
	if err != nil {
		return b, err
	}
	for _, x := range b {
		s.k.learn(x.Op)
	}
	for _, x := range b {
		if x.New {
			s.k.at(atRecorded, x.Op.Kind) // recorded; Xero not called yet
			break
		}
	}
	return b, err
}

func (s moneyKillStore) PendingOps(ctx context.Context) ([]billing.MoneyOp, error) {
	ops, err := s.Store.PendingOps(ctx)
	s.k.learn(ops...)
	return ops, err
}

func (s moneyKillStore) CompleteOps(ctx context.Context, cs []billing.OpCompletion) ([]billing.OpCompleted, error) {
	var kind billing.MoneyKind
	if len(cs) > 0 {
		kind = s.k.kindOf(cs[0].Key)
	}
	s.k.at(atAnswered, kind) // Xero's answer read, nothing saved
	c, err := s.Store.CompleteOps(ctx, cs)
	if err == nil {
		s.k.at(atSaved, kind)
	}
	return c, err
}

// moneyKillTransport dies once Xero has made a payment, a credit note or
// an allocation, before its answer is read.
type moneyKillTransport struct {
	next http.RoundTripper
	k    *killer
}

func (t moneyKillTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := t.next.RoundTrip(r)
	if err != nil || r.Method != http.MethodPut || res.StatusCode != http.StatusOK {
		return res, err
	}
	switch p := r.URL.Path; {
	case strings.HasSuffix(p, "/Allocations"):
		t.k.at(atApplied, billing.KindAllocation)
	case strings.HasSuffix(p, "/CreditNotes"):
		t.k.at(atApplied, billing.KindCreditNote)
	case strings.HasSuffix(p, "/Payments"):
		// A payment in one campaign, a refund in the other: the spec's
		// kind tells.
		t.k.at(atApplied, billing.KindPayment)
		t.k.at(atApplied, billing.KindRefund)
	}
	return res, err
}

func (c *clock) offset() time.Duration { c.mu.Lock(); defer c.mu.Unlock(); return c.off }

// moneyRig is one money campaign on one backend: an emulator served over
// HTTP on a movable clock, the work the app is given, and its children.
type moneyRig struct {
	t       *testing.T
	b       backend
	clk     *clock
	srv     *emulator.Server
	env     map[string]string
	work    string // the work file
	done    string // the done markers
	log     string // where children say where they died
	units   []moneyUnit
	invoice []billing.Invoice // the app's invoices, as created
}

func newMoneyRig(t *testing.T, b backend) *moneyRig {
	clk := &clock{}
	srv, err := emulator.Listen("127.0.0.1:0", emulator.Options{DisableRateLimit: true, Now: clk.Now, TokenTTL: 365 * 24 * time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	env := srv.Env()
	env[xero.EnvPaymentAccountCode] = "090" // the demo chart's bank account
	dir := t.TempDir()
	r := &moneyRig{t: t, b: b, clk: clk, srv: srv, env: env,
		work: filepath.Join(dir, "work.json"), done: filepath.Join(dir, "done"), log: filepath.Join(dir, "kills.log")}
	require.NoError(t, os.Mkdir(r.done, 0o700))
	return r
}

// service is an in-process app without kills, on the emulator's clock.
func (r *moneyRig) service(store billing.Store) *xero.Service {
	cfg, err := xero.LoadConfig(func(k string) (string, bool) { v, ok := r.env[k]; return v, ok })
	require.NoError(r.t, err)
	client, err := xero.NewClient(cfg, xero.WithLimiter(ratelimit.NewLocal(ratelimit.Options{PerMinute: 1 << 20, PerDay: 1 << 20, Concurrent: 64})))
	require.NoError(r.t, err)
	return xero.NewService(client, store, cfg, xero.WithCreationTiming(r.clk.Now, 0, 0))
}

// bill creates n invoices of 138.00 (120.00 and 15% tax), issued a few
// days ago so the sweep reads them back, for 40 members.
func (r *moneyRig) bill(n int) {
	ctx := context.Background()
	store, err := r.b.open(ctx)
	require.NoError(r.t, err)
	defer store.Close()
	svc := r.service(store)
	const members = 40
	var users []billing.BillingDetails
	for i := range members {
		users = append(users, billing.UserDetails(billing.User{ID: member(i), Name: fmt.Sprintf("Member %d", i+1)}))
	}
	synced, err := svc.SyncContacts(ctx, users, billing.BulkOptions{})
	require.NoError(r.t, err)
	for _, s := range synced {
		require.NoError(r.t, s.Err)
	}
	issued := time.Now().AddDate(0, 0, -3)
	var ps []billing.CreateInvoiceParams
	for i := range n {
		p := renewal(i % members)
		p.Reference = fmt.Sprintf("Dues %d", i+1)
		p.Date = billing.NewDate(issued.Date())
		p.DueDate = billing.NewDate(issued.AddDate(0, 1, 0).Date())
		ps = append(ps, p)
	}
	made, err := svc.CreateInvoices(ctx, ps, billing.BulkOptions{})
	require.NoError(r.t, err)
	for _, m := range made {
		require.Equal(r.t, billing.Created, m.Outcome, "%v", m.Err)
		require.Equal(r.t, "138", m.Invoice.Due.String())
		r.invoice = append(r.invoice, m.Invoice)
	}
}

func (r *moneyRig) writeWork() {
	b, err := json.Marshal(r.units)
	require.NoError(r.t, err)
	require.NoError(r.t, os.WriteFile(r.work, b, 0o600))
}

// firstUndone is the index of the first unit not marked done.
func (r *moneyRig) firstUndone() int {
	for i := range r.units {
		if _, err := os.Stat(filepath.Join(r.done, strconv.Itoa(i))); err != nil {
			return i
		}
	}
	return len(r.units)
}

// childEnv is the child's environment; GORACE skips the race detector's
// one-second pause at exit, which would dominate a child's cost.
func (r *moneyRig) childEnv(extra ...string) []string {
	xeroEnv, err := json.Marshal(r.env)
	require.NoError(r.t, err)
	race := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	return append(append(os.Environ(), envMoney+"=1", envDB+"="+r.b.db, envSchema+"="+r.b.schema,
		envXero+"="+string(xeroEnv), envMoneyWork+"="+r.work, envMoneyDone+"="+r.done, envMoneyLog+"="+r.log,
		envClockOff+"="+r.clk.offset().String(), "GORACE="+race), extra...)
}

// run starts a child with the kill spec (random: the parent kills it a
// moment after it is ready), waits for it, and says where it died ("" when
// it was not killed) and its error.
func (r *moneyRig) run(spec killSpec, upTo int, all bool) (string, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestMoneyCrashChild$", "-test.count=1")
	extra := []string{envMoneyUpTo + "=" + strconv.Itoa(upTo)}
	if all {
		extra = append(extra, envMoneyAll+"=1")
	}
	if spec.step != atRandom && spec.step != "" {
		extra = append(extra, envMoneyKill+"="+spec.String())
	}
	cmd.Env = r.childEnv(extra...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	require.NoError(r.t, err)
	before := r.kills()
	require.NoError(r.t, cmd.Start())
	rd := bufio.NewReader(out)
	if line, _ := rd.ReadString('\n'); spec.step == atRandom && line == "ready\n" {
		n, _ := rand.Int(rand.Reader, big.NewInt(40))
		time.Sleep(time.Duration(n.Int64()) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
	}
	_, _ = io.Copy(io.Discard, rd)
	err = cmd.Wait()
	switch after := r.kills(); {
	case !killed(err):
		if err != nil {
			err = fmt.Errorf("%w: %s", err, stderr.String())
		}
		return "", err
	case len(after) > len(before):
		return after[len(after)-1], nil
	}
	return atRandom, nil
}

// kills are the places children killed themselves at, in order.
func (r *moneyRig) kills() []string {
	b, err := os.ReadFile(r.log)
	if err != nil {
		return nil
	}
	return strings.Fields(string(b))
}

// planned is one run of a campaign: where the child is to die, and the
// unit of work it needs that no earlier run has used ("" for a kill while
// resolving, which needs only what earlier kills left pending).
type planned struct {
	killSpec
	unit   string
	target int // the index of its unit, set by plan
}

// plan lays out the units of work the runs need, in order, and two spare
// ones of spare's kind; fill makes each unit.
func (r *moneyRig) plan(runs []planned, spare string, fill func(kind string) moneyUnit) {
	for i, p := range runs {
		if p.unit != "" {
			runs[i].target = len(r.units)
			r.units = append(r.units, fill(p.unit))
		}
	}
	r.units = append(r.units, fill(spare), fill(spare))
	r.writeWork()
}

// campaign makes the runs in order. A run that kills while resolving does
// no other work; the others go no further than their own unit, so no run
// uses up another's. Xero forgets every key, and the service's leases run
// out, every third run. Then a resume with no kill must finish,
// and a rerun of every unit must write nothing to Xero.
func (r *moneyRig) campaign(runs []planned) map[string]int {
	kills := map[string]int{}
	for run, p := range runs {
		upTo := max(p.target, r.firstUndone()) + 1
		if p.unit == "" {
			upTo = 0
		}
		where, err := r.run(p.killSpec, upTo, false)
		if where != "" {
			kills[where]++
			kills["total"]++
		} else if err != nil {
			r.t.Logf("run %d (%s) ended: %v", run, p.killSpec, err)
		}
		if run%3 == 2 {
			r.clk.Advance(10 * time.Minute)
		}
	}
	r.clk.Advance(10 * time.Minute)
	_, err := r.run(killSpec{}, len(r.units), false)
	assert.NoError(r.t, err, "the final resume finishes")
	assert.Equal(r.t, len(r.units), r.firstUndone(), "every unit went through")

	writes := func() int {
		n := 0
		for op, c := range r.srv.CallCounts() {
			if strings.HasPrefix(op, http.MethodPut+" ") || strings.HasPrefix(op, http.MethodPost+" ") {
				n += c
			}
		}
		return n
	}
	before := writes()
	_, err = r.run(killSpec{}, len(r.units), true)
	assert.NoError(r.t, err, "a rerun of everything finishes")
	assert.Equal(r.t, before, writes(), "a rerun of everything writes nothing to Xero")
	return kills
}

// sweep runs the sweep as the cron does (a first sweep reads back every
// invoice modified since the day before the oldest was issued), and
// reports how many local invoices differed from Xero before it.
func (r *moneyRig) sweep(store *sqlstore.Store) int {
	ctx := context.Background()
	differed := 0
	for _, x := range r.invoice {
		inv, err := store.InvoiceByProviderID(ctx, x.ProviderID)
		require.NoError(r.t, err)
		if !sameInvoice(inv, r.xeroInvoice(x.ProviderID)) {
			differed++
		}
	}
	res, err := billing.Sweep(ctx, r.service(store), store, billing.SweepOptions{Now: r.clk.Now})
	require.NoError(r.t, err)
	assert.True(r.t, res.InStep(), "the sweep brought the store in step: %v", res.Failed)
	return differed
}

func (r *moneyRig) xeroInvoice(id string) emulator.Invoice {
	x, ok := r.srv.Invoice(id)
	require.True(r.t, ok, "Xero has invoice %s", id)
	return x
}

func sameInvoice(inv billing.Invoice, x emulator.Invoice) bool {
	return inv.Status == x.Status && inv.Paid.Equal(x.AmountPaid) && inv.Due.Equal(x.AmountDue) &&
		inv.Credited.Equal(x.AmountCredited) && inv.Amount.Equal(x.Total)
}

// assertEachKilled checks that every step the runs planned killed a child
// at least once.
func assertEachKilled(t *testing.T, runs []planned, kills map[string]int) {
	t.Helper()
	assert.GreaterOrEqual(t, kills["total"], 30)
	for _, s := range runs {
		if s.step == atRandom {
			continue
		}
		where := fmt.Sprintf("%s/%s/%s", s.phase, s.kind, s.step)
		assert.Positive(t, kills[where], "killed at %s", where)
	}
}

// paymentRuns: every step of RecordPayments (in either of a file's two
// calls) and of RecordPayment, each followed by kills of ResolveMoneyOps
// settling what it left pending, and random moments.
func paymentRuns() []planned {
	p := billing.KindPayment
	bulk := func(step string, nth int) planned {
		return planned{killSpec: killSpec{unitBulk, p, step, nth}, unit: unitBulk}
	}
	single := func(step string) planned {
		return planned{killSpec: killSpec{unitSingle, p, step, 1}, unit: unitSingle}
	}
	resolve := func(step string) planned { return planned{killSpec: killSpec{phaseResolve, p, step, 1}} }
	random := planned{killSpec: killSpec{step: atRandom}, unit: unitSingle}
	runs := []planned{
		bulk(atRecorded, 1), // the whole file recorded, nothing sent
		resolve(atApplied), resolve(atAnswered), resolve(atSaved), random,
		bulk(atApplied, 1), // the first 50 made, the answer lost
		resolve(atAnswered),
		bulk(atApplied, 2), // the first 50 saved, the other 10 made
		single(atRecorded), resolve(atApplied),
		bulk(atAnswered, 1),
		single(atApplied), resolve(atSaved),
		single(atAnswered),
		bulk(atSaved, 1), // the first 50 saved, the other 10 never sent
		resolve(atApplied),
		single(atSaved),
		random,
	}
	for len(runs) < 34 {
		runs = append(runs, single(atRecorded), resolve(atApplied), single(atApplied), resolve(atAnswered),
			single(atAnswered), resolve(atSaved), single(atSaved), random)
	}
	return runs
}

// TestPaymentCrashCampaign: an app records the payments it took, files of
// 60 through RecordPayments (two PUT /Payments each) and single ones
// through RecordPayment, and is killed with SIGKILL at each step and at
// random moments, at least 30 times; each restart resolves pending
// operations first, as the cron does. Afterwards, and after a sweep, each
// invoice has exactly one payment in Xero, none is lost, the store's
// payments and invoices equal Xero's, and nothing is pending.
func TestPaymentCrashCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("starts dozens of processes")
	}
	if os.Getenv(envChild) == "1" || os.Getenv(envMoney) == "1" {
		t.Skip("inside a child")
	}
	onBackends(t, paymentCampaign)
}

func paymentCampaign(t *testing.T, b backend) {
	const perFile = 60
	runs := paymentRuns()
	files, singles := 0, 2
	for _, p := range runs {
		switch p.unit {
		case unitBulk:
			files++
		case unitSingle:
			singles++
		}
	}
	r := newMoneyRig(t, b)
	r.bill(files*perFile + singles)
	paidOn := billing.NewDate(time.Now().AddDate(0, 0, -1).Date())
	amount := func(i int) decimal.Decimal { // some paid in part, the rest in full
		if i%3 == 0 {
			return decimal.RequireFromString("100.00")
		}
		return decimal.RequireFromString("138.00")
	}
	next := 0
	pay := func(ref string) billing.PaymentParams {
		inv := r.invoice[next]
		p := billing.PaymentParams{InvoiceID: inv.ProviderID, Amount: amount(next), Date: paidOn, Reference: fmt.Sprintf("%s %d", ref, next+1)}
		next++
		return p
	}
	r.plan(runs, unitSingle, func(kind string) moneyUnit {
		u := moneyUnit{Kind: kind}
		if kind == unitSingle {
			u.Payments = []billing.PaymentParams{pay("card ch")}
			return u
		}
		for range perFile {
			u.Payments = append(u.Payments, pay("dd 2026-12"))
		}
		return u
	})

	kills := r.campaign(runs)
	t.Logf("kills: %v", kills)
	assertEachKilled(t, runs, kills)

	ctx := context.Background()
	store, err := b.open(ctx)
	require.NoError(t, err)
	defer store.Close()
	differed := r.sweep(store)

	want := map[string]billing.PaymentParams{}
	for _, u := range r.units {
		for _, p := range u.Payments {
			want[p.InvoiceID] = p
		}
	}
	inXero := map[string][]emulator.Payment{}
	for _, x := range r.srv.Payments() {
		inXero[x.InvoiceID] = append(inXero[x.InvoiceID], x)
	}
	twice, lost, rowsDiffer := 0, 0, 0
	for _, inv := range r.invoice {
		p := want[inv.ProviderID]
		xs := inXero[inv.ProviderID]
		live := slices.DeleteFunc(slices.Clone(xs), func(x emulator.Payment) bool { return x.Status == emulator.PaymentDeleted })
		switch {
		case len(live) > 1:
			twice++
			t.Errorf("%s paid %d times in Xero", inv.Number, len(live))
		case len(live) == 0:
			lost++
			t.Errorf("%s: the payment %q was lost", inv.Number, p.Reference)
		case !live[0].Amount.Equal(p.Amount) || live[0].Reference != p.Reference:
			t.Errorf("%s: Xero holds %s %q, asked %s %q", inv.Number, live[0].Amount, live[0].Reference, p.Amount, p.Reference)
		}
		stored, err := store.PaymentsOfInvoice(ctx, inv.ProviderID)
		require.NoError(t, err)
		differs := len(stored) != len(xs)
		for i := 0; !differs && i < len(xs); i++ {
			j := slices.IndexFunc(stored, func(s billing.Payment) bool { return s.ProviderID == xs[i].PaymentID })
			differs = j < 0 || !stored[j].Amount.Equal(xs[i].Amount) || stored[j].Status != xs[i].Status ||
				stored[j].Reference != xs[i].Reference || stored[j].Date != xs[i].Date
		}
		local, err := store.InvoiceByProviderID(ctx, inv.ProviderID)
		require.NoError(t, err)
		if x := r.xeroInvoice(inv.ProviderID); differs || !sameInvoice(local, x) {
			rowsDiffer++
			t.Errorf("%s: local %s paid %s due %s, payments %+v; Xero %s paid %s due %s, payments %+v",
				inv.Number, local.Status, local.Paid, local.Due, stored, x.Status, x.AmountPaid, x.AmountDue, xs)
		}
	}
	assert.Len(t, r.srv.Payments(), len(want), "Xero holds no other payment")
	pending, err := store.PendingOps(ctx)
	require.NoError(t, err)
	assert.Empty(t, pending, "every money operation resolved")
	t.Logf("%d payments asked for (%d files of %d, %d one by one) in %d PUT /Payments; Xero holds %d: %d invoices paid twice, %d payments lost, %d local rows differing from Xero after the sweep (%d invoices differed before it)",
		len(want), files, perFile, singles, r.srv.CallCounts()["PUT /Payments"], len(r.srv.Payments()), twice, lost, rowsDiffer, differed)
}

// creditRuns: every step of a credit note, of its allocation and of its
// refund (a kill between the credit note's answer and its save, with its
// allocation or refund recorded, included), in the work and while
// ResolveMoneyOps settles what a kill left, and random moments.
func creditRuns() []planned {
	cn, al, rf := billing.KindCreditNote, billing.KindAllocation, billing.KindRefund
	work := func(kind billing.MoneyKind, step, unit string) planned {
		return planned{killSpec: killSpec{phaseWork, kind, step, 1}, unit: unit}
	}
	resolve := func(kind billing.MoneyKind, step string) planned {
		return planned{killSpec: killSpec{phaseResolve, kind, step, 1}}
	}
	round := []planned{
		work(cn, atRecorded, unitAllocate),
		resolve(cn, atApplied),           // the resolver sends it
		work(rf, atRecorded, unitRefund), // the credit note answered, its refund recorded, neither saved
		resolve(cn, atAnswered),
		work(cn, atApplied, unitAllocate),
		resolve(cn, atSaved), // its allocation recorded, not sent
		resolve(al, atApplied),
		resolve(al, atAnswered),
		work(rf, atApplied, unitRefund),
		resolve(rf, atAnswered),
		work(al, atRecorded, unitAllocate),
		resolve(al, atSaved),
		work(cn, atAnswered, unitRefund),
		work(al, atApplied, unitAllocate),
		work(rf, atAnswered, unitRefund),
		work(al, atAnswered, unitAllocate),
		work(cn, atSaved, unitRefund),
		resolve(rf, atApplied),
		work(al, atSaved, unitAllocate),
		work(rf, atSaved, unitRefund),
		{killSpec: killSpec{step: atRandom}, unit: unitAllocate},
		{killSpec: killSpec{step: atRandom}, unit: unitRefund},
	}
	return append(slices.Clone(round), round[:14]...) // 36 runs, each step at least once
}

// TestCreditNoteCrashCampaign: an app credits invoices, allocating the
// credit to some and refunding it for others, and is killed with SIGKILL
// around each of the credit note's, the allocation's and the refund's
// steps and at random moments, at least 30 times. Afterwards, and after a
// sweep, Xero holds exactly one credit note per (invoice, reason, amount),
// each allocated or refunded exactly once, the store's credit notes,
// refunds and invoices equal Xero's, and nothing is pending.
func TestCreditNoteCrashCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("starts dozens of processes")
	}
	if os.Getenv(envChild) == "1" || os.Getenv(envMoney) == "1" {
		t.Skip("inside a child")
	}
	onBackends(t, creditCampaign)
}

func creditCampaign(t *testing.T, b backend) {
	runs := creditRuns()
	n := 2
	for _, p := range runs {
		if p.unit != "" {
			n++
		}
	}
	r := newMoneyRig(t, b)
	r.bill(n)
	on := billing.NewDate(time.Now().AddDate(0, 0, -1).Date())
	next := 0
	r.plan(runs, unitAllocate, func(kind string) moneyUnit {
		inv := r.invoice[next]
		next++
		p := billing.CreditNoteParams{InvoiceID: inv.ProviderID, Reason: fmt.Sprintf("Cancelled: %s", inv.Number),
			Amount: decimal.RequireFromString("20.00"), Date: on, Allocate: kind == unitAllocate, Refund: kind == unitRefund}
		return moneyUnit{Kind: kind, Credit: &p}
	})

	kills := r.campaign(runs)
	t.Logf("kills: %v", kills)
	assertEachKilled(t, runs, kills)

	ctx := context.Background()
	store, err := b.open(ctx)
	require.NoError(t, err)
	defer store.Close()
	differed := r.sweep(store)

	refunds := map[string][]emulator.Payment{}
	for _, x := range r.srv.Payments() {
		require.Empty(t, x.InvoiceID, "no invoice of this campaign is paid: %+v", x)
		refunds[x.CreditNoteID] = append(refunds[x.CreditNoteID], x)
	}
	twice, lost, wrong, rowsDiffer, unlinked := 0, 0, 0, 0, 0
	for _, u := range r.units {
		p := *u.Credit
		inv := r.xeroInvoice(p.InvoiceID)
		var match []emulator.CreditNote
		for _, cn := range r.srv.CreditNotes() {
			if cn.ContactID == inv.ContactID && cn.Reference == p.Reason && cn.Total.Equal(p.Amount) {
				match = append(match, cn)
			}
		}
		if len(match) != 1 {
			if len(match) == 0 {
				lost++
			} else {
				twice++
			}
			t.Errorf("%s: %d credit notes in Xero for %q", inv.InvoiceNumber, len(match), p.Reason)
			continue
		}
		cn := match[0]
		live := slices.DeleteFunc(slices.Clone(refunds[cn.CreditNoteID]), func(x emulator.Payment) bool { return x.Status == emulator.PaymentDeleted })
		if p.Allocate {
			if len(cn.Allocations) != 1 || len(live) != 0 || cn.Allocations[0].InvoiceID != p.InvoiceID || !cn.Allocations[0].Amount.Equal(p.Amount) {
				wrong++
				t.Errorf("%s: credit note %s allocated %+v, refunded %+v; want one allocation to the invoice", inv.InvoiceNumber, cn.CreditNoteNumber, cn.Allocations, live)
			}
		} else if len(cn.Allocations) != 0 || len(live) != 1 || !live[0].Amount.Equal(p.Amount) {
			wrong++
			t.Errorf("%s: credit note %s allocated %+v, refunded %+v; want one refund", inv.InvoiceNumber, cn.CreditNoteNumber, cn.Allocations, live)
		}

		differs := false
		if s, err := store.CreditNoteByProviderID(ctx, cn.CreditNoteID); err != nil || !sameCreditNote(s, cn) {
			differs = true
			t.Errorf("%s: the store holds %+v (%v); Xero %s %s total %s remaining %s allocations %+v",
				inv.InvoiceNumber, s, err, cn.CreditNoteNumber, cn.Status, cn.Total, cn.RemainingCredit, cn.Allocations)
		}
		// The credit note was raised for the invoice: the store says so
		// whether it was allocated or refunded.
		ofInvoice, err := store.CreditNotesOfInvoice(ctx, p.InvoiceID)
		require.NoError(t, err)
		if !slices.ContainsFunc(ofInvoice, func(s billing.CreditNote) bool { return s.ProviderID == cn.CreditNoteID && s.InvoiceID == p.InvoiceID }) {
			unlinked++
			t.Errorf("%s: the store does not hold %s as raised for it (it holds %d credit notes of the invoice)", inv.InvoiceNumber, cn.CreditNoteNumber, len(ofInvoice))
		}
		for _, x := range refunds[cn.CreditNoteID] {
			s, err := store.PaymentByProviderID(ctx, x.PaymentID)
			if err != nil || s.CreditNoteID != cn.CreditNoteID || !s.Amount.Equal(x.Amount) || s.Status != x.Status {
				differs = true
				t.Errorf("%s: refund %s: the store holds %+v (%v); Xero %+v", inv.InvoiceNumber, x.PaymentID, s, err, x)
			}
		}
		local, err := store.InvoiceByProviderID(ctx, p.InvoiceID)
		require.NoError(t, err)
		if !sameInvoice(local, inv) {
			differs = true
			t.Errorf("%s: local %s credited %s due %s; Xero %s credited %s due %s",
				inv.InvoiceNumber, local.Status, local.Credited, local.Due, inv.Status, inv.AmountCredited, inv.AmountDue)
		}
		if differs {
			rowsDiffer++
		}
	}
	assert.Len(t, r.srv.CreditNotes(), len(r.units), "Xero holds no other credit note")
	pending, err := store.PendingOps(ctx)
	require.NoError(t, err)
	assert.Empty(t, pending, "every money operation resolved")
	calls := r.srv.CallCounts()
	allocated := 0
	for _, u := range r.units {
		if u.Kind == unitAllocate {
			allocated++
		}
	}
	t.Logf("%d invoices credited (%d allocated, %d refunded) in %d PUT /CreditNotes, %d allocations, %d PUT /Payments; Xero holds %d credit notes: %d duplicated, %d lost, %d not allocated or refunded exactly once, %d local rows differing from Xero after the sweep (%d invoices differed before it), %d credit notes not held as raised for their invoice",
		len(r.units), allocated, len(r.units)-allocated, calls["PUT /CreditNotes"], calls["PUT /CreditNotes/{CreditNoteID}/Allocations"], calls["PUT /Payments"],
		len(r.srv.CreditNotes()), twice, lost, wrong, rowsDiffer, differed, unlinked)
}

// sameCreditNote compares the store's copy with Xero's.
func sameCreditNote(s billing.CreditNote, x emulator.CreditNote) bool {
	if s.ProviderID != x.CreditNoteID || s.Number != x.CreditNoteNumber || s.Status != x.Status ||
		!s.Total.Equal(x.Total) || !s.Remaining.Equal(x.RemainingCredit) || len(s.Allocations) != len(x.Allocations) {
		return false
	}
	for i, a := range s.Allocations {
		if a.InvoiceID != x.Allocations[i].InvoiceID || !a.Amount.Equal(x.Allocations[i].Amount) {
			return false
		}
	}
	return true
}
