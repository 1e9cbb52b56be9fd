package ratelimit

import "time"

// window holds the grant times of calls still inside a rolling window, oldest
// first. It is a ring that grows on demand, so an idle or lightly used tenant
// costs little even with a 5,000-call day.
type window struct {
	buf  []time.Time
	head int
	n    int
}

func (w *window) push(t time.Time) {
	if w.n == len(w.buf) {
		grown := make([]time.Time, max(8, 2*len(w.buf)))
		for i := range w.n {
			grown[i] = w.buf[(w.head+i)%len(w.buf)]
		}
		w.buf, w.head = grown, 0
	}
	w.buf[(w.head+w.n)%len(w.buf)] = t
	w.n++
}

// add counts k more calls at t, keeping the order: t may be earlier than
// calls already counted.
func (w *window) add(t time.Time, k int) {
	i := w.n
	for i > 0 && w.at(i-1).After(t) {
		i--
	}
	if i == w.n {
		for range k {
			w.push(t)
		}
		return
	}
	buf := make([]time.Time, w.n+k, max(8, 2*(w.n+k)))
	for j := range i {
		buf[j] = w.at(j)
	}
	for j := range k {
		buf[i+j] = t
	}
	for j := i; j < w.n; j++ {
		buf[k+j] = w.at(j)
	}
	w.buf, w.head, w.n = buf[:cap(buf)], 0, w.n+k
}

// at is the i-th call counted, oldest first; i < n.
func (w *window) at(i int) time.Time {
	return w.buf[(w.head+i)%len(w.buf)]
}

// oldest is the earliest grant still counted; only valid when n > 0.
func (w *window) oldest() time.Time {
	return w.buf[w.head]
}

// prune drops calls granted span or longer before now.
func (w *window) prune(now time.Time, span time.Duration) {
	for w.n > 0 && !w.buf[w.head].Add(span).After(now) {
		w.buf[w.head] = time.Time{}
		w.head = (w.head + 1) % len(w.buf)
		w.n--
	}
	if w.n == 0 {
		// Give a busy day's buffer back once the window is empty.
		w.buf, w.head = nil, 0
	}
}
