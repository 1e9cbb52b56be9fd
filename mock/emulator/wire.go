package emulator

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/amsbilling/sdk/billing"
	"github.com/shopspring/decimal"
)

// This file holds the emulator's own JSON shapes, written from Xero's OpenAPI
// description (schemas Contact, Invoice, LineItem, Error...) and from what
// Xero actually answers (DateString, envelope fields).

// num is a decimal written as a bare JSON number with a fixed number of
// places, the way Xero writes money ("AmountDue": 55.00).
type num struct {
	d      decimal.Decimal
	places int32
}

func money(d decimal.Decimal) num { return num{d: d, places: 2} }

func (n num) MarshalJSON() ([]byte, error) { return []byte(n.d.StringFixed(n.places)), nil }

// msDate formats t as Xero's .NET JSON date, "/Date(1518685950940+0000)/".
func msDate(t time.Time) string {
	return fmt.Sprintf("/Date(%d+0000)/", t.UnixMilli())
}

// dateMS formats a calendar date as Xero does: midnight UTC of that date.
func dateMS(d billing.Date) string {
	if d.IsZero() {
		return ""
	}
	return msDate(d.In(time.UTC))
}

// dateString formats a calendar date as Xero's DateString, "2026-01-31T00:00:00".
func dateString(d billing.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String() + "T00:00:00"
}

var msDatePattern = regexp.MustCompile(`^/Date\((-?\d+)([+-]\d{4})?\)/$`)

// parseDate reads a date as Xero accepts it in requests: "2026-01-31",
// "2026-01-31T00:00:00" (any time of day is dropped) or "/Date(ms±hhmm)/".
func parseDate(s string) (billing.Date, error) {
	s = strings.TrimSpace(s)
	if m := msDatePattern.FindStringSubmatch(s); m != nil {
		ms, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return billing.Date{}, fmt.Errorf("invalid date %q", s)
		}
		loc := time.UTC
		if off := m[2]; off != "" {
			h, _ := strconv.Atoi(off[1:3])
			mi, _ := strconv.Atoi(off[3:5])
			secs := h*3600 + mi*60
			if off[0] == '-' {
				secs = -secs
			}
			loc = time.FixedZone(off, secs)
		}
		return billing.DateOf(time.UnixMilli(ms).In(loc)), nil
	}
	if len(s) > len(time.DateOnly) && s[len(time.DateOnly)] == 'T' {
		if _, err := time.Parse("2006-01-02T15:04:05.999999999", s); err != nil {
			return billing.Date{}, fmt.Errorf("invalid date %q", s)
		}
		s = s[:len(time.DateOnly)]
	}
	d, err := billing.ParseDate(s)
	if err != nil {
		return billing.Date{}, fmt.Errorf("invalid date %q", s)
	}
	return d, nil
}

// Request bodies. Pointers tell "absent" from "empty", which an update needs.

type contactIn struct {
	ContactID     *string         `json:"ContactID"`
	ContactNumber *string         `json:"ContactNumber"`
	AccountNumber *string         `json:"AccountNumber"`
	ContactStatus *string         `json:"ContactStatus"`
	Name          *string         `json:"Name"`
	FirstName     *string         `json:"FirstName"`
	LastName      *string         `json:"LastName"`
	EmailAddress  *string         `json:"EmailAddress"`
	Addresses     json.RawMessage `json:"Addresses"`
	Phones        json.RawMessage `json:"Phones"`
}

type invoiceIn struct {
	InvoiceID       *string      `json:"InvoiceID"`
	Type            *string      `json:"Type"`
	Contact         *contactIn   `json:"Contact"`
	LineItems       []lineItemIn `json:"LineItems"`
	Date            *string      `json:"Date"`
	DueDate         *string      `json:"DueDate"`
	LineAmountTypes *string      `json:"LineAmountTypes"`
	InvoiceNumber   *string      `json:"InvoiceNumber"`
	Reference       *string      `json:"Reference"`
	CurrencyCode    *string      `json:"CurrencyCode"`
	Status          *string      `json:"Status"`
	SentToContact   *bool        `json:"SentToContact"`
}

