package doctor_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/xero"
	"github.com/amsbilling/sdk/xero/doctor"
	"github.com/amsbilling/sdk/xero/setup"
)

// Secrets no report may show.
const (
	clientSecret = "client-secret-never-printed-0123456789"
	webhookKey   = "webhook-key-never-printed-9876543210"
	wrongSecret  = "wrong-secret-never-printed-5555"
)

const base = "http://xero.emulator"

// rig is an in-process emulator, the environment an app on it reads, and
// a store.
type rig struct {
	emu   *emulator.Emulator
	env   map[string]string
	store *mock.Store
}

func newRig(t *testing.T, opts emulator.Options) *rig {
	t.Helper()
	opts.ClientSecret = clientSecret
	if opts.TenantName == "" {
		opts.TenantName = "Acme Ltd"
	}
	emu := emulator.New(opts)
	t.Cleanup(func() { _ = emu.Close() })
	return &rig{
		emu: emu,
		env: map[string]string{
			setup.EnvServiceClass: "xero",
			xero.EnvAPIURL:        base + emulator.APIPath,
			xero.EnvTokenURL:      base + emulator.TokenPath,
			xero.EnvClientID:      emu.ClientID(),
			xero.EnvClientSecret:  clientSecret,
			xero.EnvTenantID:      emu.TenantID(),
			xero.EnvWebhookKey:    webhookKey,
			xero.EnvAccountCode:   emulator.DefaultAccountCode,
			xero.EnvAmountType:    "EXCLUSIVE",
			xero.EnvCurrencyCode:  emu.Currency(),
		},
		store: mock.NewStore(),
	}
}

func (r *rig) lookup(k string) (string, bool) { v, ok := r.env[k]; return v, ok }

// target loads the configuration and builds the client as an app would,
// on the emulator, retries off.
func (r *rig) target(t *testing.T) doctor.Target {
	t.Helper()
	cfg, err := setup.LoadConfig(r.lookup)
	require.NoError(t, err)
	tg := doctor.Target{Config: cfg, Store: r.store, Database: "the test store"}
	if cfg.Provider == setup.ProviderXero {
		tg.Client, err = xero.NewClient(cfg.Xero, xero.WithHTTPClient(r.emu.Client()), xero.WithRetries(1, 0))
		require.NoError(t, err)
	}
	return tg
}

// calls is every request the emulator received: tokens, connections and
// API calls.
func (r *rig) calls() int {
	n := 0
	for _, c := range r.emu.CallCounts() {
		n += c
	}
	return n
}

func byName(checks []doctor.Check) map[string]doctor.Check {
	m := make(map[string]doctor.Check, len(checks))
	for _, c := range checks {
		m[c.Name] = c
	}
	return m
}

func report(t *testing.T, checks []doctor.Check) string {
	t.Helper()
	var b strings.Builder
	require.NoError(t, doctor.Write(&b, checks))
	return b.String()
}

// assertNoSecret checks that no secret reached the report or the log.
func assertNoSecret(t *testing.T, checks []doctor.Check) {
	t.Helper()
	out := report(t, checks)
	for _, s := range []string{clientSecret, webhookKey, wrongSecret} {
		assert.NotContains(t, out, s)
	}
}

var allXero = []string{"configuration", "credentials", "tenant", "account code", "payment account", "currency", "demo company",
	"webhook key", "email whitelist", "database", "marked invoices", "set aside", "pending creations",
	"undelivered events", "rate budget"}

