package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/amsbilling/sdk/internal/xerolimit"
	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/xero"
)

const (
	// maxListed bounds the organisations, accounts or currencies a line
	// names.
	maxListed = 8
	// lowDayBudget warns when fewer calls than this are left today: 10% of
	// Xero's 5,000.
	lowDayBudget = xerolimit.PerDay / 10
	// settingsScope is the scope GET /Accounts, /Currencies and
	// /Organisation need; billing itself does not.
	settingsScope = "accounting.settings.read"
)

// xeroChecks runs credentials, tenant and, when full, account code,
// payment account, currency and demo company; then webhook key and email whitelist, which
// make no call.
func xeroChecks(ctx context.Context, cfg *xero.Config, client *xero.Client, clientErr error, full bool) []Check {
	var out []Check
	conn := []Check{
		{Name: "credentials", Status: Fail, Found: "no client: " + errText(clientErr), Var: xero.EnvClientID + ", " + xero.EnvClientSecret + ", " + xero.EnvTenantID, Fix: "set them as the Custom Connection's page shows", Err: clientErr},
		skipped("tenant", "needs a token"),
	}
	if client != nil {
		conn = connectionChecks(ctx, cfg, client)
	}
	out = append(out, conn...)
	reached := !Failed(conn)
	if full {
		if reached {
			out = append(out, accountCheck(ctx, cfg, client), paymentAccountCheck(ctx, cfg, client))
			out = append(out, organisationChecks(ctx, cfg, client)...)
		} else {
			pay := skipped(paymentAccountName, "needs the tenant")
			if cfg.PaymentAccountCode == "" {
				pay = paymentAccountUnset()
			}
			out = append(out, skipped("account code", "needs the tenant"), pay, skipped("currency", "needs the tenant"), skipped("demo company", "needs the tenant"))
		}
	}
	return append(out, webhookCheck(cfg), whitelistCheck(cfg))
}

func skipped(name, why string) Check {
	return Check{Name: name, Status: Skip, Found: "not checked: " + why}
}

func errText(err error) string {
	if err == nil {
		return "none built"
	}
	return err.Error()
}

// connectionChecks asks for the connections list (a token, then GET
// /connections: 2 calls) and reports the credentials and the tenant.
func connectionChecks(ctx context.Context, cfg *xero.Config, client *xero.Client) []Check {
	creds := Check{Name: "credentials"}
	conns, err := client.Connections(ctx)
	if err != nil {
		creds = credentialFailure(cfg, err)
		return []Check{creds, skipped("tenant", "needs a token Xero accepts")}
	}
	creds.Status = Pass
	creds.Found = fmt.Sprintf("the token endpoint accepted %s %q and its secret", xero.EnvClientID, cfg.ClientID)
	if len(cfg.Scopes) > 0 {
		creds.Found += fmt.Sprintf(", with %s %q", xero.EnvScopes, strings.Join(cfg.Scopes, " "))
	}
	return []Check{creds, tenantCheck(cfg, conns)}
}

