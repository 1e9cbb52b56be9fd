package billing

import (
	"context"
	"time"
)

// BillingDetails is what a contact sync sends for one account: a user's or
// an organisation's name and email.
type BillingDetails struct {
	Account Account
	Name    string
	Email   string
}

// UserDetails and OrganisationDetails are the BillingDetails of a user and
// of an organisation.
func UserDetails(u User) BillingDetails {
	return BillingDetails{Account: UserAccount(u.ID), Name: u.Name, Email: u.Email}
}

// OrganisationDetails is the BillingDetails of an organisation.
func OrganisationDetails(o Organisation) BillingDetails {
	return BillingDetails{Account: OrganisationAccount(o.ID), Name: o.Name, Email: o.Email}
}

// Outcome says what a bulk operation did with one record.
type Outcome string

// The outcomes of SyncContacts and CreateInvoices.
const (
	// Created: the provider made the record now.
	Created Outcome = "created"
	// Updated: the provider's contact was changed to match.
	Updated Outcome = "updated"
	// Unchanged: the provider already holds exactly this; nothing was sent.
	Unchanged Outcome = "unchanged"
	// Existing: the same logical invoice was created before; it is returned
	// and nothing is sent.
	Existing Outcome = "existing"
	// Pending: the outcome at the provider is unknown; the creation is
	// recorded and resolves on the next run (see ErrCreationPending).
	Pending Outcome = "pending"
	// Failed: the record was refused (see its Err) or could not be tried.
	Failed Outcome = "failed"
)

// Done reports whether the record needs no further run.
func (o Outcome) Done() bool { return o != Pending && o != Failed && o != "" }

// SyncResult is what SyncContacts did with one account.
type SyncResult struct {
	Account   Account
	ContactID string
	Outcome   Outcome
	Err       error
}

// CreateResult is what CreateInvoices did with one invoice.
type CreateResult struct {
	Invoice Invoice // as stored; zero unless Created or Existing
	Outcome Outcome
	Err     error
}

// Progress is reported by bulk operations as they go.
type Progress struct {
	Operation string // e.g. "sync contacts", "create invoices", "email invoices"
	Done      int    // records finished (in any outcome)
	Total     int
	// Calls is how many calls to the provider this operation has made.
	Calls int
	// BudgetLeft is the calls the provider says are left today; -1 when it
	// has not said.
	BudgetLeft int
	// ETA is the time left at the pace so far; zero until there is a pace.
	ETA time.Duration
}

// BulkOptions tune the bulk operations. The zero value is ready to use.
type BulkOptions struct {
	// Force sends every contact, even those the provider already holds as
	// they are.
	Force bool
	// Progress, when set, hears progress after every call.
	Progress func(Progress)
}

// BulkService is implemented by services that work on many records per call
// (xero.Service): up to the provider's batch size a request, with a result
// per record. An error means the operation as a whole stopped (a rate
// limit, a store failure, a cancelled context); the results say what was
// done before, and a rerun finishes the rest without doing anything twice.
type BulkService interface {
	SyncContacts(ctx context.Context, details []BillingDetails, opts BulkOptions) ([]SyncResult, error)
	CreateInvoices(ctx context.Context, params []CreateInvoiceParams, opts BulkOptions) ([]CreateResult, error)
	// EmailInvoices emails each invoice as EmailInvoice does; errs[i] is
	// invoices[i]'s.
	EmailInvoices(ctx context.Context, invoices []Invoice, opts BulkOptions) (errs []error, err error)
}
