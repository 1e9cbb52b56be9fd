package ratelimit_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/amsbilling/sdk/ratelimit"
)

func TestPausesFor(t *testing.T) {
	const def = time.Minute
	none := ratelimit.Remaining{Minute: -1, Day: -1, AppMinute: -1, Limit: -1, Legacy: -1}
	with := func(f func(*ratelimit.Remaining)) ratelimit.Remaining { r := none; f(&r); return r }
	tests := []struct {
		name   string
		status int
		info   ratelimit.Info
		want   []ratelimit.Pause
	}{
		{"ok, counts unknown", http.StatusOK, ratelimit.Info{Remaining: none}, nil},
		{"429 with Retry-After", http.StatusTooManyRequests,
			ratelimit.Info{Problem: ratelimit.ProblemMinute, RetryAfter: 7 * time.Second, Remaining: none},
			[]ratelimit.Pause{{Problem: ratelimit.ProblemMinute, For: 7 * time.Second, Remaining: none}}},
		{"429 without Retry-After", http.StatusTooManyRequests,
			ratelimit.Info{Problem: ratelimit.ProblemDay, Remaining: none},
			[]ratelimit.Pause{{Problem: ratelimit.ProblemDay, For: def, Remaining: none}}},
		{"429 app-wide pauses every tenant too", http.StatusTooManyRequests,
			ratelimit.Info{Problem: ratelimit.ProblemAppMinute, RetryAfter: time.Second, Remaining: none},
			[]ratelimit.Pause{
				{Problem: ratelimit.ProblemAppMinute, For: time.Second, Remaining: none},
				{App: true, Problem: ratelimit.ProblemAppMinute, For: time.Second, Remaining: none},
			}},
		{"no day calls left", http.StatusOK, ratelimit.Info{Remaining: with(func(r *ratelimit.Remaining) { r.Day = 0 })},
			[]ratelimit.Pause{{Problem: ratelimit.ProblemDay, For: def, Remaining: with(func(r *ratelimit.Remaining) { r.Day = 0 })}}},
		{"no minute calls left", http.StatusOK, ratelimit.Info{Remaining: with(func(r *ratelimit.Remaining) { r.Minute = 0 })},
			[]ratelimit.Pause{{Problem: ratelimit.ProblemMinute, For: def, UntilWindowFrees: true, Remaining: with(func(r *ratelimit.Remaining) { r.Minute = 0 })}}},
		{"no app calls left", http.StatusOK, ratelimit.Info{Remaining: with(func(r *ratelimit.Remaining) { r.AppMinute = 0 })},
			[]ratelimit.Pause{{App: true, Problem: ratelimit.ProblemAppMinute, For: def, Remaining: with(func(r *ratelimit.Remaining) { r.AppMinute = 0 })}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, ratelimit.PausesFor(tt.status, tt.info, def))
		})
	}
}
