package emulator

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/amsbilling/sdk/internal/currency"
	"github.com/google/uuid"
)

// The organisation's settings an app reads to check its configuration:
// the chart of accounts, the currencies and the organisation itself.

// Account statuses.
const (
	accountActive   = "ACTIVE"
	accountArchived = "ARCHIVED"
)

// account is one account of the chart of accounts.
type account struct {
	id, code, name, typ, class, taxType, status, description string
	systemAccount, bankAccountNumber                         string
	sales                                                    bool // may code a sales invoice line
	enablePayments                                           bool // EnablePaymentsToAccount
	updated                                                  time.Time
}

// payable reports whether payments may be made to the account, as Xero
// allows: an active BANK account, or one with EnablePaymentsToAccount.
func (a *account) payable() bool {
	return a.status == accountActive && (a.typ == "BANK" || a.enablePayments)
}

// demoChart is the demo organisation's chart of accounts: the revenue
// accounts invoices use, and a bank and a system account that they cannot.
func demoChart() []*account {
	return []*account{
		{code: "090", name: "Business Bank Account", typ: "BANK", class: "ASSET", taxType: taxNone, bankAccountNumber: "0201231234567"},
		{code: "200", name: "Sales", typ: "REVENUE", class: "REVENUE", taxType: taxOutput2, sales: true, description: "Income from any normal business activity"},
		{code: "260", name: "Other Revenue", typ: "REVENUE", class: "REVENUE", taxType: taxOutput2, sales: true, description: "Any other income that does not relate to normal business activities and is not recurring"},
		{code: "270", name: "Interest Income", typ: "REVENUE", class: "REVENUE", taxType: taxNone, sales: true, description: "Interest income"},
		{code: "610", name: "Accounts Receivable", typ: "CURRENT", class: "ASSET", taxType: taxNone, systemAccount: "DEBTORS", description: "Outstanding invoices the company has issued out to the client but has not yet received in cash at balance date."},
	}
}

// revenueAccount is an account added by Options.AccountCodes or
// Options.ArchivedAccountCodes: revenue, taxed like 200.
func revenueAccount(code string) *account {
	return &account{code: code, name: "Revenue " + code, typ: "REVENUE", class: "REVENUE", taxType: taxOutput2, sales: true}
}

// buildChart makes the chart of accounts from the demo chart and opts. A
// code of opts.AccountCodes that is in the demo chart but not a revenue
// account becomes one.
func buildChart(opts Options, created time.Time) []*account {
	chart := demoChart()
	find := func(code string) int {
		return slices.IndexFunc(chart, func(a *account) bool { return strings.EqualFold(a.code, code) })
	}
	for _, code := range opts.AccountCodes {
		code = strings.TrimSpace(code)
		switch i := find(code); {
		case code == "":
		case i < 0:
			chart = append(chart, revenueAccount(code))
		case !chart[i].sales:
			chart[i] = revenueAccount(code)
		}
	}
	for _, code := range opts.PaymentAccountCodes {
		code = strings.TrimSpace(code)
		if code == "" {
			continue
		}
		i := find(code)
		if i < 0 {
			chart = append(chart, &account{code: code, name: "Payments " + code, typ: "CURRENT", class: "ASSET", taxType: taxNone})
			i = len(chart) - 1
		}
		chart[i].enablePayments = true
	}
	for _, code := range opts.ArchivedAccountCodes {
		code = strings.TrimSpace(code)
		if code == "" {
			continue
		}
		i := find(code)
		if i < 0 {
			chart = append(chart, revenueAccount(code))
			i = len(chart) - 1
		}
		chart[i].status = accountArchived
	}
	for _, a := range chart {
		if a.status == "" {
			a.status = accountActive
		}
		a.id = uuid.NewSHA1(uuid.NameSpaceURL, []byte("account:"+opts.TenantID+":"+a.code)).String()
		a.updated = created
	}
	slices.SortStableFunc(chart, func(a, b *account) int { return cmp.Compare(a.code, b.code) })
	return chart
}

// accountByCode finds an account by its code. e.mu must be held.
func (e *Emulator) accountByCode(code string) *account {
	for _, a := range e.accounts {
		if strings.EqualFold(a.code, code) {
			return a
		}
	}
	return nil
}

// ArchiveAccount archives the account with this code, as someone might in
// Xero's chart of accounts: invoice lines can no longer use it ("Account
// code '200' is not a valid code for this document."), and GET /Accounts
// shows it ARCHIVED. It fails with ErrNotFound for an unknown code.
func (e *Emulator) ArchiveAccount(code string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.accountByCode(strings.TrimSpace(code))
	if a == nil {
		return fmt.Errorf("%w: account code %q", ErrNotFound, code)
	}
	if a.status != accountArchived {
		a.status = accountArchived
		a.updated = e.now()
	}
	return nil
}

