package mock

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/amsbilling/sdk/billing"
)

type storedEvent struct {
	ev         billing.InvoiceEvent
	seq        int
	invoice    string // Number
	delivered  bool
	leaseUntil time.Time
}

// addEvent records a change. s.mu must be held.
func (s *Store) addEvent(before, after billing.Invoice) {
	s.eventSeq++
	e := &storedEvent{
		ev: billing.InvoiceEvent{
			ID:        uuid.NewString(),
			Change:    billing.InvoiceChange{Before: before, After: after},
			CreatedAt: normTime(time.Now()),
		},
		seq:     s.eventSeq,
		invoice: after.Number,
	}
	s.events = append(s.events, e)
	s.eventByID[e.ev.ID] = e
}

func (e *storedEvent) view() billing.InvoiceEvent {
	ev := e.ev
	ev.Change.EventID = ev.ID
	return ev
}

// viewIn is view with NextWaiting set from last (lastUndelivered).
func (e *storedEvent) viewIn(last map[string]int) billing.InvoiceEvent {
	ev := e.view()
	ev.NextWaiting = last[e.invoice] > e.seq
	return ev
}

// lastUndelivered maps each invoice to the seq of its newest undelivered
// event. s.mu must be held.
func (s *Store) lastUndelivered() map[string]int {
	last := map[string]int{}
	for _, e := range s.events {
		if !e.delivered {
			last[e.invoice] = e.seq
		}
	}
	return last
}

