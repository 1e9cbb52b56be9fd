package billing

import "errors"

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