// credentialFailure explains why the token, or the connections list with
// it, was refused.
func credentialFailure(cfg *xero.Config, err error) Check {
	c := Check{Name: "credentials", Status: Fail, Err: err}
	var ae *xero.AuthError
	var api *xero.APIError
	var rl *ratelimit.RateLimitError
	switch {
	case errors.Is(err, xero.ErrInvalidClient):
		c.Found = fmt.Sprintf("the token endpoint refused %s %q and its secret (invalid_client)", xero.EnvClientID, cfg.ClientID)
		c.Var = xero.EnvClientID + ", " + xero.EnvClientSecret
		c.Fix = "copy both from the Custom Connection's page in the Xero developer portal; generate a new secret if it was lost or rotated"
	case errors.Is(err, xero.ErrInvalidScope):
		c.Var = xero.EnvScopes
		if len(cfg.Scopes) > 0 {
			c.Found = fmt.Sprintf("the token endpoint refused the scopes %s asks for, %q (invalid_scope)", xero.EnvScopes, strings.Join(cfg.Scopes, " "))
		} else {
			c.Found = "the token endpoint answered invalid_scope although " + xero.EnvScopes + " is unset"
		}
		c.Fix = "unset it: Custom Connections created since April 2026 take no explicit scope and grant the scopes ticked on the app; " +
			"for an older connection, name only scopes ticked on it (apps created since March 2026 have accounting.invoices and accounting.payments, not accounting.transactions)"
	case errors.As(err, &ae) && ae.Code == "unauthorized_client":
		c.Found = fmt.Sprintf("the token endpoint refused %s %q (unauthorized_client)", xero.EnvClientID, cfg.ClientID)
		c.Var = xero.EnvClientID
		c.Fix = "it must be a Custom Connection, authorised by its user (the link Xero emails them)"
	case errors.As(err, &ae):
		c.Found = ae.Error()
		c.Var = xero.EnvTokenURL
		c.Fix = "unset it for Xero's identity service; if Xero itself is failing, try again later (status.xero.com)"
	case errors.As(err, &rl):
		c.Found = "rate limited before Xero could be asked: " + rl.Error()
		c.Fix = "wait, then run the doctor again"
	case errors.As(err, &api) && (api.StatusCode == http.StatusUnauthorized || api.StatusCode == http.StatusForbidden):
		c.Found = fmt.Sprintf("the token endpoint accepted %s %q, but Xero refused its token for the connections list (%d)", xero.EnvClientID, cfg.ClientID, api.StatusCode)
		c.Fix = "check in the Xero developer portal that the Custom Connection is still authorised (it may have been revoked, or its subscription ended)"
	case errors.As(err, &api) && api.StatusCode == http.StatusNotFound:
		c.Found = "the connections list is not where " + xero.EnvAPIURL + " points: " + api.Error()
		c.Var = xero.EnvAPIURL
		c.Fix = fixFor(xero.EnvAPIURL)
	default:
		c.Found = "Xero could not be asked: " + err.Error()
		c.Var = xero.EnvAPIURL + ", " + xero.EnvTokenURL
		c.Fix = "check the network; unset both for Xero's own endpoints; if Xero is failing, try again later (status.xero.com)"
	}
	return c
}

// tenantCheck looks for XERO_TENANT_ID among the connection's tenants.
func tenantCheck(cfg *xero.Config, conns []xero.Connection) Check {
	c := Check{Name: "tenant"}
	found := false
	var others []string
	for _, conn := range conns {
		if !found && strings.EqualFold(conn.TenantID, cfg.TenantID) {
			found = true
			c.Found = fmt.Sprintf("%s %s is %q", xero.EnvTenantID, cfg.TenantID, conn.TenantName)
			continue
		}
		others = append(others, fmt.Sprintf("%q (%s)", clip(conn.TenantName, 80), clip(conn.TenantID, 40)))
	}
	switch {
	case found:
		c.Status = Pass
		if len(others) > 0 {
			c.Found += "; the connection also sees " + list(others)
		}
	case len(others) == 0:
		c.Status, c.Err = Fail, xero.ErrTenantNotConnected
		c.Found = fmt.Sprintf("%s %s: the connection has no organisation", xero.EnvTenantID, cfg.TenantID)
		c.Fix = "authorise the Custom Connection for the organisation (the link Xero emails its user); the organisation needs a Custom Connection subscription (the Demo Company is free)"
	default:
		c.Status, c.Err, c.Var = Fail, xero.ErrTenantNotConnected, xero.EnvTenantID
		c.Found = fmt.Sprintf("%s %s is not among the connection's organisations: %s", xero.EnvTenantID, cfg.TenantID, list(others))
		c.Fix = "set it to the tenant id of the organisation to bill (listed), or authorise that organisation on the Custom Connection"
	}
	return c
}

