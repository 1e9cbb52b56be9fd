package ratelimit

import (
	"net/http"
	"time"
)

// Pause is one "refuse calls for a while" that a response from Xero calls
// for. Limiter implementations apply the pauses PausesFor returns, so every
// limiter reads Xero's answers by the same rules.
type Pause struct {
	// App is true for a pause of every tenant (Xero's per-app limit).
	App     bool
	Problem Problem
	// For is how long to refuse. With UntilWindowFrees it is the fallback
	// for a limiter that holds no call in its minute window.
	For time.Duration
	// UntilWindowFrees asks to refuse until the oldest call in the minute
	// window leaves it: Xero said no minute calls are left.
	UntilWindowFrees bool
	Remaining        Remaining
}

// PausesFor returns the pauses that a response with status and parsed
// headers info calls for, in the order to apply them:
//
//   - a 429 pauses the tenant for Retry-After, or defaultPause when Xero gave
//     none, with Xero's problem; a 429 for the app-wide limit also pauses
//     every tenant;
//   - on any other status, a reported count of zero pauses before Xero has
//     to refuse: no daily calls left pauses the tenant for defaultPause; no
//     minute calls left pauses it until the minute window frees a slot; no
//     app-wide calls left pauses every tenant for defaultPause.
func PausesFor(status int, info Info, defaultPause time.Duration) []Pause {
	if status == http.StatusTooManyRequests {
		wait := info.RetryAfter
		if wait <= 0 {
			wait = defaultPause
		}
		ps := []Pause{{Problem: info.Problem, For: wait, Remaining: info.Remaining}}
		if info.Problem == ProblemAppMinute {
			ps = append(ps, Pause{App: true, Problem: ProblemAppMinute, For: wait, Remaining: info.Remaining})
		}
		return ps
	}
	var ps []Pause
	if info.Remaining.Day == 0 {
		ps = append(ps, Pause{Problem: ProblemDay, For: defaultPause, Remaining: info.Remaining})
	}
	if info.Remaining.Minute == 0 {
		ps = append(ps, Pause{Problem: ProblemMinute, For: defaultPause, UntilWindowFrees: true, Remaining: info.Remaining})
	}
	if info.Remaining.AppMinute == 0 {
		ps = append(ps, Pause{App: true, Problem: ProblemAppMinute, For: defaultPause, Remaining: info.Remaining})
	}
	return ps
}
