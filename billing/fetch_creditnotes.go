package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
)

// CreditNoteFetch reports the credit-note marks one fetch run drained.
type CreditNoteFetch struct {
	// Claimed is how many marked credit notes the run took.
	Claimed int
	// Refreshed lists the provider ids of the credit notes fetched, saved
	// and unmarked.
	Refreshed []string
	// Dropped lists those unmarked without being kept: the provider has no
	// such credit note, it is not a sales credit note, or none of its
	// invoices is stored.
	Dropped []string
	// Remarked lists credit notes fetched while a newer mark arrived; they
	// stay marked for the next run.
	Remarked []string
	// Failed lists credit notes whose refresh failed; they stay marked.
	Failed []CreditNoteFailure
	// InvoicesMarked counts the stored invoices the refreshed credit notes
	// touch, marked for update so the same run refreshes them.
	InvoicesMarked int
	// Calls counts the requests made to the provider for them.
	Calls int
}

func (c *CreditNoteFetch) merge(o CreditNoteFetch) {
	c.Claimed += o.Claimed
	c.Refreshed = append(c.Refreshed, o.Refreshed...)
	c.Dropped = append(c.Dropped, o.Dropped...)
	c.Remarked = append(c.Remarked, o.Remarked...)
	c.Failed = append(c.Failed, o.Failed...)
	c.InvoicesMarked += o.InvoicesMarked
	c.Calls += o.Calls
}

// CreditNoteFailure is one credit note a run could not refresh.
type CreditNoteFailure struct {
	ProviderID string
	Reason     string
	SetAside   bool // failed MaxAttempts times: no longer claimed until marked again
}

// creditFetcher drains one batch of credit-note marks, as fetcher does
// invoices: a call that fails for a reason of its own is split in halves
// until the credit notes to blame are found.
type creditFetcher struct {
	svc  CreditNoteUpdater
	q    CreditNoteQueue
	opts FetchOptions
	res  *CreditNoteFetch
	// answered is set once the provider answered for a credit note of
	// this run: proof that it works, so one that fails is to blame.
	answered bool
	suspects []creditSuspect
	fails    []error
}

type creditSuspect struct {
	claim  CreditNoteClaim
	reason string
}

func creditClaimsOf(ss []creditSuspect) []CreditNoteClaim {
	out := make([]CreditNoteClaim, len(ss))
	for i, s := range ss {
		out[i] = s.claim
	}
	return out
}

// fetchCreditNotes claims up to opts.Limit credit-note marks and refreshes
// them. stop is an error that ends the whole run (every claim not ended is
// released); failed joins the credit notes that failed, which do not.
func fetchCreditNotes(ctx context.Context, svc CreditNoteUpdater, q CreditNoteQueue, opts FetchOptions, res *CreditNoteFetch) (stop, failed error) {
	claims, err := q.ClaimCreditNotes(ctx, opts.Now(), opts.Limit, opts.Lease)
	if err != nil {
		return fmt.Errorf("billing: claiming credit-note updates: %w", err), nil
	}
	res.Claimed = len(claims)
	if len(claims) == 0 {
		return nil, nil
	}
	f := creditFetcher{svc: svc, q: q, opts: opts, res: res}
	return f.run(ctx, claims)
}

func (f *creditFetcher) run(ctx context.Context, claims []CreditNoteClaim) (stop, failed error) {
	pending := [][]CreditNoteClaim{claims}
	for len(pending) > 0 {
		batch := pending[0]
		pending = pending[1:]
		err := f.batch(ctx, batch)
		if err == nil {
			continue
		}
		if errors.Is(err, ErrUnauthorized) {
			err = fmt.Errorf("billing: refreshing credit notes stopped: the billing provider refused the app's credentials or permissions; no credit note was blamed and every one stays marked: %w", err)
		} else if !IsTemporary(err) && ctx.Err() == nil {
			if len(batch) > 1 {
				half := len(batch) / 2
				pending = append([][]CreditNoteClaim{batch[:half], batch[half:]}, pending...)
			} else {
				f.suspects = append(f.suspects, creditSuspect{batch[0], err.Error()})
			}
			continue
		}
		rest := slices.Concat(append(append([][]CreditNoteClaim{batch}, pending...), creditClaimsOf(f.suspects))...)
		return f.stop(ctx, err, rest), nil
	}
	maxAttempts := 0
	if f.answered {
		maxAttempts = f.opts.MaxAttempts
	}
	for i, s := range f.suspects {
		if err := f.fail(ctx, s, maxAttempts); err != nil {
			return f.stop(ctx, err, creditClaimsOf(f.suspects[i:])), nil
		}
	}
	return nil, errors.Join(f.fails...)
}