// Every Xero check against the emulator, passing and failing, within 6
// calls.
func TestRun(t *testing.T) {
	tests := []struct {
		name  string
		opts  emulator.Options
		env   map[string]string // changes; "" unsets
		want  map[string]doctor.Status
		lines map[string][]string // per check: substrings of its line
		err   map[string]error    // per check: what Err matches
		calls int                 // exact Xero calls
	}{
		{
			name:  "all pass",
			want:  statuses(doctor.Pass, nil),
			lines: map[string][]string{"tenant": {`is "Acme Ltd"`}, "account code": {`200 is "Sales": ACTIVE, class REVENUE`}, "currency": {"NZD is the base currency"}, "rate budget": {"4998 of Xero's 5000 calls a day left", "(58 this minute)"}},
			calls: 4,
		},
		{
			name: "wrong secret",
			env:  map[string]string{xero.EnvClientSecret: wrongSecret},
			want: statuses(doctor.Pass, map[string]doctor.Status{"credentials": doctor.Fail, "tenant": doctor.Skip,
				"account code": doctor.Skip, "currency": doctor.Skip, "demo company": doctor.Skip, "rate budget": doctor.Skip}),
			lines: map[string][]string{"credentials": {"invalid_client", "fix XERO_CLIENT_ID, XERO_CLIENT_SECRET: copy both"}},
			err:   map[string]error{"credentials": xero.ErrInvalidClient},
			calls: 1,
		},
		{
			name: "scope set on a new connection",
			env:  map[string]string{xero.EnvScopes: "accounting.transactions accounting.contacts"},
			want: statuses(doctor.Pass, map[string]doctor.Status{"credentials": doctor.Fail, "tenant": doctor.Skip,
				"account code": doctor.Skip, "currency": doctor.Skip, "demo company": doctor.Skip, "rate budget": doctor.Skip}),
			lines: map[string][]string{"credentials": {`"accounting.transactions accounting.contacts" (invalid_scope)`, "fix XERO_SCOPES: unset it"}},
			err:   map[string]error{"credentials": xero.ErrInvalidScope},
			calls: 1,
		},
		{
			name:  "scope on an older connection",
			opts:  emulator.Options{LegacyScopes: true},
			env:   map[string]string{xero.EnvScopes: "accounting.transactions accounting.contacts accounting.settings.read"},
			want:  statuses(doctor.Pass, nil),
			lines: map[string][]string{"credentials": {`with XERO_SCOPES "accounting.transactions`}},
			calls: 4,
		},
		{
			name: "wrong tenant",
			env:  map[string]string{xero.EnvTenantID: "0d6e3f5a-1b2c-4d3e-8f9a-0b1c2d3e4f5a"},
			want: statuses(doctor.Pass, map[string]doctor.Status{"tenant": doctor.Fail,
				"account code": doctor.Skip, "currency": doctor.Skip, "demo company": doctor.Skip, "rate budget": doctor.Skip}),
			lines: map[string][]string{"tenant": {"0d6e3f5a-1b2c-4d3e-8f9a-0b1c2d3e4f5a is not among the connection's organisations", `"Acme Ltd" (` + emulator.DefaultTenantID + `)`, "fix XERO_TENANT_ID"}},
			err:   map[string]error{"tenant": xero.ErrTenantNotConnected},
			calls: 2,
		},
		{
			name:  "unknown account code",
			env:   map[string]string{xero.EnvAccountCode: "999"},
			want:  statuses(doctor.Pass, map[string]doctor.Status{"account code": doctor.Fail}),
			lines: map[string][]string{"account code": {"999 is not in the chart of accounts", "Account code '999' is not a valid code", "fix XERO_ACCOUNT_CODE", "200 (Sales), 260 (Other Revenue), 270 (Interest Income)"}},
			calls: 5,
		},
		{
			name:  "archived account code",
			opts:  emulator.Options{ArchivedAccountCodes: []string{"260"}},
			env:   map[string]string{xero.EnvAccountCode: "260"},
			want:  statuses(doctor.Pass, map[string]doctor.Status{"account code": doctor.Fail}),
			lines: map[string][]string{"account code": {`260 is "Other Revenue", ARCHIVED`, "restore it", "200 (Sales), 270 (Interest Income)"}},
			calls: 5,
		},
		{
			name:  "a bank account code",
			env:   map[string]string{xero.EnvAccountCode: "090"},
			want:  statuses(doctor.Pass, map[string]doctor.Status{"account code": doctor.Fail}),
			lines: map[string][]string{"account code": {`090 is "Business Bank Account", a BANK account of class ASSET, not revenue`, "200 (Sales)"}},
			calls: 5,
		},
		{
			name:  "a system account code",
			env:   map[string]string{xero.EnvAccountCode: "610"},
			want:  statuses(doctor.Pass, map[string]doctor.Status{"account code": doctor.Fail}),
			lines: map[string][]string{"account code": {"a CURRENT account of class ASSET"}},
			calls: 5,
		},
		{
			name:  "currency not enabled",
			opts:  emulator.Options{Currencies: []string{"USD"}},
			env:   map[string]string{xero.EnvCurrencyCode: "EUR"},
			want:  statuses(doctor.Pass, map[string]doctor.Status{"currency": doctor.Fail}),
			lines: map[string][]string{"currency": {`EUR is not "Acme Ltd"'s base currency (NZD), nor one it has added (USD)`, "fix XERO_CURRENCY_CODE: set it to NZD, or add EUR"}},
			calls: 5,
		},
		{
			name:  "an added currency",
			opts:  emulator.Options{Currencies: []string{"USD"}},
			env:   map[string]string{xero.EnvCurrencyCode: "USD"},
			want:  statuses(doctor.Pass, nil),
			lines: map[string][]string{"currency": {`USD is one of "Acme Ltd"'s currencies (its base currency is NZD)`}},
			calls: 5,
		},
		{
			name:  "demo company with emails on",
			opts:  emulator.Options{DemoCompany: true, TenantName: "Demo Company (NZ)"},
			want:  statuses(doctor.Pass, map[string]doctor.Status{"demo company": doctor.Warn}),
			lines: map[string][]string{"demo company": {`"Demo Company (NZ)" is Xero's Demo Company, which sends no email`, "fix XERO_EMAIL_INVOICES: set it to false"}},
			calls: 4,
		},
		{
			name:  "demo company with emails off",
			opts:  emulator.Options{DemoCompany: true},
			env:   map[string]string{xero.EnvEmailInvoices: "false"},
			want:  statuses(doctor.Pass, nil),
			lines: map[string][]string{"demo company": {"XERO_EMAIL_INVOICES is false, as it should be"}, "email whitelist": {"no invoice is emailed"}},
			calls: 4,
		},
		{
			name:  "whitelist and rotating keys",
			env:   map[string]string{xero.EnvEmailWhitelist: `@example\.com$`, xero.EnvWebhookKey: webhookKey + "," + webhookKey + "-new"},
			want:  statuses(doctor.Pass, nil),
			lines: map[string][]string{"email whitelist": {`"@example\\.com$" compiles: only matching addresses`}, "webhook key": {"holds 2 keys"}},
			calls: 4,
		},
		{
			name: "no settings scope",
			opts: emulator.Options{},
			want: statuses(doctor.Pass, map[string]doctor.Status{"account code": doctor.Warn, "currency": doctor.Warn,
				"demo company": doctor.Skip, "rate budget": doctor.Skip}),
			lines: map[string][]string{"account code": {"lacks accounting.settings.read", "fix: tick accounting.settings.read"}},
			calls: 4,
		},
		{
			name:  "budget low",
			opts:  emulator.Options{RateLimit: emulator.Limits{PerDay: 400}},
			want:  statuses(doctor.Pass, map[string]doctor.Status{"rate budget": doctor.Warn}),
			lines: map[string][]string{"rate budget": {"398 of Xero's 5000"}},
			calls: 4,
		},
		{
			name:  "budget spent",
			opts:  emulator.Options{RateLimit: emulator.Limits{PerDay: 2}},
			want:  statuses(doctor.Pass, map[string]doctor.Status{"rate budget": doctor.Fail}),
			lines: map[string][]string{"rate budget": {"no call left today"}},
			calls: 4,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, tt.opts)
			for k, v := range tt.env {
				r.env[k] = v
			}
			if tt.name == "no settings scope" {
				r.emu.InjectFault(emulator.Fault{Status: http.StatusForbidden, Count: 10, Path: emulator.APIPath})
			}
			checks := doctor.Run(t.Context(), r.target(t))
			got := byName(checks)
			var names []string
			for _, c := range checks {
				names = append(names, c.Name)
			}
			assert.Equal(t, allXero, names, "every check, in order")
			for name, want := range tt.want {
				assert.Equal(t, want.String(), got[name].Status.String(), "%s: %s", name, got[name])
			}
			for name, subs := range tt.lines {
				for _, s := range subs {
					assert.Contains(t, got[name].String(), s)
				}
			}
			for name, target := range tt.err {
				assert.ErrorIs(t, got[name].Err, target)
			}
			assert.Equal(t, tt.calls, r.calls(), "Xero calls: %v", r.emu.CallCounts())
			assert.LessOrEqual(t, r.calls(), 6)
			assertNoSecret(t, checks)
		})
	}
}