// accountCheck looks XERO_ACCOUNT_CODE up (GET /Accounts with a where on
// Code) and, when it is unusable, lists the active revenue accounts (a
// second GET /Accounts).
func accountCheck(ctx context.Context, cfg *xero.Config, client *xero.Client) Check {
	const name = "account code"
	code := cfg.AccountCode
	accounts, err := client.Accounts(ctx, "Code=="+xero.QuoteWhere(code))
	if err != nil {
		return callFailure(name, "GET /Accounts", xero.EnvAccountCode, err)
	}
	i := slices.IndexFunc(accounts, func(a xero.Account) bool { return strings.EqualFold(a.Code, code) })
	c := Check{Name: name, Var: xero.EnvAccountCode}
	if i < 0 {
		c.Status = Fail
		c.Found = fmt.Sprintf("%s %s is not in the chart of accounts: Xero refuses invoice lines on it (\"Account code '%s' is not a valid code for this document.\")", xero.EnvAccountCode, code, code)
		c.Fix = suggestAccounts(ctx, client, "set it to an active revenue account's code", "")
		return c
	}
	a := accounts[i]
	desc := fmt.Sprintf("%s %s is %q", xero.EnvAccountCode, a.Code, a.Name)
	switch {
	case !strings.EqualFold(a.Status, xero.AccountStatusActive):
		c.Status = Fail
		c.Found = fmt.Sprintf("%s, %s: Xero refuses invoice lines on it", desc, a.Status)
		c.Fix = suggestAccounts(ctx, client, "restore it in Xero's chart of accounts, or set it to an active revenue account's code", a.Code)
	case !strings.EqualFold(a.Class, xero.AccountClassRevenue):
		c.Status = Fail
		c.Found = fmt.Sprintf("%s, a %s account of class %s, not revenue: sales invoices cannot use it", desc, a.Type, a.Class)
		c.Fix = suggestAccounts(ctx, client, "set it to an active revenue account's code", a.Code)
	default:
		c.Status = Pass
		c.Var = ""
		c.Found = fmt.Sprintf("%s: %s, class %s (type %s, tax type %s)", desc, a.Status, a.Class, a.Type, a.TaxType)
	}
	return c
}

const paymentAccountName = "payment account"

// paymentAccountUnset is the payment account line when the variable is
// unset: payments still work, given an account each time.
func paymentAccountUnset() Check {
	return Check{Name: paymentAccountName, Status: Skip,
		Found: xero.EnvPaymentAccountCode + " is unset: recording a payment or a refund needs an account each time (-account CODE of examples/record-payment and credit-note) or the variable"}
}

// paymentAccountCheck looks XERO_PAYMENT_ACCOUNT_CODE up in the chart of
// accounts (one GET /Accounts, the whole chart, which also names the
// accounts that take payments when it is unusable): Xero records payments
// only to an active bank account or one with payments enabled.
func paymentAccountCheck(ctx context.Context, cfg *xero.Config, client *xero.Client) Check {
	code := cfg.PaymentAccountCode
	if code == "" {
		return paymentAccountUnset()
	}
	chart, err := client.Accounts(ctx, "")
	if err != nil {
		return callFailure(paymentAccountName, "GET /Accounts", xero.EnvPaymentAccountCode, err)
	}
	c := Check{Name: paymentAccountName, Var: xero.EnvPaymentAccountCode}
	i := slices.IndexFunc(chart, func(a xero.Account) bool { return strings.EqualFold(a.Code, code) })
	if i < 0 {
		c.Status = Fail
		c.Found = fmt.Sprintf("%s %s is not in the chart of accounts: Xero refuses payments to it (\"Account could not be found\")", xero.EnvPaymentAccountCode, code)
		c.Fix = payableAccounts(chart, "set it to an account that takes payments", "")
		return c
	}
	a := chart[i]
	desc := fmt.Sprintf("%s %s is %q", xero.EnvPaymentAccountCode, a.Code, a.Name)
	switch {
	case a.TakesPayments() && strings.EqualFold(a.Type, xero.AccountTypeBank):
		c = Check{Name: paymentAccountName, Status: Pass, Found: fmt.Sprintf("%s: %s, a bank account: payments and refunds may be recorded to it", desc, a.Status)}
	case a.TakesPayments():
		c = Check{Name: paymentAccountName, Status: Pass, Found: fmt.Sprintf("%s: %s, type %s with payments enabled: payments and refunds may be recorded to it", desc, a.Status, a.Type)}
	case !strings.EqualFold(a.Status, xero.AccountStatusActive):
		c.Status = Fail
		c.Found = fmt.Sprintf("%s, %s: Xero refuses payments to it", desc, a.Status)
		c.Fix = payableAccounts(chart, "restore it in Xero's chart of accounts, or set it to an account that takes payments", a.Code)
	default:
		c.Status = Fail
		c.Found = fmt.Sprintf("%s, a %s account without payments enabled: Xero refuses payments to it (\"Account type is invalid for making a payment to/from\")", desc, a.Type)
		c.Fix = payableAccounts(chart, "tick \"Enable payments to this account\" on it in Xero's chart of accounts, or set it to an account that takes payments", a.Code)
	}
	return c
}

