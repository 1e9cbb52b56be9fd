package mock

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/amsbilling/sdk/billing"
)

// Store is an in-memory billing.Store for tests, examples and the mock
// services. It passes the billing/storetest conformance suite. The zero
// value is not usable; call NewStore. A Store is safe for concurrent use.
type Store struct {
	mu       sync.Mutex
	links    map[billing.Account]billing.ContactLink
	invoices map[string]*storedInvoice // by Number
	byID     map[string]string         // ProviderID -> Number

	creations []*billing.Creation // in the order recorded
	events    []*storedEvent      // in the order recorded
	// Indexes of the two, so a lookup is not a scan.
	creationByKey map[string]*billing.Creation
	creationByFP  map[string]*billing.Creation
	eventByID     map[string]*storedEvent
	eventSeq      int
	marks         map[string]time.Time
	emails        map[string]time.Time   // provider id -> last emailed
	money         moneyState             // payments, credit notes and money operations (store_money.go)
	creditMarks   map[string]*creditMark // credit notes marked for a refresh, by provider id (store_creditmarks.go)
}

type storedInvoice struct {
	inv        billing.Invoice
	leaseUntil time.Time // zero when not leased
}

var _ billing.Store = (*Store)(nil)

// NewStore returns an empty Store.
func NewStore() *Store {
	return &Store{
		links:    make(map[billing.Account]billing.ContactLink),
		invoices: make(map[string]*storedInvoice),
		byID:     make(map[string]string),
		marks:    make(map[string]time.Time),
		emails:   make(map[string]time.Time),

		creationByKey: make(map[string]*billing.Creation),
		creationByFP:  make(map[string]*billing.Creation),
		eventByID:     make(map[string]*storedEvent),
	}
}

// normTime gives times the precision and zone a SQL store returns, so code
// tested against the mock sees what it will see in production.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// LinkContact implements billing.Store.
func (s *Store) LinkContact(_ context.Context, account billing.Account, contactID string) (billing.ContactLink, error) {
	if err := account.Validate(); err != nil {
		return billing.ContactLink{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if existing, ok := s.links[account]; ok {
		return existing, nil
	}
	link := billing.ContactLink{Account: account, ContactID: contactID}
	s.links[account] = link
	return link, nil
}

// ContactLink implements billing.Store.
func (s *Store) ContactLink(_ context.Context, account billing.Account) (billing.ContactLink, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	link, ok := s.links[account]
	if !ok {
		return billing.ContactLink{}, fmt.Errorf("contact link for %s: %w", account, billing.ErrNotFound)
	}
	return link, nil
}

// RecordContactSync implements billing.Store.
func (s *Store) RecordContactSync(_ context.Context, account billing.Account, fingerprint, email string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	link, ok := s.links[account]
	if !ok {
		return fmt.Errorf("contact link for %s: %w", account, billing.ErrNotFound)
	}
	link.Fingerprint, link.Email = fingerprint, email
	s.links[account] = link
	return nil
}

// CreateInvoice implements billing.Store.
func (s *Store) CreateInvoice(_ context.Context, inv billing.Invoice) error {
	if err := inv.Account.Validate(); err != nil {
		return err
	}
	inv.UpdateRequestedAt = normTime(inv.UpdateRequestedAt)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.invoices[inv.Number]; ok {
		return fmt.Errorf("invoice number %q: %w", inv.Number, billing.ErrConflict)
	}
	if inv.ProviderID != "" {
		if _, ok := s.byID[inv.ProviderID]; ok {
			return fmt.Errorf("invoice provider id %q: %w", inv.ProviderID, billing.ErrConflict)
		}
		s.byID[inv.ProviderID] = inv.Number
	}
	s.invoices[inv.Number] = &storedInvoice{inv: inv}
	return nil
}

// InvoiceByNumber implements billing.Store.
func (s *Store) InvoiceByNumber(_ context.Context, number string) (billing.Invoice, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	si, ok := s.invoices[number]
	if !ok {
		return billing.Invoice{}, fmt.Errorf("invoice number %q: %w", number, billing.ErrNotFound)
	}
	return si.inv, nil
}

// InvoiceByProviderID implements billing.Store.
func (s *Store) InvoiceByProviderID(_ context.Context, providerID string) (billing.Invoice, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	si := s.byProviderID(providerID)
	if si == nil {
		return billing.Invoice{}, fmt.Errorf("invoice provider id %q: %w", providerID, billing.ErrNotFound)
	}
	return si.inv, nil
}

// byProviderID returns the stored invoice or nil. s.mu must be held.
func (s *Store) byProviderID(providerID string) *storedInvoice {
	if providerID == "" {
		return nil
	}
	number, ok := s.byID[providerID]
	if !ok {
		return nil
	}
	return s.invoices[number]
}

// SaveInvoiceState implements billing.Store.
func (s *Store) SaveInvoiceState(_ context.Context, inv billing.Invoice) (before, after billing.Invoice, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	si := s.byProviderID(inv.ProviderID)
	if si == nil {
		return billing.Invoice{}, billing.Invoice{}, fmt.Errorf("invoice provider id %q: %w", inv.ProviderID, billing.ErrNotFound)
	}
	before, after, _ = s.saveState(si, inv)
	return before, after, nil
}

// saveState applies inv's provider state to si and records an event when it
// changed. s.mu must be held.
func (s *Store) saveState(si *storedInvoice, inv billing.Invoice) (before, after billing.Invoice, changed bool) {
	before = si.inv
	after = before.WithProviderState(inv)
	si.inv = after
	if !before.SameProviderState(after) {
		s.addEvent(before, after)
		changed = true
	}
	return before, after, changed
}

// SaveInvoiceStates implements billing.Store.
func (s *Store) SaveInvoiceStates(_ context.Context, invs []billing.Invoice) ([]billing.Saved, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]billing.Saved, len(invs))
	for i, inv := range invs {
		si := s.byProviderID(inv.ProviderID)
		if si == nil {
			out[i].Err = fmt.Errorf("invoice provider id %q: %w", inv.ProviderID, billing.ErrNotFound)
			continue
		}
		out[i].Before, out[i].After, out[i].Changed = s.saveState(si, inv)
	}
	return out, nil
}

