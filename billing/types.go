package billing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// User is a person in the app who is billed directly.
type User struct {
	ID    string // the app's UUID for the user; becomes the contact's AccountNumber
	Name  string // full name, shown on invoices
	Email string
}

// Organisation is a group in the app that is billed as one customer.
type Organisation struct {
	ID    string // the app's UUID for the organisation
	Name  string
	Email string
}

// Account is who an invoice is addressed to: exactly one user or exactly one
// organisation. It is a value: two Accounts with the same owner are equal.
type Account struct {
	UserID         string
	OrganisationID string
}

// UserAccount returns the account of the user with the given id.
func UserAccount(userID string) Account { return Account{UserID: userID} }

// OrganisationAccount returns the account of the organisation with the given id.
func OrganisationAccount(orgID string) Account { return Account{OrganisationID: orgID} }

// Validate reports an error unless exactly one owner is set.
func (a Account) Validate() error {
	switch {
	case a.UserID == "" && a.OrganisationID == "":
		return fmt.Errorf("%w: account has neither a user nor an organisation", ErrInvalidAccount)
	case a.UserID != "" && a.OrganisationID != "":
		return fmt.Errorf("%w: account has both a user and an organisation", ErrInvalidAccount)
	}
	return nil
}

// OwnerID returns the id of the user or organisation that owns the account.
func (a Account) OwnerID() string {
	if a.UserID != "" {
		return a.UserID
	}
	return a.OrganisationID
}

// String returns "user:<id>" or "organisation:<id>".
func (a Account) String() string {
	if a.UserID != "" {
		return "user:" + a.UserID
	}
	return "organisation:" + a.OrganisationID
}

// ContactLink ties an account to its contact at the billing provider (AMS's
// XeroContact).
type ContactLink struct {
	Account   Account
	ContactID string
	// Fingerprint is of what the provider holds for the contact, as last
	// synced (empty until a sync records it); Email is its address.
	Fingerprint string
	Email       string
}

// Invoice statuses as Xero reports them.
const (
	StatusDraft      = "DRAFT"
	StatusSubmitted  = "SUBMITTED"
	StatusAuthorised = "AUTHORISED"
	StatusPaid       = "PAID"
	StatusVoided     = "VOIDED"
	StatusDeleted    = "DELETED"
)

// Invoice is the app's copy of an invoice held at the billing provider.
type Invoice struct {
	Account    Account
	Number     string // unique, e.g. "INV-0001"
	ProviderID string // the provider's invoice id (Xero's InvoiceID); unique when set
	Reference  string
	Status     string // one of the Status constants
	Currency   string // ISO 4217 code
	IssueDate  Date
	DueDate    Date
	PaidDate   Date // zero until fully paid
	Amount     decimal.Decimal
	Paid       decimal.Decimal
	Due        decimal.Decimal
	Credited   decimal.Decimal // credit notes allocated to it (Xero's AmountCredited)

	// UpdateNeeded is set when the provider said the invoice changed (a
	// webhook) and cleared when the change has been fetched.
	UpdateNeeded bool
	// UpdateRequestedAt is when the latest mark was made. It is the claim
	// token of FetchInvoiceUpdates: a flag is only cleared when this value
	// is unchanged since the claim, so a mark made during a fetch survives.
	UpdateRequestedAt time.Time
	// UpdateAttempts counts failed fetches since the latest mark.
	UpdateAttempts int
	// UpdateError is the reason the latest fetch of this invoice failed.
	UpdateError string
	// SetAside is true when the invoice failed too often and is no longer
	// claimed until it is marked again. UpdateNeeded stays true.
	SetAside bool
}

// WithProviderState returns inv with the provider-owned fields (Reference,
// Status, Currency, IssueDate, DueDate, PaidDate, Amount, Paid, Due,
// Credited) taken
// from src: what Store.SaveInvoiceState writes. Account, Number, ProviderID
// and the update fields stay inv's.
func (inv Invoice) WithProviderState(src Invoice) Invoice {
	inv.Reference = src.Reference
	inv.Status = src.Status
	inv.Currency = src.Currency
	inv.IssueDate = src.IssueDate
	inv.DueDate = src.DueDate
	inv.PaidDate = src.PaidDate
	inv.Amount = src.Amount
	inv.Paid = src.Paid
	inv.Due = src.Due
	inv.Credited = src.Credited
	return inv
}

// SameProviderState reports whether inv and o agree on every provider-owned
// field (those WithProviderState copies); money is compared by value.
func (inv Invoice) SameProviderState(o Invoice) bool {
	return inv.Reference == o.Reference && inv.Status == o.Status && inv.Currency == o.Currency &&
		inv.IssueDate == o.IssueDate && inv.DueDate == o.DueDate && inv.PaidDate == o.PaidDate &&
		inv.Amount.Equal(o.Amount) && inv.Paid.Equal(o.Paid) && inv.Due.Equal(o.Due) &&
		inv.Credited.Equal(o.Credited)
}

