package redislimit

import "errors"

// ErrUnavailable matches, with errors.Is, the error Acquire returns when the
// limiter cannot ask Redis and Options.FailOpen is off.
var ErrUnavailable = errors.New("redislimit: rate limit store unavailable")

// UnavailableError is returned by Acquire when Redis could not be asked (or
// answered with an error) and Options.FailOpen is off. No request was sent.
// It is temporary: billing.IsTemporary reports true, so a job keeps its work
// and tries again later.
type UnavailableError struct {
	Tenant string
	Err    error // the Redis client's error
}

func (e *UnavailableError) Error() string {
	return "redislimit: rate limit store unavailable: " + e.Err.Error()
}

// Unwrap returns the Redis client's error.
func (e *UnavailableError) Unwrap() error { return e.Err }

// Is reports whether target is ErrUnavailable.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// Temporary reports true: Redis may be back soon.
func (e *UnavailableError) Temporary() bool { return true }