// statuses is every check of Run at def, with some changed; the payment
// account, unset by newRig, is skipped.
func statuses(def doctor.Status, except map[string]doctor.Status) map[string]doctor.Status {
	m := make(map[string]doctor.Status, len(allXero))
	for _, n := range allXero {
		m[n] = def
		if n == "payment account" {
			m[n] = doctor.Skip
		}
		if s, ok := except[n]; ok {
			m[n] = s
		}
	}
	return m
}

// XERO_PAYMENT_ACCOUNT_CODE, when set, must name an active bank account or
// one with payments enabled: one GET /Accounts, whatever it finds.
func TestPaymentAccount(t *testing.T) {
	tests := []struct {
		name   string
		opts   emulator.Options
		code   string // "" leaves it unset
		change func(*emulator.Emulator) error
		status doctor.Status
		line   []string
		calls  int
	}{
		{name: "unset", status: doctor.Skip, calls: 4,
			line: []string{"- payment account: XERO_PAYMENT_ACCOUNT_CODE is unset: recording a payment or a refund needs an account each time (-account CODE"}},
		{name: "the bank account", code: "090", status: doctor.Pass, calls: 5,
			line: []string{`✓ payment account: XERO_PAYMENT_ACCOUNT_CODE 090 is "Business Bank Account": ACTIVE, a bank account`}},
		{name: "payments enabled", opts: emulator.Options{PaymentAccountCodes: []string{"880"}}, code: "880", status: doctor.Pass, calls: 5,
			line: []string{`880 is "Payments 880": ACTIVE, type CURRENT with payments enabled`}},
		{name: "payments disabled since", opts: emulator.Options{PaymentAccountCodes: []string{"880"}}, code: "880", status: doctor.Fail, calls: 5,
			change: func(e *emulator.Emulator) error { return e.SetAccountPayable("880", false) },
			line: []string{`880 is "Payments 880", a CURRENT account without payments enabled: Xero refuses payments to it`,
				`fix XERO_PAYMENT_ACCOUNT_CODE: tick "Enable payments to this account" on it`, ": 090 (Business Bank Account)"}},
		{name: "a revenue account", code: "200", status: doctor.Fail, calls: 5,
			line: []string{`200 is "Sales", a REVENUE account without payments enabled`, "Account type is invalid for making a payment to/from", "090 (Business Bank Account)"}},
		{name: "not in the chart", code: "999", status: doctor.Fail, calls: 5,
			line: []string{"XERO_PAYMENT_ACCOUNT_CODE 999 is not in the chart of accounts: Xero refuses payments to it", "fix XERO_PAYMENT_ACCOUNT_CODE: set it to an account that takes payments: 090 (Business Bank Account)"}},
		{name: "the bank account archived", code: "090", status: doctor.Fail, calls: 5,
			change: func(e *emulator.Emulator) error { return e.ArchiveAccount("090") },
			line:   []string{`090 is "Business Bank Account", ARCHIVED: Xero refuses payments to it`, "restore it", "the organisation has none: add a bank account"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, tt.opts)
			if tt.code != "" {
				r.env[xero.EnvPaymentAccountCode] = tt.code
			}
			if tt.change != nil {
				require.NoError(t, tt.change(r.emu))
			}
			checks := doctor.Run(t.Context(), r.target(t))
			got := byName(checks)["payment account"]
			assert.Equal(t, tt.status.String(), got.Status.String(), "%s", got)
			for _, l := range tt.line {
				assert.Contains(t, got.String(), l)
			}
			assert.Equal(t, tt.status == doctor.Fail, doctor.Failed(checks), report(t, checks))
			assert.Equal(t, tt.calls, r.calls(), "Xero calls: %v", r.emu.CallCounts())
			assertNoSecret(t, checks)
		})
	}
	// Without the settings scope it is a warning, as the account code is.
	r := newRig(t, emulator.Options{})
	r.env[xero.EnvPaymentAccountCode] = "090"
	r.emu.InjectFault(emulator.Fault{Status: http.StatusForbidden, Count: 10, Path: emulator.APIPath})
	got := byName(doctor.Run(t.Context(), r.target(t)))["payment account"]
	assert.Equal(t, doctor.Warn, got.Status, "%s", got)
	assert.Contains(t, got.String(), "XERO_PAYMENT_ACCOUNT_CODE not checked: Xero refused GET /Accounts (403)")
}

