package xerolimit

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPauses(t *testing.T) {
	const def = time.Minute
	none := Left{Minute: -1, Day: -1, AppMinute: -1}
	with := func(f func(*Left)) Left { l := none; f(&l); return l }
	tests := []struct {
		name       string
		status     int
		problem    string
		retryAfter time.Duration
		left       Left
		want       []Pause
	}{
		{"ok, counts unknown", http.StatusOK, "", 0, none, nil},
		{"429 with Retry-After", http.StatusTooManyRequests, ProblemMinute, 7 * time.Second, none,
			[]Pause{{Problem: ProblemMinute, For: 7 * time.Second}}},
		{"429 minute without Retry-After", http.StatusTooManyRequests, ProblemMinute, 0, none,
			[]Pause{{Problem: ProblemMinute, For: def}}},
		// Xero's day 429 often has no Retry-After: a minute's pause would
		// draw a 429 a minute until the day window resets.
		{"429 day without Retry-After", http.StatusTooManyRequests, ProblemDay, 0, none,
			[]Pause{{Problem: ProblemDay, For: DayPause}}},
		{"429 day with Retry-After", http.StatusTooManyRequests, ProblemDay, 3 * time.Hour, none,
			[]Pause{{Problem: ProblemDay, For: 3 * time.Hour}}},
		{"429 app-wide pauses every tenant too", http.StatusTooManyRequests, ProblemAppMinute, time.Second, none,
			[]Pause{{Problem: ProblemAppMinute, For: time.Second}, {App: true, Problem: ProblemAppMinute, For: time.Second}}},
		{"no day calls left", http.StatusOK, "", 0, with(func(l *Left) { l.Day = 0 }),
			[]Pause{{Problem: ProblemDay, For: DayPause}}},
		{"no minute calls left", http.StatusOK, "", 0, with(func(l *Left) { l.Minute = 0 }),
			[]Pause{{Problem: ProblemMinute, For: def, UntilWindowFrees: true}}},
		{"no app calls left", http.StatusOK, "", 0, with(func(l *Left) { l.AppMinute = 0 }),
			[]Pause{{App: true, Problem: ProblemAppMinute, For: def}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Pauses(tt.status, tt.problem, tt.retryAfter, tt.left, def))
		})
	}
}

func TestFillDefaults(t *testing.T) {
	perMinute, concurrent, perDay := 10, 0, -1
	var window, day, pause time.Duration
	FillDefaults(&perMinute, &window, &concurrent, &perDay, &day, &pause)
	assert.Equal(t, 10, perMinute, "a set field is kept")
	assert.Equal(t, time.Minute, window)
	assert.Equal(t, 5, concurrent)
	assert.Equal(t, 5000, perDay)
	assert.Equal(t, 24*time.Hour, day)
	assert.Equal(t, time.Minute, pause)
}

func TestMargin(t *testing.T) {
	tests := []struct {
		name   string
		margin time.Duration
		wait   bool
		want   time.Duration
	}{
		{"fail fast: none", 0, false, 0},
		{"waiting: a second a minute", 0, true, time.Second},
		{"explicit, fail fast", 3 * time.Second, false, 3 * time.Second},
		{"explicit, waiting", 3 * time.Second, true, 3 * time.Second},
		{"negative: none, even waiting", -1, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Margin(tt.margin, time.Minute, tt.wait))
		})
	}
}

func TestRaise(t *testing.T) {
	tests := []struct {
		name                      string
		limit, counted, remaining int
		want                      int
	}{
		{"Xero counts more", 60, 10, 20, 30},
		{"Xero counts the same", 60, 40, 20, 0},
		{"Xero counts fewer", 60, 50, 20, 0},
		{"none left", 60, 10, 0, 50},
		{"not reported", 60, 10, -1, 0},
		{"more left than the limit", 50, 0, 60, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Raise(tt.limit, tt.counted, tt.remaining))
		})
	}
}

func TestAligning(t *testing.T) {
	none := Left{Minute: -1, Day: -1, AppMinute: -1}
	assert.Equal(t, Left{Minute: 3, Day: 40, AppMinute: 9}, Aligning(http.StatusOK, Left{Minute: 3, Day: 40, AppMinute: 9}))
	assert.Equal(t, Left{Minute: 0, Day: -1, AppMinute: 5}, Aligning(http.StatusOK, Left{Minute: 0, Day: 0, AppMinute: 5}), "a day at zero is the pause's")
	assert.Equal(t, none, Aligning(http.StatusTooManyRequests, Left{Minute: 0, Day: 3, AppMinute: 5}), "a 429 is the pause's")
	assert.Equal(t, Left{Minute: 2, Day: 7, AppMinute: -1}, Aligning(http.StatusInternalServerError, Left{Minute: 2, Day: 7, AppMinute: -1}))
}

func TestRaisedDayLife(t *testing.T) {
	assert.Equal(t, DayPause, RaisedDayLife(Day))
	assert.Equal(t, 10*time.Minute, RaisedDayLife(10*time.Minute))
}
