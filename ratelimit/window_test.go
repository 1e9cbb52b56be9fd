package ratelimit

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// add keeps the window oldest first wherever the calls go, so prune drops
// exactly the calls that have left.
func TestWindowAddKeepsOrder(t *testing.T) {
	t0 := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	tests := []struct {
		name  string
		calls []int // pushed, in seconds after t0
		add   int   // second of the added calls
		k     int
		want  []int
	}{
		{"empty", nil, 5, 2, []int{5, 5}},
		{"after every call", []int{1, 2}, 3, 2, []int{1, 2, 3, 3}},
		{"between calls", []int{1, 4, 6}, 3, 2, []int{1, 3, 3, 4, 6}},
		{"before every call", []int{4, 6}, 3, 1, []int{3, 4, 6}},
		{"equal to a call goes after it", []int{3, 6}, 3, 1, []int{3, 3, 6}},
		{"many, growing the ring", []int{1, 2, 3, 4, 5, 6, 7, 8}, 2, 9, []int{1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 4, 5, 6, 7, 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w window
			// Wrap the ring first, so the calls do not start at buf[0].
			for range 6 {
				w.push(t0.Add(-time.Hour))
			}
			w.prune(t0.Add(-time.Hour+time.Nanosecond), 0)
			for _, s := range tt.calls {
				w.push(at(s))
			}
			w.add(at(tt.add), tt.k)
			var got []int
			for i := range w.n {
				got = append(got, int(w.at(i).Sub(t0)/time.Second))
			}
			assert.Equal(t, tt.want, got)
			w.prune(at(tt.add), time.Nanosecond)
			for i := range w.n {
				assert.True(t, w.at(i).After(at(tt.add).Add(-time.Nanosecond)), "only calls after %ds stay", tt.add)
			}
		})
	}
}