// IsOpen reports whether the invoice may still change by payment: it is
// neither paid, voided nor deleted.
func (inv Invoice) IsOpen() bool {
	switch inv.Status {
	case StatusPaid, StatusVoided, StatusDeleted:
		return false
	}
	return true
}

// IsPaid reports whether the provider says the invoice is fully paid.
func (inv Invoice) IsPaid() bool { return inv.Status == StatusPaid }

// LineItem is one line of an invoice.
type LineItem struct {
	Description string
	Quantity    decimal.Decimal
	UnitAmount  decimal.Decimal
	// AccountCode overrides the configured default (XERO_ACCOUNT_CODE) when set.
	AccountCode string
}

// CreateInvoiceParams are the inputs of Service.CreateInvoice.
type CreateInvoiceParams struct {
	Account   Account
	Date      Date
	DueDate   Date
	LineItems []LineItem
	Reference string
	// IdempotencyKey makes a retried create return the first result instead
	// of billing twice. Generated when empty.
	IdempotencyKey string
}

// Limits of CreateInvoiceParams' text, Xero's: lengths are counted in
// UTF-16 code units, as Xero counts them (a character outside the Basic
// Multilingual Plane, such as most emoji, is two).
const (
	maxLineDescription = 4000
	maxReference       = 255
)

// Validate checks the parameters before anything is sent: an account, both
// dates real calendar dates within the years Xero accepts (Date.Check:
// "DueDate: year 20000 is outside 1900-9999") and in order, at least one
// line, each with a description and a positive quantity. Text must be valid UTF-8 without control characters (a line's
// description may hold line breaks and tabs); a line's description may be
// 4,000 characters and the reference 255, counted in UTF-16 code units as
// Xero counts them. The error wraps ErrInvalidInvoice and names every
// problem.
func (p CreateInvoiceParams) Validate() error {
	var errs []error
	if err := p.Account.Validate(); err != nil {
		errs = append(errs, err)
	}
	dateOK := true
	for _, d := range []struct {
		field, name string
		date        Date
	}{{"Date", "date", p.Date}, {"DueDate", "due date", p.DueDate}} {
		switch err := d.date.Check(); {
		case d.date.IsZero():
			errs = append(errs, errors.New(d.name+" is required"))
			dateOK = false
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", d.field, err))
			dateOK = false
		}
	}
	if dateOK && p.DueDate.Before(p.Date) {
		errs = append(errs, errors.New("due date is before the invoice date"))
	}
	if len(p.LineItems) == 0 {
		errs = append(errs, errors.New("at least one line item is required"))
	}
	if err := checkText(p.Reference, maxReference, ""); err != nil {
		errs = append(errs, fmt.Errorf("reference %w", err))
	}
	for i, li := range p.LineItems {
		if li.Description == "" {
			errs = append(errs, fmt.Errorf("line item %d: description is required", i+1))
		} else if err := checkText(li.Description, maxLineDescription, "\n\r\t"); err != nil {
			errs = append(errs, fmt.Errorf("line item %d: description %w", i+1, err))
		}
		if !li.Quantity.IsPositive() {
			errs = append(errs, fmt.Errorf("line item %d: quantity must be positive", i+1))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidInvoice, errors.Join(errs...))
	}
	return nil
}

// InvoiceChange is what an app hears when a refresh from the provider changed
// an invoice.
type InvoiceChange struct {
	// EventID is stable across deliveries of the same change: an app that
	// must act once (activate a membership) de-duplicates with it.
	EventID string
	Before  Invoice
	After   Invoice
}

// BecamePaid reports whether the change moved the invoice to paid, the
// moment an app usually activates a membership.
func (c InvoiceChange) BecamePaid() bool { return !c.Before.IsPaid() && c.After.IsPaid() }

// InvoiceHook hears each change to an invoice after it has been saved, at
// least once, in order per invoice (see DeliverEvents). It runs on the
// delivering goroutine: keep it short or hand the work off. An error means
// "deliver again later": the event stays pending and is retried with
// backoff; it never undoes the saved state. Use EventID to act only once.
type InvoiceHook func(ctx context.Context, change InvoiceChange) error

// checkText reports why s cannot be sent as a text of at most limit UTF-16
// code units, allowing the control characters in allowed; nil when it can.
// The message continues the field's name ("reference is 256 characters").
func checkText(s string, limit int, allowed string) error {
	if !utf8.ValidString(s) {
		return errors.New("is not valid UTF-8")
	}
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && !strings.ContainsRune(allowed, r) }) {
		return errors.New("contains a control character")
	}
	if n := utf16Len(s); n > limit {
		return fmt.Errorf("is %d characters; at most %d", n, limit)
	}
	return nil
}

// utf16Len is the length of s in UTF-16 code units, the way Xero (.NET)
// counts a string's characters.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}
