package billing

import (
	"context"
	"time"
)

// MarkCounter is implemented by stores that can size the update queue
// without leasing anything, for operators' reports (examples/doctor). It is
// not part of Store: a report asserts it (store.(billing.MarkCounter)) and
// says "not available" for a store without it.
type MarkCounter interface {
	// CountMarked returns how many invoices are marked and not set aside
	// (UpdateNeeded && !SetAside: those ClaimUpdates takes, leased at the
	// moment or not) and the oldest UpdateRequestedAt among them, the zero
	// time when n is 0. It reads only.
	CountMarked(ctx context.Context) (n int, oldest time.Time, err error)
}