// Cheap makes at most 2 calls and leaves the settings and the budget out.
func TestCheap(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		failed string // the check that fails, if any
		calls  int
	}{
		{"all pass", nil, "", 2},
		{"wrong secret", map[string]string{xero.EnvClientSecret: wrongSecret}, "credentials", 1},
		{"wrong tenant", map[string]string{xero.EnvTenantID: "0d6e3f5a-1b2c-4d3e-8f9a-0b1c2d3e4f5a"}, "tenant", 2},
		{"unknown account code is not its business", map[string]string{xero.EnvAccountCode: "999"}, "", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, emulator.Options{})
			for k, v := range tt.env {
				r.env[k] = v
			}
			checks := doctor.Cheap(t.Context(), r.target(t))
			var names []string
			for _, c := range checks {
				names = append(names, c.Name)
				if c.Name == tt.failed {
					assert.Equal(t, doctor.Fail, c.Status, "%s", c)
				} else {
					assert.NotEqual(t, doctor.Fail, c.Status, "%s", c)
				}
			}
			assert.Equal(t, []string{"configuration", "credentials", "tenant", "webhook key", "email whitelist",
				"database", "marked invoices", "set aside", "pending creations", "undelivered events"}, names)
			assert.Equal(t, tt.failed != "", doctor.Failed(checks))
			assert.Equal(t, tt.calls, r.calls())
			assert.LessOrEqual(t, r.calls(), 2)
			assertNoSecret(t, checks)
		})
	}
}

