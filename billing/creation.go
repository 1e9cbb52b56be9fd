package billing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Creation is one invoice creation, recorded durably before the provider is
// called. A crash, a timeout, a dropped connection or an unreadable answer
// leaves it pending; it is then resolved (the provider's invoice found and
// adopted, or, only when the provider certainly has none, sent again), never
// repeated blindly. Once the provider's invoice is saved the creation is
// done and stays recorded, so asking again for the same logical invoice
// returns that invoice instead of billing twice.
//
// The logical invoice is its Fingerprint: the account, the reference, the
// dates and the lines (CreateInvoiceParams.Fingerprint). To bill a member
// twice on purpose, give the second invoice a different reference.
type Creation struct {
	// Key is the idempotency key sent to the provider with every attempt:
	// the caller's CreateInvoiceParams.IdempotencyKey, or one generated
	// once. Unique in the store.
	Key string
	// Fingerprint identifies the logical invoice. Unique in the store.
	Fingerprint string
	Account     Account
	// ContactID is the provider's contact the invoice is addressed to.
	ContactID string
	// Params is what is sent, kept so a pending creation can be resolved
	// and, if the provider has none, sent again.
	Params    CreateInvoiceParams
	CreatedAt time.Time
	// LeaseUntil keeps other resolvers away while one works on the
	// creation (the creating call included).
	LeaseUntil time.Time
	// InvoiceNumber and ProviderID are set once the provider's invoice is
	// saved; a creation without a ProviderID is pending.
	InvoiceNumber string
	ProviderID    string
}

// Done reports whether the provider's invoice has been saved.
func (c Creation) Done() bool { return c.ProviderID != "" }

// Begun is what BeginCreations says of one creation.
type Begun struct {
	// Creation is the creation in force: the one given, or the one already
	// recorded for the same Key or Fingerprint.
	Creation Creation
	// New is true when the given creation was recorded.
	New bool
	// Err is ErrConflict when the Key was already used for another
	// Fingerprint; nil otherwise.
	Err error
}

// Completion is the provider's answer to one creation.
type Completion struct {
	Key string
	// Created is the invoice as the provider made it; it becomes the row.
	Created Invoice
	// Current is the provider's state now, saved over Created: when the
	// two differ (the member paid while the answer was lost) the store
	// records an InvoiceEvent. Normally the two are the same.
	Current Invoice
}

// Completed is what CompleteCreations says of one completion.
type Completed struct {
	Invoice Invoice // as stored
	// Err is ErrNotFound for an unknown key, ErrConflict when another
	// invoice holds the number; nil otherwise. An invoice already stored
	// with Created's provider id is this one: it is adopted (Current saved
	// over it), not a conflict.
	Err error
}

// CreationStore records invoice creations before the provider is called.
type CreationStore interface {
	// BeginCreations records each creation unless one with the same Key or
	// Fingerprint exists, and returns, in order, the creation in force for
	// each. Recording is atomic: all new ones, or none and an error.
	BeginCreations(ctx context.Context, cs []Creation) ([]Begun, error)
	// ClaimCreation leases the pending creation with this key until
	// now+lease unless another unexpired lease holds it. It returns the
	// creation and whether this caller holds the lease; a done creation is
	// returned with false. ErrNotFound for an unknown key.
	ClaimCreation(ctx context.Context, key string, now time.Time, lease time.Duration) (Creation, bool, error)
	// CompleteCreations saves, for each completion, atomically: the invoice
	// row (Created with Current's provider state on top, and an
	// InvoiceEvent when they differ), and the creation as done. A creation
	// already done yields its stored invoice unchanged. Per-record
	// failures are in Completed.Err; the others are saved.
	CompleteCreations(ctx context.Context, cs []Completion) ([]Completed, error)
	// AbandonCreation removes the pending creation with this key: the
	// provider certainly made no invoice (it refused the request), so the
	// app may try again. Done creations and unknown keys are left alone.
	AbandonCreation(ctx context.Context, key string) error
	// PendingCreations lists the creations not done, oldest first.
	PendingCreations(ctx context.Context) ([]Creation, error)
}

// Fingerprint identifies the logical invoice p describes: the account, the
// reference, the dates and every line (description, quantity, unit amount,
// account code; amounts compared by value, so 1.0 and 1.00 agree). The
// idempotency key is not part of it.
func (p CreateInvoiceParams) Fingerprint() string {
	type line struct{ D, Q, U, A string }
	v := struct {
		U, O, R, D, Due string
		L               []line
	}{U: p.Account.UserID, O: p.Account.OrganisationID, R: p.Reference, D: p.Date.String(), Due: p.DueDate.String()}
	for _, li := range p.LineItems {
		v.L = append(v.L, line{li.Description, li.Quantity.String(), li.UnitAmount.String(), li.AccountCode})
	}
	b, _ := json.Marshal(v) // strings only: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