// SetAccountPayable sets the EnablePaymentsToAccount of the account with
// this code, as someone might in Xero's chart of accounts: with it, or for
// a BANK account (always payable), payments may be made to the account;
// without it they are refused. It fails with ErrNotFound for an unknown
// code.
func (e *Emulator) SetAccountPayable(code string, enabled bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.accountByCode(strings.TrimSpace(code))
	if a == nil {
		return fmt.Errorf("%w: account code %q", ErrNotFound, code)
	}
	if a.enablePayments != enabled {
		a.enablePayments = enabled
		a.updated = e.now()
	}
	return nil
}

// AccountPayable reports whether payments may be made to the account with
// this code: it is active and a BANK account or has
// EnablePaymentsToAccount. ok is false for an unknown code.
func (e *Emulator) AccountPayable(code string) (payable, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.accountByCode(strings.TrimSpace(code))
	if a == nil {
		return false, false
	}
	return a.payable(), true
}

// accountByID finds an account by its AccountID. e.mu must be held.
func (e *Emulator) accountByID(id string) *account {
	u, err := uuid.Parse(id)
	if err != nil {
		return nil
	}
	for _, a := range e.accounts {
		if a.id == u.String() {
			return a
		}
	}
	return nil
}

func accountFields() map[string]func(*account) string {
	return map[string]func(*account) string{
		"AccountID":               func(a *account) string { return a.id },
		"Code":                    func(a *account) string { return a.code },
		"Name":                    func(a *account) string { return a.name },
		"Type":                    func(a *account) string { return a.typ },
		"Class":                   func(a *account) string { return a.class },
		"Status":                  func(a *account) string { return a.status },
		"TaxType":                 func(a *account) string { return a.taxType },
		"Description":             func(a *account) string { return a.description },
		"SystemAccount":           func(a *account) string { return a.systemAccount },
		"BankAccountNumber":       func(a *account) string { return a.bankAccountNumber },
		"EnablePaymentsToAccount": func(a *account) string { return strconv.FormatBool(a.enablePayments) },
		"ShowInExpenseClaims":     func(*account) string { return "false" },
		"UpdatedDateUTC":          func(a *account) string { return a.updated.UTC().Format(whereTimeLayout) },
	}
}

func (e *Emulator) toWireAccount(a *account) wireAccount {
	w := wireAccount{
		AccountID:         a.id,
		Code:              a.code,
		Name:              a.name,
		Status:            a.status,
		Type:              a.typ,
		TaxType:           a.taxType,
		Description:       a.description,
		Class:             a.class,
		SystemAccount:     a.systemAccount,
		BankAccountNumber: a.bankAccountNumber,
		UpdatedDateUTC:    msDate(a.updated),

		EnablePaymentsToAccount: a.enablePayments,
	}
	if a.typ == "BANK" {
		w.BankAccountType = "BANK"
		w.CurrencyCode = e.opts.Currency
	}
	return w
}

// GET /Accounts with where, order and If-Modified-Since; ordered by Code.
func (e *Emulator) getAccounts(call *apiCall) reply {
	list := slices.Clone(e.accounts)
	if since, ok := ifModifiedSince(call.r); ok {
		list = slices.DeleteFunc(list, func(a *account) bool { return !modifiedSince(a.updated, since) })
	}
	if where := call.query.Get("where"); strings.TrimSpace(where) != "" {
		pred, err := parseWhere(where, "Account", accountFields())
		if err != nil {
			if rp, ok := asQueryError(err); ok {
				return rp
			}
			return queryParseError(err.Error())
		}
		list = slices.DeleteFunc(list, func(a *account) bool { return !pred(a) })
	}
	if rp, ok := sortBy(list, call.query.Get("order"), "Account", accountFields(), func(a, b *account) int { return 0 }); !ok {
		return rp
	}
	out := accountsOut{envelope: e.envelope(), Accounts: make([]wireAccount, 0, len(list))}
	for _, a := range list {
		out.Accounts = append(out.Accounts, e.toWireAccount(a))
	}
	return jsonReply(http.StatusOK, out)
}

// GET /Accounts/{AccountID}
func (e *Emulator) getAccount(call *apiCall) reply {
	if a := e.accountByID(call.segs[1]); a != nil {
		return jsonReply(http.StatusOK, accountsOut{envelope: e.envelope(), Accounts: []wireAccount{e.toWireAccount(a)}})
	}
	return notFound()
}

