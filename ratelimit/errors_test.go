package ratelimit_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/ratelimit"
)

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    ratelimit.Problem
		want string
	}{
		{"", "rate limit"},
		{ratelimit.ProblemMinute, "minute limit"},
		{ratelimit.ProblemDay, "daily limit"},
		{ratelimit.ProblemConcurrent, "concurrent request limit"},
		{ratelimit.ProblemAppMinute, "app-wide minute limit"},
		{"hourly", "hourly limit"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.p.String(), "problem %q", string(tt.p))
	}
}

func TestRateLimitErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  ratelimit.RateLimitError
		want string
	}{
		{"seconds", ratelimit.RateLimitError{RetryAfter: 30 * time.Second, Problem: ratelimit.ProblemMinute}, "billing system busy, try again in 30s: minute limit"},
		{"unknown wait and problem", ratelimit.RateLimitError{}, "billing system busy, try again later: rate limit"},
		{"negative wait", ratelimit.RateLimitError{RetryAfter: -time.Second, Problem: ratelimit.ProblemDay}, "billing system busy, try again later: daily limit"},
		{"fraction rounds up", ratelimit.RateLimitError{RetryAfter: 1200 * time.Millisecond, Problem: ratelimit.ProblemDay}, "billing system busy, try again in 2s: daily limit"},
		{"tiny rounds up", ratelimit.RateLimitError{RetryAfter: time.Nanosecond, Problem: ratelimit.ProblemConcurrent}, "billing system busy, try again in 1s: concurrent request limit"},
		{"minutes and seconds", ratelimit.RateLimitError{RetryAfter: 90 * time.Second, Problem: ratelimit.ProblemConcurrent}, "billing system busy, try again in 1m30s: concurrent request limit"},
		{"whole minutes", ratelimit.RateLimitError{RetryAfter: 2 * time.Minute, Problem: ratelimit.ProblemAppMinute}, "billing system busy, try again in 2m: app-wide minute limit"},
		{"hours", ratelimit.RateLimitError{RetryAfter: 24 * time.Hour, Problem: ratelimit.ProblemDay}, "billing system busy, try again in 24h: daily limit"},
		{"hours minutes seconds", ratelimit.RateLimitError{RetryAfter: 3661 * time.Second}, "billing system busy, try again in 1h1m1s: rate limit"},
		{"unknown problem", ratelimit.RateLimitError{RetryAfter: 5 * time.Second, Problem: "hourly"}, "billing system busy, try again in 5s: hourly limit"},
		{"local and tenant stay out of the text", ratelimit.RateLimitError{RetryAfter: time.Second, Problem: ratelimit.ProblemMinute, Local: true, Tenant: "org-1"}, "billing system busy, try again in 1s: minute limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.err.Error())
		})
	}
}

func TestRateLimitErrorIsAs(t *testing.T) {
	orig := &ratelimit.RateLimitError{RetryAfter: time.Minute, Problem: ratelimit.ProblemDay, Tenant: "org-1"}
	wrapped := fmt.Errorf("create invoice: %w", orig)

	assert.ErrorIs(t, wrapped, ratelimit.ErrRateLimited)
	var got *ratelimit.RateLimitError
	require.ErrorAs(t, wrapped, &got)
	assert.Same(t, orig, got)

	assert.NotErrorIs(t, errors.New("other"), ratelimit.ErrRateLimited)
	assert.NotErrorIs(t, wrapped, errors.New("ratelimit: rate limited"), "only the sentinel itself matches")
}

func TestFromResponse(t *testing.T) {
	h := headers("Retry-After", "12", "X-Rate-Limit-Problem", "concurrent", "X-DayLimit-Remaining", "100")

	for _, status := range []int{http.StatusOK, http.StatusBadRequest, http.StatusServiceUnavailable} {
		assert.Nil(t, ratelimit.FromResponse(status, h, testNow), "status %d", status)
	}

	err := ratelimit.FromResponse(http.StatusTooManyRequests, h, testNow)
	require.NotNil(t, err)
	assert.Equal(t, 12*time.Second, err.RetryAfter)
	assert.Equal(t, ratelimit.ProblemConcurrent, err.Problem)
	assert.Equal(t, ratelimit.Remaining{Minute: -1, Day: 100, AppMinute: -1, Limit: -1, Legacy: -1}, err.Remaining)
	assert.False(t, err.Local)
	assert.ErrorIs(t, err, ratelimit.ErrRateLimited)

	bare := ratelimit.FromResponse(http.StatusTooManyRequests, nil, testNow)
	require.NotNil(t, bare)
	assert.Zero(t, bare.RetryAfter)
	assert.Equal(t, "billing system busy, try again later: rate limit", bare.Error())
}

func TestRateLimitErrorIsTemporary(t *testing.T) {
	var err error = &ratelimit.RateLimitError{Problem: ratelimit.ProblemMinute}
	var tmp interface{ Temporary() bool }
	require.ErrorAs(t, err, &tmp)
	assert.True(t, tmp.Temporary())
}
