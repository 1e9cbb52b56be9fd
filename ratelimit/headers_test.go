package ratelimit_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/amsbilling/sdk/ratelimit"
)

var testNow = time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)

func none() ratelimit.Remaining {
	return ratelimit.Remaining{Minute: -1, Day: -1, AppMinute: -1, Limit: -1, Legacy: -1}
}

func headers(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestParseHeaders(t *testing.T) {
	tests := []struct {
		name string
		h    http.Header
		want ratelimit.Info
	}{
		{
			name: "all headers",
			h: headers("Retry-After", "30", "X-Rate-Limit-Problem", "minute",
				"X-MinLimit-Remaining", "0", "X-DayLimit-Remaining", "4990",
				"X-AppMinLimit-Remaining", "9999", "X-Rate-Limit-Limit", "60",
				"X-Rate-Limit-Remaining", "12"),
			want: ratelimit.Info{
				Problem:    ratelimit.ProblemMinute,
				RetryAfter: 30 * time.Second,
				Remaining:  ratelimit.Remaining{Minute: 0, Day: 4990, AppMinute: 9999, Limit: 60, Legacy: 12},
			},
		},
		{name: "missing", h: http.Header{}, want: ratelimit.Info{Remaining: none()}},
		{name: "nil header", h: nil, want: ratelimit.Info{Remaining: none()}},
		{
			name: "bad counts",
			h: headers("X-MinLimit-Remaining", "abc", "X-DayLimit-Remaining", "-5",
				"X-AppMinLimit-Remaining", "1.5", "X-Rate-Limit-Limit", "99999999999999999999",
				"X-Rate-Limit-Remaining", ""),
			want: ratelimit.Info{Remaining: none()},
		},
		{
			name: "counts with spaces",
			h:    headers("X-MinLimit-Remaining", " 7 ", "X-DayLimit-Remaining", "\t12"),
			want: ratelimit.Info{Remaining: ratelimit.Remaining{Minute: 7, Day: 12, AppMinute: -1, Limit: -1, Legacy: -1}},
		},
		{name: "problem upper case", h: headers("X-Rate-Limit-Problem", "MINUTE"), want: ratelimit.Info{Problem: ratelimit.ProblemMinute, Remaining: none()}},
		{name: "problem day", h: headers("X-Rate-Limit-Problem", "Day"), want: ratelimit.Info{Problem: ratelimit.ProblemDay, Remaining: none()}},
		{name: "problem concurrent", h: headers("X-Rate-Limit-Problem", "Concurrent"), want: ratelimit.Info{Problem: ratelimit.ProblemConcurrent, Remaining: none()}},
		{name: "problem appminute", h: headers("X-Rate-Limit-Problem", " AppMinute "), want: ratelimit.Info{Problem: ratelimit.ProblemAppMinute, Remaining: none()}},
		{name: "problem unknown kept", h: headers("X-Rate-Limit-Problem", "hourly"), want: ratelimit.Info{Problem: "hourly", Remaining: none()}},
		{name: "problem control bytes dropped", h: http.Header{"X-Rate-Limit-Problem": {"bad\x00\nvalue"}}, want: ratelimit.Info{Problem: "badvalue", Remaining: none()}},
		{name: "retry seconds with spaces", h: headers("Retry-After", " 45 "), want: ratelimit.Info{RetryAfter: 45 * time.Second, Remaining: none()}},
		{name: "retry fraction", h: headers("Retry-After", "1.5"), want: ratelimit.Info{RetryAfter: 1500 * time.Millisecond, Remaining: none()}},
		{name: "retry zero", h: headers("Retry-After", "0"), want: ratelimit.Info{Remaining: none()}},
		{name: "retry negative", h: headers("Retry-After", "-3"), want: ratelimit.Info{Remaining: none()}},
		{name: "retry negative fraction", h: headers("Retry-After", "-0.5"), want: ratelimit.Info{Remaining: none()}},
		{name: "retry garbage", h: headers("Retry-After", "soon"), want: ratelimit.Info{Remaining: none()}},
		{name: "retry NaN", h: headers("Retry-After", "NaN"), want: ratelimit.Info{Remaining: none()}},
		{name: "retry capped", h: headers("Retry-After", "100000"), want: ratelimit.Info{RetryAfter: 24 * time.Hour, Remaining: none()}},
		{name: "retry overflow capped", h: headers("Retry-After", "99999999999999999999"), want: ratelimit.Info{RetryAfter: 24 * time.Hour, Remaining: none()}},
		{name: "retry negative overflow", h: headers("Retry-After", "-99999999999999999999"), want: ratelimit.Info{Remaining: none()}},
		{name: "retry huge fraction capped", h: headers("Retry-After", "1e300"), want: ratelimit.Info{RetryAfter: 24 * time.Hour, Remaining: none()}},
		{
			name: "retry HTTP-date",
			h:    headers("Retry-After", testNow.Add(90*time.Second).Format(http.TimeFormat)),
			want: ratelimit.Info{RetryAfter: 90 * time.Second, Remaining: none()},
		},
		{
			name: "retry HTTP-date in the past",
			h:    headers("Retry-After", testNow.Add(-time.Hour).Format(http.TimeFormat)),
			want: ratelimit.Info{Remaining: none()},
		},
		{
			name: "retry HTTP-date far ahead capped",
			h:    headers("Retry-After", testNow.AddDate(1, 0, 0).Format(http.TimeFormat)),
			want: ratelimit.Info{RetryAfter: 24 * time.Hour, Remaining: none()},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, ratelimit.ParseHeaders(tt.h, testNow))
		})
	}
}

func FuzzParseHeaders(f *testing.F) {
	f.Add("30", "minute", "0", "4990", "9999")
	f.Add("-1", "DAY", "abc", "-7", "")
	f.Add("Tue, 04 Mar 2025 10:01:30 GMT", "appminute\x00", "99999999999999999999", " 1 ", "1.5")
	f.Add("1e309", "", "", "", "")
	f.Add("NaN", "concurrent", "-0", "+3", "0x10")
	f.Fuzz(func(t *testing.T, retry, problem, minute, day, app string) {
		h := http.Header{
			"Retry-After":             {retry},
			"X-Rate-Limit-Problem":    {problem},
			"X-Minlimit-Remaining":    {minute},
			"X-Daylimit-Remaining":    {day},
			"X-Appminlimit-Remaining": {app},
			"X-Rate-Limit-Limit":      {minute},
			"X-Rate-Limit-Remaining":  {day},
		}
		info := ratelimit.ParseHeaders(h, testNow)
		if info.RetryAfter < 0 || info.RetryAfter > 24*time.Hour {
			t.Fatalf("RetryAfter %v out of range for %q", info.RetryAfter, retry)
		}
		r := info.Remaining
		for _, n := range []int{r.Minute, r.Day, r.AppMinute, r.Limit, r.Legacy} {
			if n < -1 {
				t.Fatalf("count %d below -1", n)
			}
		}
		if len(info.Problem) > 64 {
			t.Fatalf("problem %q too long", info.Problem)
		}
		for i := 0; i < len(info.Problem); i++ {
			if c := info.Problem[i]; c < 0x20 || c > 0x7e {
				t.Fatalf("problem %q has byte %#x", info.Problem, c)
			}
		}
		_ = (&ratelimit.RateLimitError{RetryAfter: info.RetryAfter, Problem: info.Problem}).Error()
	})
}