// stop releases the claims the run has not ended and returns err with the
// failures recorded so far.
func (f *creditFetcher) stop(ctx context.Context, err error, open []CreditNoteClaim) error {
	if rerr := f.q.ReleaseCreditNotes(context.WithoutCancel(ctx), open); rerr != nil {
		err = errors.Join(err, fmt.Errorf("billing: releasing credit-note claims: %w", rerr))
	}
	return errors.Join(append([]error{err}, f.fails...)...)
}

// batch makes one UpdateCreditNotes call and ends, in one store call, the
// claims of the credit notes it refreshed or dropped; the others become
// suspects. On an error no claim of the batch has ended.
func (f *creditFetcher) batch(ctx context.Context, claims []CreditNoteClaim) error {
	ids := make([]string, len(claims))
	for i, c := range claims {
		ids[i] = c.ProviderID
	}
	ur, err := f.svc.UpdateCreditNotes(ctx, ids)
	f.res.Calls += ur.Calls
	f.res.InvoicesMarked += ur.InvoicesMarked
	if err != nil {
		return err
	}
	refreshed := make(map[string]bool, len(ur.Refreshed))
	for _, id := range ur.Refreshed {
		refreshed[id] = true
	}
	dropped := make(map[string]bool, len(ur.Dropped))
	for _, id := range ur.Dropped {
		dropped[id] = true
	}
	var done []CreditNoteClaim
	var suspects []creditSuspect
	for _, c := range claims {
		id := c.ProviderID
		switch {
		case refreshed[id] || dropped[id]:
			done = append(done, c)
		case ur.Failed[id] != nil:
			suspects = append(suspects, creditSuspect{c, ur.Failed[id].Error()})
			f.answered = f.answered || errors.Is(ur.Failed[id], ErrUnreadable)
		default:
			suspects = append(suspects, creditSuspect{c, "not returned by the billing provider"})
		}
	}
	if len(done) > 0 {
		f.answered = true
		cleared, err := f.q.CompleteCreditNotes(ctx, done)
		if err != nil {
			return storeFailed(err)
		}
		for i, c := range done {
			switch {
			case !cleared[i]:
				f.res.Remarked = append(f.res.Remarked, c.ProviderID)
			case refreshed[c.ProviderID]:
				f.res.Refreshed = append(f.res.Refreshed, c.ProviderID)
			default:
				f.res.Dropped = append(f.res.Dropped, c.ProviderID)
			}
		}
	}
	f.suspects = append(f.suspects, suspects...)
	return nil
}

func (f *creditFetcher) fail(ctx context.Context, s creditSuspect, maxAttempts int) error {
	m, err := f.q.FailCreditNote(ctx, s.claim, s.reason, maxAttempts)
	if errors.Is(err, ErrNotFound) {
		return nil // the mark is gone: nothing to record
	}
	if err != nil {
		return storeFailed(fmt.Errorf("recording failed refresh of credit note %s: %w", s.claim.ProviderID, err))
	}
	f.res.Failed = append(f.res.Failed, CreditNoteFailure{ProviderID: s.claim.ProviderID, Reason: s.reason, SetAside: m.SetAside})
	f.fails = append(f.fails, fmt.Errorf("credit note %s: %s", s.claim.ProviderID, s.reason))
	level := slog.LevelWarn
	if m.SetAside {
		level = slog.LevelError
	}
	f.opts.Logger.LogAttrs(ctx, level, "billing: credit note refresh failed",
		slog.String("credit_note", s.claim.ProviderID), slog.String("reason", s.reason),
		slog.Int("attempts", m.Attempts), slog.Bool("set_aside", m.SetAside))
	return nil
}