// payableAccounts adds the chart's accounts that take payments to fix.
func payableAccounts(chart []xero.Account, fix, except string) string {
	var names []string
	for _, a := range chart {
		if a.TakesPayments() && !strings.EqualFold(a.Code, except) {
			names = append(names, fmt.Sprintf("%s (%s)", a.Code, clip(a.Name, 60)))
		}
	}
	if len(names) == 0 {
		return fix + " (the organisation has none: add a bank account, or enable payments to an account, under Accounting, Chart of accounts)"
	}
	return fix + ": " + list(names)
}

// suggestAccounts adds the active revenue accounts to fix, when Xero lists
// them.
func suggestAccounts(ctx context.Context, client *xero.Client, fix, except string) string {
	accounts, err := client.Accounts(ctx, `Class=="`+xero.AccountClassRevenue+`" AND Status=="`+xero.AccountStatusActive+`"`)
	if err != nil {
		return fix
	}
	var names []string
	for _, a := range accounts {
		if !strings.EqualFold(a.Code, except) {
			names = append(names, fmt.Sprintf("%s (%s)", a.Code, clip(a.Name, 60)))
		}
	}
	if len(names) == 0 {
		return fix + " (the organisation has no active revenue account: add one under Accounting, Chart of accounts)"
	}
	return fix + ": " + list(names)
}

// organisationChecks reads the organisation (GET /Organisation) and, when
// XERO_CURRENCY_CODE is not its base currency, its currencies (GET
// /Currencies): currency, then demo company.
func organisationChecks(ctx context.Context, cfg *xero.Config, client *xero.Client) []Check {
	org, err := client.Organisation(ctx)
	if err != nil {
		return []Check{
			callFailure("currency", "GET /Organisation", xero.EnvCurrencyCode, err),
			skipped("demo company", "GET /Organisation failed"),
		}
	}
	return []Check{currencyCheck(ctx, cfg, client, org), demoCheck(cfg, org)}
}

func currencyCheck(ctx context.Context, cfg *xero.Config, client *xero.Client, org xero.Organisation) Check {
	const name = "currency"
	want := cfg.Currency
	if strings.EqualFold(want, org.BaseCurrency) {
		return Check{Name: name, Status: Pass, Found: fmt.Sprintf("%s %s is the base currency of %q", xero.EnvCurrencyCode, want, org.Name)}
	}
	currencies, err := client.Currencies(ctx)
	if err != nil {
		return callFailure(name, "GET /Currencies", xero.EnvCurrencyCode, err)
	}
	var added []string
	for _, c := range currencies {
		if strings.EqualFold(c.Code, want) {
			return Check{Name: name, Status: Pass, Found: fmt.Sprintf("%s %s is one of %q's currencies (its base currency is %s)", xero.EnvCurrencyCode, want, org.Name, org.BaseCurrency)}
		}
		if !strings.EqualFold(c.Code, org.BaseCurrency) {
			added = append(added, c.Code)
		}
	}
	others := "and it has added no other"
	if len(added) > 0 {
		others = "nor one it has added (" + list(added) + ")"
	}
	return Check{
		Name: name, Status: Fail, Var: xero.EnvCurrencyCode,
		Found: fmt.Sprintf("%s %s is not %q's base currency (%s), %s: Xero refuses invoices in it",
			xero.EnvCurrencyCode, want, org.Name, org.BaseCurrency, others),
		Fix: fmt.Sprintf("set it to %s, or add %s under Settings, Currencies in Xero (a plan with multi-currency)", org.BaseCurrency, want),
	}
}

func demoCheck(cfg *xero.Config, org xero.Organisation) Check {
	const name = "demo company"
	switch {
	case org.IsDemoCompany && cfg.EmailInvoices:
		return Check{
			Name: name, Status: Warn, Var: xero.EnvEmailInvoices,
			Found: fmt.Sprintf("%q is Xero's Demo Company, which sends no email, and %s is true: members get no invoice email", org.Name, xero.EnvEmailInvoices),
			Fix:   "set it to false while on the Demo Company, or connect the real organisation",
		}
	case org.IsDemoCompany:
		return Check{Name: name, Status: Pass, Found: fmt.Sprintf("%q is Xero's Demo Company, and %s is false, as it should be there", org.Name, xero.EnvEmailInvoices)}
	}
	return Check{Name: name, Status: Pass, Found: fmt.Sprintf("%q is not the Demo Company (country %s)", org.Name, orUnknown(org.CountryCode))}
}

