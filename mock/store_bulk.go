package mock

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/amsbilling/sdk/billing"
)

// ContactLinksOf implements billing.Store.
func (s *Store) ContactLinksOf(_ context.Context, accounts []billing.Account) (map[billing.Account]billing.ContactLink, error) {
	for _, a := range accounts {
		if err := a.Validate(); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[billing.Account]billing.ContactLink, len(accounts))
	for _, a := range accounts {
		if link, ok := s.links[a]; ok {
			out[a] = link
		}
	}
	return out, nil
}

// LinkContacts implements billing.Store, under one lock.
func (s *Store) LinkContacts(_ context.Context, links []billing.ContactLink) ([]billing.ContactLink, error) {
	if err := checkLinks(links); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]billing.ContactLink, len(links))
	for i, l := range links {
		existing, ok := s.links[l.Account]
		if !ok {
			existing = billing.ContactLink{Account: l.Account, ContactID: l.ContactID}
			if l.Fingerprint != "" {
				existing.Fingerprint, existing.Email = l.Fingerprint, l.Email
			}
			s.links[l.Account] = existing
		}
		out[i] = existing
	}
	return out, nil
}

// checkLinks refuses what LinkContacts may not store.
func checkLinks(links []billing.ContactLink) error {
	for _, l := range links {
		if err := l.Account.Validate(); err != nil {
			return err
		}
		if l.ContactID == "" {
			return fmt.Errorf("mock: link contacts: empty contact id for %s", l.Account)
		}
	}
	return nil
}

// RecordContactSyncs implements billing.Store, under one lock.
func (s *Store) RecordContactSyncs(_ context.Context, syncs []billing.ContactLink) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	recorded := map[billing.Account]bool{}
	for _, sy := range syncs {
		link, ok := s.links[sy.Account]
		if !ok {
			continue
		}
		link.Fingerprint, link.Email = sy.Fingerprint, sy.Email
		s.links[sy.Account] = link
		recorded[sy.Account] = true
	}
	return len(recorded), nil
}

// InvoicesByProviderIDs implements billing.Store.
func (s *Store) InvoicesByProviderIDs(_ context.Context, providerIDs []string) (map[string]billing.Invoice, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]billing.Invoice, len(providerIDs))
	for _, id := range providerIDs {
		if si := s.byProviderID(id); si != nil {
			out[id] = si.inv
		}
	}
	return out, nil
}

// RecordInvoiceEmails implements billing.Store, under one lock.
func (s *Store) RecordInvoiceEmails(_ context.Context, emails []billing.InvoiceEmail) (int, error) {
	for _, e := range emails {
		if e.SentAt.IsZero() {
			return 0, errors.New("mock: record invoice emails: zero SentAt")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	recorded := map[string]bool{}
	for _, e := range emails {
		if s.byProviderID(e.ProviderID) == nil {
			continue
		}
		if at := normTime(e.SentAt); at.After(s.emails[e.ProviderID]) {
			s.emails[e.ProviderID] = at
		}
		recorded[e.ProviderID] = true
	}
	return len(recorded), nil
}

// InvoiceEmails implements billing.Store.
func (s *Store) InvoiceEmails(_ context.Context, providerIDs []string) (map[string]time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]time.Time, len(providerIDs))
	for _, id := range providerIDs {
		if at, ok := s.emails[id]; ok {
			out[id] = at
		}
	}
	return out, nil
}
