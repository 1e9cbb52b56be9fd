package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/amsbilling/sdk/ratelimit"
)

func ExampleRateLimitError() {
	// A Xero response as the client sees it.
	h := http.Header{}
	h.Set("Retry-After", "30")
	h.Set("X-Rate-Limit-Problem", "minute")
	now := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)

	var err error = ratelimit.FromResponse(http.StatusTooManyRequests, h, now)
	err = fmt.Errorf("create invoice: %w", err)

	var rle *ratelimit.RateLimitError
	if errors.As(err, &rle) {
		fmt.Println(rle.Error())
		fmt.Println("retry after:", rle.RetryAfter, "local:", rle.Local)
	}
	fmt.Println(errors.Is(err, ratelimit.ErrRateLimited))
	// Output:
	// billing system busy, try again in 30s: minute limit
	// retry after: 30s local: false
	// true
}

func ExampleNewLocal() {
	// A fixed clock keeps the output stable; real code leaves Now unset.
	now := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	limiter := ratelimit.NewLocal(ratelimit.Options{
		PerMinute: 2,
		Now:       func() time.Time { return now },
	})

	for i := 1; i <= 3; i++ {
		release, err := limiter.Acquire(context.Background(), "tenant-1")
		if err != nil {
			fmt.Printf("call %d: %v\n", i, err)
			continue
		}
		// ... send the request, then tell the limiter what Xero said.
		limiter.Observe("tenant-1", http.StatusOK, http.Header{"X-Minlimit-Remaining": {"58"}})
		release()
		fmt.Printf("call %d: sent\n", i)
	}
	fmt.Println("used this minute:", limiter.Status("tenant-1").UsedMinute)
	// Output:
	// call 1: sent
	// call 2: sent
	// call 3: billing system busy, try again in 1m: minute limit
	// used this minute: 2
}

func ExampleLocal_Observe() {
	now := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	limiter := ratelimit.NewLocal(ratelimit.Options{Now: func() time.Time { return now }})

	// Xero refused a call: every further call fails fast, without a request.
	limiter.Observe("tenant-1", http.StatusTooManyRequests, http.Header{
		"Retry-After":          {"120"},
		"X-Rate-Limit-Problem": {"day"},
	})
	_, err := limiter.Acquire(context.Background(), "tenant-1")
	var rle *ratelimit.RateLimitError
	if errors.As(err, &rle) {
		fmt.Println(rle, "| local:", rle.Local)
	}
	// Output:
	// billing system busy, try again in 2m: daily limit | local: true
}

func ExampleParseHeaders() {
	h := http.Header{}
	h.Set("X-MinLimit-Remaining", "57")
	h.Set("X-DayLimit-Remaining", "4890")
	info := ratelimit.ParseHeaders(h, time.Now())
	fmt.Println(info.Remaining.Minute, info.Remaining.Day, info.Remaining.AppMinute)
	// Output: 57 4890 -1
}
