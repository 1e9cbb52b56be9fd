package pglimit

import "errors"

// ErrUnavailable matches, with errors.Is, the error Acquire returns when the
// limiter cannot ask PostgreSQL and Options.FailOpen is off.
var ErrUnavailable = errors.New("pglimit: rate limit store unavailable")

// errNoDB is the cause of an UnavailableError from a Limiter built without
// a database.
var errNoDB = errors.New("no database")

// UnavailableError is returned by Acquire when PostgreSQL could not be asked
// (or answered with an error, or not within Options.AcquireTimeout) and
// Options.FailOpen is off. No request was sent. It is temporary:
// billing.IsTemporary reports true, so a job keeps its work and tries again
// later.
type UnavailableError struct {
	Tenant string
	Err    error // the database driver's error
}

func (e *UnavailableError) Error() string {
	return "pglimit: rate limit store unavailable: " + e.Err.Error()
}

// Unwrap returns the database driver's error.
func (e *UnavailableError) Unwrap() error { return e.Err }

// Is reports whether target is ErrUnavailable.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// Temporary reports true: the database may be back soon.
func (e *UnavailableError) Temporary() bool { return true }
