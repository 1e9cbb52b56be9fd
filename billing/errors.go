package billing

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrNotFound: the store holds no such record.
	ErrNotFound = errors.New("billing: not found")
	// ErrConflict: a record with the same unique key (invoice number,
	// provider invoice id) already exists.
	ErrConflict = errors.New("billing: already exists")
	// ErrNoContact: the account has no contact at the billing provider yet;
	// sync its billing details first.
	ErrNoContact = errors.New("billing: account has no billing contact; update its billing details first")
	// ErrInvalidAccount: an Account without exactly one owner.
	ErrInvalidAccount = errors.New("billing: invalid account")
	// ErrInvalidInvoice: CreateInvoice parameters that cannot be sent.
	ErrInvalidInvoice = errors.New("billing: invalid invoice")
	// ErrNoService: no billing service is configured (AMS_BILLING_SERVICE_CLASS unset).
	ErrNoService = errors.New("billing: no billing service configured")
	// ErrInvalidConfig: the configuration failed validation; the wrapped
	// errors name every bad variable.
	ErrInvalidConfig = errors.New("billing: invalid configuration")
)

// ConfigError is one bad setting, named by the environment variable that
// sets it. It matches ErrInvalidConfig. Its text never holds a secret.
type ConfigError struct {
	Var     string // e.g. "XERO_CLIENT_ID"
	Problem string // e.g. "required when AMS_BILLING_SERVICE_CLASS selects Xero"
	// Missing is true when the setting is required and unset.
	Missing bool
}

func (e *ConfigError) Error() string { return e.Var + ": " + e.Problem }

// Is matches ErrInvalidConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// ConfigErrors returns every *ConfigError in err's tree (a configuration
// error joins one per bad variable), in order; none for another error.
func ConfigErrors(err error) []*ConfigError {
	if ce, ok := err.(*ConfigError); ok {
		return []*ConfigError{ce}
	}
	var out []*ConfigError
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			out = append(out, ConfigErrors(e)...)
		}
	case interface{ Unwrap() error }:
		out = ConfigErrors(u.Unwrap())
	}
	return out
}

// ErrCreationPending matches a CreateInvoice whose outcome at the provider
// is unknown (a timeout after sending, a dropped connection, an unreadable
// answer). The creation is recorded as pending: calling CreateInvoice again
// with the same parameters, or ResolveCreations, finds the provider's
// invoice or, only if it certainly has none, creates it. Never bill anew.
var ErrCreationPending = errors.New("billing: invoice creation pending: its outcome at the provider is unknown")

// ErrOpPending matches a money operation (a MoneyOp: a payment, a credit
// note...) whose outcome at the provider is unknown. It stays recorded as
// pending: asking again for the same operation, or resolving pending
// operations, finds what the provider made or, only if it certainly made
// nothing, sends it again.
var ErrOpPending = errors.New("billing: money operation pending: its outcome at the provider is unknown")

// PendingError is the error of a creation or a money operation left
// pending. It matches ErrCreationPending (a creation) or ErrOpPending (an
// operation, Kind set) and the cause, and is temporary: try again later.
type PendingError struct {
	Key  string    // the creation's or operation's idempotency key
	Kind MoneyKind // the money operation's kind; empty for a creation
	Err  error     // why the outcome is unknown
}

func (e *PendingError) Error() string {
	if e.Kind != "" {
		return fmt.Sprintf("billing: %s pending: its outcome at the provider is unknown (key %s): %v",
			strings.ReplaceAll(string(e.Kind), "_", " "), e.Key, e.Err)
	}
	return fmt.Sprintf("%v (key %s): %v", ErrCreationPending, e.Key, e.Err)
}

// Unwrap returns ErrCreationPending, or ErrOpPending for a money
// operation, and the cause.
func (e *PendingError) Unwrap() []error {
	if e.Kind != "" {
		return []error{ErrOpPending, e.Err}
	}
	return []error{ErrCreationPending, e.Err}
}

// Temporary reports true: it resolves on a later try.
func (e *PendingError) Temporary() bool { return true }

// CreationResolver is implemented by services that resolve pending
// creations (xero.Service). Run it after a crash, and from cron before
// anything else.
type CreationResolver interface {
	ResolveCreations(ctx context.Context) (ResolveResult, error)
}

// ResolveResult reports a ResolveCreations run.
type ResolveResult struct {
	// Resolved holds the invoices of the creations resolved, as stored.
	Resolved []Invoice
	// Pending holds, by key, why a creation is still pending.
	Pending map[string]error
}
