package xero

import (
	"context"
	"errors"
	"net/http"
	"net/url"
)

// The organisation's settings: its chart of accounts, its currencies and
// the organisation itself. An app reads them to check its configuration
// (examples/doctor): XERO_ACCOUNT_CODE must be an active revenue account,
// XERO_CURRENCY_CODE the base currency or one the organisation has added.
// Reading them takes the accounting.settings.read scope (or
// accounting.settings), which billing itself does not need.

// Account statuses and the account class of sales, as Xero spells them.
const (
	AccountStatusActive   = "ACTIVE"
	AccountStatusArchived = "ARCHIVED"
	// AccountClassRevenue is the Class of the accounts a sales invoice line
	// is coded to (Types REVENUE, SALES and OTHERINCOME).
	AccountClassRevenue = "REVENUE"
)

// Account is one account of the chart of accounts (schema Account), with
// the fields that say whether invoice lines may use it.
type Account struct {
	AccountID string `json:"AccountID"`
	Code      string `json:"Code"` // e.g. "200"; XERO_ACCOUNT_CODE names one
	Name      string `json:"Name"`
	Type      string `json:"Type"`   // e.g. REVENUE, SALES, BANK, CURRENT
	Class     string `json:"Class"`  // ASSET, EQUITY, EXPENSE, LIABILITY or REVENUE
	Status    string `json:"Status"` // ACTIVE, ARCHIVED or DELETED
	TaxType   string `json:"TaxType"`
	// EnablePaymentsToAccount lets an account other than a bank account
	// receive payments.
	EnablePaymentsToAccount bool `json:"EnablePaymentsToAccount"`
}

// AccountTypeBank is the Type of a bank account, which always takes
// payments.
const AccountTypeBank = "BANK"

// TakesPayments reports whether payments may be recorded to the account
// (XERO_PAYMENT_ACCOUNT_CODE names one): an active bank account, or an
// active one with payments enabled.
func (a Account) TakesPayments() bool {
	return a.Status == AccountStatusActive && (a.Type == AccountTypeBank || a.EnablePaymentsToAccount)
}

// Currency is one of the organisation's currencies (schema Currency).
type Currency struct {
	Code        string `json:"Code"` // ISO 4217, e.g. NZD
	Description string `json:"Description"`
}

// Organisation is the organisation the tenant is (schema Organisation),
// with the fields an app checks its configuration against.
type Organisation struct {
	OrganisationID string `json:"OrganisationID"`
	Name           string `json:"Name"`
	LegalName      string `json:"LegalName"`
	// BaseCurrency is the currency invoices are in unless they name
	// another the organisation has added (GET /Currencies).
	BaseCurrency string `json:"BaseCurrency"`
	CountryCode  string `json:"CountryCode"`
	// IsDemoCompany is true for Xero's Demo Company, which sends no email.
	IsDemoCompany      bool   `json:"IsDemoCompany"`
	OrganisationStatus string `json:"OrganisationStatus"` // ACTIVE when the API may use it
	Version            string `json:"Version"`            // AU, NZ, GLOBAL, UK, US...
}

type accountsBody struct {
	Accounts []Account `json:"Accounts"`
}

type currenciesBody struct {
	Currencies []Currency `json:"Currencies"`
}

type organisationsBody struct {
	Organisations []Organisation `json:"Organisations"`
}

// Accounts lists the chart of accounts (GET /Accounts), filtered by where,
// a Xero where expression such as `Code=="200"` (build string literals
// with QuoteWhere); an empty where lists every account. Xero answers the
// accounts ordered by code, archived ones included.
func (c *Client) Accounts(ctx context.Context, where string) ([]Account, error) {
	var q url.Values
	if where != "" {
		q = url.Values{"where": {where}}
	}
	var out accountsBody
	if err := c.doJSON(ctx, http.MethodGet, c.endpoint("/Accounts", q), "", nil, &out); err != nil {
		return nil, err
	}
	return out.Accounts, nil
}

// Currencies lists the organisation's currencies (GET /Currencies): its
// base currency and those added under Settings, Currencies.
func (c *Client) Currencies(ctx context.Context) ([]Currency, error) {
	var out currenciesBody
	if err := c.doJSON(ctx, http.MethodGet, c.endpoint("/Currencies", nil), "", nil, &out); err != nil {
		return nil, err
	}
	return out.Currencies, nil
}

// Organisation returns the organisation of the client's tenant
// (GET /Organisation).
func (c *Client) Organisation(ctx context.Context) (Organisation, error) {
	var out organisationsBody
	if err := c.doJSON(ctx, http.MethodGet, c.endpoint("/Organisation", nil), "", nil, &out); err != nil {
		return Organisation{}, err
	}
	if len(out.Organisations) == 0 {
		return Organisation{}, errors.New("xero: GET /Organisation: the response holds no organisation")
	}
	return out.Organisations[0], nil
}

// QuoteWhere returns s as a string literal for a where expression, quoted
// and escaped the way Xero's filter reads it: `Code==` + QuoteWhere(code).
func QuoteWhere(s string) string { return `"` + escapeWhere(s) + `"` }
