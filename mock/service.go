package mock

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sync"

	"github.com/shopspring/decimal"

	"github.com/amsbilling/sdk/billing"
)

// Method names of billing.Service, as recorded in Call.Method and accepted by
// FailNext.
const (
	MethodUpdateUserBillingDetails         = "UpdateUserBillingDetails"
	MethodUpdateOrganisationBillingDetails = "UpdateOrganisationBillingDetails"
	MethodCreateInvoice                    = "CreateInvoice"
	MethodEmailInvoice                     = "EmailInvoice"
	MethodUpdateInvoices                   = "UpdateInvoices"
	MethodGetInvoiceURL                    = "GetInvoiceURL"
)

// DefaultCurrency is the currency of invoices until SetCurrency is called.
const DefaultCurrency = "NZD"

// InvoiceURLPrefix starts every URL GetInvoiceURL returns; the invoice
// number follows it. The .invalid domain never resolves.
const InvoiceURLPrefix = "https://invoicing.example.invalid/"

// maxNumberProbes bounds the search for a free invoice number when the store
// already holds invoices, for example from an earlier run on a file database.
const maxNumberProbes = 10000

// Call is one recorded call of a BillingService method. Args are the
// arguments after the context, in order: a billing.User,
// billing.Organisation, billing.CreateInvoiceParams, billing.Invoice or
// []string.
type Call struct {
	Method string
	Args   []any
}

// BillingService is a billing.Service that talks to no provider (AMS's
// MockBillingService). Contacts get ids "00000000-0000-4000-8000-000000000001",
// "...0002" and so on; invoices get numbers "INV-0001", "INV-0002"... and
// provider ids "00000000-0000-4000-9000-000000000001", "...0002". Invoices
// are saved in the store as AUTHORISED with nothing paid.
//
// It records every call (Calls) and can fail the next call of a method
// (FailNext). It implements billing.Simulated, so FetchInvoiceUpdates skips
// it. A BillingService is safe for concurrent use.
type BillingService struct {
	store billing.Store

	// createMu serialises CreateInvoice, so numbering and idempotency keys
	// need no rollback when the store fails.
	createMu sync.Mutex

	mu          sync.Mutex
	calls       []Call
	failures    map[string][]error
	contacts    int
	invoices    int
	currency    string
	idempotency map[string]string // IdempotencyKey -> invoice Number
}

var (
	_ billing.Service   = (*BillingService)(nil)
	_ billing.Simulated = (*BillingService)(nil)
)

// NewBillingService returns a BillingService that keeps contact links and
// invoices in store.
func NewBillingService(store billing.Store) *BillingService {
	return &BillingService{
		store:       store,
		failures:    make(map[string][]error),
		currency:    DefaultCurrency,
		idempotency: make(map[string]string),
	}
}

// Simulated reports true: this service calls no billing provider.
func (s *BillingService) Simulated() bool { return true }

// SetCurrency sets the currency of invoices created from now on.
func (s *BillingService) SetCurrency(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.currency = code
}

// Calls returns the calls made so far, oldest first.
func (s *BillingService) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		out[i] = Call{Method: c.Method, Args: slices.Clone(c.Args)}
	}
	return out
}

// FailNext makes the next call of method (one of the Method constants)
// return err without doing anything; the call is still recorded. Several
// FailNext calls for one method fail that many calls, in order.
func (s *BillingService) FailNext(method string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[method] = append(s.failures[method], err)
}

// begin records a call and returns the injected failure, if any, or the
// context's error.
func (s *BillingService) begin(ctx context.Context, method string, args ...any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, Call{Method: method, Args: args})
	if queue := s.failures[method]; len(queue) > 0 {
		err := queue[0]
		if len(queue) == 1 {
			delete(s.failures, method)
		} else {
			s.failures[method] = queue[1:]
		}
		return err
	}
	return ctx.Err()
}

// UpdateUserBillingDetails links the user's account to a new contact id,
// unless it is linked already.
func (s *BillingService) UpdateUserBillingDetails(ctx context.Context, u billing.User) error {
	if err := s.begin(ctx, MethodUpdateUserBillingDetails, u); err != nil {
		return err
	}
	return s.linkContact(ctx, billing.UserAccount(u.ID))
}

// UpdateOrganisationBillingDetails links the organisation's account to a new
// contact id, unless it is linked already.
func (s *BillingService) UpdateOrganisationBillingDetails(ctx context.Context, o billing.Organisation) error {
	if err := s.begin(ctx, MethodUpdateOrganisationBillingDetails, o); err != nil {
		return err
	}
	return s.linkContact(ctx, billing.OrganisationAccount(o.ID))
}