// ClaimEvents implements billing.Store.
func (s *Store) ClaimEvents(_ context.Context, now time.Time, limit int, lease time.Duration) ([]billing.InvoiceEvent, error) {
	if limit <= 0 {
		return nil, nil
	}
	if lease <= 0 {
		return nil, fmt.Errorf("mock: claim events: lease %s is not positive", lease)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	blocked := map[string]bool{} // invoices with an older undelivered event
	last := s.lastUndelivered()
	var out []billing.InvoiceEvent
	for _, e := range s.events {
		if e.delivered {
			continue
		}
		if blocked[e.invoice] {
			continue
		}
		blocked[e.invoice] = true
		if e.ev.NextAttemptAt.After(now) || e.leaseUntil.After(now) {
			continue
		}
		e.leaseUntil = now.Add(lease)
		out = append(out, e.viewIn(last))
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

func (s *Store) event(id string) *storedEvent { return s.eventByID[id] }

// EventDelivered implements billing.Store.
func (s *Store) EventDelivered(_ context.Context, ids ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if e := s.event(id); e != nil {
			e.delivered = true
			e.leaseUntil = time.Time{}
		}
	}
	return nil
}

// EventFailed implements billing.Store.
func (s *Store) EventFailed(_ context.Context, id, reason string, retryAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.event(id)
	if e == nil {
		return fmt.Errorf("event %q: %w", id, billing.ErrNotFound)
	}
	e.ev.Attempts++
	e.ev.LastError = reason
	e.ev.NextAttemptAt = normTime(retryAt)
	e.leaseUntil = time.Time{}
	return nil
}

// PendingEvents implements billing.Store.
func (s *Store) PendingEvents(_ context.Context, limit int) ([]billing.InvoiceEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	last := s.lastUndelivered()
	var out []billing.InvoiceEvent
	for _, e := range s.events {
		if !e.delivered {
			out = append(out, e.viewIn(last))
			if limit > 0 && len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// BeginCreations implements billing.Store.
func (s *Store) BeginCreations(_ context.Context, cs []billing.Creation) ([]billing.Begun, error) {
	for _, c := range cs {
		if err := c.Account.Validate(); err != nil {
			return nil, err
		}
		if c.Key == "" || c.Fingerprint == "" {
			return nil, errors.New("mock: begin creation: key and fingerprint are required")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]billing.Begun, len(cs))
	for i, c := range cs {
		// The key decides first: a key used for another fingerprint is a
		// conflict even when the fingerprint is recorded under a third key.
		found := s.creation(c.Key)
		if found == nil {
			found = s.creationByFP[c.Fingerprint]
		}
		switch {
		case found == nil:
			c.CreatedAt, c.LeaseUntil = normTime(c.CreatedAt), normTime(c.LeaseUntil)
			c.Params = cloneParams(c.Params)
			s.creations = append(s.creations, &c)
			s.creationByKey[c.Key], s.creationByFP[c.Fingerprint] = &c, &c
			out[i] = billing.Begun{Creation: view(&c), New: true}
		case found.Key == c.Key && found.Fingerprint != c.Fingerprint:
			out[i] = billing.Begun{Creation: view(found), Err: fmt.Errorf("idempotency key %q is already used for another invoice: %w", c.Key, billing.ErrConflict)}
		default:
			out[i] = billing.Begun{Creation: view(found)}
		}
	}
	return out, nil
}

// view is a copy of a stored creation that shares nothing with the store.
func view(c *billing.Creation) billing.Creation {
	v := *c
	v.Params = cloneParams(c.Params)
	return v
}

func cloneParams(p billing.CreateInvoiceParams) billing.CreateInvoiceParams {
	p.LineItems = slices.Clone(p.LineItems)
	return p
}

func (s *Store) creation(key string) *billing.Creation { return s.creationByKey[key] }

// ClaimCreation implements billing.Store.
func (s *Store) ClaimCreation(_ context.Context, key string, now time.Time, lease time.Duration) (billing.Creation, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.creation(key)
	if c == nil {
		return billing.Creation{}, false, fmt.Errorf("creation %q: %w", key, billing.ErrNotFound)
	}
	if c.Done() || c.LeaseUntil.After(now) {
		return view(c), false, nil
	}
	c.LeaseUntil = normTime(now.Add(lease))
	return view(c), true, nil
}

// CompleteCreations implements billing.Store.
func (s *Store) CompleteCreations(_ context.Context, cs []billing.Completion) ([]billing.Completed, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]billing.Completed, len(cs))
	for i, comp := range cs {
		c := s.creation(comp.Key)
		switch {
		case c == nil:
			out[i].Err = fmt.Errorf("creation %q: %w", comp.Key, billing.ErrNotFound)
			continue
		case c.Done():
			if si := s.byProviderID(c.ProviderID); si != nil {
				out[i].Invoice = si.inv
				continue
			}
		}
		inv := comp.Created
		if inv.ProviderID == "" {
			out[i].Err = fmt.Errorf("mock: complete creation %q: the created invoice has no provider id", comp.Key)
			continue
		}
		inv.Account = c.Account
		inv.UpdateRequestedAt = normTime(inv.UpdateRequestedAt)
		if si := s.byProviderID(inv.ProviderID); si != nil {
			// Saved already, by another path: adopt that row.
			s.saveState(si, comp.Current)
			out[i].Invoice = si.inv
		} else {
			if _, taken := s.invoices[inv.Number]; taken {
				out[i].Err = fmt.Errorf("invoice number %q: %w", inv.Number, billing.ErrConflict)
				continue
			}
			si := &storedInvoice{inv: inv}
			s.invoices[inv.Number] = si
			s.byID[inv.ProviderID] = inv.Number
			s.saveState(si, comp.Current)
			out[i].Invoice = si.inv
		}
		c.InvoiceNumber, c.ProviderID = out[i].Invoice.Number, out[i].Invoice.ProviderID
		c.LeaseUntil = time.Time{}
	}
	return out, nil
}

// AbandonCreation implements billing.Store.
func (s *Store) AbandonCreation(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.creation(key)
	if c == nil || c.Done() {
		return nil
	}
	s.creations = slices.DeleteFunc(s.creations, func(x *billing.Creation) bool { return x == c })
	delete(s.creationByKey, c.Key)
	delete(s.creationByFP, c.Fingerprint)
	return nil
}

// PendingCreations implements billing.Store.
func (s *Store) PendingCreations(_ context.Context) ([]billing.Creation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []billing.Creation
	for _, c := range s.creations {
		if !c.Done() {
			out = append(out, view(c))
		}
	}
	slices.SortStableFunc(out, func(a, b billing.Creation) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// SweepMark implements billing.Store.
func (s *Store) SweepMark(_ context.Context, name string) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.marks[name], nil
}

// SetSweepMark implements billing.Store.
func (s *Store) SetSweepMark(_ context.Context, name string, t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marks[name] = normTime(t)
	return nil
}

// OpenInvoices implements billing.Store.
func (s *Store) OpenInvoices(_ context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, si := range s.invoices {
		if si.inv.ProviderID != "" && si.inv.IsOpen() {
			out = append(out, si.inv.ProviderID)
		}
	}
	slices.Sort(out)
	return out, nil
}

// EarliestIssueDate implements billing.Store.
func (s *Store) EarliestIssueDate(_ context.Context) (billing.Date, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first billing.Date
	for _, si := range s.invoices {
		d := si.inv.IssueDate
		if !d.IsZero() && (first.IsZero() || d.Before(first)) {
			first = d
		}
	}
	return first, nil
}
