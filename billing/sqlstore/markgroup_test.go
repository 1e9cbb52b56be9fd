package sqlstore_test

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing/sqlstore"
	"github.com/amsbilling/sdk/billing/sqlstore/internal/sqltest"
)

// On PostgreSQL, MarkUpdateNeeded calls that arrive while a round of marks
// is running go together in the next round: one statement and one commit.
// These tests hold a round back by locking a row it must update, from
// another connection, so the calls made meanwhile are known to share the
// next round.

// rowLock is a transaction of its own holding invoices' row locks.
type rowLock struct {
	tx      *sql.Tx
	backend int // its server process, which the waiting statements name
}

// lockInvoices locks the invoices with these provider ids until release.
func lockInvoices(t *testing.T, db *sql.DB, ids ...string) *rowLock {
	t.Helper()
	tx, err := db.BeginTx(t.Context(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback() })
	l := &rowLock{tx: tx}
	require.NoError(t, tx.QueryRowContext(t.Context(), "SELECT pg_backend_pid()").Scan(&l.backend))
	var n int
	require.NoError(t, tx.QueryRowContext(t.Context(), `SELECT count(*) FROM (SELECT 1 FROM billing_invoices
		WHERE provider_invoice_id = ANY($1) FOR UPDATE) l`, ids).Scan(&n))
	require.Equal(t, len(ids), n)
	return l
}

func (l *rowLock) release(t *testing.T) { t.Helper(); require.NoError(t, l.tx.Commit()) }