// MarkUpdateNeeded implements billing.Store.
func (s *Store) MarkUpdateNeeded(_ context.Context, providerIDs []string, at time.Time) (int, error) {
	at = normTime(at)
	s.mu.Lock()
	defer s.mu.Unlock()
	marked := make(map[*storedInvoice]bool, len(providerIDs))
	for _, id := range providerIDs {
		si := s.byProviderID(id)
		if si == nil || marked[si] {
			continue
		}
		marked[si] = true
		token := at
		if prev := si.inv.UpdateRequestedAt; !prev.Before(token) {
			token = prev.Add(time.Microsecond)
		}
		si.inv.UpdateNeeded = true
		si.inv.UpdateRequestedAt = token
		si.inv.UpdateAttempts = 0
		si.inv.UpdateError = ""
		si.inv.SetAside = false
	}
	return len(marked), nil
}

// ClaimUpdates implements billing.Store.
func (s *Store) ClaimUpdates(_ context.Context, now time.Time, limit int, lease time.Duration) ([]billing.Claim, error) {
	if limit <= 0 {
		return nil, nil
	}
	if lease <= 0 {
		// As the SQL stores: a claim without a lease keeps no one out.
		return nil, fmt.Errorf("mock: claim updates: lease %s is not positive", lease)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ready []*storedInvoice
	for _, si := range s.invoices {
		inv := si.inv
		if !inv.UpdateNeeded || inv.SetAside || inv.ProviderID == "" || si.leaseUntil.After(now) {
			continue
		}
		ready = append(ready, si)
	}
	slices.SortFunc(ready, func(a, b *storedInvoice) int {
		return compareMarks(a.inv, b.inv)
	})
	if len(ready) > limit {
		ready = ready[:limit]
	}
	until := now.Add(lease)
	claims := make([]billing.Claim, 0, len(ready))
	for _, si := range ready {
		si.leaseUntil = until
		claims = append(claims, billing.Claim{
			ProviderID:  si.inv.ProviderID,
			Number:      si.inv.Number,
			RequestedAt: si.inv.UpdateRequestedAt,
			Attempts:    si.inv.UpdateAttempts,
		})
	}
	return claims, nil
}

// compareMarks orders invoices oldest mark first, ties by Number.
func compareMarks(a, b billing.Invoice) int {
	if c := a.UpdateRequestedAt.Compare(b.UpdateRequestedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.Number, b.Number)
}

// CompleteUpdate implements billing.Store.
func (s *Store) CompleteUpdate(_ context.Context, c billing.Claim) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.completeUpdate(c)
}