// callFailure reports a settings read that failed. A 403 is the settings
// scope missing, which billing does not need: a warning.
func callFailure(name, op, variable string, err error) Check {
	var rl *ratelimit.RateLimitError
	switch {
	case errors.Is(err, xero.ErrForbidden):
		return Check{
			Name: name, Status: Warn, Err: err,
			Found: fmt.Sprintf("%s not checked: Xero refused %s (403); the connection lacks %s, which this check needs and billing does not", variable, op, settingsScope),
			Fix:   "tick " + settingsScope + " on the Custom Connection (and add it to " + xero.EnvScopes + " if that is set)",
		}
	case errors.As(err, &rl):
		return Check{Name: name, Status: Fail, Err: err, Found: fmt.Sprintf("%s not checked: %s was rate limited: %v", variable, op, rl), Fix: "wait, then run the doctor again"}
	}
	return Check{Name: name, Status: Fail, Err: err, Found: fmt.Sprintf("%s not checked: %s failed: %v", variable, op, err), Fix: "try again; if Xero is failing, later (status.xero.com)"}
}

// webhookCheck describes the webhook keys. None at all fails the
// configuration check already (XERO_WEBHOOK_KEY is required with Xero).
func webhookCheck(cfg *xero.Config) Check {
	c := Check{Name: "webhook key", Status: Pass}
	if n := len(cfg.WebhookKeys); n > 1 {
		c.Found = fmt.Sprintf("%s holds %d keys, for a rotation: drop the old one once Xero signs with the new", xero.EnvWebhookKey, n)
	} else {
		c.Found = xero.EnvWebhookKey + " holds a key (not shown; only a delivery from Xero proves it is the app's)"
	}
	return c
}

func whitelistCheck(cfg *xero.Config) Check {
	c := Check{Name: "email whitelist", Status: Pass}
	re := ""
	if cfg.EmailWhitelist != nil {
		re = clip(cfg.EmailWhitelist.String(), 120)
	}
	switch {
	case !cfg.EmailInvoices && re != "":
		c.Found = fmt.Sprintf("%s is false: no invoice is emailed (%s %q is not used)", xero.EnvEmailInvoices, xero.EnvEmailWhitelist, re)
	case !cfg.EmailInvoices:
		c.Found = xero.EnvEmailInvoices + " is false: no invoice is emailed"
	case re == "":
		c.Found = xero.EnvEmailWhitelist + " is unset: invoices are emailed to every contact"
	default:
		c.Found = fmt.Sprintf("%s %q compiles: only matching addresses get invoice emails; the others are skipped without an error", xero.EnvEmailWhitelist, re)
	}
	return c
}

// budgetCheck reports X-DayLimit-Remaining from the latest answer.
func budgetCheck(client *xero.Client) Check {
	c := Check{Name: "rate budget"}
	if client == nil {
		return skipped(c.Name, "no client")
	}
	info, at := client.LastRateInfo()
	day := info.Remaining.Day
	if at.IsZero() || day < 0 {
		return skipped(c.Name, "no answer carried X-DayLimit-Remaining")
	}
	c.Found = fmt.Sprintf("%d of Xero's %d calls a day left for this tenant", day, xerolimit.PerDay)
	if m := info.Remaining.Minute; m >= 0 {
		c.Found += fmt.Sprintf(" (%d this minute)", m)
	}
	switch {
	case day == 0:
		c.Status = Fail
		c.Found = "no call left today for this tenant (X-DayLimit-Remaining 0): Xero refuses every call until its day window resets"
		c.Fix = "wait for the reset, then find what spends the budget (a sweep run too often, a retry loop)"
	case day < lowDayBudget:
		c.Status = Warn
		c.Fix = "find what spends the budget (a sweep run too often, a retry loop) before it runs out"
	default:
		c.Status = Pass
	}
	return c
}

// list joins names, at most maxListed of them.
func list(names []string) string {
	if len(names) > maxListed {
		return strings.Join(names[:maxListed], ", ") + fmt.Sprintf(" and %d more", len(names)-maxListed)
	}
	return strings.Join(names, ", ")
}

// clip shortens s to n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func orUnknown(s string) string {
	if s == "" {
		return "not reported"
	}
	return s
}