// Run builds its own client, retries off, when none is given.
func TestRunBuildsAClient(t *testing.T) {
	srv := emulator.NewServer(emulator.Options{ClientSecret: clientSecret})
	t.Cleanup(func() { _ = srv.Close() })
	env := srv.Env()
	env[xero.EnvWebhookKey] = webhookKey
	cfg, err := setup.LoadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	srv.InjectFault(emulator.Fault{Status: http.StatusServiceUnavailable, Path: emulator.APIPath + "/Accounts"})
	checks := doctor.Run(t.Context(), doctor.Target{Config: cfg, Store: mock.NewStore()})
	got := byName(checks)
	assert.Equal(t, doctor.Pass, got["tenant"].Status, "%s", got["tenant"])
	assert.Equal(t, doctor.Fail, got["account code"].Status, "the 503 is not retried: %s", got["account code"])
	assert.Contains(t, got["account code"].String(), "GET /Accounts failed")
	assert.Equal(t, 1, srv.CallCounts()["GET /Accounts"])
}

// A configuration Validate refuses fails the configuration check, names
// every variable, and nothing is asked of Xero.
func TestRunInvalidConfig(t *testing.T) {
	r := newRig(t, emulator.Options{})
	tg := r.target(t)
	tg.Config.Xero.WebhookKeys = nil
	tg.Config.Xero.AccountCode = ""
	checks := doctor.Run(t.Context(), tg)
	out := report(t, checks)
	assert.Contains(t, out, "✗ configuration: XERO_WEBHOOK_KEY: required")
	assert.Contains(t, out, "fix XERO_WEBHOOK_KEY: copy the webhook key from the app's Webhooks page")
	assert.Contains(t, out, "✗ configuration: XERO_ACCOUNT_CODE: required")
	assert.NotContains(t, out, "credentials")
	assert.Contains(t, out, "✓ database", "the store is checked all the same")
	assert.True(t, doctor.Failed(checks))
	assert.Zero(t, r.calls())
	assertNoSecret(t, checks)
}

