package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// maxRoundIDs bounds the provider ids of one round of marks, so one
// statement's arrays stay small; a call with more ids has a round alone.
const maxRoundIDs = 1000

// pgTimeInRange reports whether t fits PostgreSQL's TIMESTAMPTZ, 4713 BC to
// 294276 AD. A mark time outside, sent, would fail the whole round, so it
// fails its call alone. A day's margin leaves room for the microseconds the
// token rule adds.
func pgTimeInRange(t time.Time) bool {
	return !t.Before(time.Date(-4712, time.November, 25, 0, 0, 0, 0, time.UTC)) &&
		t.Before(time.Date(294276, time.December, 30, 0, 0, 0, 0, time.UTC))
}

// markGroup is a group commit of MarkUpdateNeeded on PostgreSQL. A commit
// waits for the WAL flush, and with one statement per call 32 concurrent
// webhook deliveries queue behind each other's flushes, or, all naming one
// invoice, behind each other's row lock. Instead, one round at a time is in
// flight: the calls that arrive while it runs wait together and go as the
// next round, one statement and one commit. A call returns once the round
// holding its ids committed, or with that round's error.
type markGroup struct {
	mu      sync.Mutex
	running bool        // a goroutine is running rounds
	queue   []*markCall // waiting for the next round, in arrival order
	// rounds counts the rounds run, for the tests.
	rounds atomic.Int64
}

// markCall is one MarkUpdateNeeded call waiting in a markGroup.
type markCall struct {
	ctx   context.Context
	ids   []string // distinct, non-empty
	at    time.Time
	taken bool          // in a round (guarded by markGroup.mu)
	done  chan struct{} // closed when n and err are set
	n     int
	err   error
}

// markGrouped marks ids at at in a round of markGroup and returns how many
// invoices it marked.
func (s *Store) markGrouped(ctx context.Context, providerIDs []string, at time.Time) (int, error) {
	ids := pgMarkIDs(providerIDs)
	if len(ids) == 0 {
		return 0, nil
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("sqlstore: mark %d invoices: %w", len(ids), context.Cause(ctx))
	}
	c := &markCall{ctx: ctx, ids: ids, at: at.UTC().Truncate(time.Microsecond), done: make(chan struct{})}
	g := s.marks
	g.mu.Lock()
	g.queue = append(g.queue, c)
	if !g.running {
		g.running = true
		go s.runMarkRounds()
	}
	g.mu.Unlock()

	select {
	case <-c.done:
		return c.n, c.err
	case <-ctx.Done():
	}
	g.mu.Lock()
	if !c.taken {
		// Not yet in a round: nothing of it is written.
		g.queue = slices.DeleteFunc(g.queue, func(q *markCall) bool { return q == c })
		g.mu.Unlock()
		return 0, fmt.Errorf("sqlstore: mark %d invoices: %w", len(ids), context.Cause(ctx))
	}
	g.mu.Unlock()
	select {
	case <-c.done: // the round ended meanwhile: its result stands
		return c.n, c.err
	default:
	}
	// The round is running and may yet commit, as a statement cancelled
	// during its commit may: the error does not say the marks are absent.
	return 0, fmt.Errorf("sqlstore: mark %d invoices: %w", len(ids), context.Cause(ctx))
}

// pgMarkIDs returns the distinct ids that can name an invoice on
// PostgreSQL. A text value holds neither NUL nor invalid UTF-8, so an id
// with either is unknown and ignored; sent, it would fail the whole round.
func pgMarkIDs(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id == "" || !utf8.ValidString(id) || strings.IndexByte(id, 0) >= 0 {
			continue
		}
		out = append(out, id)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// runMarkRounds runs rounds until no call waits.
func (s *Store) runMarkRounds() {
	g := s.marks
	for {
		g.mu.Lock()
		round := g.takeRound()
		if len(round) == 0 {
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		s.markRound(round)
	}
}

// takeRound removes the next round from the queue: the calls in arrival
// order up to maxRoundIDs ids, at least one. g.mu is held.
func (g *markGroup) takeRound() []*markCall {
	k, ids := 0, 0
	for k < len(g.queue) && (k == 0 || ids+len(g.queue[k].ids) <= maxRoundIDs) {
		ids += len(g.queue[k].ids)
		g.queue[k].taken = true
		k++
	}
	round := slices.Clone(g.queue[:k])
	g.queue = slices.Delete(g.queue, 0, k)
	return round
}

// markRound runs one round's statement and hands each call its result.
// The statement's context ends when every caller's has ended (there is
// then no one left to answer), not when the first one's does.
func (s *Store) markRound(round []*markCall) {
	s.marks.rounds.Add(1)
	ctx, cancel := context.WithCancel(context.WithoutCancel(round[0].ctx))
	defer cancel()
	var live atomic.Int64
	live.Store(int64(len(round)))
	for _, c := range round {
		stop := context.AfterFunc(c.ctx, func() {
			if live.Add(-1) == 0 {
				cancel()
			}
		})
		defer stop()
	}

	var (
		pids    []string
		ats     []time.Time
		callers []int32
	)
	for i, c := range round {
		for _, id := range c.ids {
			pids = append(pids, id)
			ats = append(ats, c.at)
			callers = append(callers, int32(i))
		}
	}
	counts, err := s.runMarkStatement(ctx, pids, ats, callers, len(round))
	for i, c := range round {
		if err != nil {
			c.err = fmt.Errorf("sqlstore: mark %d invoices (in a round of %d calls): %w", len(c.ids), len(round), err)
		} else {
			c.n = counts[i]
		}
		close(c.done)
	}
}

// runMarkStatement runs pgMark and returns the invoices each caller marked.
func (s *Store) runMarkStatement(ctx context.Context, pids []string, ats []time.Time, callers []int32, n int) ([]int, error) {
	rows, err := s.db.QueryContext(ctx, s.q.mark, pids, ats, callers)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	counts := make([]int, n)
	for rows.Next() {
		var caller, marked int64
		if err := rows.Scan(&caller, &marked); err != nil {
			return nil, err
		}
		if caller < 0 || caller >= int64(n) {
			return nil, fmt.Errorf("mark round: caller %d out of range", caller)
		}
		counts[caller] = int(marked)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return counts, nil
}
