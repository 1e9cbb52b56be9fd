package ratelimit

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/amsbilling/sdk/internal/xerolimit"
)

// The older headers some answers still carry.
const (
	headerLegacyLimit          = "X-Rate-Limit-Limit"
	headerLegacyLimitRemaining = "X-Rate-Limit-Remaining"
)

const (
	maxRetryAfter            = 24 * time.Hour
	retryAfterSecondsCeiling = int64(maxRetryAfter / time.Second)
	maxProblemLen            = 64
	unreported               = -1
)

// Remaining holds the counts a response reported. A field is -1 when the
// header was missing or not a non-negative integer.
type Remaining struct {
	Minute    int // X-MinLimit-Remaining: calls left in the tenant's rolling minute
	Day       int // X-DayLimit-Remaining: calls left in the tenant's rolling day
	AppMinute int // X-AppMinLimit-Remaining: calls left in the app's minute
	Limit     int // X-Rate-Limit-Limit: the older header's limit
	Legacy    int // X-Rate-Limit-Remaining: the older header's remaining count
}

// unknownRemaining is a Remaining with nothing reported.
func unknownRemaining() Remaining {
	return Remaining{Minute: unreported, Day: unreported, AppMinute: unreported, Limit: unreported, Legacy: unreported}
}

// Info is what a response's rate-limit headers say.
type Info struct {
	Problem    Problem       // empty when the header is absent
	RetryAfter time.Duration // zero when absent, invalid or in the past; at most 24h
	Remaining  Remaining
}

// ParseHeaders reads Xero's rate-limit headers. now resolves a Retry-After
// given as an HTTP-date. It never fails: a bad count becomes -1 and a bad
// Retry-After zero.
func ParseHeaders(h http.Header, now time.Time) Info {
	return Info{
		Problem:    parseProblem(h.Get(xerolimit.HeaderProblem)),
		RetryAfter: parseRetryAfter(h.Get(xerolimit.HeaderRetryAfter), now),
		Remaining: Remaining{
			Minute:    parseCount(h.Get(xerolimit.HeaderMinLimitRemaining)),
			Day:       parseCount(h.Get(xerolimit.HeaderDayLimitRemaining)),
			AppMinute: parseCount(h.Get(xerolimit.HeaderAppMinLimitRemaining)),
			Limit:     parseCount(h.Get(headerLegacyLimit)),
			Legacy:    parseCount(h.Get(headerLegacyLimitRemaining)),
		},
	}
}

func parseCount(v string) int {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return unreported
	}
	return n
}

// parseProblem maps Xero's value onto the constants; other text is kept, but
// only printable ASCII and a bounded length, since it ends up in messages.
func parseProblem(v string) Problem {
	v = strings.TrimSpace(v)
	for _, p := range []Problem{ProblemMinute, ProblemDay, ProblemConcurrent, ProblemAppMinute} {
		if strings.EqualFold(v, string(p)) {
			return p
		}
	}
	var b strings.Builder
	for i := 0; i < len(v) && b.Len() < maxProblemLen; i++ {
		if c := v[i]; c >= 0x20 && c < 0x7f {
			b.WriteByte(c)
		}
	}
	return Problem(strings.TrimSpace(b.String()))
}

// parseRetryAfter accepts delay-seconds (fractions too) or an HTTP-date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		// On overflow ParseInt returns the extreme of the sign, which clamps below.
		return clampRetry(secondsToDuration(n))
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(f) {
		if f <= 0 {
			return 0
		}
		if f >= float64(retryAfterSecondsCeiling) {
			return maxRetryAfter
		}
		return time.Duration(math.Ceil(f * float64(time.Second)))
	}
	if t, err := http.ParseTime(v); err == nil {
		return clampRetry(t.Sub(now))
	}
	return 0
}

func secondsToDuration(n int64) time.Duration {
	if n <= 0 {
		return 0
	}
	if n >= retryAfterSecondsCeiling {
		return maxRetryAfter
	}
	return time.Duration(n) * time.Second
}

func clampRetry(d time.Duration) time.Duration {
	switch {
	case d < 0:
		return 0
	case d > maxRetryAfter:
		return maxRetryAfter
	default:
		return d
	}
}

// left is what the limit rules read of r.
func (r Remaining) left() xerolimit.Left {
	return xerolimit.Left{Minute: r.Minute, Day: r.Day, AppMinute: r.AppMinute}
}