// ConfigChecks turns setup.LoadConfig's error into one line per variable,
// without the values.
func TestConfigChecks(t *testing.T) {
	env := map[string]string{
		setup.EnvServiceClass: "xero",
		xero.EnvClientSecret:  clientSecret + "\x01",
		xero.EnvWebhookKey:    webhookKey,
		xero.EnvAmountType:    "GROSS",
		xero.EnvEmailInvoices: "maybe",
	}
	_, err := setup.LoadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.Error(t, err)
	checks := doctor.ConfigChecks(err)
	vars := map[string]bool{}
	for _, c := range checks {
		assert.Equal(t, "configuration", c.Name)
		assert.Equal(t, doctor.Fail, c.Status)
		assert.NotEmpty(t, c.Fix)
		assert.ErrorIs(t, c.Err, billing.ErrInvalidConfig)
		vars[c.Var] = true
	}
	for _, v := range []string{xero.EnvClientID, xero.EnvClientSecret, xero.EnvTenantID, xero.EnvAccountCode, xero.EnvAmountType, xero.EnvCurrencyCode, xero.EnvEmailInvoices} {
		assert.True(t, vars[v], "%s is named", v)
	}
	assertNoSecret(t, checks)
	assert.Nil(t, doctor.ConfigChecks(nil))
	assert.Len(t, doctor.ConfigChecks(errors.New("odd")), 1)
}

// With a mock provider, or none, only the store is checked.
func TestRunWithoutXero(t *testing.T) {
	tests := []struct {
		provider string
		status   doctor.Status
		found    string
	}{
		{"mock", doctor.Pass, "selects the test double mock: nothing is checked at Xero"},
		{"ams.billing.providers.xero.MockXeroBillingService", doctor.Pass, "selects the test double mock-xero"},
		{"", doctor.Warn, "is unset: billing is off"},
	}
	for _, tt := range tests {
		t.Run(tt.provider, func(t *testing.T) {
			r := newRig(t, emulator.Options{})
			r.env[setup.EnvServiceClass] = tt.provider
			checks := doctor.Run(t.Context(), r.target(t))
			require.NotEmpty(t, checks)
			assert.Equal(t, tt.status, checks[0].Status)
			assert.Contains(t, checks[0].Found, tt.found)
			var names []string
			for _, c := range checks[1:] {
				names = append(names, c.Name)
			}
			assert.Equal(t, []string{"database", "marked invoices", "set aside", "pending creations", "undelivered events"}, names)
			assert.False(t, doctor.Failed(checks))
			assert.Zero(t, r.calls())
		})
	}
}

// failingStore is a store whose tables are missing.
type failingStore struct{ billing.Store }

func (failingStore) SetAsideInvoices(context.Context) ([]billing.Invoice, error) {
	return nil, errors.New(`SQL logic error: no such table: billing_invoices`)
}