// currencies are the organisation's: the base currency first, then
// Options.Currencies (upper-cased; duplicates and codes that are not ISO
// 4217 left out).
func currencies(opts Options) []string {
	out := []string{opts.Currency}
	for _, c := range opts.Currencies {
		c = strings.ToUpper(strings.TrimSpace(c))
		if currency.IsCode(c) && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// currencyDescription is the name Xero gives a currency; the code itself
// for the ones the emulator does not know.
func currencyDescription(code string) string {
	switch code {
	case "AUD":
		return "Australian Dollar"
	case "CAD":
		return "Canadian Dollar"
	case "CHF":
		return "Swiss Franc"
	case "CNY":
		return "Chinese Yuan"
	case "EUR":
		return "Euro"
	case "FJD":
		return "Fiji Dollar"
	case "GBP":
		return "British Pound"
	case "HKD":
		return "Hong Kong Dollar"
	case "JPY":
		return "Japanese Yen"
	case "NZD":
		return "New Zealand Dollar"
	case "SGD":
		return "Singapore Dollar"
	case "USD":
		return "United States Dollar"
	case "ZAR":
		return "South African Rand"
	}
	return code
}

// GET /Currencies with where and order.
func (e *Emulator) getCurrencies(call *apiCall) reply {
	list := slices.Clone(e.currencies)
	fields := map[string]func(string) string{
		"Code":        func(c string) string { return c },
		"Description": currencyDescription,
	}
	if where := call.query.Get("where"); strings.TrimSpace(where) != "" {
		pred, err := parseWhere(where, "Currency", fields)
		if err != nil {
			if rp, ok := asQueryError(err); ok {
				return rp
			}
			return queryParseError(err.Error())
		}
		list = slices.DeleteFunc(list, func(c string) bool { return !pred(c) })
	}
	if rp, ok := sortBy(list, call.query.Get("order"), "Currency", fields, func(a, b string) int { return 0 }); !ok {
		return rp
	}
	out := currenciesOut{envelope: e.envelope(), Currencies: make([]wireCurrency, 0, len(list))}
	for _, c := range list {
		out.Currencies = append(out.Currencies, wireCurrency{Code: c, Description: currencyDescription(c)})
	}
	return jsonReply(http.StatusOK, out)
}

// locale is where an organisation is, as Xero's Organisation reports it.
type locale struct{ version, country, timezone string }

// localeOf guesses the organisation's locale from its base currency.
func localeOf(currency string) locale {
	switch currency {
	case "AUD":
		return locale{"AU", "AU", "AUSEASTERNSTANDARDTIME"}
	case "GBP":
		return locale{"UK", "GB", "GMTSTANDARDTIME"}
	case "USD":
		return locale{"US", "US", "EASTERNSTANDARDTIME"}
	case "NZD":
		return locale{"NZ", "NZ", "NEWZEALANDSTANDARDTIME"}
	}
	return locale{version: "GLOBAL", timezone: "UTC"}
}

// GET /Organisation: the one organisation.
func (e *Emulator) getOrganisation(*apiCall) reply {
	loc := localeOf(e.opts.Currency)
	// Stable made-up keys, derived from the tenant.
	key := strings.ToUpper(strings.ReplaceAll(uuid.NewSHA1(uuid.NameSpaceURL, []byte("organisation:"+e.opts.TenantID)).String(), "-", ""))
	class := "PREMIUM"
	if e.opts.DemoCompany {
		class = "DEMO"
	}
	org := wireOrganisation{
		APIKey:                 key[:30],
		Name:                   e.opts.TenantName,
		LegalName:              e.opts.TenantName,
		PaysTax:                true,
		Version:                loc.version,
		OrganisationType:       "COMPANY",
		BaseCurrency:           e.opts.Currency,
		CountryCode:            loc.country,
		IsDemoCompany:          e.opts.DemoCompany,
		OrganisationStatus:     "ACTIVE",
		FinancialYearEndDay:    31,
		FinancialYearEndMonth:  3,
		SalesTaxBasis:          "PAYMENTS",
		SalesTaxPeriod:         "TWOMONTHS",
		DefaultSalesTax:        "Tax Exclusive",
		DefaultPurchasesTax:    "Tax Exclusive",
		CreatedDateUTC:         "/Date(" + strconv.FormatInt(e.created.UnixMilli(), 10) + ")/",
		OrganisationEntityType: "COMPANY",
		Timezone:               loc.timezone,
		ShortCode:              "!" + key[:5],
		OrganisationID:         e.opts.TenantID,
		Edition:                "BUSINESS",
		Class:                  class,
	}
	return jsonReply(http.StatusOK, organisationsOut{envelope: e.envelope(), Organisations: []wireOrganisation{org}})
}
