package ratelimit

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrRateLimited matches every *RateLimitError with errors.Is.
var ErrRateLimited = errors.New("ratelimit: rate limited")

// RateLimitError says a call was refused because of a rate limit, either by
// Xero (HTTP 429) or by the local Limiter before any request was sent.
type RateLimitError struct {
	RetryAfter time.Duration // how long until the call may succeed; zero when unknown
	Problem    Problem       // which limit; empty when unknown
	Remaining  Remaining     // counts from Xero's response; -1 where not reported
	Local      bool          // refused by the local Limiter: no request was sent
	Tenant     string        // the Xero tenant, when known
}

// Error tells a person what to do, for example
// "billing system busy, try again in 30s: minute limit".
func (e *RateLimitError) Error() string {
	if e.RetryAfter <= 0 {
		return "billing system busy, try again later: " + e.Problem.String()
	}
	return "billing system busy, try again in " + formatWait(e.RetryAfter) + ": " + e.Problem.String()
}

// Is reports whether target is ErrRateLimited.
func (e *RateLimitError) Is(target error) bool {
	return target == ErrRateLimited
}

// FromResponse returns a *RateLimitError for an HTTP 429 response, filled from
// its headers, and nil for any other status.
func FromResponse(status int, h http.Header, now time.Time) *RateLimitError {
	if status != http.StatusTooManyRequests {
		return nil
	}
	info := ParseHeaders(h, now)
	return &RateLimitError{RetryAfter: info.RetryAfter, Problem: info.Problem, Remaining: info.Remaining}
}

// formatWait rounds d up to whole seconds and prints it compactly: 2s, 1m30s, 1h5m.
func formatWait(d time.Duration) string {
	secs := int64(d / time.Second)
	if d%time.Second != 0 {
		secs++
	}
	h, m, s := secs/3600, secs%3600/60, secs%60
	var b strings.Builder
	if h > 0 {
		b.WriteString(strconv.FormatInt(h, 10) + "h")
	}
	if m > 0 {
		b.WriteString(strconv.FormatInt(m, 10) + "m")
	}
	if s > 0 || b.Len() == 0 {
		b.WriteString(strconv.FormatInt(s, 10) + "s")
	}
	return b.String()
}

// Temporary reports true: a rate limit means "try again later", never "this
// request is wrong". billing.IsTemporary relies on it, so a rate-limited job
// keeps its work instead of blaming an invoice.
func (e *RateLimitError) Temporary() bool { return true }
