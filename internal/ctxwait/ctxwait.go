package ctxwait

import (
	"context"
	"errors"
	"time"
)

// ErrDeadlineTooSoon is returned by SleepWithin when the context's deadline
// would pass before the wait ends: whatever follows the wait could not
// finish anyway.
var ErrDeadlineTooSoon = errors.New("context deadline comes before the wait ends")

// Sleep waits until d has passed, wake delivers or is closed, or ctx ends,
// whichever comes first. It returns ctx.Err() when ctx ended, else nil.
// With d <= 0 there is no timer: it waits for wake or ctx, and returns
// ctx.Err() at once when wake is nil.
func Sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) error {
	if d <= 0 && wake == nil {
		return ctx.Err()
	}
	var fired <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		fired = t.C
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-wake:
	case <-fired:
	}
	return nil
}

// SleepWithin is Sleep without a wake channel that refuses at once, with
// ErrDeadlineTooSoon, when ctx's deadline comes before d has passed.
func SleepWithin(ctx context.Context, d time.Duration) error {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= d {
		return ErrDeadlineTooSoon
	}
	return Sleep(ctx, d, nil)
}
