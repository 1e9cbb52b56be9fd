package mock

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/amsbilling/sdk/billing"
)

// creditMark is one credit note marked for a refresh.
type creditMark struct {
	mark       billing.CreditNoteMark
	leaseUntil time.Time
}

// creditMarksOf returns the marks, ready. s.mu must be held.
func (s *Store) creditMarksOf() map[string]*creditMark {
	if s.creditMarks == nil {
		s.creditMarks = make(map[string]*creditMark)
	}
	return s.creditMarks
}

// MarkCreditNotes implements billing.Store.
func (s *Store) MarkCreditNotes(_ context.Context, providerIDs []string, at time.Time) (int, error) {
	if at.IsZero() {
		return 0, fmt.Errorf("mock: mark credit notes: zero time")
	}
	at = normTime(at)
	s.mu.Lock()
	defer s.mu.Unlock()
	marks := s.creditMarksOf()
	done := make(map[string]bool, len(providerIDs))
	for _, id := range providerIDs {
		if id == "" || done[id] {
			continue
		}
		done[id] = true
		m := marks[id]
		if m == nil {
			m = &creditMark{mark: billing.CreditNoteMark{ProviderID: id}}
			marks[id] = m
		}
		token := at
		if prev := m.mark.RequestedAt; !prev.Before(token) {
			token = prev.Add(time.Microsecond)
		}
		m.mark.RequestedAt = token
		m.mark.Attempts, m.mark.Error, m.mark.SetAside = 0, "", false
	}
	return len(done), nil
}

func compareCreditMarks(a, b billing.CreditNoteMark) int {
	return cmp.Or(a.RequestedAt.Compare(b.RequestedAt), cmp.Compare(a.ProviderID, b.ProviderID))
}

// ClaimCreditNotes implements billing.Store.
func (s *Store) ClaimCreditNotes(_ context.Context, now time.Time, limit int, lease time.Duration) ([]billing.CreditNoteClaim, error) {
	if limit <= 0 {
		return nil, nil
	}
	if lease <= 0 {
		return nil, fmt.Errorf("mock: claim credit notes: lease %s is not positive", lease)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ready []*creditMark
	for _, m := range s.creditMarksOf() {
		if !m.mark.SetAside && !m.leaseUntil.After(now) {
			ready = append(ready, m)
		}
	}
	slices.SortFunc(ready, func(a, b *creditMark) int { return compareCreditMarks(a.mark, b.mark) })
	if len(ready) > limit {
		ready = ready[:limit]
	}
	until := normTime(now.Add(lease))
	out := make([]billing.CreditNoteClaim, len(ready))
	for i, m := range ready {
		m.leaseUntil = until
		out[i] = billing.CreditNoteClaim{ProviderID: m.mark.ProviderID, RequestedAt: m.mark.RequestedAt, Attempts: m.mark.Attempts}
	}
	return out, nil
}

// CompleteCreditNotes implements billing.Store: under one lock, so the batch
// is atomic as a transaction is.
func (s *Store) CompleteCreditNotes(_ context.Context, claims []billing.CreditNoteClaim) ([]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	marks := s.creditMarksOf()
	out := make([]bool, len(claims))
	for i, c := range claims {
		m := marks[c.ProviderID]
		if m == nil {
			continue
		}
		if m.mark.RequestedAt.Equal(c.RequestedAt) {
			delete(marks, c.ProviderID)
			out[i] = true
			continue
		}
		m.leaseUntil = time.Time{}
	}
	return out, nil
}

// FailCreditNote implements billing.Store.
func (s *Store) FailCreditNote(_ context.Context, c billing.CreditNoteClaim, reason string, maxAttempts int) (billing.CreditNoteMark, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.creditMarksOf()[c.ProviderID]
	if m == nil {
		return billing.CreditNoteMark{}, fmt.Errorf("credit note mark %q: %w", c.ProviderID, billing.ErrNotFound)
	}
	m.leaseUntil = time.Time{}
	if m.mark.RequestedAt.Equal(c.RequestedAt) {
		m.mark.Attempts++
		m.mark.Error = reason
		if maxAttempts > 0 && m.mark.Attempts >= maxAttempts {
			m.mark.SetAside = true
		}
	}
	return m.mark, nil
}

// ReleaseCreditNotes implements billing.Store. Claims of marks that are gone
// are ignored.
func (s *Store) ReleaseCreditNotes(_ context.Context, claims []billing.CreditNoteClaim) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	marks := s.creditMarksOf()
	for _, c := range claims {
		if m := marks[c.ProviderID]; m != nil {
			m.leaseUntil = time.Time{}
		}
	}
	return nil
}

// CreditNoteMarks implements billing.Store.
func (s *Store) CreditNoteMarks(_ context.Context) ([]billing.CreditNoteMark, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]billing.CreditNoteMark, 0, len(s.creditMarks))
	for _, m := range s.creditMarks {
		out = append(out, m.mark)
	}
	slices.SortFunc(out, compareCreditMarks)
	return out, nil
}
