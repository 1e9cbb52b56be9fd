package billing

import (
	"context"
	"time"
)

// Store persists what a Service and the webhook receiver need: contact links,
// invoices, and the update-needed marks with their claims.
//
// Every method is safe for concurrent use, from goroutines of one process
// and, for shared databases, from several processes. Methods that change
// more than one row do so atomically. Errors are ErrNotFound and ErrConflict
// (matched with errors.Is) where documented, and otherwise wrap the backend's
// error. A store never calls the billing provider.
//
// Times: stores keep UpdateRequestedAt to the microsecond and return exactly
// what they stored, so a Claim's RequestedAt compares equal to the stored
// value. Passing times in UTC is recommended; stores may return UTC.
//
// The conformance suite in billing/storetest checks all of this; every store
// must pass it.
type Store interface {
	UpdateMarker
	InvoiceFinder
	UpdateQueue
	CreationStore
	MoneyStore
	CreditNoteQueue
	EventQueue
	SweepStore
	MarkCounter
	BulkStore
	EmailLog

	// LinkContact stores the link from account to contactID unless the
	// account is linked already. It returns the link in force afterwards:
	// when two callers race, both get the first caller's link. It fails
	// with ErrInvalidAccount for an account without exactly one owner.
	LinkContact(ctx context.Context, account Account, contactID string) (ContactLink, error)
	// ContactLink returns the account's link, or ErrNotFound.
	ContactLink(ctx context.Context, account Account) (ContactLink, error)
	// RecordContactSync stores what the provider now holds for the
	// account's contact (ContactLink.Fingerprint and Email), so an
	// unchanged re-sync sends nothing. ErrNotFound when the account has no
	// link.
	RecordContactSync(ctx context.Context, account Account, fingerprint, email string) error

	// CreateInvoice saves a new invoice. It fails with ErrConflict when
	// another invoice has the same Number, or the same non-empty
	// ProviderID, and with ErrInvalidAccount for a bad account. The update
	// fields (UpdateNeeded and the rest) are stored as given.
	CreateInvoice(ctx context.Context, inv Invoice) error
	// InvoiceByProviderID returns the invoice with this provider id, or
	// ErrNotFound.
	InvoiceByProviderID(ctx context.Context, providerID string) (Invoice, error)
	// SaveInvoiceState overwrites the provider-owned fields of the invoice
	// with inv.ProviderID (those Invoice.WithProviderState copies),
	// atomically, and returns the invoice as it was before and as it is
	// after. Account, Number and the update fields are left alone. When the
	// provider-owned fields changed, an InvoiceEvent is recorded in the
	// same transaction. ErrNotFound when no invoice has that id.
	SaveInvoiceState(ctx context.Context, inv Invoice) (before, after Invoice, err error)
	// SaveInvoiceStates is SaveInvoiceState for many invoices in one
	// transaction: every known invoice is saved (with its event when it
	// changed), or none and an error. An unknown id is reported in its
	// Saved.Err (ErrNotFound) and does not stop the others.
	SaveInvoiceStates(ctx context.Context, invs []Invoice) ([]Saved, error)

	// SetAsideInvoices lists the invoices set aside, oldest mark first.
	SetAsideInvoices(ctx context.Context) ([]Invoice, error)
}

// BulkStore holds the batch forms of the store's contact and invoice
// methods, for the bulk operations: each is one store round trip for a
// whole batch where the backend allows (PostgreSQL), so a run over many
// records costs the store a few calls, not several a record.
type BulkStore interface {
	// ContactLinksOf returns, by account, the links of the accounts that
	// have one (ContactLink for each); accounts without a link are absent.
	// It fails with ErrInvalidAccount for an account without exactly one
	// owner, before reading anything.
	ContactLinksOf(ctx context.Context, accounts []Account) (map[Account]ContactLink, error)
	// LinkContacts is LinkContact for each of links (its Account and
	// ContactID), and for each link it stores now, RecordContactSync of its
	// Fingerprint and Email (nothing when Fingerprint is empty), so a sync
	// that created contacts records them in one call. It returns, in
	// order, the link in force for each, a link already stored winning
	// over the one given (its sync kept), the first of an account given
	// twice winning over the second. It fails with ErrInvalidAccount for a bad account and with
	// an error for an empty ContactID, before storing anything. Otherwise
	// it is not atomic: after an error some links may be stored, and
	// calling it again is harmless, as each link is first-wins.
	LinkContacts(ctx context.Context, links []ContactLink) ([]ContactLink, error)
	// RecordContactSyncs is RecordContactSync for each of syncs (its
	// Account, Fingerprint and Email), atomically: all or none and an
	// error. Accounts without a link are skipped; an account given twice
	// keeps its last sync. It returns how many accounts it recorded a
	// sync for.
	RecordContactSyncs(ctx context.Context, syncs []ContactLink) (int, error)
	// InvoicesByProviderIDs returns, by provider id, the invoices with
	// these ids; unknown and empty ids are absent.
	InvoicesByProviderIDs(ctx context.Context, providerIDs []string) (map[string]Invoice, error)
}

// InvoiceEmail is one email of an invoice the provider sent.
type InvoiceEmail struct {
	ProviderID string    // the invoice's provider id
	SentAt     time.Time // when the provider accepted it
}

