package billing_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
)

func TestAccountValidate(t *testing.T) {
	assert.NoError(t, billing.UserAccount("u").Validate())
	assert.NoError(t, billing.OrganisationAccount("o").Validate())
	assert.ErrorIs(t, billing.Account{}.Validate(), billing.ErrInvalidAccount)
	assert.ErrorIs(t, billing.Account{UserID: "u", OrganisationID: "o"}.Validate(), billing.ErrInvalidAccount)
}

func TestIsTemporary(t *testing.T) {
	assert.False(t, billing.IsTemporary(nil))
	assert.False(t, billing.IsTemporary(errors.New("boom")))
	assert.True(t, billing.IsTemporary(fmt.Errorf("wrapped: %w", errTemp{})))
	assert.False(t, billing.IsTemporary(billing.ErrNotFound))
}

type errTemp struct{}

func (errTemp) Error() string   { return "temporary" }
func (errTemp) Temporary() bool { return true }

func validParams() billing.CreateInvoiceParams {
	return billing.CreateInvoiceParams{
		Account:   billing.UserAccount("u-1"),
		Date:      billing.NewDate(2026, time.January, 31),
		DueDate:   billing.NewDate(2026, time.February, 28),
		LineItems: []billing.LineItem{{Description: "Annual membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.NewFromInt(100)}},
		Reference: "Membership 2026",
	}
}

// TestCreateInvoiceParamsLimits: what Xero would refuse (or mangle) is
// refused before any call. Lengths count UTF-16 code units, as Xero does: an
// emoji outside the Basic Multilingual Plane is two.
func TestCreateInvoiceParamsLimits(t *testing.T) {
	emoji := "😀" // one rune, two UTF-16 units
	tests := []struct {
		name    string
		edit    func(*billing.CreateInvoiceParams)
		problem string // "" when valid
	}{
		{"valid", func(*billing.CreateInvoiceParams) {}, ""},
		{"description at 4000", func(p *billing.CreateInvoiceParams) { p.LineItems[0].Description = strings.Repeat("a", 4000) }, ""},
		{"description of 2000 emoji", func(p *billing.CreateInvoiceParams) { p.LineItems[0].Description = strings.Repeat(emoji, 2000) }, ""},
		{"description over 4000", func(p *billing.CreateInvoiceParams) { p.LineItems[0].Description = strings.Repeat("a", 4001) }, "line item 1: description is 4001 characters; at most 4000"},
		{"description of 2001 emoji", func(p *billing.CreateInvoiceParams) { p.LineItems[0].Description = strings.Repeat(emoji, 2001) }, "description is 4002 characters"},
		{"description on several lines", func(p *billing.CreateInvoiceParams) {
			p.LineItems[0].Description = "Annual membership\r\n\tfrom January"
		}, ""},
		{"description with a control character", func(p *billing.CreateInvoiceParams) { p.LineItems[0].Description = "Annual\x00membership" }, "line item 1: description contains a control character"},
		{"description not UTF-8", func(p *billing.CreateInvoiceParams) { p.LineItems[0].Description = "Annual \xff" }, "line item 1: description is not valid UTF-8"},
		{"reference at 255", func(p *billing.CreateInvoiceParams) { p.Reference = strings.Repeat("r", 255) }, ""},
		{"reference over 255", func(p *billing.CreateInvoiceParams) { p.Reference = strings.Repeat("r", 256) }, "reference is 256 characters; at most 255"},
		{"reference of 128 emoji", func(p *billing.CreateInvoiceParams) { p.Reference = strings.Repeat(emoji, 128) }, "reference is 256 characters"},
		{"reference with a line break", func(p *billing.CreateInvoiceParams) { p.Reference = "Membership\n2026" }, "reference contains a control character"},
		{"reference with DEL", func(p *billing.CreateInvoiceParams) { p.Reference = "Membership\x7f" }, "reference contains a control character"},
		{"reference not UTF-8", func(p *billing.CreateInvoiceParams) { p.Reference = "\xc3" }, "reference is not valid UTF-8"},
		// Xero takes the years 1900-9999 only, and the SDK reads no others.
		{"date in the year 226 (a typo for 2026)", func(p *billing.CreateInvoiceParams) { p.Date = billing.NewDate(226, 12, 1) }, "Date: year 226 is outside 1900-9999"},
		{"due date in the year 20000", func(p *billing.CreateInvoiceParams) { p.DueDate = billing.NewDate(20000, 1, 1) }, "DueDate: year 20000 is outside 1900-9999"},
		{"due date in 1899", func(p *billing.CreateInvoiceParams) {
			p.Date, p.DueDate = billing.NewDate(1899, 12, 31), billing.NewDate(1899, 12, 31)
		}, "DueDate: year 1899 is outside 1900-9999"},
		{"dates on the first and last days Xero takes", func(p *billing.CreateInvoiceParams) {
			p.Date, p.DueDate = billing.NewDate(1900, 1, 1), billing.NewDate(9999, 12, 31)
		}, ""},
		{"a day the calendar lacks", func(p *billing.CreateInvoiceParams) { p.Date = billing.Date{Year: 2026, Month: 2, Day: 30} }, "Date: 2026-02-30 is not a calendar date"},
		{"month 13", func(p *billing.CreateInvoiceParams) { p.DueDate = billing.Date{Year: 2026, Month: 13, Day: 1} }, "DueDate: 2026-13-01 is not a calendar date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validParams()
			tt.edit(&p)
			err := p.Validate()
			if tt.problem == "" {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, billing.ErrInvalidInvoice)
			assert.Contains(t, err.Error(), tt.problem)
		})
	}
}

func TestConfigErrors(t *testing.T) {
	a := &billing.ConfigError{Var: "XERO_CLIENT_ID", Problem: "required", Missing: true}
	b := &billing.ConfigError{Var: "XERO_AMOUNT_TYPE", Problem: `"GROSS" is not INCLUSIVE, EXCLUSIVE or NOTAX`}
	err := fmt.Errorf("%w:\n%w", billing.ErrInvalidConfig, errors.Join(a, b))
	assert.Equal(t, []*billing.ConfigError{a, b}, billing.ConfigErrors(err))
	assert.ErrorIs(t, a, billing.ErrInvalidConfig)
	assert.Empty(t, billing.ConfigErrors(errors.New("other")))
	assert.Empty(t, billing.ConfigErrors(nil))
}
