package billing

import (
	"context"
	"errors"
	"fmt"
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

// The outcomes of SyncContacts, CreateInvoices and EmailInvoices.
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
	// NotAttempted: the operation stopped before this record (the provider
	// looked unreachable, a rate limit, a cancelled context); nothing was
	// sent for it, and a rerun does it. Its Err matches ErrNotAttempted and
	// what stopped the operation.
	NotAttempted Outcome = "not attempted"

	// Emailed: the provider emailed the invoice now.
	Emailed Outcome = "emailed"
	// AlreadyEmailed: the store records an email of this invoice from an
	// earlier run; nothing was sent (BulkOptions.ForceEmail sends again).
	AlreadyEmailed Outcome = "already emailed"
	// Skipped: the settings say not to email this invoice (emailing off,
	// or an address the whitelist does not match); nothing was sent.
	Skipped Outcome = "skipped"
)

// Done reports whether the record needs no further run.
func (o Outcome) Done() bool {
	return o != Pending && o != Failed && o != NotAttempted && o != ""
}

// ErrNotAttempted matches the Err of a record a bulk operation did not
// reach because it stopped first (Outcome NotAttempted).
var ErrNotAttempted = errors.New("billing: not attempted: the operation stopped before this record")

// ErrUnreachable matches the error of a bulk operation that stopped because
// the provider looked unreachable: BulkOptions.MaxTemporaryFailures calls in
// a row failed with a temporary error (see UnreachableError).
var ErrUnreachable = errors.New("billing: the billing provider looks unreachable")

// UnreachableError is why a bulk operation stopped early: Failures calls in
// a row failed with temporary errors (network failures, timeouts, 5xx
// answers), each already retried by the client. It matches ErrUnreachable
// and the last failure, and is temporary: run again later.
type UnreachableError struct {
	Failures int
	Err      error // the last failure
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("%v: %d calls in a row failed, the last with: %v", ErrUnreachable, e.Failures, e.Err)
}

// Unwrap returns ErrUnreachable and the last failure.
func (e *UnreachableError) Unwrap() []error { return []error{ErrUnreachable, e.Err} }

// Temporary reports true: a later run may find the provider back.
func (e *UnreachableError) Temporary() bool { return true }

// NotAttemptedError is the Err of a record with Outcome NotAttempted: it
// matches ErrNotAttempted and stop, what stopped the operation.
func NotAttemptedError(stop error) error {
	if stop == nil {
		return ErrNotAttempted
	}
	return fmt.Errorf("%w: %w", ErrNotAttempted, stop)
}

// SyncResult is what SyncContacts did with one account.
type SyncResult struct {
	Account   Account
	ContactID string
	Outcome   Outcome
	Err       error
}

// EmailResult is what EmailInvoices did with one invoice.
type EmailResult struct {
	Outcome Outcome // Emailed, AlreadyEmailed, Skipped, Failed or NotAttempted
	// EmailedAt is when the email was sent: now (Emailed) or by an
	// earlier run, as the store recorded it (AlreadyEmailed).
	EmailedAt time.Time
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

// DefaultMaxTemporaryFailures is BulkOptions.MaxTemporaryFailures' default.
const DefaultMaxTemporaryFailures = 3

// BulkOptions tune the bulk operations. The zero value is ready to use.
type BulkOptions struct {
	// Force sends every contact, even those the provider already holds as
	// they are.
	Force bool
	// ForceEmail makes EmailInvoices email invoices the store records as
	// emailed already; by default they are AlreadyEmailed and not sent.
	ForceEmail bool
	// MaxTemporaryFailures is how many calls in a row may fail with a
	// temporary error (network failures, timeouts, 5xx answers, each after
	// the client's own retries) before the operation stops and reports the
	// rest NotAttempted, with an *UnreachableError (default 3). A record
	// the provider refuses is an answer, not an outage: it ends the run of
	// failures. Rate limits, refused credentials and a cancelled context
	// stop the operation at once, whatever this says.
	MaxTemporaryFailures int
	// Progress, when set, hears progress after every call.
	Progress func(Progress)
}

// MaxFailures is o.MaxTemporaryFailures, or its default when not positive.
func (o BulkOptions) MaxFailures() int {
	if o.MaxTemporaryFailures <= 0 {
		return DefaultMaxTemporaryFailures
	}
	return o.MaxTemporaryFailures
}

// BulkService is implemented by services that work on many records per call
// (xero.Service): up to the provider's batch size a request, with a result
// per record. An error means the operation as a whole stopped (a rate
// limit, the provider unreachable, a store failure, a cancelled context);
// the results say what was done before, the records not reached are
// NotAttempted, and a rerun finishes the rest without doing anything twice.
type BulkService interface {
	SyncContacts(ctx context.Context, details []BillingDetails, opts BulkOptions) ([]SyncResult, error)
	CreateInvoices(ctx context.Context, params []CreateInvoiceParams, opts BulkOptions) ([]CreateResult, error)
	// EmailInvoices emails each invoice as EmailInvoice does, except one
	// the store records as emailed already (AlreadyEmailed, no call)
	// unless opts.ForceEmail is set; each email sent is recorded.
	// res[i] is invoices[i]'s.
	EmailInvoices(ctx context.Context, invoices []Invoice, opts BulkOptions) (res []EmailResult, err error)
}
