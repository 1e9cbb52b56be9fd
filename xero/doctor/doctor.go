package doctor

import (
	"context"
	"strings"
	"time"
	"unicode"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/internal/urlcheck"
	"github.com/amsbilling/sdk/xero"
	"github.com/amsbilling/sdk/xero/setup"
)

// Status is the outcome of one check.
type Status int

// The outcomes, with the mark String prints. The zero Status is Skip, so
// a Check nobody filled in never reads as a pass.
const (
	// Skip (-): not run, because a check it needs failed or it does not
	// apply to this store.
	Skip Status = iota
	// Pass (✓): as it should be.
	Pass
	// Warn (!): works, but look at it (the Demo Company with emails on,
	// invoices set aside...).
	Warn
	// Fail (✗): billing fails, or will, until it is fixed.
	Fail
)

// String returns the mark: ✓, !, ✗ or -.
func (s Status) String() string {
	switch s {
	case Pass:
		return "✓"
	case Warn:
		return "!"
	case Fail:
		return "✗"
	}
	return "-"
}

// Check is the outcome of one check. Found and Fix never hold a secret: a
// client secret or webhook key is described, never quoted.
type Check struct {
	Name   string // e.g. "credentials", "tenant", "account code"
	Status Status
	Found  string // what was found
	// Var names the variables to change (comma-separated), for a failure
	// or a warning a variable can fix; empty when the fix lies elsewhere
	// (in Xero, in cron).
	Var string
	Fix string // how to fix it, for a failure or a warning
	// Err is the error behind a failure, for errors.Is and errors.As
	// (xero.ErrInvalidClient, xero.ErrTenantNotConnected...); nil if none.
	Err error
}

// String is the check's report line: the mark, the name, what was found
// and, when there is one, the fix:
//
//	✗ tenant: XERO_TENANT_ID 1a2b... is not among the connection's organisations: ... — fix XERO_TENANT_ID: ...
//
// A multi-line error (a driver's, say) is folded onto the line with "; ".
func (c Check) String() string {
	s := c.Status.String() + " " + c.Name + ": " + oneLine(c.Found)
	switch {
	case c.Fix == "":
	case c.Var != "":
		s += " — fix " + c.Var + ": " + oneLine(c.Fix)
	default:
		s += " — fix: " + oneLine(c.Fix)
	}
	return s
}

// oneLine folds the lines of s into one, joined with "; ", and drops
// control characters.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var parts []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
		l = strings.TrimSpace(strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return ' '
			}
			return r
		}, l))
		if l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}

// Target is what the doctor examines: an app's configuration, the Xero
// client it calls with and the store it keeps its invoices in.
type Target struct {
	// Config is the configuration, as setup.LoadConfig read it. A
	// configuration that does not load is reported with ConfigChecks.
	Config setup.Config
	// Client calls Xero for Config.Xero's tenant. Nil: Run builds one from
	// Config.Xero that retries nothing. A shared client (the app's own,
	// xero.Service.Client) is fine: the doctor's calls count against its
	// limiter like any others.
	Client *xero.Client
	// Store is the app's store; nil when it could not be opened, and then
	// StoreErr says why.
	Store    billing.Store
	StoreErr error
	// Database names the store in the report; default: BILLING_DATABASE_URL
	// with its password redacted.
	Database string
	// Now is the clock for ages; default time.Now.
	Now func() time.Time
}

// Run runs every check, in this order: configuration, credentials, tenant,
// account code, payment account, currency, demo company, webhook key,
// email whitelist, database, marked invoices, set aside, pending
// creations, undelivered events, rate budget. It makes at most 7 Xero
// calls (a token, the connections list, GET /Accounts twice at most for
// XERO_ACCOUNT_CODE and once for XERO_PAYMENT_ACCOUNT_CODE when it is set,
// GET /Organisation and GET /Currencies), fewer when a check fails or the client holds a token, as
// long as the client retries nothing (Run's own retries nothing). After a
// failure of the credentials or the tenant, the checks that need Xero are
// skipped and make no call. When Config selects a mock provider, or none,
// only the store is checked.
func Run(ctx context.Context, t Target) []Check {
	return run(ctx, t, true)
}

// Cheap is the subset of Run for an app's start: configuration,
// credentials, tenant, webhook key, email whitelist and the store's checks.
// It makes at most 2 Xero calls (a token and the connections list).
func Cheap(ctx context.Context, t Target) []Check {
	return run(ctx, t, false)
}

// Failed reports whether any check failed.
func Failed(checks []Check) bool {
	for _, c := range checks {
		if c.Status == Fail {
			return true
		}
	}
	return false
}

func run(ctx context.Context, t Target, full bool) []Check {
	if t.Now == nil {
		t.Now = time.Now
	}
	if t.Database == "" {
		t.Database = describeDatabase(t.Config.DatabaseURL)
	}
	cfg := t.Config
	checks := configCheck(&cfg)
	xeroOn := cfg.Provider == setup.ProviderXero && !Failed(checks)
	client := t.Client
	var clientErr error
	if xeroOn && client == nil {
		// Retries off: the doctor's calls stay countable, and a failure
		// shows at once.
		client, clientErr = xero.NewClient(cfg.Xero, xero.WithRetries(1, 0))
	}
	if xeroOn {
		checks = append(checks, xeroChecks(ctx, &cfg.Xero, client, clientErr, full)...)
	}
	checks = append(checks, storeChecks(ctx, t)...)
	if xeroOn && full {
		checks = append(checks, budgetCheck(client))
	}
	return checks
}

func describeDatabase(url string) string {
	if url == "" {
		return "the default store (" + setup.EnvDatabaseURL + " unset)"
	}
	return urlcheck.Redact(url)
}
