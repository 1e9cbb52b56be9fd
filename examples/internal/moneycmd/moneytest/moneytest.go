package moneytest

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/sqlstore/sqlurl"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/xero"
	"github.com/amsbilling/sdk/xero/setup"
)

// Rig is an emulator server and the environment that reaches it.
type Rig struct {
	Server *emulator.Server
	// Env is what the command reads; tests change it.
	Env map[string]string
	DB  string // the SQLite file the command and the rig share
}

// New starts an emulator with opts, closed when the test ends.
func New(t *testing.T, opts emulator.Options) *Rig {
	t.Helper()
	srv := emulator.NewServer(opts)
	t.Cleanup(func() { _ = srv.Close() })
	env := srv.Env()
	db := filepath.Join(t.TempDir(), "billing.db")
	env[setup.EnvDatabaseURL] = db
	env[xero.EnvPaymentAccountCode] = emulator.DefaultPaymentAccountCode
	return &Rig{Server: srv, Env: env, DB: db}
}

// Lookup reads Env, as os.LookupEnv reads the process's.
func (r *Rig) Lookup(k string) (string, bool) { v, ok := r.Env[k]; return v, ok }

// Store opens the shared store, closed when the test ends.
func (r *Rig) Store(t *testing.T) billing.Store {
	t.Helper()
	s, err := sqlurl.Open(t.Context(), r.DB)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Service is the Xero service on the shared store, as an app builds it,
// with a limiter that never refuses (the rig's own calls are setup).
func (r *Rig) Service(t *testing.T, store billing.Store) billing.Service {
	t.Helper()
	cfg, err := setup.LoadConfig(r.Lookup)
	require.NoError(t, err)
	svc, err := setup.New(cfg, store, setup.Options{Limiter: ratelimit.NewLocal(ratelimit.Options{PerMinute: 1 << 20, PerDay: 1 << 20})})
	require.NoError(t, err)
	return svc
}

// Member is the user id of member n, stable across runs.
func Member(n int) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte(fmt.Sprintf("moneytest-member-%d", n))).String()
}

// Bill invoices n members (50 a call), each 100.00 before the emulator's
// 15% tax: 115.00 due, numbered INV-0001 on. It returns them in order.
func (r *Rig) Bill(t *testing.T, n int) []billing.Invoice {
	t.Helper()
	ctx := t.Context()
	store := r.Store(t)
	bulk, ok := r.Service(t, store).(billing.BulkService)
	require.True(t, ok)
	details := make([]billing.BillingDetails, n)
	params := make([]billing.CreateInvoiceParams, n)
	date := billing.NewDate(2026, 12, 1)
	for i := range n {
		id := Member(i + 1)
		details[i] = billing.UserDetails(billing.User{ID: id, Name: fmt.Sprintf("Member %d", i+1), Email: fmt.Sprintf("member%d@example.com", i+1)})
		params[i] = billing.CreateInvoiceParams{
			Account: billing.UserAccount(id), Date: date, DueDate: date.AddDays(30), Reference: "Membership 2027",
			LineItems:      []billing.LineItem{{Description: "Annual membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.NewFromInt(100)}},
			IdempotencyKey: "moneytest-" + id,
		}
	}
	synced, err := bulk.SyncContacts(ctx, details, billing.BulkOptions{})
	require.NoError(t, err)
	for _, s := range synced {
		require.NoError(t, s.Err)
	}
	made, err := bulk.CreateInvoices(ctx, params, billing.BulkOptions{})
	require.NoError(t, err)
	out := make([]billing.Invoice, n)
	for i, m := range made {
		require.NoError(t, m.Err)
		out[i] = m.Invoice
	}
	return out
}

// Invoice is the stored invoice with this number.
func (r *Rig) Invoice(t *testing.T, number string) billing.Invoice {
	t.Helper()
	inv, err := r.Store(t).InvoiceByNumber(t.Context(), number)
	require.NoError(t, err)
	return inv
}

// Calls counts the requests the emulator received for the operation
// ("PUT /Payments").
func (r *Rig) Calls(op string) int { return r.Server.CallCounts()[op] }

// Result is what a command run printed and returned.
type Result struct {
	Code           int
	Stdout, Stderr string
}

// String is the whole output, for a failure message.
func (r Result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
}

// RunFunc is a command's run.
type RunFunc func(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) int

// Run runs the command with args on the rig's environment. No run may
// print the client secret.
func (r *Rig) Run(t *testing.T, run RunFunc, args ...string) Result {
	t.Helper()
	var out, errOut strings.Builder
	code := run(t.Context(), args, r.Lookup, &out, &errOut)
	res := Result{Code: code, Stdout: out.String(), Stderr: errOut.String()}
	require.NotContains(t, res.Stdout+res.Stderr, r.Server.Emulator.ClientSecret(), "a secret was printed")
	return res
}

// SetEnv changes Env until the test ends: "-" unsets a variable.
func (r *Rig) SetEnv(t *testing.T, changes map[string]string) {
	t.Helper()
	for k, v := range changes {
		old, had := r.Env[k]
		t.Cleanup(func() {
			if had {
				r.Env[k] = old
			} else {
				delete(r.Env, k)
			}
		})
		if v == "-" {
			delete(r.Env, k)
		} else {
			r.Env[k] = v
		}
	}
}

// Money is the Xero service on the shared store, as a billing.MoneyService.
func (r *Rig) Money(t *testing.T) billing.MoneyService {
	t.Helper()
	m, ok := r.Service(t, r.Store(t)).(billing.MoneyService)
	require.True(t, ok)
	return m
}

// PendingOps counts the money operations the store holds as pending.
func (r *Rig) PendingOps(t *testing.T) int {
	t.Helper()
	ops, err := r.Store(t).PendingOps(t.Context())
	require.NoError(t, err)
	return len(ops)
}
