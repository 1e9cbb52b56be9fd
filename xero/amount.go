package xero

import (
	"bytes"
	"fmt"

	"github.com/shopspring/decimal"
)

// amount carries money through JSON as a bare number, which Xero requires.
// decimal.Decimal marshals as a quoted string, and its package-level switch
// to change that is global state this package must not touch.
type amount decimal.Decimal

func (a amount) MarshalJSON() ([]byte, error) {
	return []byte(decimal.Decimal(a).String()), nil
}

// UnmarshalJSON accepts a number, a quoted number, or null (zero).
func (a *amount) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*a = amount(decimal.Zero)
		return nil
	}
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1]
	}
	d, err := decimal.NewFromString(string(b))
	if err != nil {
		return fmt.Errorf("xero: amount %q is not a number", clip(string(b), 40))
	}
	*a = amount(d)
	return nil
}

func (a amount) dec() decimal.Decimal { return decimal.Decimal(a) }