func (s *BillingService) linkContact(ctx context.Context, account billing.Account) error {
	if err := account.Validate(); err != nil {
		return err
	}
	_, err := s.store.ContactLink(ctx, account)
	switch {
	case err == nil:
		return nil // the real service would update the contact's details
	case !errors.Is(err, billing.ErrNotFound):
		return fmt.Errorf("mock: contact link for %s: %w", account, err)
	}
	s.mu.Lock()
	s.contacts++
	id := contactID(s.contacts)
	s.mu.Unlock()
	if _, err := s.store.LinkContact(ctx, account, id); err != nil {
		return fmt.Errorf("mock: link %s: %w", account, err)
	}
	return nil
}

// CreateInvoice validates p, requires a contact link (billing.ErrNoContact
// otherwise) and saves an AUTHORISED invoice whose Amount and Due are the
// sum of the line amounts, each quantity × unit amount rounded to cents as
// Xero does. A repeated IdempotencyKey returns the first invoice.
func (s *BillingService) CreateInvoice(ctx context.Context, p billing.CreateInvoiceParams) (billing.Invoice, error) {
	recorded := p
	recorded.LineItems = slices.Clone(p.LineItems)
	if err := s.begin(ctx, MethodCreateInvoice, recorded); err != nil {
		return billing.Invoice{}, err
	}
	if err := p.Validate(); err != nil {
		return billing.Invoice{}, err
	}
	if _, err := s.store.ContactLink(ctx, p.Account); err != nil {
		if errors.Is(err, billing.ErrNotFound) {
			return billing.Invoice{}, fmt.Errorf("%w: %s", billing.ErrNoContact, p.Account)
		}
		return billing.Invoice{}, fmt.Errorf("mock: contact link for %s: %w", p.Account, err)
	}

	s.createMu.Lock()
	defer s.createMu.Unlock()

	if p.IdempotencyKey != "" {
		s.mu.Lock()
		number, ok := s.idempotency[p.IdempotencyKey]
		s.mu.Unlock()
		if ok {
			inv, err := s.store.InvoiceByNumber(ctx, number)
			if err != nil {
				return billing.Invoice{}, fmt.Errorf("mock: invoice %s: %w", number, err)
			}
			return inv, nil
		}
	}

	amount := decimal.Zero
	for _, li := range p.LineItems {
		amount = amount.Add(li.Quantity.Mul(li.UnitAmount).Round(2))
	}
	s.mu.Lock()
	currency := s.currency
	s.mu.Unlock()
	inv := billing.Invoice{
		Account:   p.Account,
		Reference: p.Reference,
		Status:    billing.StatusAuthorised,
		Currency:  currency,
		IssueDate: p.Date,
		DueDate:   p.DueDate,
		Amount:    amount,
		Paid:      decimal.Zero,
		Due:       amount,
	}
	// Skip numbers the store already holds, so a file database reused
	// across runs keeps working.
	for range maxNumberProbes {
		s.mu.Lock()
		s.invoices++
		n := s.invoices
		s.mu.Unlock()
		inv.Number = invoiceNumber(n)
		inv.ProviderID = invoiceID(n)
		err := s.store.CreateInvoice(ctx, inv)
		if errors.Is(err, billing.ErrConflict) {
			continue
		}
		if err != nil {
			return billing.Invoice{}, fmt.Errorf("mock: save invoice %s: %w", inv.Number, err)
		}
		if p.IdempotencyKey != "" {
			s.mu.Lock()
			s.idempotency[p.IdempotencyKey] = inv.Number
			s.mu.Unlock()
		}
		saved, err := s.store.InvoiceByNumber(ctx, inv.Number)
		if err != nil {
			return billing.Invoice{}, fmt.Errorf("mock: invoice %s: %w", inv.Number, err)
		}
		return saved, nil
	}
	return billing.Invoice{}, fmt.Errorf("mock: no free invoice number after %d tries: %w", maxNumberProbes, billing.ErrConflict)
}

// EmailInvoice records the call and sends nothing.
func (s *BillingService) EmailInvoice(ctx context.Context, inv billing.Invoice) error {
	return s.begin(ctx, MethodEmailInvoice, inv)
}

// UpdateInvoices records the call and returns an empty result: there is no
// provider whose state could differ from the store's.
func (s *BillingService) UpdateInvoices(ctx context.Context, providerIDs []string) (billing.UpdateResult, error) {
	if err := s.begin(ctx, MethodUpdateInvoices, slices.Clone(providerIDs)); err != nil {
		return billing.UpdateResult{}, err
	}
	return billing.UpdateResult{}, nil
}

// GetInvoiceURL returns InvoiceURLPrefix followed by the invoice number, or
// "" when the invoice has no provider id.
func (s *BillingService) GetInvoiceURL(ctx context.Context, inv billing.Invoice) (string, error) {
	if err := s.begin(ctx, MethodGetInvoiceURL, inv); err != nil {
		return "", err
	}
	if inv.ProviderID == "" {
		return "", nil
	}
	return InvoiceURLPrefix + url.PathEscape(inv.Number), nil
}

func contactID(n int) string     { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }
func invoiceID(n int) string     { return fmt.Sprintf("00000000-0000-4000-9000-%012d", n) }
func invoiceNumber(n int) string { return fmt.Sprintf("INV-%04d", n) }