func TestStoreChecks(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name    string
		store   func(t *testing.T) billing.Store
		openErr error
		want    map[string]doctor.Status
		lines   map[string][]string
	}{
		{
			name:  "empty",
			store: func(*testing.T) billing.Store { return mock.NewStore() },
			want:  map[string]doctor.Status{"database": doctor.Pass, "marked invoices": doctor.Pass, "set aside": doctor.Pass, "pending creations": doctor.Pass, "undelivered events": doctor.Pass},
			lines: map[string][]string{"database": {"the test store opened, and its schema answers"}, "marked invoices": {"none waiting"}},
		},
		{
			name:    "unopenable",
			openErr: errors.New(`pgstore: connect: dial tcp 127.0.0.1:1: connection refused`),
			want:    map[string]doctor.Status{"database": doctor.Fail},
			lines:   map[string][]string{"database": {"the test store did not open: pgstore: connect", "fix BILLING_DATABASE_URL"}},
		},
		{
			name:  "unmigrated",
			store: func(*testing.T) billing.Store { return failingStore{mock.NewStore()} },
			want:  map[string]doctor.Status{"database": doctor.Fail},
			lines: map[string][]string{"database": {"opened, but reading it failed", "no such table", "the schema may be missing"}},
		},
		{
			name:  "fresh work",
			store: func(t *testing.T) billing.Store { return workStore(t, now.Add(-time.Minute), false) },
			want:  map[string]doctor.Status{"database": doctor.Pass, "marked invoices": doctor.Pass, "set aside": doctor.Warn, "pending creations": doctor.Pass, "undelivered events": doctor.Pass},
			lines: map[string][]string{
				"marked invoices":    {"2 waiting for a fetch, the oldest marked 1m ago"},
				"set aside":          {"1 invoice(s) failed too often", "INV-3 (Xero answered 500)"},
				"pending creations":  {`1 invoice creation(s) whose outcome at Xero is not known yet`, `(reference "Membership 2026")`},
				"undelivered events": {"1 waiting for the app's invoice hook"},
			},
		},
		{
			name: "unreadable in Xero",
			store: func(t *testing.T) billing.Store {
				s := workStore(t, now.Add(-time.Minute), false)
				setAside(t, s, "INV-4", "xero: invoice id-4: "+billing.ErrUnreadable.Error()+`: xero: not a Xero date "0001-01-01T00:00:00": year 1 is outside 1900-9999`, now)
				return s
			},
			want: map[string]doctor.Status{"database": doctor.Pass, "marked invoices": doctor.Pass, "set aside": doctor.Warn, "pending creations": doctor.Pass, "undelivered events": doctor.Pass},
			lines: map[string][]string{
				"marked invoices": {"2 waiting for a fetch, the oldest marked 1m ago; 2 more set aside, 1 of them unreadable in Xero"},
				"set aside": {"2 invoice(s) failed too often", "INV-3 (Xero answered 500)",
					`INV-4 (unreadable in Xero: xero: not a Xero date "0001-01-01T00:00:00": year 1 is outside 1900-9999)`,
					"fix: 1 of them Xero holds in a form the SDK cannot read (a date outside 1900-9999, say): correct them in Xero"},
			},
		},
		{
			name:  "stale work",
			store: func(t *testing.T) billing.Store { return workStore(t, now.Add(-3*time.Hour), true) },
			want:  map[string]doctor.Status{"database": doctor.Pass, "marked invoices": doctor.Warn, "set aside": doctor.Warn, "pending creations": doctor.Warn, "undelivered events": doctor.Warn},
			lines: map[string][]string{
				"marked invoices":    {"the oldest marked 3h ago: is the fetch job running?", "fix: run examples/fetch-invoice-updates"},
				"pending creations":  {"the oldest begun 3h ago", "never bill them anew"},
				"undelivered events": {`the hook refused 1 of them, lately with "the app is down"`, "fix the app's InvoiceHook"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, emulator.Options{})
			r.env[setup.EnvServiceClass] = "mock"
			tg := r.target(t)
			tg.Store, tg.StoreErr = nil, tt.openErr
			if tt.store != nil {
				tg.Store = tt.store(t)
			}
			tg.Now = func() time.Time { return now }
			checks := doctor.Run(t.Context(), tg)
			got := byName(checks)
			assert.Len(t, checks, 1+len(tt.want), report(t, checks))
			for name, want := range tt.want {
				assert.Equal(t, want.String(), got[name].Status.String(), "%s", got[name])
			}
			for name, subs := range tt.lines {
				for _, s := range subs {
					assert.Contains(t, got[name].String(), s)
				}
			}
			assert.Equal(t, tt.want["database"] == doctor.Fail, doctor.Failed(checks))
		})
	}
}

