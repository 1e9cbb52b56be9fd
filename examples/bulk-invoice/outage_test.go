package main

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/ratelimit"
)

const emailOp = "POST /Invoices/{InvoiceID}/Email"

// fastCommand is the command with a limiter that never waits, for runs
// against an emulator without rate limits.
func fastCommand() command {
	c := testCommand()
	c.limiter = ratelimit.Options{Wait: true, PerMinute: 1 << 20, PerDay: 1 << 20}
	return c
}

// emailsPer counts Xero's emails by invoice.
func emailsPer(srv *emulator.Server) map[string]int {
	per := map[string]int{}
	for _, e := range srv.Emails() {
		per[e.InvoiceID]++
	}
	return per
}

// Xero goes away after 120 of 200 emails: the run stops after 3 emails in
// a row failed, exits 1 saying how many were not attempted and that a
// rerun resumes; the rerun emails the other 80 and nobody twice.
func TestXeroGoneMidEmailStopsAndRerunResumes(t *testing.T) {
	srv, env := xeroFixture(t, emulator.Options{DisableRateLimit: true})
	c := fastCommand()
	gone := false
	c.observe = func(p billing.Progress) {
		if p.Operation == opEmail && p.Done == 120 && !gone {
			gone = true
			srv.InjectFault(emulator.Fault{Path: emulator.APIPath, Status: http.StatusServiceUnavailable, Count: 1 << 20})
		}
	}
	before := srv.CallCounts()
	r := c.exec(t, env, "-members", "200", "-email", "-date", "2026-12-01")
	require.Equal(t, 1, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "email invoices:  200 record(s): 120 emailed, 3 failed, 77 not attempted\n")
	assert.Contains(t, r.stdout, "Stopped: billing: the billing provider looks unreachable: 3 calls in a row failed")
	assert.Contains(t, r.stdout, "Not attempted: 77 record(s): the run stopped before them; a rerun resumes with them.\n")
	assert.Contains(t, r.stdout, "Run the same command again to finish the rest; nobody is billed twice.\n")
	calls := callDiff(before, srv.CallCounts())[emailOp]
	t.Logf("email calls: %d (120 sent, then 3 failed emails, 3 attempts each)", calls)
	assert.Equal(t, 120+3*3, calls, "no call after the third failed email")
	assert.Len(t, srv.Emails(), 120)

	srv.ClearFaults()
	c.observe = nil
	before = srv.CallCounts()
	r = c.exec(t, env, "-members", "200", "-email", "-date", "2026-12-01")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "email invoices:  200 record(s): 80 emailed, 120 already emailed\n")
	assert.Equal(t, 80, callDiff(before, srv.CallCounts())[emailOp])
	per := emailsPer(srv)
	assert.Len(t, per, 200, "everyone emailed")
	for id, n := range per {
		assert.Equal(t, 1, n, "invoice %s emailed %d times", id, n)
	}
}

// 1,000 members: a rerun with -email makes no email call; -force-email
// emails all 1,000 again.
func TestRerunEmailsNobodyUnlessForced(t *testing.T) {
	srv, env := xeroFixture(t, emulator.Options{DisableRateLimit: true})
	c := fastCommand()
	args := []string{"-members", "1000", "-email", "-date", "2026-12-01"}
	r := c.exec(t, env, args...)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "email invoices:  1000 record(s): 1000 emailed\n")

	before := srv.CallCounts()
	r = c.exec(t, env, args...)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "email invoices:  1000 record(s): 1000 already emailed\n")
	rerun := callDiff(before, srv.CallCounts())
	t.Logf("rerun with -email: %d email calls (%v)", rerun[emailOp], rerun)
	assert.Zero(t, rerun[emailOp])
	assert.Empty(t, rerun, "no call at all")

	before = srv.CallCounts()
	r = c.exec(t, env, append(args, "-force-email")...)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "email invoices:  1000 record(s): 1000 emailed\n")
	forced := callDiff(before, srv.CallCounts())[emailOp]
	t.Logf("rerun with -email -force-email: %d email calls", forced)
	assert.Equal(t, 1000, forced)
	assert.Len(t, srv.Emails(), 2000)
}

func TestForceEmailNeedsEmail(t *testing.T) {
	_, env := xeroFixture(t, emulator.Options{})
	r := testCommand().exec(t, env, "-members", "3", "-force-email")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "-force-email is for -email")
}
