package billing

import (
	"context"
	"time"
)

// BegunOp is what BeginOps says of one operation.
type BegunOp struct {
	// Op is the operation in force: the one given, or the one already
	// recorded for the same Key or Fingerprint. A caller compares its
	// Params with its own to tell a rerun from a different request under
	// the same logical operation.
	Op MoneyOp
	// New is true when the given operation was recorded.
	New bool
	// Err is ErrConflict when the Key was already used for another
	// Fingerprint; nil otherwise.
	Err error
}

// OpCompletion is the provider's answer to one money operation: what it
// made or changed, and the invoices' states as the provider now computes
// them (amount paid, due and credited, status), never computed locally.
type OpCompletion struct {
	Key string
	// ProviderID is the id of what the operation made or changed (see
	// MoneyOp.ProviderID).
	ProviderID string
	// Payments and CreditNotes are saved by provider id (inserted, or
	// overwritten when stored).
	Payments    []Payment
	CreditNotes []CreditNote
	// Invoices are the affected invoices' new provider states, saved as
	// SaveInvoiceStates saves them: each changed invoice with its
	// InvoiceEvent.
	Invoices []Invoice
}

// OpCompleted is what CompleteOps says of one completion.
type OpCompleted struct {
	Op MoneyOp // as stored
	// Invoices holds, in order, what was done with each of the
	// completion's invoices, as SaveInvoiceStates reports it; an invoice
	// the store does not hold has ErrNotFound in its Err and does not stop
	// the rest. Empty for an operation that was done already.
	Invoices []Saved
	// Err is ErrNotFound for an unknown key, ErrConflict when another
	// record holds a credit note's number; nothing of this completion is
	// then saved.
	Err error
}

// SavedPayment is what SavePaymentStates did with one payment.
type SavedPayment struct {
	Before, After Payment
	// New is true when the payment was not stored before; Changed when
	// it is new or any field changed.
	New, Changed bool
	// Err is ErrNotFound when neither the payment, nor its invoice, nor
	// its credit note is stored: a payment of nothing the app holds is
	// not kept.
	Err error
}

// SavedCreditNote is what SaveCreditNoteStates did with one credit note.
type SavedCreditNote struct {
	Before, After CreditNote
	New, Changed  bool
	// Err is ErrNotFound when neither the credit note nor any invoice it
	// names (InvoiceID, allocations) is stored, ErrConflict when another
	// credit note holds its number.
	Err error
}

// MoneyStore records money operations before the provider is called, and
// keeps the payments and credit notes the provider holds for the app's
// invoices. Its operation methods mirror CreationStore's.
type MoneyStore interface {
	// BeginOps records each operation unless one with the same Key or
	// Fingerprint exists, and returns, in order, the operation in force
	// for each. Recording is atomic: all new ones, or none and an error.
	// The key decides first: a key used for another fingerprint is
	// ErrConflict (in BegunOp.Err) even when the fingerprint is recorded
	// under a third key.
	BeginOps(ctx context.Context, ops []MoneyOp) ([]BegunOp, error)
	// ClaimOp leases the pending operation with this key until now+lease
	// unless another unexpired lease holds it. It returns the operation
	// and whether this caller holds the lease; a done operation is
	// returned with false. ErrNotFound for an unknown key.
	ClaimOp(ctx context.Context, key string, now time.Time, lease time.Duration) (MoneyOp, bool, error)
	// CompleteOps saves, for each completion, atomically: its payments
	// and credit notes, its invoices' states (each changed one with its
	// InvoiceEvent, as SaveInvoiceStates), and the operation as done with
	// its ProviderID. An operation already done yields its stored
	// operation and saves nothing. Per-completion failures are in
	// OpCompleted.Err; the others are saved.
	CompleteOps(ctx context.Context, cs []OpCompletion) ([]OpCompleted, error)
	// AbandonOp removes the pending operation with this key: the provider
	// certainly did nothing (it refused the request), so the app may try
	// again. Done operations and unknown keys are left alone.
	AbandonOp(ctx context.Context, key string) error
	// PendingOps lists the operations not done, oldest first (ties in the
	// order recorded).
	PendingOps(ctx context.Context) ([]MoneyOp, error)

	// PaymentsOfInvoice lists the payments of the invoice with this
	// provider id, deleted ones included, by Date then ProviderID.
	PaymentsOfInvoice(ctx context.Context, invoiceID string) ([]Payment, error)
	// PaymentByProviderID returns the payment, or ErrNotFound.
	PaymentByProviderID(ctx context.Context, providerID string) (Payment, error)
	// CreditNoteByProviderID returns the credit note, or ErrNotFound.
	CreditNoteByProviderID(ctx context.Context, providerID string) (CreditNote, error)
	// CreditNotesOfInvoice lists the credit notes raised for or allocated
	// to the invoice with this provider id, by Date then ProviderID.
	CreditNotesOfInvoice(ctx context.Context, invoiceID string) ([]CreditNote, error)
	// SavePaymentStates saves payments as the provider reports them (the
	// sweep, webhooks), by provider id, in one transaction: every kept
	// payment is saved, or none and an error. One the store must not keep
	// is reported in its SavedPayment.Err and does not stop the others.
	SavePaymentStates(ctx context.Context, ps []Payment) ([]SavedPayment, error)
	// SaveCreditNoteStates is SavePaymentStates for credit notes; their
	// allocations are replaced by those given, and a zero Account or an
	// empty InvoiceID keeps the one stored, so a refresh from the provider
	// never loses which member or invoice the app raised it for.
	SaveCreditNoteStates(ctx context.Context, cs []CreditNote) ([]SavedCreditNote, error)
}
