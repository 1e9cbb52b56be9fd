package billing

import (
	"context"
	"time"
)

// MarkCounter sizes the update queue without leasing anything, for
// operators' reports (xero/doctor, the metrics). Every Store has it.
type MarkCounter interface {
	// CountMarked returns how many invoices are marked and not set aside
	// (UpdateNeeded && !SetAside: those ClaimUpdates takes, leased at the
	// moment or not) and the oldest UpdateRequestedAt among them, the zero
	// time when n is 0. It reads only.
	CountMarked(ctx context.Context) (n int, oldest time.Time, err error)
}
