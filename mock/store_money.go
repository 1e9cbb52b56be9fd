package mock

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/amsbilling/sdk/billing"
)

// moneyState is the Store's money: operations, payments and credit notes.
// Its maps are made on first use, under s.mu.
type moneyState struct {
	ops      []*billing.MoneyOp // in the order recorded
	opByKey  map[string]*billing.MoneyOp
	opByFP   map[string]*billing.MoneyOp
	payments map[string]billing.Payment    // by provider id
	credits  map[string]billing.CreditNote // by provider id
}

// moneyOf returns the money state, ready. s.mu must be held.
func (s *Store) moneyOf() *moneyState {
	m := &s.money
	if m.opByKey == nil {
		m.opByKey = make(map[string]*billing.MoneyOp)
		m.opByFP = make(map[string]*billing.MoneyOp)
		m.payments = make(map[string]billing.Payment)
		m.credits = make(map[string]billing.CreditNote)
	}
	return m
}

// opView is a copy of a stored operation that shares nothing with the store.
func opView(op *billing.MoneyOp) billing.MoneyOp {
	v := *op
	v.Params = cloneMoneyParams(op.Params)
	return v
}

func cloneMoneyParams(p billing.MoneyParams) billing.MoneyParams {
	if p.Payment != nil {
		c := *p.Payment
		p.Payment = &c
	}
	if p.Reversal != nil {
		c := *p.Reversal
		p.Reversal = &c
	}
	if p.CreditNote != nil {
		c := *p.CreditNote
		p.CreditNote = &c
	}
	if p.Allocation != nil {
		c := *p.Allocation
		p.Allocation = &c
	}
	if p.Refund != nil {
		c := *p.Refund
		p.Refund = &c
	}
	if p.Void != nil {
		c := *p.Void
		p.Void = &c
	}
	return p
}

func cloneCredit(c billing.CreditNote) billing.CreditNote {
	c.Allocations = slices.Clone(c.Allocations)
	return c
}