// waitBlocked waits until n statements wait for l's locks.
func (l *rowLock) waitBlocked(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		var waiting int
		err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE $1 = ANY(pg_blocking_pids(pid))`, l.backend).Scan(&waiting)
		return err == nil && waiting == n
	}, 10*time.Second, 5*time.Millisecond, "waiting for %d statements to block on backend %d", n, l.backend)
}

// waitQueued waits until n calls wait for s's next round of marks.
func waitQueued(t *testing.T, s *sqlstore.Store, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return sqlstore.MarkQueued(s) == n },
		10*time.Second, time.Millisecond, "waiting for %d queued marks", n)
}

type markResult struct {
	n   int
	err error
}

// markAsync calls MarkUpdateNeeded in a goroutine; the channel gets its
// result.
func markAsync(ctx context.Context, s *sqlstore.Store, at time.Time, ids ...string) <-chan markResult {
	ch := make(chan markResult, 1)
	go func() {
		n, err := s.MarkUpdateNeeded(ctx, ids, at)
		ch <- markResult{n, err}
	}()
	return ch
}

func receive(t *testing.T, ch <-chan markResult) markResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("MarkUpdateNeeded did not return")
		return markResult{}
	}
}

// openPostgresPair opens a PostgreSQL store and a second one on the same
// schema, whose connections hold the row locks.
func openPostgresPair(t *testing.T) (s, other *sqlstore.Store) {
	t.Helper()
	b := sqltest.Postgres()
	s = b.Open(t)
	return s, b.Reopen(t, s)
}

// TestMarkConcurrentCallsShareOneStatement: 30 calls made while a round
// runs are one statement, counted by pgx's tracer, and each gets its own
// count; ten of them mark the same invoice at the same microsecond, which
// leaves the token those marks leave one after another, at + 9µs.
func TestMarkConcurrentCallsShareOneStatement(t *testing.T) {
	t.Parallel()
	s, rt := openTracedPostgres(t)
	ctx := t.Context()
	ids := seed(t, s, 25)

	url := sqltest.PostgresURL(t)
	cfg, err := pgx.ParseConfig(url)
	require.NoError(t, err)
	cfg.RuntimeParams["search_path"] = pgx.Identifier{sqltest.Scalar[string](t, s.DB(), "SELECT current_schema()")}.Sanitize()
	other := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { _ = other.Close() })

	lock := lockInvoices(t, other, ids[0])
	first := markAsync(ctx, s, epoch, ids[0])
	lock.waitBlocked(t, other, 1)
	rt.take()

	const calls = 30
	results := make([]<-chan markResult, calls)
	for i := range calls {
		switch {
		case i < 10: // the same invoice, the same time
			results[i] = markAsync(ctx, s, epoch, ids[1])
		case i < 20: // two invoices each, one of them unknown
			results[i] = markAsync(ctx, s, epoch.Add(time.Second), ids[i-8], "inv-unknown")
		default: // an invoice twice in one call counts once
			results[i] = markAsync(ctx, s, epoch.Add(time.Second), ids[i-8], ids[i-8])
		}
	}
	waitQueued(t, s, calls)
	lock.release(t)

	r := receive(t, first)
	require.NoError(t, r.err)
	assert.Equal(t, 1, r.n)
	for i, ch := range results {
		r := receive(t, ch)
		require.NoError(t, r.err, "call %d", i)
		assert.Equal(t, 1, r.n, "call %d marked", i)
	}
	n, _, what := rt.take()
	assert.Equal(t, 1, n, "round trips of the 30 calls: %v", what)
	assert.Equal(t, int64(2), sqlstore.MarkRounds(s))

	inv, err := s.InvoiceByProviderID(ctx, ids[1])
	require.NoError(t, err)
	assert.True(t, inv.UpdateNeeded)
	assert.Equal(t, epoch.Add(9*time.Microsecond), inv.UpdateRequestedAt, "ten marks at the same time")
	for _, id := range ids[2:22] {
		inv, err := s.InvoiceByProviderID(ctx, id)
		require.NoError(t, err)
		assert.True(t, inv.UpdateNeeded, id)
		assert.Equal(t, epoch.Add(time.Second), inv.UpdateRequestedAt, id)
	}
	inv, err = s.InvoiceByProviderID(ctx, ids[22])
	require.NoError(t, err)
	assert.False(t, inv.UpdateNeeded, "an invoice no call named")
}

// TestMarkFailedRoundFailsEveryCall: when a round's statement fails (here
// a trigger rejects one call's invoice), every call in that round gets an
// error and none of their invoices is marked; the round before it, already
// committed, stands, and the calls succeed when made again.
func TestMarkFailedRoundFailsEveryCall(t *testing.T) {
	t.Parallel()
	s, other := openPostgresPair(t)
	ctx := t.Context()
	ids := seed(t, s, 6)
	addPoisonTrigger(t, s, ids[5])

	lock := lockInvoices(t, other.DB(), ids[0])
	first := markAsync(ctx, s, epoch, ids[0])
	lock.waitBlocked(t, other.DB(), 1)
	round := []<-chan markResult{
		markAsync(ctx, s, epoch, ids[1]),
		markAsync(ctx, s, epoch, ids[2], ids[3]),
		markAsync(ctx, s, epoch, ids[5]), // the trigger fails the statement
		markAsync(ctx, s, epoch, ids[4]),
	}
	waitQueued(t, s, len(round))
	lock.release(t)

	r := receive(t, first)
	require.NoError(t, r.err)
	assert.Equal(t, 1, r.n)
	for i, ch := range round {
		r := receive(t, ch)
		require.Error(t, r.err, "call %d", i)
		assert.Contains(t, r.err.Error(), "poisoned invoice", "call %d: the statement's error", i)
		assert.Zero(t, r.n, "call %d", i)
	}
	assertMarked(t, s, ids[0], true)
	for _, id := range ids[1:] {
		assertMarked(t, s, id, false)
	}

	n, err := s.MarkUpdateNeeded(ctx, ids[1:5], epoch)
	require.NoError(t, err)
	assert.Equal(t, 4, n)
	for _, id := range ids[1:5] {
		assertMarked(t, s, id, true)
	}
}

// addPoisonTrigger makes every statement that updates the invoice with
// provider id poison fail.
func addPoisonTrigger(t *testing.T, s *sqlstore.Store, poison string) {
	t.Helper()
	_, err := s.DB().ExecContext(t.Context(), `CREATE FUNCTION poison_mark() RETURNS trigger AS $$
		BEGIN
			IF NEW.provider_invoice_id = '`+poison+`' THEN
				RAISE EXCEPTION 'poisoned invoice %', NEW.provider_invoice_id;
			END IF;
			RETURN NEW;
		END $$ LANGUAGE plpgsql`)
	require.NoError(t, err)
	_, err = s.DB().ExecContext(t.Context(), `CREATE TRIGGER poison_mark BEFORE UPDATE ON billing_invoices
		FOR EACH ROW EXECUTE FUNCTION poison_mark()`)
	require.NoError(t, err)
}

func assertMarked(t *testing.T, s *sqlstore.Store, id string, want bool) {
	t.Helper()
	inv, err := s.InvoiceByProviderID(t.Context(), id)
	require.NoError(t, err)
	assert.Equal(t, want, inv.UpdateNeeded, "%s marked", id)
}

// TestMarkLosesNothingAcknowledged: 32 goroutines mark at once, one call
// in forty naming an invoice a trigger rejects, so some rounds fail. Every
// call that returned nil has its invoices marked with a token at least its
// time, and a failed call reports the statement's error.
func TestMarkLosesNothingAcknowledged(t *testing.T) {
	t.Parallel()
	s, _ := openPostgresPair(t)
	ctx := t.Context()
	const invoices, workers, callsEach = 20, 32, 25
	ids := seed(t, s, invoices+1)
	poison := ids[invoices]
	addPoisonTrigger(t, s, poison)

	type ack struct {
		ids []string
		at  time.Time
	}
	var (
		mu     sync.Mutex
		acked  []ack
		failed int
		wg     sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for c := range callsEach {
				at := epoch.Add(time.Duration(w*callsEach+c) * time.Millisecond)
				call := []string{ids[rng.IntN(invoices)], ids[rng.IntN(invoices)]}
				if rng.IntN(40) == 0 {
					call = append(call, poison)
				}
				n, err := s.MarkUpdateNeeded(ctx, call, at)
				mu.Lock()
				if err != nil {
					failed++
					assert.ErrorContains(t, err, "poisoned invoice")
				} else {
					acked = append(acked, ack{call, at})
					assert.NotContains(t, call, poison, "a call naming the rejected invoice succeeded")
					want := 2
					if call[0] == call[1] {
						want = 1
					}
					assert.Equal(t, want, n)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.NotEmpty(t, acked)
	require.NotZero(t, failed)
	t.Logf("%d calls acknowledged, %d failed, in %d rounds", len(acked), failed, sqlstore.MarkRounds(s))
	tokens := map[string]time.Time{}
	for _, id := range ids[:invoices] {
		inv, err := s.InvoiceByProviderID(ctx, id)
		require.NoError(t, err)
		if inv.UpdateNeeded {
			tokens[id] = inv.UpdateRequestedAt
		}
	}
	for _, a := range acked {
		for _, id := range a.ids {
			tok, ok := tokens[id]
			if assert.True(t, ok, "%s was acknowledged but is not marked", id) {
				assert.False(t, tok.Before(a.at), "%s: token %s is before an acknowledged mark at %s", id, tok, a.at)
			}
		}
	}
}

// TestMarkQueuedCallCancelled: a call whose context ends while it waits
// for a round returns the context's error at once and marks nothing.
func TestMarkQueuedCallCancelled(t *testing.T) {
	t.Parallel()
	s, other := openPostgresPair(t)
	ids := seed(t, s, 2)

	lock := lockInvoices(t, other.DB(), ids[0])
	first := markAsync(t.Context(), s, epoch, ids[0])
	lock.waitBlocked(t, other.DB(), 1)
	ctx, cancel := context.WithCancel(t.Context())
	queued := markAsync(ctx, s, epoch, ids[1])
	waitQueued(t, s, 1)
	cancel()
	r := receive(t, queued)
	require.ErrorIs(t, r.err, context.Canceled)
	assert.Zero(t, sqlstore.MarkQueued(s))

	lock.release(t)
	require.NoError(t, receive(t, first).err)
	assertMarked(t, s, ids[1], false)
	assert.Equal(t, int64(1), sqlstore.MarkRounds(s), "no round for the cancelled call")
}

// TestMarkRoundOutlivesOneCallersContext: a call whose context ends while
// its round runs returns at once, and the round goes on for the others in
// it; when every caller of a round has gone, the statement is cancelled.
func TestMarkRoundOutlivesOneCallersContext(t *testing.T) {
	t.Parallel()
	s, other := openPostgresPair(t)
	ids := seed(t, s, 5)

	first := lockInvoices(t, other.DB(), ids[0])
	second := lockInvoices(t, other.DB(), ids[2])
	r1 := markAsync(t.Context(), s, epoch, ids[0])
	first.waitBlocked(t, other.DB(), 1)
	ctx, cancel := context.WithCancel(t.Context())
	leaving := markAsync(ctx, s, epoch, ids[1])
	staying := markAsync(t.Context(), s, epoch, ids[2])
	waitQueued(t, s, 2)
	first.release(t)
	require.NoError(t, receive(t, r1).err)
	second.waitBlocked(t, other.DB(), 1) // the round of both calls waits
	cancel()
	r := receive(t, leaving)
	require.ErrorIs(t, r.err, context.Canceled)
	second.release(t)
	r = receive(t, staying)
	require.NoError(t, r.err)
	assert.Equal(t, 1, r.n)
	assertMarked(t, s, ids[2], true)

	// A round whose only caller leaves: its statement is cancelled.
	third := lockInvoices(t, other.DB(), ids[3])
	ctx, cancel = context.WithCancel(t.Context())
	alone := markAsync(ctx, s, epoch, ids[3], ids[4])
	third.waitBlocked(t, other.DB(), 1)
	cancel()
	require.ErrorIs(t, receive(t, alone).err, context.Canceled)
	third.waitBlocked(t, other.DB(), 0)
	third.release(t)
	assertMarked(t, s, ids[3], false)
	assertMarked(t, s, ids[4], false)
}

// TestMarkInputsThatCannotReachPostgres: ids PostgreSQL cannot store (NUL,
// invalid UTF-8) are unknown ids, ignored, and a time outside its range
// fails that call alone, so neither can fail a round others share.
func TestMarkInputsThatCannotReachPostgres(t *testing.T) {
	t.Parallel()
	s, _ := openPostgresPair(t)
	ctx := t.Context()
	ids := seed(t, s, 1)

	n, err := s.MarkUpdateNeeded(ctx, []string{"a\x00b", "\xff\xfe", ids[0]}, epoch)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	n, err = s.MarkUpdateNeeded(ctx, []string{"a\x00b"}, epoch)
	require.NoError(t, err)
	assert.Zero(t, n)

	for _, at := range []time.Time{
		time.Date(300000, time.January, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-5000, time.January, 1, 0, 0, 0, 0, time.UTC),
	} {
		_, err := s.MarkUpdateNeeded(ctx, ids, at)
		require.Error(t, err, at)
		assert.ErrorContains(t, err, "outside PostgreSQL's range")
	}
	// Far but inside the range: stored and read back.
	far := time.Date(200000, time.January, 1, 0, 0, 0, 0, time.UTC)
	_, err = s.MarkUpdateNeeded(ctx, ids, far)
	require.NoError(t, err)
	inv, err := s.InvoiceByProviderID(ctx, ids[0])
	require.NoError(t, err)
	assert.Equal(t, far, inv.UpdateRequestedAt)
}