// EmailLog records the invoice emails the provider sent, so a rerun of a
// bulk run emails nobody twice.
type EmailLog interface {
	// RecordInvoiceEmails records the emails durably, all or none and an
	// error. Each invoice keeps its latest SentAt (to the microsecond); an
	// email of an unknown invoice is skipped, and a zero SentAt is an
	// error. It returns how many invoices it recorded an email for.
	RecordInvoiceEmails(ctx context.Context, emails []InvoiceEmail) (int, error)
	// InvoiceEmails returns, by provider id, when each invoice with one of
	// these ids was last emailed; invoices never emailed are absent.
	InvoiceEmails(ctx context.Context, providerIDs []string) (map[string]time.Time, error)
}

// Saved is what SaveInvoiceStates did with one invoice.
type Saved struct {
	Before, After Invoice
	// Changed is true when the provider-owned fields changed (and an
	// event was recorded).
	Changed bool
	Err     error
}

// SweepStore is what the sweep needs of a store.
type SweepStore interface {
	// UpdateMarker queues the invoices the provider sent unreadable.
	UpdateMarker
	// SaveInvoiceStates is Store.SaveInvoiceStates.
	SaveInvoiceStates(ctx context.Context, invs []Invoice) ([]Saved, error)
	// SaveCreditNoteStates and SavePaymentStates are MoneyStore's.
	SaveCreditNoteStates(ctx context.Context, cs []CreditNote) ([]SavedCreditNote, error)
	SavePaymentStates(ctx context.Context, ps []Payment) ([]SavedPayment, error)
	// SweepMark returns the mark stored under name, or the zero time when
	// none was ever set.
	SweepMark(ctx context.Context, name string) (time.Time, error)
	// SetSweepMark stores t under name.
	SetSweepMark(ctx context.Context, name string, t time.Time) error
	// OpenInvoices lists the provider ids of the invoices that are neither
	// paid, voided nor deleted, sorted.
	OpenInvoices(ctx context.Context) ([]string, error)
	// EarliestIssueDate returns the oldest invoice's IssueDate, or the zero
	// Date when there is no invoice.
	EarliestIssueDate(ctx context.Context) (Date, error)
}

// Claim is one invoice leased by ClaimUpdates.
type Claim struct {
	ProviderID  string
	Number      string
	RequestedAt time.Time // the invoice's UpdateRequestedAt when claimed
	Attempts    int       // UpdateAttempts when claimed
}

// UpdateMarker records that the provider changed invoices: what a webhook
// receiver needs of a store.
type UpdateMarker interface {
	// MarkUpdateNeeded flags the invoices with these provider ids:
	// UpdateNeeded = true, UpdateRequestedAt = at, UpdateAttempts = 0,
	// UpdateError = "", SetAside = false, and any claim lease is kept. If
	// an invoice's stored UpdateRequestedAt is not before at (two marks in
	// the same microsecond, or a clock step back), the store uses the
	// stored value plus one microsecond instead, so every mark changes the
	// token. Unknown ids are ignored. It returns the number of invoices
	// marked; all of them are marked durably, or none and an error.
	MarkUpdateNeeded(ctx context.Context, providerIDs []string, at time.Time) (int, error)
}

// InvoiceFinder looks invoices up by number: what the invoice redirect
// needs of a store.
type InvoiceFinder interface {
	// InvoiceByNumber returns the invoice with this number, or ErrNotFound.
	InvoiceByNumber(ctx context.Context, number string) (Invoice, error)
}

// UpdateQueue is the queue of marked invoices: what the fetch job needs of a
// store.
type UpdateQueue interface {
	// ClaimUpdates leases up to limit invoices that have UpdateNeeded, are
	// not SetAside, have a non-empty ProviderID, and are not under a lease
	// that is still running at now. Oldest UpdateRequestedAt first (ties by
	// Number). Each claimed invoice is leased until now+lease, so
	// concurrent callers, in this process or another, get disjoint claims.
	// A limit <= 0 claims nothing; a lease <= 0 is an error.
	// The lease is a safety net for a crashed caller: callers end every
	// claim with CompleteUpdate, FailUpdate or ReleaseClaims.
	ClaimUpdates(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]Claim, error)
	// CompleteUpdate ends a claim after a successful fetch: it clears
	// UpdateNeeded, UpdateAttempts and UpdateError only if UpdateRequestedAt
	// still equals c.RequestedAt (a later mark keeps the flag set), and
	// always ends the lease. It reports whether the flag was cleared.
	// ErrNotFound when the invoice is gone.
	CompleteUpdate(ctx context.Context, c Claim) (cleared bool, err error)
	// CompleteUpdates is CompleteUpdate for many claims in one
	// transaction; cleared[i] is claims[i]'s. Claims of invoices that are
	// gone report false.
	CompleteUpdates(ctx context.Context, claims []Claim) (cleared []bool, err error)
	// FailUpdate ends a claim after a failed fetch of that invoice: the flag
	// stays set, UpdateAttempts is incremented, UpdateError = reason, the
	// lease ends, and SetAside becomes true when UpdateAttempts reaches
	// maxAttempts (maxAttempts <= 0 never sets aside). If the invoice was
	// marked again since the claim, only the lease ends. It returns the
	// invoice as saved, or ErrNotFound when the invoice is gone.
	FailUpdate(ctx context.Context, c Claim, reason string, maxAttempts int) (Invoice, error)
	// ReleaseClaims ends the leases without recording anything, for a fetch
	// that did not run (rate limit, cancelled context).
	ReleaseClaims(ctx context.Context, claims []Claim) error
}