// BeginOps implements billing.Store.
func (s *Store) BeginOps(_ context.Context, ops []billing.MoneyOp) ([]billing.BegunOp, error) {
	for _, op := range ops {
		if op.Key == "" || op.Fingerprint == "" {
			return nil, errors.New("mock: begin money operation: key and fingerprint are required")
		}
		if kind, err := op.Params.Kind(); err != nil || kind != op.Kind {
			return nil, fmt.Errorf("mock: begin money operation %s: kind %q does not match its parameters", op.Key, op.Kind)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.moneyOf()
	out := make([]billing.BegunOp, len(ops))
	for i, op := range ops {
		found := m.opByKey[op.Key]
		if found == nil {
			found = m.opByFP[op.Fingerprint]
		}
		switch {
		case found == nil:
			op.CreatedAt, op.LeaseUntil = normTime(op.CreatedAt), normTime(op.LeaseUntil)
			op.Done, op.ProviderID = false, ""
			op.Params = cloneMoneyParams(op.Params)
			m.ops = append(m.ops, &op)
			m.opByKey[op.Key], m.opByFP[op.Fingerprint] = &op, &op
			out[i] = billing.BegunOp{Op: opView(&op), New: true}
		case found.Key == op.Key && found.Fingerprint != op.Fingerprint:
			out[i] = billing.BegunOp{Op: opView(found), Err: fmt.Errorf("idempotency key %q is already used for another operation: %w", op.Key, billing.ErrConflict)}
		default:
			out[i] = billing.BegunOp{Op: opView(found)}
		}
	}
	return out, nil
}

// ClaimOp implements billing.Store.
func (s *Store) ClaimOp(_ context.Context, key string, now time.Time, lease time.Duration) (billing.MoneyOp, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	op := s.moneyOf().opByKey[key]
	if op == nil {
		return billing.MoneyOp{}, false, fmt.Errorf("money operation %q: %w", key, billing.ErrNotFound)
	}
	if op.Done || op.LeaseUntil.After(now) {
		return opView(op), false, nil
	}
	op.LeaseUntil = normTime(now.Add(lease))
	return opView(op), true, nil
}

// CompleteOps implements billing.Store: each completion under the lock, so
// it is atomic as a transaction is.
func (s *Store) CompleteOps(_ context.Context, cs []billing.OpCompletion) ([]billing.OpCompleted, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.moneyOf()
	out := make([]billing.OpCompleted, len(cs))
	for i, comp := range cs {
		op := m.opByKey[comp.Key]
		if op == nil {
			out[i].Err = fmt.Errorf("money operation %q: %w", comp.Key, billing.ErrNotFound)
			continue
		}
		if op.Done {
			out[i].Op = opView(op)
			continue
		}
		if err := s.checkCreditNumbers(comp.CreditNotes); err != nil {
			out[i].Err = err
			continue
		}
		for _, p := range comp.Payments {
			m.payments[p.ProviderID] = p
		}
		for _, c := range comp.CreditNotes {
			m.credits[c.ProviderID] = s.mergeCredit(c)
		}
		out[i].Invoices = make([]billing.Saved, len(comp.Invoices))
		for k, inv := range comp.Invoices {
			si := s.byProviderID(inv.ProviderID)
			if si == nil {
				out[i].Invoices[k].Err = fmt.Errorf("invoice provider id %q: %w", inv.ProviderID, billing.ErrNotFound)
				continue
			}
			sv := &out[i].Invoices[k]
			sv.Before, sv.After, sv.Changed = s.saveState(si, inv)
		}
		op.Done, op.ProviderID, op.LeaseUntil = true, comp.ProviderID, time.Time{}
		out[i].Op = opView(op)
	}
	return out, nil
}

// checkCreditNumbers reports ErrConflict when another stored credit note
// holds the number of one of cs. s.mu must be held.
func (s *Store) checkCreditNumbers(cs []billing.CreditNote) error {
	for _, c := range cs {
		if c.ProviderID == "" {
			return fmt.Errorf("mock: credit note without a provider id: %w", billing.ErrNotFound)
		}
		if c.Number == "" {
			continue
		}
		for id, other := range s.money.credits {
			if id != c.ProviderID && other.Number == c.Number {
				return fmt.Errorf("credit note number %q: %w", c.Number, billing.ErrConflict)
			}
		}
	}
	return nil
}

// mergeCredit is c as it is stored: a zero Account and an empty InvoiceID
// keep the stored ones. s.mu must be held.
func (s *Store) mergeCredit(c billing.CreditNote) billing.CreditNote {
	if old, ok := s.money.credits[c.ProviderID]; ok {
		if c.Account == (billing.Account{}) {
			c.Account = old.Account
		}
		if c.InvoiceID == "" {
			c.InvoiceID = old.InvoiceID
		}
	}
	return cloneCredit(c)
}

// AbandonOp implements billing.Store.
func (s *Store) AbandonOp(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.moneyOf()
	op := m.opByKey[key]
	if op == nil || op.Done {
		return nil
	}
	m.ops = slices.DeleteFunc(m.ops, func(x *billing.MoneyOp) bool { return x == op })
	delete(m.opByKey, op.Key)
	delete(m.opByFP, op.Fingerprint)
	return nil
}

// PendingOps implements billing.Store.
func (s *Store) PendingOps(_ context.Context) ([]billing.MoneyOp, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []billing.MoneyOp
	for _, op := range s.moneyOf().ops {
		if !op.Done {
			out = append(out, opView(op))
		}
	}
	slices.SortStableFunc(out, func(a, b billing.MoneyOp) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// comparePayments orders payments by date, then provider id.
func comparePayments(a, b billing.Payment) int {
	return cmp.Or(compareDates(a.Date, b.Date), cmp.Compare(a.ProviderID, b.ProviderID))
}

func compareCredits(a, b billing.CreditNote) int {
	return cmp.Or(compareDates(a.Date, b.Date), cmp.Compare(a.ProviderID, b.ProviderID))
}

func compareDates(a, b billing.Date) int {
	switch {
	case a.Before(b):
		return -1
	case b.Before(a):
		return 1
	}
	return 0
}

// PaymentsOfInvoice implements billing.Store.
func (s *Store) PaymentsOfInvoice(_ context.Context, invoiceID string) ([]billing.Payment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []billing.Payment
	if invoiceID == "" {
		return nil, nil
	}
	for _, p := range s.moneyOf().payments {
		if p.InvoiceID == invoiceID {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, comparePayments)
	return out, nil
}

// PaymentByProviderID implements billing.Store.
func (s *Store) PaymentByProviderID(_ context.Context, providerID string) (billing.Payment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.moneyOf().payments[providerID]
	if !ok || providerID == "" {
		return billing.Payment{}, fmt.Errorf("payment %q: %w", providerID, billing.ErrNotFound)
	}
	return p, nil
}

// CreditNoteByProviderID implements billing.Store.
func (s *Store) CreditNoteByProviderID(_ context.Context, providerID string) (billing.CreditNote, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.moneyOf().credits[providerID]
	if !ok || providerID == "" {
		return billing.CreditNote{}, fmt.Errorf("credit note %q: %w", providerID, billing.ErrNotFound)
	}
	return cloneCredit(c), nil
}

// CreditNotesOfInvoice implements billing.Store.
func (s *Store) CreditNotesOfInvoice(_ context.Context, invoiceID string) ([]billing.CreditNote, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []billing.CreditNote
	for _, c := range s.moneyOf().credits {
		if c.Touches(invoiceID) {
			out = append(out, cloneCredit(c))
		}
	}
	slices.SortFunc(out, compareCredits)
	return out, nil
}

// SavePaymentStates implements billing.Store.
func (s *Store) SavePaymentStates(_ context.Context, ps []billing.Payment) ([]billing.SavedPayment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.moneyOf()
	out := make([]billing.SavedPayment, len(ps))
	for i, p := range ps {
		old, stored := m.payments[p.ProviderID]
		_, creditKnown := m.credits[p.CreditNoteID]
		switch {
		case p.ProviderID == "":
			out[i].Err = fmt.Errorf("payment without a provider id: %w", billing.ErrNotFound)
			continue
		case !stored && s.byProviderID(p.InvoiceID) == nil && !(p.CreditNoteID != "" && creditKnown):
			out[i].Err = fmt.Errorf("payment %q: neither its invoice nor its credit note is stored: %w", p.ProviderID, billing.ErrNotFound)
			continue
		}
		m.payments[p.ProviderID] = p
		out[i] = billing.SavedPayment{Before: old, After: p, New: !stored, Changed: !stored || !old.Same(p)}
	}
	return out, nil
}

// SaveCreditNoteStates implements billing.Store.
func (s *Store) SaveCreditNoteStates(_ context.Context, cs []billing.CreditNote) ([]billing.SavedCreditNote, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.moneyOf()
	out := make([]billing.SavedCreditNote, len(cs))
	for i, c := range cs {
		old, stored := m.credits[c.ProviderID]
		if c.ProviderID == "" || (!stored && !s.knowsAnInvoice(c)) {
			out[i].Err = fmt.Errorf("credit note %q: none of its invoices is stored: %w", c.ProviderID, billing.ErrNotFound)
			continue
		}
		if err := s.checkCreditNumbers([]billing.CreditNote{c}); err != nil {
			out[i].Err = err
			continue
		}
		after := s.mergeCredit(c)
		m.credits[c.ProviderID] = after
		out[i] = billing.SavedCreditNote{Before: cloneCredit(old), After: cloneCredit(after), New: !stored, Changed: !stored || !old.Same(after)}
	}
	return out, nil
}

// knowsAnInvoice reports whether the store holds an invoice c names. s.mu
// must be held.
func (s *Store) knowsAnInvoice(c billing.CreditNote) bool {
	if s.byProviderID(c.InvoiceID) != nil {
		return true
	}
	for _, a := range c.Allocations {
		if s.byProviderID(a.InvoiceID) != nil {
			return true
		}
	}
	return false
}
