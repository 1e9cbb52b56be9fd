package xero

import (
	"encoding/json"
	"time"

	"github.com/shopspring/decimal"

	"github.com/amsbilling/sdk/billing"
)

// InvoiceTypeSales is Xero's Type for a sales invoice (accounts receivable).
const InvoiceTypeSales = "ACCREC"

// Contact statuses as Xero reports them.
const (
	ContactStatusActive   = "ACTIVE"
	ContactStatusArchived = "ARCHIVED"
)

// Contact is a Xero contact, with the fields the SDK reads and writes. Empty
// fields are not sent, so an update leaves them as they are in Xero.
type Contact struct {
	ContactID     string `json:"ContactID,omitempty"`
	Name          string `json:"Name,omitempty"`
	AccountNumber string `json:"AccountNumber,omitempty"`
	EmailAddress  string `json:"EmailAddress,omitempty"`
	ContactStatus string `json:"ContactStatus,omitempty"`
	// Warnings are Xero's warnings on the contact it saved (Warnings[].Message,
	// e.g. a field it dropped); read from answers, never sent.
	Warnings []string `json:"-"`
}

// UnmarshalJSON reads a contact as Xero returns it, its warnings included.
func (c *Contact) UnmarshalJSON(b []byte) error {
	type fields Contact // without the methods, so no recursion
	var in struct {
		fields
		Warnings []message `json:"Warnings"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*c = Contact(in.fields)
	c.Warnings = messages(nil, in.Warnings)
	return nil
}

// isZero reports whether c has no field set.
func (c Contact) isZero() bool {
	return c.ContactID == "" && c.Name == "" && c.AccountNumber == "" && c.EmailAddress == "" &&
		c.ContactStatus == "" && len(c.Warnings) == 0
}

// Invoice is a Xero invoice. Fields below Total are Xero's to fill: they are
// read from answers and never sent.
type Invoice struct {
	InvoiceID       string
	Type            string // InvoiceTypeSales for a sales invoice
	InvoiceNumber   string // Xero numbers the invoice when empty
	Reference       string
	Contact         Contact // only ContactID is needed to create
	Date            billing.Date
	DueDate         billing.Date
	Status          string // e.g. billing.StatusAuthorised
	LineAmountTypes string // "Exclusive", "Inclusive" or "NoTax"
	CurrencyCode    string
	LineItems       []LineItem

	SubTotal        decimal.Decimal
	TotalTax        decimal.Decimal
	Total           decimal.Decimal
	AmountPaid      decimal.Decimal
	AmountDue       decimal.Decimal
	AmountCredited  decimal.Decimal
	FullyPaidOnDate billing.Date
	UpdatedDateUTC  time.Time
	// Warnings are Xero's warnings on the invoice it saved
	// (Warnings[].Message, e.g. "Account code '600' has been removed as it
	// does not match a recognised account."). The invoice was saved; the
	// client logs them too.
	Warnings []string
	// Partial is nil for an invoice read whole. FindInvoices sets it (a
	// *RecordError) on an invoice Xero holds but the SDK could read only in
	// part: what did not read (a date outside 1900-9999, say) is zero.
	// Never sent.
	Partial error
}

// LineItem is one line of an Invoice. Quantity and UnitAmount are always
// sent; TaxAmount and LineAmount are read from Xero's answers only.
type LineItem struct {
	LineItemID  string
	Description string
	Quantity    decimal.Decimal
	UnitAmount  decimal.Decimal
	AccountCode string
	TaxType     string

	TaxAmount  decimal.Decimal
	LineAmount decimal.Decimal
}

type lineItemOut struct {
	LineItemID  string `json:"LineItemID,omitempty"`
	Description string `json:"Description,omitempty"`
	Quantity    amount `json:"Quantity"`
	UnitAmount  amount `json:"UnitAmount"`
	AccountCode string `json:"AccountCode,omitempty"`
	TaxType     string `json:"TaxType,omitempty"`
}

type lineItemIn struct {
	LineItemID  string
	Description string
	Quantity    amount
	UnitAmount  amount
	AccountCode string
	TaxType     string
	TaxAmount   amount
	LineAmount  amount
}

// MarshalJSON writes Xero's field names, amounts as JSON numbers, and only
// the fields Xero accepts on a write.
func (li LineItem) MarshalJSON() ([]byte, error) {
	return json.Marshal(lineItemOut{
		LineItemID:  li.LineItemID,
		Description: li.Description,
		Quantity:    amount(li.Quantity),
		UnitAmount:  amount(li.UnitAmount),
		AccountCode: li.AccountCode,
		TaxType:     li.TaxType,
	})
}

// UnmarshalJSON reads a line item as Xero returns it.
func (li *LineItem) UnmarshalJSON(b []byte) error {
	var in lineItemIn
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*li = LineItem{
		LineItemID:  in.LineItemID,
		Description: in.Description,
		Quantity:    in.Quantity.dec(),
		UnitAmount:  in.UnitAmount.dec(),
		AccountCode: in.AccountCode,
		TaxType:     in.TaxType,
		TaxAmount:   in.TaxAmount.dec(),
		LineAmount:  in.LineAmount.dec(),
	}
	return nil
}

type invoiceOut struct {
	Type            string     `json:"Type,omitempty"`
	InvoiceID       string     `json:"InvoiceID,omitempty"`
	InvoiceNumber   string     `json:"InvoiceNumber,omitempty"`
	Reference       string     `json:"Reference,omitempty"`
	Contact         *Contact   `json:"Contact,omitempty"`
	Date            string     `json:"Date,omitempty"`
	DueDate         string     `json:"DueDate,omitempty"`
	Status          string     `json:"Status,omitempty"`
	LineAmountTypes string     `json:"LineAmountTypes,omitempty"`
	CurrencyCode    string     `json:"CurrencyCode,omitempty"`
	LineItems       []LineItem `json:"LineItems,omitempty"`
}

type invoiceIn struct {
	Type            string
	InvoiceID       string
	InvoiceNumber   string
	Reference       string
	Contact         Contact
	Date            string
	DateString      string
	DueDate         string
	DueDateString   string
	Status          string
	LineAmountTypes string
	CurrencyCode    string
	LineItems       []LineItem
	SubTotal        amount
	TotalTax        amount
	Total           amount
	AmountPaid      amount
	AmountDue       amount
	AmountCredited  amount
	FullyPaidOnDate string
	UpdatedDateUTC  string
	Warnings        []message
}

// MarshalJSON writes the fields Xero accepts on a write, dates as
// "YYYY-MM-DD" and amounts as JSON numbers; read-only fields are left out.
func (inv Invoice) MarshalJSON() ([]byte, error) {
	out := invoiceOut{
		Type:            inv.Type,
		InvoiceID:       inv.InvoiceID,
		InvoiceNumber:   inv.InvoiceNumber,
		Reference:       inv.Reference,
		Date:            inv.Date.String(),
		DueDate:         inv.DueDate.String(),
		Status:          inv.Status,
		LineAmountTypes: inv.LineAmountTypes,
		CurrencyCode:    inv.CurrencyCode,
		LineItems:       inv.LineItems,
	}
	if !inv.Contact.isZero() {
		c := inv.Contact
		out.Contact = &c
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads an invoice as Xero returns it. Date and DueDate come
// from DateString and DueDateString when present ("2026-01-31T00:00:00"),
// else from the /Date(...)/ fields, always as calendar dates.
func (inv *Invoice) UnmarshalJSON(b []byte) error {
	var in invoiceIn
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	out := Invoice{
		InvoiceID:       in.InvoiceID,
		Type:            in.Type,
		InvoiceNumber:   in.InvoiceNumber,
		Reference:       in.Reference,
		Contact:         in.Contact,
		Status:          in.Status,
		LineAmountTypes: in.LineAmountTypes,
		CurrencyCode:    in.CurrencyCode,
		LineItems:       in.LineItems,
		SubTotal:        in.SubTotal.dec(),
		TotalTax:        in.TotalTax.dec(),
		Total:           in.Total.dec(),
		AmountPaid:      in.AmountPaid.dec(),
		AmountDue:       in.AmountDue.dec(),
		AmountCredited:  in.AmountCredited.dec(),
		Warnings:        messages(nil, in.Warnings),
	}
	var err error
	if out.Date, err = ParseCalendarDate(firstNonEmpty(in.DateString, in.Date)); err != nil {
		return err
	}
	if out.DueDate, err = ParseCalendarDate(firstNonEmpty(in.DueDateString, in.DueDate)); err != nil {
		return err
	}
	if out.FullyPaidOnDate, err = ParseCalendarDate(in.FullyPaidOnDate); err != nil {
		return err
	}
	if in.UpdatedDateUTC != "" {
		if out.UpdatedDateUTC, err = ParseDate(in.UpdatedDateUTC); err != nil {
			return err
		}
	}
	*inv = out
	return nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// Connection is one tenant a Custom Connection may use, from the identity
// API's connections endpoint.
type Connection struct {
	ID             string
	TenantID       string
	TenantType     string // e.g. "ORGANISATION"
	TenantName     string
	CreatedDateUTC time.Time // zero when absent or unreadable
	UpdatedDateUTC time.Time // zero when absent or unreadable
}

// UnmarshalJSON reads the identity API's lower-camel field names.
func (c *Connection) UnmarshalJSON(b []byte) error {
	var in struct {
		ID             string `json:"id"`
		TenantID       string `json:"tenantId"`
		TenantType     string `json:"tenantType"`
		TenantName     string `json:"tenantName"`
		CreatedDateUTC string `json:"createdDateUtc"`
		UpdatedDateUTC string `json:"updatedDateUtc"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*c = Connection{ID: in.ID, TenantID: in.TenantID, TenantType: in.TenantType, TenantName: in.TenantName}
	// The dates are informational; an odd format must not fail the check.
	c.CreatedDateUTC, _ = ParseDate(in.CreatedDateUTC)
	c.UpdatedDateUTC, _ = ParseDate(in.UpdatedDateUTC)
	return nil
}
