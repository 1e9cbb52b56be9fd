package mock

import (
	"context"
	"time"

	"github.com/amsbilling/sdk/billing"
)

var _ billing.MarkCounter = (*Store)(nil)

// CountMarked implements billing.MarkCounter.
func (s *Store) CountMarked(_ context.Context) (int, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	var oldest time.Time
	for _, si := range s.invoices {
		if !si.inv.UpdateNeeded || si.inv.SetAside {
			continue
		}
		n++
		if oldest.IsZero() || si.inv.UpdateRequestedAt.Before(oldest) {
			oldest = si.inv.UpdateRequestedAt
		}
	}
	return n, oldest, nil
}