// setAside adds an invoice set aside for reason.
func setAside(t *testing.T, s *mock.Store, number, reason string, now time.Time) {
	t.Helper()
	ctx := t.Context()
	id := "id-" + strings.TrimPrefix(number, "INV-")
	require.NoError(t, s.CreateInvoice(ctx, billing.Invoice{Account: billing.UserAccount("user-" + number), Number: number, ProviderID: id,
		Status: billing.StatusAuthorised, Amount: decimal.NewFromInt(10), Due: decimal.NewFromInt(10)}))
	_, err := s.MarkUpdateNeeded(ctx, []string{id}, now.Add(-time.Hour))
	require.NoError(t, err)
	claims, err := s.ClaimUpdates(ctx, now.Add(-time.Hour), 10, time.Minute)
	require.NoError(t, err)
	for _, c := range claims {
		if c.ProviderID == id {
			_, err = s.FailUpdate(ctx, c, reason, 1)
			require.NoError(t, err)
		} else {
			require.NoError(t, s.ReleaseClaims(ctx, []billing.Claim{c}))
		}
	}
}

// workStore holds work of every kind: two invoices marked at marked (one
// more set aside after failing), a creation begun then, and an event, whose
// delivery failed if failed.
func workStore(t *testing.T, marked time.Time, failed bool) *mock.Store {
	t.Helper()
	ctx := t.Context()
	s := mock.NewStore()
	for _, n := range []string{"1", "2", "3"} {
		require.NoError(t, s.CreateInvoice(ctx, billing.Invoice{
			Account: billing.UserAccount("user-" + n), Number: "INV-" + n, ProviderID: "id-" + n,
			Status: billing.StatusAuthorised, Amount: decimal.NewFromInt(10), Due: decimal.NewFromInt(10),
		}))
	}
	_, err := s.MarkUpdateNeeded(ctx, []string{"id-3"}, marked.Add(-time.Second))
	require.NoError(t, err)
	claims, err := s.ClaimUpdates(ctx, marked, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, claims, 1)
	_, err = s.FailUpdate(ctx, claims[0], "Xero answered 500", 1)
	require.NoError(t, err)
	_, err = s.MarkUpdateNeeded(ctx, []string{"id-1", "id-2"}, marked)
	require.NoError(t, err)

	params := billing.CreateInvoiceParams{Account: billing.UserAccount("user-9"), Reference: "Membership 2026",
		Date: billing.NewDate(2026, 1, 1), DueDate: billing.NewDate(2026, 1, 31)}
	_, err = s.BeginCreations(ctx, []billing.Creation{{Key: "key-1", Fingerprint: params.Fingerprint(), Account: params.Account, Params: params, CreatedAt: marked}})
	require.NoError(t, err)

	_, _, err = s.SaveInvoiceState(ctx, billing.Invoice{ProviderID: "id-1", Status: billing.StatusPaid, Amount: decimal.NewFromInt(10), Paid: decimal.NewFromInt(10)})
	require.NoError(t, err)
	if failed {
		evs, err := s.ClaimEvents(ctx, time.Now(), 10, time.Minute)
		require.NoError(t, err)
		require.Len(t, evs, 1)
		require.NoError(t, s.EventFailed(ctx, evs[0].ID, "the app is down", time.Now()))
	}
	return s
}
