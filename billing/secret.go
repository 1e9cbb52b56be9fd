package billing

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
)

// Secret holds a credential (client secret, webhook key). Every way of
// printing it (fmt verbs, JSON, slog) shows "[REDACTED]"; Reveal returns the
// value for the code that must send it.
//
// The value sits behind a pointer, so even a struct that keeps a Secret in
// an unexported field (where fmt cannot call its methods) prints an address,
// never the value. Build one with NewSecret; the zero Secret is empty.
// Compare secrets with Equal, not ==.
type Secret struct{ v *string }

const redacted = "[REDACTED]"

// NewSecret returns a Secret holding s.
func NewSecret(s string) Secret {
	if s == "" {
		return Secret{}
	}
	return Secret{v: &s}
}

// Reveal returns the secret's value.
func (s Secret) Reveal() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == nil || *s.v == "" }

// Equal reports whether s and o hold the same value, in constant time.
func (s Secret) Equal(o Secret) bool {
	return subtle.ConstantTimeCompare([]byte(s.Reveal()), []byte(o.Reveal())) == 1
}

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s.IsZero() {
		return ""
	}
	return redacted
}

// GoString implements fmt.GoStringer, for %#v.
func (s Secret) GoString() string { return fmt.Sprintf("billing.NewSecret(%q)", s.String()) }

// Format makes every verb, %x and %d included, print the redacted form.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, s.String())
}

// MarshalText implements encoding.TextMarshaler (and so JSON).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }
