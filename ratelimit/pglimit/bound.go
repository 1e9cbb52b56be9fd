package pglimit

import (
	"context"
	"fmt"
	"time"
)

// bounded runs f under a context that ends after d (or with ctx), and
// returns when that context ends even if f has not: pgx stops at a context
// deadline, but a DB that is some other wrapper may not, and a database that
// hangs must not hold a call to Xero. An abandoned f goes on in the
// background; late, when not nil, then receives its result (a grant to give
// back, say).
//
// When the bound passes first the error says so without wrapping
// context.DeadlineExceeded, which callers would take for their own
// deadline; when ctx ends first its error is returned.
func bounded[T any](ctx context.Context, d time.Duration, f func(context.Context) (T, error), late func(T, error)) (T, error) {
	bctx, cancel := context.WithTimeout(ctx, d)
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f(bctx)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		// pgx stops at the bound by itself; report that the same way.
		timedOut := r.err != nil && ctx.Err() == nil && bctx.Err() != nil
		cancel()
		if timedOut {
			return r.v, &timeoutError{bound: d, cause: r.err}
		}
		return r.v, r.err
	case <-bctx.Done():
		cancel()
		go func() {
			r := <-done
			if late != nil {
				late(r.v, r.err)
			}
		}()
		var zero T
		if err := ctx.Err(); err != nil {
			return zero, err
		}
		return zero, &timeoutError{bound: d}
	}
}

// timeoutError says the database did not answer within the limiter's bound.
// It keeps the driver's error as text only: that error wraps
// context.DeadlineExceeded, which callers would take for their own.
type timeoutError struct {
	bound time.Duration
	cause error
}

func (e *timeoutError) Error() string {
	if e.cause == nil {
		return fmt.Sprintf("postgres did not answer within %v", e.bound)
	}
	return fmt.Sprintf("postgres did not answer within %v: %v", e.bound, e.cause)
}
