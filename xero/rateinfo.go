package xero

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/amsbilling/sdk/ratelimit"
)

// rateSeen is what one answer's rate-limit headers said, and when.
type rateSeen struct {
	info ratelimit.Info
	at   time.Time
}

// rateMemo keeps the latest *rateSeen. Its zero value is ready to use.
// It is an atomic.Value, which may be copied before first use, rather than
// an atomic.Pointer, so a Client printed by value (%#v) stays vet-clean.
type rateMemo struct{ last atomic.Value }

// observe keeps what h says, when it says anything: an answer without any
// of Xero's counts (the connections list, a gateway's 504) leaves the last
// one in place.
func (m *rateMemo) observe(h http.Header, now time.Time) {
	info := ratelimit.ParseHeaders(h, now)
	r := info.Remaining
	if r.Minute < 0 && r.Day < 0 && r.AppMinute < 0 && info.Problem == "" {
		return
	}
	m.last.Store(&rateSeen{info: info, at: now})
}

// LastRateInfo returns what the rate-limit headers of the latest Xero answer
// that carried them said, and when that answer came; at is the zero time
// before any did. Info.Remaining.Day is X-DayLimit-Remaining, the calls the
// tenant has left today; Minute and AppMinute are the minute's; a count the
// answer left out is -1. Every answer counts, whatever its status and
// retries included.
//
// It is for reports (examples/doctor, a status page). The Limiter sees the
// same headers through ratelimit.Limiter.Observe and acts on them; nothing
// here changes what the client sends.
func (c *Client) LastRateInfo() (info ratelimit.Info, at time.Time) {
	s, _ := c.rate.last.Load().(*rateSeen)
	if s == nil {
		return ratelimit.Info{}, time.Time{}
	}
	return s.info, s.at
}
