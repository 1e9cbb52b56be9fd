//go:build unix

package crashtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/xero"
)

// The event child's environment, besides envDB, envSchema and envXero.
const (
	envEvents = "CRASHTEST_EVENTS" // "refresh" or "deliver"
	envIDs    = "CRASHTEST_INVOICE"
	envLog    = "CRASHTEST_LOG" // where the hook writes what it heard
)

// TestEventChild is the app of TestEventsSurviveACrash; it does nothing
// unless that test started it.
func TestEventChild(t *testing.T) {
	mode := os.Getenv(envEvents)
	if mode == "" {
		t.Skip("the event crash test's child process; TestEventsSurviveACrash runs it")
	}
	if err := eventChild(context.Background(), mode); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
}

func eventChild(ctx context.Context, mode string) error {
	store, cfg, err := childSetup(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	client, err := xero.NewClient(cfg)
	if err != nil {
		return err
	}
	heard := func(c billing.InvoiceChange) error {
		f, err := os.OpenFile(os.Getenv(envLog), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := fmt.Fprintf(f, "%s %s %s\n", mode, c.EventID, c.After.Status); err != nil {
			return err
		}
		return f.Sync()
	}
	hook := func(_ context.Context, c billing.InvoiceChange) error {
		if err := heard(c); err != nil {
			return err
		}
		if mode == "refresh" {
			die() // the app heard it, the store never learns it did
		}
		return nil
	}
	opts := []xero.ServiceOption{xero.WithInvoiceHook(hook)}
	if mode == "deliver" {
		// The dead app's claim on the event lasts its lease (5 minutes):
		// the restarted app runs once it has passed.
		later := func() time.Time { return time.Now().Add(billing.DefaultDeliverLease + time.Minute) }
		opts = append(opts, xero.WithDelivery(billing.DeliverOptions{Now: later}))
	}
	svc := xero.NewService(client, store, cfg, opts...)
	switch mode {
	case "refresh":
		_, err = svc.UpdateInvoices(ctx, []string{os.Getenv(envIDs)})
	default:
		_, err = billing.FetchInvoiceUpdates(ctx, svc, store, billing.FetchOptions{})
	}
	return err
}

// TestEventsSurviveACrash: the app is killed with SIGKILL while its hook
// handles a payment, after the new state and its event were saved and
// before the delivery was recorded. Once the dead app's claim on the event
// has run out (DeliverOptions.Lease, 5 minutes), the restarted app delivers
// the event again, with the same id (the app de-duplicates with it), and
// once recorded it is never delivered again.
func TestEventsSurviveACrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	if os.Getenv(envEvents) != "" || os.Getenv(envChild) == "1" {
		t.Skip("inside a child")
	}
	onBackends(t, eventCrash)
}

func eventCrash(t *testing.T, b backend) {
	ctx := context.Background()
	srv, err := emulator.Listen("127.0.0.1:0", emulator.Options{DisableRateLimit: true})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	xeroEnv, err := json.Marshal(srv.Env())
	require.NoError(t, err)
	store, err := b.open(ctx)
	require.NoError(t, err)
	cfg, err := xero.LoadConfig(func(k string) (string, bool) { v, ok := srv.Env()[k]; return v, ok })
	require.NoError(t, err)
	client, err := xero.NewClient(cfg)
	require.NoError(t, err)
	svc := xero.NewService(client, store, cfg)
	require.NoError(t, svc.UpdateUserBillingDetails(ctx, billing.User{ID: member(0), Name: "Member 1"}))
	inv, err := svc.CreateInvoice(ctx, renewal(0))
	require.NoError(t, err)
	require.NoError(t, srv.PayInvoice(ctx, inv.ProviderID, inv.Due, billing.NewDate(2026, 12, 2)))
	_, err = store.MarkUpdateNeeded(ctx, []string{inv.ProviderID}, time.Now())
	require.NoError(t, err)
	require.NoError(t, store.Close())

	log := filepath.Join(t.TempDir(), "heard.log")
	run := func(mode string) error {
		cmd := exec.Command(os.Args[0], "-test.run=^TestEventChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), envEvents+"="+mode, envDB+"="+b.db, envSchema+"="+b.schema,
			envXero+"="+string(xeroEnv), envIDs+"="+inv.ProviderID, envLog+"="+log)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		if err != nil && !killed(err) {
			t.Logf("%s child: %v: %s", mode, err, stderr.String())
		}
		return err
	}
	require.True(t, killed(run("refresh")), "the child died in its hook")
	store, err = b.open(ctx)
	require.NoError(t, err)
	saved, err := store.InvoiceByProviderID(ctx, inv.ProviderID)
	require.NoError(t, err)
	assert.Equal(t, billing.StatusPaid, saved.Status, "the state was saved before the hook ran")
	pending, err := store.PendingEvents(ctx, 0)
	require.NoError(t, err)
	require.Len(t, pending, 1, "and its event is still pending")
	require.NoError(t, store.Close())

	require.NoError(t, run("deliver"), "the restarted app delivers")
	require.NoError(t, run("deliver"), "and again finds nothing to deliver")
	b2, err := os.ReadFile(log)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b2)), "\n")
	require.Len(t, lines, 2, "heard before the crash, and once after: %q", lines)
	before, after := strings.Fields(lines[0]), strings.Fields(lines[1])
	assert.Equal(t, []string{"refresh", pending[0].ID, billing.StatusPaid}, before)
	assert.Equal(t, []string{"deliver", pending[0].ID, billing.StatusPaid}, after, "the same event id, delivered after the restart")
	store, err = b.open(ctx)
	require.NoError(t, err)
	defer store.Close()
	pending, err = store.PendingEvents(ctx, 0)
	require.NoError(t, err)
	assert.Empty(t, pending)
}

// killed reports whether a child ended by SIGKILL.
func killed(err error) bool {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return true
		}
	}
	return false
}