// completeUpdate is CompleteUpdate. s.mu must be held.
func (s *Store) completeUpdate(c billing.Claim) (bool, error) {
	si := s.byProviderID(c.ProviderID)
	if si == nil {
		return false, fmt.Errorf("invoice provider id %q: %w", c.ProviderID, billing.ErrNotFound)
	}
	si.leaseUntil = time.Time{}
	if !si.inv.UpdateNeeded || !si.inv.UpdateRequestedAt.Equal(c.RequestedAt) {
		return false, nil
	}
	si.inv.UpdateNeeded = false
	si.inv.UpdateAttempts = 0
	si.inv.UpdateError = ""
	return true, nil
}

// CompleteUpdates implements billing.Store: under one lock, so the batch is
// atomic as a transaction is.
func (s *Store) CompleteUpdates(_ context.Context, claims []billing.Claim) ([]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]bool, len(claims))
	for i, c := range claims {
		cleared, err := s.completeUpdate(c)
		if err != nil && !errors.Is(err, billing.ErrNotFound) {
			return nil, err
		}
		out[i] = cleared
	}
	return out, nil
}

// FailUpdate implements billing.Store.
func (s *Store) FailUpdate(_ context.Context, c billing.Claim, reason string, maxAttempts int) (billing.Invoice, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	si := s.byProviderID(c.ProviderID)
	if si == nil {
		return billing.Invoice{}, fmt.Errorf("invoice provider id %q: %w", c.ProviderID, billing.ErrNotFound)
	}
	si.leaseUntil = time.Time{}
	if si.inv.UpdateNeeded && si.inv.UpdateRequestedAt.Equal(c.RequestedAt) {
		si.inv.UpdateAttempts++
		si.inv.UpdateError = reason
		if maxAttempts > 0 && si.inv.UpdateAttempts >= maxAttempts {
			si.inv.SetAside = true
		}
	}
	return si.inv, nil
}

// ReleaseClaims implements billing.Store. Claims of invoices that no longer
// exist are ignored.
func (s *Store) ReleaseClaims(_ context.Context, claims []billing.Claim) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range claims {
		if si := s.byProviderID(c.ProviderID); si != nil {
			si.leaseUntil = time.Time{}
		}
	}
	return nil
}

// SetAsideInvoices implements billing.Store.
func (s *Store) SetAsideInvoices(_ context.Context) ([]billing.Invoice, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []billing.Invoice
	for _, si := range s.invoices {
		if si.inv.SetAside {
			out = append(out, si.inv)
		}
	}
	slices.SortFunc(out, compareMarks)
	return out, nil
}

// Invoices returns every stored invoice, sorted by Number. It is meant for
// tests and examples.
func (s *Store) Invoices() []billing.Invoice {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]billing.Invoice, 0, len(s.invoices))
	for _, si := range s.invoices {
		out = append(out, si.inv)
	}
	slices.SortFunc(out, func(a, b billing.Invoice) int { return cmp.Compare(a.Number, b.Number) })
	return out
}

// ContactLinks returns every stored contact link, sorted by account (users
// before organisations, then by id). It is meant for tests and examples.
func (s *Store) ContactLinks() []billing.ContactLink {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]billing.ContactLink, 0, len(s.links))
	for _, link := range s.links {
		out = append(out, link)
	}
	slices.SortFunc(out, func(a, b billing.ContactLink) int {
		// Accounts with a UserID sort first: their OrganisationID is "".
		if c := cmp.Compare(a.Account.OrganisationID, b.Account.OrganisationID); c != 0 {
			return c
		}
		return cmp.Compare(a.Account.UserID, b.Account.UserID)
	})
	return out
}