type lineItemIn struct {
	Description *string          `json:"Description"`
	Quantity    *decimal.Decimal `json:"Quantity"`
	UnitAmount  *decimal.Decimal `json:"UnitAmount"`
	LineAmount  *decimal.Decimal `json:"LineAmount"`
	TaxAmount   *decimal.Decimal `json:"TaxAmount"`
	AccountCode *string          `json:"AccountCode"`
	TaxType     *string          `json:"TaxType"`
	ItemCode    *string          `json:"ItemCode"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Response bodies.

type wireValidationError struct {
	Message string `json:"Message"`
}

func validationErrors(msgs []string) []wireValidationError {
	out := make([]wireValidationError, len(msgs))
	for i, m := range msgs {
		out[i] = wireValidationError{Message: m}
	}
	return out
}

// validationList is msgs as Xero's list of messages, nil (left out) when
// there are none.
func validationList(msgs []string) []wireValidationError {
	if len(msgs) == 0 {
		return nil
	}
	return validationErrors(msgs)
}

// emptyArray is written where Xero always sends a (usually empty) list.
type emptyArray struct{}

func (emptyArray) MarshalJSON() ([]byte, error) { return []byte("[]"), nil }

type wireContact struct {
	ContactID             string                `json:"ContactID,omitempty"`
	ContactNumber         string                `json:"ContactNumber,omitempty"`
	AccountNumber         string                `json:"AccountNumber,omitempty"`
	ContactStatus         string                `json:"ContactStatus"`
	Name                  string                `json:"Name"`
	FirstName             string                `json:"FirstName,omitempty"`
	LastName              string                `json:"LastName,omitempty"`
	EmailAddress          string                `json:"EmailAddress"`
	BankAccountDetails    string                `json:"BankAccountDetails"`
	Addresses             json.RawMessage       `json:"Addresses"`
	Phones                json.RawMessage       `json:"Phones"`
	UpdatedDateUTC        string                `json:"UpdatedDateUTC,omitempty"`
	ContactGroups         emptyArray            `json:"ContactGroups"`
	IsSupplier            bool                  `json:"IsSupplier"`
	IsCustomer            bool                  `json:"IsCustomer"`
	ContactPersons        emptyArray            `json:"ContactPersons"`
	HasAttachments        bool                  `json:"HasAttachments"`
	HasValidationErrors   bool                  `json:"HasValidationErrors"`
	ValidationErrors      []wireValidationError `json:"ValidationErrors,omitzero"`
	Warnings              []wireValidationError `json:"Warnings,omitzero"`
	StatusAttributeString string                `json:"StatusAttributeString,omitempty"`
}

// Xero lists every address and phone type on a contact, empty or not.
const (
	defaultAddresses = `[{"AddressType":"STREET"},{"AddressType":"POBOX"}]`
	defaultPhones    = `[{"PhoneType":"DEFAULT"},{"PhoneType":"DDI"},{"PhoneType":"FAX"},{"PhoneType":"MOBILE"}]`
)

func toWireContact(c *Contact) wireContact {
	w := wireContact{
		ContactID:     c.ContactID,
		ContactNumber: c.ContactNumber,
		AccountNumber: c.AccountNumber,
		ContactStatus: c.ContactStatus,
		Name:          c.Name,
		FirstName:     c.FirstName,
		LastName:      c.LastName,
		EmailAddress:  c.EmailAddress,
		Addresses:     c.addresses,
		Phones:        c.phones,
		IsCustomer:    c.IsCustomer,
	}
	if !c.UpdatedDateUTC.IsZero() {
		w.UpdatedDateUTC = msDate(c.UpdatedDateUTC)
	}
	if len(w.Addresses) == 0 || string(w.Addresses) == "null" {
		w.Addresses = json.RawMessage(defaultAddresses)
	}
	if len(w.Phones) == 0 || string(w.Phones) == "null" {
		w.Phones = json.RawMessage(defaultPhones)
	}
	return w
}

type wireLineItem struct {
	LineItemID       string                `json:"LineItemID,omitempty"`
	Description      string                `json:"Description"`
	Quantity         num                   `json:"Quantity"`
	UnitAmount       num                   `json:"UnitAmount"`
	ItemCode         string                `json:"ItemCode,omitempty"`
	AccountCode      string                `json:"AccountCode,omitempty"`
	TaxType          string                `json:"TaxType"`
	TaxAmount        num                   `json:"TaxAmount"`
	LineAmount       num                   `json:"LineAmount"`
	Tracking         emptyArray            `json:"Tracking"`
	ValidationErrors []wireValidationError `json:"ValidationErrors,omitempty"`
}

// wirePayment is a payment as listed on an invoice or a credit note.
type wirePayment struct {
	PaymentID    string `json:"PaymentID"`
	Date         string `json:"Date"`
	Amount       num    `json:"Amount"`
	Reference    string `json:"Reference"`
	CurrencyRate num    `json:"CurrencyRate"`
	HasAccount   bool   `json:"HasAccount"`
}

func toWirePayments(ps []*Payment) []wirePayment {
	out := make([]wirePayment, 0, len(ps))
	for _, p := range ps {
		if p.Status == PaymentDeleted {
			continue
		}
		out = append(out, wirePayment{
			PaymentID:    p.PaymentID,
			Date:         dateMS(p.Date),
			Amount:       money(p.Amount),
			Reference:    p.Reference,
			CurrencyRate: num{d: decimal.NewFromInt(1), places: 10},
		})
	}
	return out
}

type wireInvoice struct {
	Type                  string                `json:"Type"`
	InvoiceID             string                `json:"InvoiceID"`
	InvoiceNumber         string                `json:"InvoiceNumber"`
	Reference             string                `json:"Reference"`
	Payments              []wirePayment         `json:"Payments"`
	CreditNotes           []wireCreditNoteRef   `json:"CreditNotes"`
	Prepayments           emptyArray            `json:"Prepayments"`
	Overpayments          emptyArray            `json:"Overpayments"`
	AmountDue             num                   `json:"AmountDue"`
	AmountPaid            num                   `json:"AmountPaid"`
	AmountCredited        num                   `json:"AmountCredited"`
	SentToContact         bool                  `json:"SentToContact"`
	CurrencyRate          num                   `json:"CurrencyRate"`
	IsDiscounted          bool                  `json:"IsDiscounted"`
	HasAttachments        bool                  `json:"HasAttachments"`
	HasErrors             bool                  `json:"HasErrors"`
	Contact               wireContact           `json:"Contact"`
	DateString            string                `json:"DateString,omitempty"`
	Date                  string                `json:"Date,omitempty"`
	DueDateString         string                `json:"DueDateString,omitempty"`
	DueDate               string                `json:"DueDate,omitempty"`
	FullyPaidOnDate       string                `json:"FullyPaidOnDate,omitempty"`
	Status                string                `json:"Status"`
	LineAmountTypes       string                `json:"LineAmountTypes"`
	LineItems             []wireLineItem        `json:"LineItems,omitempty"`
	SubTotal              num                   `json:"SubTotal"`
	TotalTax              num                   `json:"TotalTax"`
	Total                 num                   `json:"Total"`
	UpdatedDateUTC        string                `json:"UpdatedDateUTC,omitempty"`
	UpdatedDateUTCString  string                `json:"UpdatedDateUTCString,omitempty"`
	CurrencyCode          string                `json:"CurrencyCode"`
	ValidationErrors      []wireValidationError `json:"ValidationErrors,omitzero"`
	Warnings              []wireValidationError `json:"Warnings,omitzero"`
	StatusAttributeString string                `json:"StatusAttributeString,omitempty"`
}

// toWireInvoice renders inv; contact is its current contact (nil for an
// invoice being validated whose contact is unknown). Line items are left
// out when withLines is false, as GET /Invoices does without "page".
func toWireInvoice(inv *Invoice, contact *Contact, withLines bool, unitPlaces int32) wireInvoice {
	w := wireInvoice{
		Type:            inv.Type,
		InvoiceID:       inv.InvoiceID,
		InvoiceNumber:   inv.InvoiceNumber,
		Reference:       inv.Reference,
		Payments:        toWirePayments(inv.payments),
		CreditNotes:     make([]wireCreditNoteRef, 0, len(inv.Allocations)),
		AmountDue:       money(inv.AmountDue),
		AmountPaid:      money(inv.AmountPaid),
		AmountCredited:  money(inv.AmountCredited),
		SentToContact:   inv.SentToContact,
		CurrencyRate:    num{d: decimal.NewFromInt(1), places: 10},
		DateString:      dateString(inv.Date),
		Date:            dateMS(inv.Date),
		DueDateString:   dateString(inv.DueDate),
		DueDate:         dateMS(inv.DueDate),
		FullyPaidOnDate: dateMS(inv.FullyPaidOnDate),
		Status:          inv.Status,
		LineAmountTypes: inv.LineAmountTypes,
		SubTotal:        money(inv.SubTotal),
		TotalTax:        money(inv.TotalTax),
		Total:           money(inv.Total),
		CurrencyCode:    inv.CurrencyCode,
	}
	if !inv.UpdatedDateUTC.IsZero() {
		w.UpdatedDateUTC = msDate(inv.UpdatedDateUTC)
		w.UpdatedDateUTCString = inv.UpdatedDateUTC.UTC().Format(time.RFC3339) // "2019-11-14T18:10:38Z", to the second
	}
	if contact != nil {
		w.Contact = toWireContact(contact)
	} else {
		w.Contact = toWireContact(&Contact{ContactID: inv.ContactID})
	}
	for _, a := range inv.Allocations {
		applied := money(a.Amount)
		w.CreditNotes = append(w.CreditNotes, wireCreditNoteRef{
			CreditNoteID:     a.CreditNoteID,
			CreditNoteNumber: a.CreditNoteNumber,
			AppliedAmount:    &applied,
			Date:             dateMS(a.Date),
		})
	}
	if withLines {
		w.LineItems = toWireLineItems(inv.LineItems, unitPlaces)
	}
	return w
}

func toWireLineItems(lines []LineItem, unitPlaces int32) []wireLineItem {
	out := make([]wireLineItem, 0, len(lines))
	for _, li := range lines {
		out = append(out, wireLineItem{
			LineItemID:  li.LineItemID,
			Description: li.Description,
			Quantity:    num{d: li.Quantity, places: 4},
			UnitAmount:  num{d: li.UnitAmount, places: unitPlaces},
			ItemCode:    li.ItemCode,
			AccountCode: li.AccountCode,
			TaxType:     li.TaxType,
			TaxAmount:   money(li.TaxAmount),
			LineAmount:  money(li.LineAmount),
		})
	}
	return out
}

type wirePagination struct {
	Page      int `json:"page"`
	PageSize  int `json:"pageSize"`
	PageCount int `json:"pageCount"`
	ItemCount int `json:"itemCount"`
}

// envelope carries the fields Xero wraps every Accounting API answer in.
type envelope struct {
	ID           string `json:"Id"`
	Status       string `json:"Status"`
	ProviderName string `json:"ProviderName"`
	DateTimeUTC  string `json:"DateTimeUTC"`
}

type contactsOut struct {
	envelope
	Pagination *wirePagination `json:"pagination,omitempty"`
	Contacts   []wireContact   `json:"Contacts"`
}

type invoicesOut struct {
	envelope
	Pagination *wirePagination `json:"pagination,omitempty"`
	Invoices   []wireInvoice   `json:"Invoices"`
}

type onlineInvoicesOut struct {
	envelope
	OnlineInvoices []wireOnlineInvoice `json:"OnlineInvoices"`
}

type wireOnlineInvoice struct {
	OnlineInvoiceURL string `json:"OnlineInvoiceUrl"`
}

// wireAccount is schema Account.
type wireAccount struct {
	AccountID               string `json:"AccountID"`
	Code                    string `json:"Code"`
	Name                    string `json:"Name"`
	Status                  string `json:"Status"`
	Type                    string `json:"Type"`
	TaxType                 string `json:"TaxType"`
	Description             string `json:"Description,omitempty"`
	Class                   string `json:"Class"`
	SystemAccount           string `json:"SystemAccount,omitempty"`
	EnablePaymentsToAccount bool   `json:"EnablePaymentsToAccount"`
	ShowInExpenseClaims     bool   `json:"ShowInExpenseClaims"`
	BankAccountNumber       string `json:"BankAccountNumber,omitempty"`
	BankAccountType         string `json:"BankAccountType,omitempty"`
	CurrencyCode            string `json:"CurrencyCode,omitempty"`
	HasAttachments          bool   `json:"HasAttachments"`
	AddToWatchlist          bool   `json:"AddToWatchlist"`
	UpdatedDateUTC          string `json:"UpdatedDateUTC"`
}

type accountsOut struct {
	envelope
	Accounts []wireAccount `json:"Accounts"`
}

// wireCurrency is schema Currency.
type wireCurrency struct {
	Code        string `json:"Code"`
	Description string `json:"Description"`
}

type currenciesOut struct {
	envelope
	Currencies []wireCurrency `json:"Currencies"`
}

// wireOrganisation is schema Organisation, with the fields Xero's answer
// carries (its recorded GET /Organisation).
type wireOrganisation struct {
	APIKey                 string     `json:"APIKey"`
	Name                   string     `json:"Name"`
	LegalName              string     `json:"LegalName"`
	PaysTax                bool       `json:"PaysTax"`
	Version                string     `json:"Version"`
	OrganisationType       string     `json:"OrganisationType"`
	BaseCurrency           string     `json:"BaseCurrency"`
	CountryCode            string     `json:"CountryCode,omitempty"`
	IsDemoCompany          bool       `json:"IsDemoCompany"`
	OrganisationStatus     string     `json:"OrganisationStatus"`
	FinancialYearEndDay    int        `json:"FinancialYearEndDay"`
	FinancialYearEndMonth  int        `json:"FinancialYearEndMonth"`
	SalesTaxBasis          string     `json:"SalesTaxBasis"`
	SalesTaxPeriod         string     `json:"SalesTaxPeriod"`
	DefaultSalesTax        string     `json:"DefaultSalesTax"`
	DefaultPurchasesTax    string     `json:"DefaultPurchasesTax"`
	CreatedDateUTC         string     `json:"CreatedDateUTC"`
	OrganisationEntityType string     `json:"OrganisationEntityType"`
	Timezone               string     `json:"Timezone"`
	ShortCode              string     `json:"ShortCode"`
	OrganisationID         string     `json:"OrganisationID"`
	Edition                string     `json:"Edition"`
	Class                  string     `json:"Class"`
	Addresses              emptyArray `json:"Addresses"`
	Phones                 emptyArray `json:"Phones"`
	ExternalLinks          emptyArray `json:"ExternalLinks"`
	PaymentTerms           struct{}   `json:"PaymentTerms"`
}

type organisationsOut struct {
	envelope
	Organisations []wireOrganisation `json:"Organisations"`
}

// apiError is Xero's error body (schema Error).
type apiError struct {
	ErrorNumber int    `json:"ErrorNumber"`
	Type        string `json:"Type"`
	Message     string `json:"Message"`
	Elements    []any  `json:"Elements,omitempty"`
}

// problem is the body of Xero's 401 and 403 answers.
type problem struct {
	Type       *string        `json:"Type"`
	Title      string         `json:"Title"`
	Status     int            `json:"Status"`
	Detail     string         `json:"Detail"`
	Instance   string         `json:"Instance"`
	Extensions map[string]any `json:"Extensions"`
}

// connection is one entry of GET /connections (identity schema Connection).
type connection struct {
	ID             string `json:"id"`
	AuthEventID    string `json:"authEventId"`
	TenantID       string `json:"tenantId"`
	TenantType     string `json:"tenantType"`
	TenantName     string `json:"tenantName"`
	CreatedDateUTC string `json:"createdDateUtc"`
	UpdatedDateUTC string `json:"updatedDateUtc"`
}

// tokenOut is the token endpoint's answer.
type tokenOut struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
	TokenType   string `json:"token_type"`
	Scope       string `json:"scope"`
}

// webhookPayload is a webhook delivery body (xero-webhooks.yaml WebhookEvent).
type webhookPayload struct {
	Events             []WebhookEvent `json:"events"`
	FirstEventSequence int64          `json:"firstEventSequence"`
	LastEventSequence  int64          `json:"lastEventSequence"`
	Entropy            string         `json:"entropy"`
}

// Payments, credit notes and allocations (schemas Payment, CreditNote,
// Allocation).

// docRefIn names an invoice or a credit note in a payment or allocation.
type docRefIn struct {
	InvoiceID        *string `json:"InvoiceID"`
	InvoiceNumber    *string `json:"InvoiceNumber"`
	CreditNoteID     *string `json:"CreditNoteID"`
	CreditNoteNumber *string `json:"CreditNoteNumber"`
}

type accountRefIn struct {
	AccountID *string `json:"AccountID"`
	Code      *string `json:"Code"`
}

type paymentIn struct {
	Invoice          *docRefIn        `json:"Invoice"`
	CreditNote       *docRefIn        `json:"CreditNote"`
	InvoiceNumber    *string          `json:"InvoiceNumber"`
	CreditNoteNumber *string          `json:"CreditNoteNumber"`
	Account          *accountRefIn    `json:"Account"`
	Code             *string          `json:"Code"`
	Date             *string          `json:"Date"`
	Amount           *decimal.Decimal `json:"Amount"`
	Reference        *string          `json:"Reference"`
	IsReconciled     *bool            `json:"IsReconciled"`
	Status           *string          `json:"Status"`
}

type creditNoteIn struct {
	CreditNoteID     *string      `json:"CreditNoteID"`
	CreditNoteNumber *string      `json:"CreditNoteNumber"`
	Type             *string      `json:"Type"`
	Status           *string      `json:"Status"`
	Contact          *contactIn   `json:"Contact"`
	LineItems        []lineItemIn `json:"LineItems"`
	Date             *string      `json:"Date"`
	LineAmountTypes  *string      `json:"LineAmountTypes"`
	Reference        *string      `json:"Reference"`
	CurrencyCode     *string      `json:"CurrencyCode"`
}

type allocationIn struct {
	Invoice *docRefIn        `json:"Invoice"`
	Amount  *decimal.Decimal `json:"Amount"`
	Date    *string          `json:"Date"`
}

// wireAccountRef is the account a payment is made to (schema Account).
type wireAccountRef struct {
	AccountID string `json:"AccountID"`
	Code      string `json:"Code,omitempty"`
	Name      string `json:"Name,omitempty"`
}

// wirePaymentFull is a payment as /Payments answers it.
type wirePaymentFull struct {
	PaymentID             string                `json:"PaymentID"`
	Date                  string                `json:"Date,omitempty"`
	BankAmount            num                   `json:"BankAmount"`
	Amount                num                   `json:"Amount"`
	Reference             string                `json:"Reference"`
	CurrencyRate          num                   `json:"CurrencyRate"`
	PaymentType           string                `json:"PaymentType,omitempty"`
	Status                string                `json:"Status,omitempty"`
	UpdatedDateUTC        string                `json:"UpdatedDateUTC,omitempty"`
	UpdatedDateUTCString  string                `json:"UpdatedDateUTCString,omitempty"`
	HasAccount            bool                  `json:"HasAccount"`
	IsReconciled          bool                  `json:"IsReconciled"`
	Account               *wireAccountRef       `json:"Account,omitempty"`
	Invoice               *wireInvoice          `json:"Invoice,omitempty"`
	CreditNote            *wireCreditNoteRef    `json:"CreditNote,omitempty"`
	HasValidationErrors   bool                  `json:"HasValidationErrors"`
	ValidationErrors      []wireValidationError `json:"ValidationErrors,omitzero"`
	Warnings              []wireValidationError `json:"Warnings,omitzero"`
	StatusAttributeString string                `json:"StatusAttributeString,omitempty"`
}

type paymentsOut struct {
	envelope
	Pagination *wirePagination   `json:"pagination,omitempty"`
	Payments   []wirePaymentFull `json:"Payments"`
}

// wireCreditNoteRef names a credit note: in a payment (a refund), in an
// allocation, and in an invoice's CreditNotes with the amount applied.
type wireCreditNoteRef struct {
	CreditNoteID     string `json:"CreditNoteID"`
	CreditNoteNumber string `json:"CreditNoteNumber,omitempty"`
	Type             string `json:"Type,omitempty"`
	Status           string `json:"Status,omitempty"`
	AppliedAmount    *num   `json:"AppliedAmount,omitempty"`
	Date             string `json:"Date,omitempty"`
	Total            *num   `json:"Total,omitempty"`
}

// wireInvoiceRef names an invoice in an allocation, as Xero's answers do:
// the ids and Xero's empty lists.
type wireInvoiceRef struct {
	InvoiceID     string     `json:"InvoiceID,omitempty"`
	InvoiceNumber string     `json:"InvoiceNumber,omitempty"`
	Type          string     `json:"Type,omitempty"`
	Status        string     `json:"Status,omitempty"`
	AmountDue     *num       `json:"AmountDue,omitempty"`
	Payments      emptyArray `json:"Payments"`
	CreditNotes   emptyArray `json:"CreditNotes"`
	Prepayments   emptyArray `json:"Prepayments"`
	Overpayments  emptyArray `json:"Overpayments"`
	HasErrors     bool       `json:"HasErrors"`
	IsDiscounted  bool       `json:"IsDiscounted"`
	LineItems     emptyArray `json:"LineItems"`
}

// wireAllocation is schema Allocation; Amount, Invoice and Date are
// required by it, so they are always written.
type wireAllocation struct {
	AllocationID          string                `json:"AllocationID,omitempty"`
	Amount                num                   `json:"Amount"`
	Date                  string                `json:"Date"`
	Invoice               wireInvoiceRef        `json:"Invoice"`
	CreditNote            *wireCreditNoteRef    `json:"CreditNote,omitempty"`
	StatusAttributeString string                `json:"StatusAttributeString,omitempty"`
	ValidationErrors      []wireValidationError `json:"ValidationErrors"`
}

type allocationsOut struct {
	envelope
	Allocations []wireAllocation `json:"Allocations"`
}

type wireCreditNote struct {
	Type                  string                `json:"Type"`
	CreditNoteID          string                `json:"CreditNoteID"`
	CreditNoteNumber      string                `json:"CreditNoteNumber"`
	Reference             string                `json:"Reference"`
	Payments              []wirePayment         `json:"Payments"`
	Allocations           []wireAllocation      `json:"Allocations"`
	RemainingCredit       num                   `json:"RemainingCredit"`
	CurrencyRate          num                   `json:"CurrencyRate"`
	SentToContact         bool                  `json:"SentToContact"`
	HasAttachments        bool                  `json:"HasAttachments"`
	HasErrors             bool                  `json:"HasErrors"`
	Contact               wireContact           `json:"Contact"`
	DateString            string                `json:"DateString,omitempty"`
	Date                  string                `json:"Date,omitempty"`
	FullyPaidOnDate       string                `json:"FullyPaidOnDate,omitempty"`
	Status                string                `json:"Status"`
	LineAmountTypes       string                `json:"LineAmountTypes"`
	LineItems             []wireLineItem        `json:"LineItems,omitempty"`
	SubTotal              num                   `json:"SubTotal"`
	TotalTax              num                   `json:"TotalTax"`
	Total                 num                   `json:"Total"`
	UpdatedDateUTC        string                `json:"UpdatedDateUTC,omitempty"`
	UpdatedDateUTCString  string                `json:"UpdatedDateUTCString,omitempty"`
	CurrencyCode          string                `json:"CurrencyCode"`
	ValidationErrors      []wireValidationError `json:"ValidationErrors,omitzero"`
	Warnings              []wireValidationError `json:"Warnings,omitzero"`
	StatusAttributeString string                `json:"StatusAttributeString,omitempty"`
}

type creditNotesOut struct {
	envelope
	Pagination  *wirePagination  `json:"pagination,omitempty"`
	CreditNotes []wireCreditNote `json:"CreditNotes"`
}
