package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/xero/setup"
)

// Values no output may show.
const (
	clientSecret = "client-secret-never-printed-0123456789"
	webhookKey   = "webhook-key-never-printed-9876543210"
	wrongSecret  = "wrong-secret-never-printed-5555"
	dbPassword   = "db-password-never-printed-4444"
)

// xeroEnv starts an emulator and returns it with the environment of an
// app on it.
func xeroEnv(t *testing.T, opts emulator.Options) (*emulator.Server, map[string]string) {
	t.Helper()
	opts.ClientSecret, opts.WebhookKey = clientSecret, webhookKey
	if opts.TenantName == "" {
		opts.TenantName = "Acme Ltd"
	}
	srv, err := emulator.Listen("127.0.0.1:0", opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	return srv, srv.Env()
}

// memoryStore opens a fresh mock store, whatever the configuration says.
func memoryStore(context.Context, setup.Config) (billing.Store, func() error, error) {
	return mock.NewStore(), func() error { return nil }, nil
}

type result struct {
	code           int
	stdout, stderr string
}

func runDoctor(t *testing.T, args []string, env map[string]string, open storeOpener) result {
	t.Helper()
	var out, errOut strings.Builder
	code := run(t.Context(), args, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, &out, &errOut, open)
	r := result{code: code, stdout: out.String(), stderr: errOut.String()}
	for _, s := range []string{clientSecret, webhookKey, wrongSecret, dbPassword} {
		assert.NotContains(t, r.stdout+r.stderr, s, "a secret was printed")
	}
	return r
}

func calls(srv *emulator.Server) int {
	n := 0
	for _, c := range srv.CallCounts() {
		n += c
	}
	return n
}

func TestDoctorExitCodes(t *testing.T) {
	tests := []struct {
		name  string
		opts  emulator.Options
		args  []string
		env   map[string]string // changes; "-" deletes
		code  int
		lines []string // in stdout
		calls int      // at most
	}{
		{name: "all pass", code: 0, calls: 6, lines: []string{
			"✓ configuration:", "✓ credentials:", `✓ tenant: XERO_TENANT_ID ` + emulator.DefaultTenantID + ` is "Acme Ltd"`,
			"✓ account code:", "✓ currency:", "✓ demo company:", "✓ webhook key:", "✓ email whitelist:",
			"✓ database:", "✓ marked invoices:", "✓ set aside:", "✓ pending creations:", "✓ undelivered events:",
			"- payment account: XERO_PAYMENT_ACCOUNT_CODE is unset", "✓ rate budget:", "14 passed, 0 warned, 0 failed, 1 skipped"}},
		{name: "payment account", env: map[string]string{"XERO_PAYMENT_ACCOUNT_CODE": "090"}, code: 0, calls: 7,
			lines: []string{`✓ payment account: XERO_PAYMENT_ACCOUNT_CODE 090 is "Business Bank Account"`, "15 passed, 0 warned, 0 failed, 0 skipped"}},
		{name: "payment account that takes no payments", env: map[string]string{"XERO_PAYMENT_ACCOUNT_CODE": "200"}, code: 1, calls: 7,
			lines: []string{`✗ payment account: XERO_PAYMENT_ACCOUNT_CODE 200 is "Sales", a REVENUE account without payments enabled`, "fix XERO_PAYMENT_ACCOUNT_CODE:", "090 (Business Bank Account)"}},
		{name: "a warning still exits 0", opts: emulator.Options{DemoCompany: true}, code: 0, calls: 6,
			lines: []string{"! demo company:", "fix XERO_EMAIL_INVOICES: set it to false", "13 passed, 1 warned, 0 failed"}},
		{name: "wrong secret", env: map[string]string{"XERO_CLIENT_SECRET": wrongSecret}, code: 1, calls: 1,
			lines: []string{"✗ credentials:", "invalid_client", "- tenant: not checked", "- rate budget: not checked"}},
		{name: "scope on a new connection", env: map[string]string{"XERO_SCOPES": "accounting.transactions"}, code: 1, calls: 1,
			lines: []string{"✗ credentials:", "invalid_scope", "fix XERO_SCOPES: unset it"}},
		{name: "unknown account code", env: map[string]string{"XERO_ACCOUNT_CODE": "999"}, code: 1, calls: 6,
			lines: []string{"✗ account code: XERO_ACCOUNT_CODE 999 is not in the chart of accounts", "200 (Sales)"}},
		{name: "cheap", args: []string{"-cheap"}, env: map[string]string{"XERO_ACCOUNT_CODE": "999"}, code: 0, calls: 2,
			lines: []string{"✓ credentials:", "✓ tenant:", "10 passed"}},
		{name: "cheap still fails on the tenant", args: []string{"-cheap"}, env: map[string]string{"XERO_TENANT_ID": "0d6e3f5a-1b2c-4d3e-8f9a-0b1c2d3e4f5a"}, code: 1, calls: 2,
			lines: []string{"✗ tenant:", `"Acme Ltd"`}},
		{name: "mock provider", env: map[string]string{"AMS_BILLING_SERVICE_CLASS": "mock"}, code: 0, calls: 0,
			lines: []string{"✓ configuration: AMS_BILLING_SERVICE_CLASS selects the test double mock: nothing is checked at Xero, only the store", "✓ database:", "6 passed"}},
		{name: "configuration unreadable", env: map[string]string{"XERO_CLIENT_ID": "-", "XERO_TENANT_ID": "-", "XERO_AMOUNT_TYPE": "GROSS"}, code: 2, calls: 0,
			lines: []string{"✗ configuration: XERO_CLIENT_ID: required", "fix XERO_CLIENT_ID: copy the Client ID", "✗ configuration: XERO_TENANT_ID: required", `✗ configuration: XERO_AMOUNT_TYPE: "GROSS" is not INCLUSIVE`}},
		{name: "webhook key missing", env: map[string]string{"XERO_WEBHOOK_KEY": "-"}, code: 2, calls: 0,
			lines: []string{"✗ configuration: XERO_WEBHOOK_KEY: required", "fix XERO_WEBHOOK_KEY: copy the webhook key"}},
		{name: "bad whitelist", env: map[string]string{"AMS_BILLING_EMAIL_WHITELIST_REGEX": "(unclosed"}, code: 2, calls: 0,
			lines: []string{"✗ configuration: AMS_BILLING_EMAIL_WHITELIST_REGEX: not a valid regular expression"}},
		{name: "help", args: []string{"-h"}, code: 0},
		{name: "unknown flag", args: []string{"-nope"}, code: 2},
		{name: "stray argument", args: []string{"now"}, code: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, env := xeroEnv(t, tt.opts)
			for k, v := range tt.env {
				if v == "-" {
					delete(env, k)
				} else {
					env[k] = v
				}
			}
			r := runDoctor(t, tt.args, env, memoryStore)
			assert.Equal(t, tt.code, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			for _, l := range tt.lines {
				assert.Contains(t, r.stdout, l)
			}
			assert.LessOrEqual(t, calls(srv), tt.calls, "%v", srv.CallCounts())
		})
	}
}

// The doctor makes at most 7 Xero calls, and -cheap at most 2, whatever it
// finds.
func TestDoctorCallBudget(t *testing.T) {
	for _, args := range [][]string{nil, {"-cheap"}} {
		for _, tc := range []struct {
			name string
			opts emulator.Options
			env  map[string]string
		}{
			{"everything fails after the tenant", emulator.Options{Currencies: []string{"USD"}}, map[string]string{"XERO_ACCOUNT_CODE": "999", "XERO_PAYMENT_ACCOUNT_CODE": "999", "XERO_CURRENCY_CODE": "EUR"}},
			{"an added currency", emulator.Options{Currencies: []string{"USD"}}, map[string]string{"XERO_CURRENCY_CODE": "USD"}},
		} {
			t.Run(strings.Join(args, "")+tc.name, func(t *testing.T) {
				srv, env := xeroEnv(t, tc.opts)
				for k, v := range tc.env {
					env[k] = v
				}
				runDoctor(t, args, env, memoryStore)
				limit := 7
				if len(args) > 0 {
					limit = 2
				}
				assert.LessOrEqual(t, calls(srv), limit, "%v", srv.CallCounts())
			})
		}
	}
}

// The real stores, through the same opener as the other commands.
func TestDoctorDatabases(t *testing.T) {
	dir := t.TempDir()
	tooNew := filepath.Join(dir, "too-new.db")
	schemaTooNew(t, tooNew)
	tests := []struct {
		name  string
		url   string
		code  int
		lines []string
	}{
		// "marked invoices" passes, or is "not available" until the SQL
		// store implements billing.MarkCounter: never a failure.
		{"sqlite file", filepath.Join(dir, "billing.db"), 0, []string{"✓ database: " + filepath.Join(dir, "billing.db") + " opened", " marked invoices: ", "✓ undelivered events:"}},
		{"default", "", 0, []string{"✓ database: billing.db (the default: BILLING_DATABASE_URL is unset) opened"}},
		{"unopenable", "postgres://postgres:" + dbPassword + "@127.0.0.1:1/test?sslmode=disable&connect_timeout=2", 1,
			[]string{"✗ database: postgres://postgres:xxxxx@127.0.0.1:1/test", "did not open", "fix BILLING_DATABASE_URL"}},
		{"schema newer than the code", tooNew, 1, []string{"✗ database:", "newer than this code"}},
		{"unsupported", "mysql://app:" + dbPassword + "@db/app", 2, []string{"✗ database:", "unsupported database URL scheme"}},
	}
	if pg := os.Getenv("BILLING_TEST_POSTGRES_URL"); pg != "" {
		tests = append(tests, struct {
			name  string
			url   string
			code  int
			lines []string
		}{"postgres", postgresSchema(t, pg), 0, []string{"✓ database:", "✓ undelivered events:"}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.url == "" {
				t.Chdir(t.TempDir()) // billing.db lands there
			}
			_, env := xeroEnv(t, emulator.Options{})
			env["AMS_BILLING_SERVICE_CLASS"] = "mock"
			env["BILLING_DATABASE_URL"] = tt.url
			r := runDoctor(t, nil, env, openStore)
			assert.Equal(t, tt.code, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			for _, l := range tt.lines {
				assert.Contains(t, r.stdout, l)
			}
		})
	}
}

// schemaTooNew makes a SQLite database that a newer release migrated.
func schemaTooNew(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(`CREATE TABLE billing_schema_version (id INTEGER PRIMARY KEY AUTOINCREMENT, version_id INTEGER NOT NULL, is_applied INTEGER NOT NULL, tstamp TIMESTAMP DEFAULT (datetime('now')));
INSERT INTO billing_schema_version (version_id, is_applied) VALUES (0, 1), (999, 1);`)
	require.NoError(t, err)
}

// postgresSchema makes a schema of its own on the test server and returns
// a URL whose search_path selects it; the schema is dropped afterwards.
func postgresSchema(t *testing.T, base string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	require.NoError(t, err)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "doctor_" + hex.EncodeToString(b)
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
		_ = conn.Close(ctx)
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// XERO_DEBUG shows the HTTP exchanges on stderr, redacted.
func TestDoctorDebugRedacts(t *testing.T) {
	_, env := xeroEnv(t, emulator.Options{})
	env["XERO_DEBUG"] = "true"
	for _, secret := range []string{clientSecret, wrongSecret} {
		env["XERO_CLIENT_SECRET"] = secret
		r := runDoctor(t, nil, env, memoryStore)
		assert.Contains(t, r.stderr, "/connect/token", "the exchanges are logged")
	}
}
