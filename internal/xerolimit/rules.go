package xerolimit

import (
	"net/http"
	"time"
)

// DayPause is how long a tenant pauses when Xero says its day's calls are
// spent (a 429 for "day", or X-DayLimit-Remaining: 0) without saying when
// they return: the day window resets at a time of its own per tenant, so a
// minute-long pause would only draw another 429 every minute.
const DayPause = time.Hour

// Left holds the remaining counts a response reported; -1 when not reported.
type Left struct{ Minute, Day, AppMinute int }

// Pause is one "refuse calls for a while" a response calls for.
type Pause struct {
	// App is true for a pause of every tenant (Xero's per-app limit).
	App     bool
	Problem string
	// For is how long to refuse. With UntilWindowFrees it is the fallback
	// for a limiter that holds no call in its minute window.
	For time.Duration
	// UntilWindowFrees asks to refuse until the oldest call in the minute
	// window leaves it: Xero said no minute calls are left.
	UntilWindowFrees bool
}

// Pauses returns the pauses that a response calls for, in the order to
// apply them; every Limiter reads Xero's answers by these rules:
//
//   - a 429 pauses the tenant for Retry-After; without one, for DayPause
//     when the problem is the day's limit and defaultPause otherwise; a 429
//     for the app-wide limit also pauses every tenant;
//   - on any other status, a reported count of zero pauses before Xero has
//     to refuse: no daily calls left pauses the tenant for DayPause; no
//     minute calls left pauses it until the minute window frees a slot; no
//     app-wide calls left pauses every tenant for defaultPause.
func Pauses(status int, problem string, retryAfter time.Duration, left Left, defaultPause time.Duration) []Pause {
	if status == http.StatusTooManyRequests {
		wait := retryAfter
		if wait <= 0 {
			wait = defaultPause
			if problem == ProblemDay {
				wait = max(DayPause, defaultPause)
			}
		}
		ps := []Pause{{Problem: problem, For: wait}}
		if problem == ProblemAppMinute {
			ps = append(ps, Pause{App: true, Problem: ProblemAppMinute, For: wait})
		}
		return ps
	}
	var ps []Pause
	if left.Day == 0 {
		ps = append(ps, Pause{Problem: ProblemDay, For: max(DayPause, defaultPause)})
	}
	if left.Minute == 0 {
		ps = append(ps, Pause{Problem: ProblemMinute, For: defaultPause, UntilWindowFrees: true})
	}
	if left.AppMinute == 0 {
		ps = append(ps, Pause{App: true, Problem: ProblemAppMinute, For: defaultPause})
	}
	return ps
}

// Aligning is what of left a limiter aligns its windows' counts with after
// a response of status (see Raise): nothing on a 429, whose Retry-After
// says when Xero's window resets and whose pause covers it, and no day
// count of zero, whose pause (see Pauses) lasts at least as long as raised
// day calls would stay; the rest as reported.
func Aligning(status int, left Left) Left {
	if status == http.StatusTooManyRequests {
		return Left{Minute: -1, Day: -1, AppMinute: -1}
	}
	if left.Day == 0 {
		left.Day = -1
	}
	return left
}

// Raise is how many calls a limiter must add to a window in which it counts
// counted calls of limit, so that it sees no more left than Xero reported
// (remaining; -1 when not reported): none when Xero's count is not lower.
// Xero counts calls the limiter never saw (another process, one before a
// restart) in fixed windows that reset at times of their own; a limiter
// counting fewer would let calls through that draw 429s.
func Raise(limit, counted, remaining int) int {
	if remaining < 0 {
		return 0
	}
	return max(limit-remaining-counted, 0)
}

// RaisedDayLife is how long calls added to the day window by Raise stay
// counted: DayPause, at most dayWindow. The minute's stay the whole window
// as counted, Xero's window having maybe just opened; the day's would then
// refuse for up to a day on a window that may reset within the hour, so
// they leave after DayPause, when the next answer says again what Xero
// counts.
func RaisedDayLife(dayWindow time.Duration) time.Duration {
	return min(DayPause, dayWindow)
}

// Margin is how much wider than window a limiter counts its minute, given
// Options.Margin, the window and whether Acquire waits: margin when above
// zero, none when negative, and by default window/60 when waiting (a second
// a minute) and none when failing fast. A limiter counts a call when it
// grants it and Xero when the request arrives; the margin keeps a call
// granted the instant an old one leaves the counted window from arriving
// inside Xero's window, however late the grant reached the caller.
func Margin(margin, window time.Duration, wait bool) time.Duration {
	switch {
	case margin < 0:
		return 0
	case margin == 0 && wait:
		return window / 60
	}
	return margin
}

// FillDefaults sets each limit that is zero or negative to Xero's: 60 calls
// a minute window, 5 at once, 5,000 a day window, and a minute's pause after
// a 429 that does not say how long. Every Limiter's options use it.
func FillDefaults(perMinute *int, window *time.Duration, concurrent, perDay *int, dayWindow, pause *time.Duration) {
	for _, f := range []struct {
		v *int
		d int
	}{{perMinute, PerMinute}, {concurrent, Concurrent}, {perDay, PerDay}} {
		if *f.v <= 0 {
			*f.v = f.d
		}
	}
	for _, f := range []struct {
		v *time.Duration
		d time.Duration
	}{{window, Minute}, {dayWindow, Day}, {pause, Minute}} {
		if *f.v <= 0 {
			*f.v = f.d
		}
	}
}
