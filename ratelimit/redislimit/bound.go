package redislimit

import (
	"context"
	"fmt"
	"time"
)

// bounded runs f under a context that ends after d (or with ctx), and
// returns when that context ends even if f has not: go-redis lets a context
// deadline interrupt a read only with its ContextTimeoutEnabled option, and
// a Redis that hangs must not hold a call to Xero for the Redis client's
// own read timeouts and retries. An abandoned f goes on in the background
// until the Redis client gives up; late, when not nil, then receives its
// result (a grant to give back, say).
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
		// A Redis client with ContextTimeoutEnabled stops at the bound by
		// itself; report that the same way.
		timedOut := r.err != nil && ctx.Err() == nil && bctx.Err() != nil
		cancel()
		if timedOut {
			return r.v, fmt.Errorf("redis did not answer within %v: %v", d, r.err)
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
		return zero, fmt.Errorf("redis did not answer within %v", d)
	}
}
