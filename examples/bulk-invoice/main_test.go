package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/sqlstore/sqlurl"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/xero/setup"
)

type result struct {
	code           int
	stdout, stderr string
}

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// testCommand is the command as main wires it.
func testCommand() command {
	return command{newService: setup.New, limiter: ratelimit.Options{Wait: true}, now: time.Now}
}

func (c command) exec(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := c.run(context.Background(), args, lookup(env), &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

// xeroFixture is an emulator on 127.0.0.1 and the environment pointing the
// command at it, with a SQLite file store.
func xeroFixture(t *testing.T, opts emulator.Options) (*emulator.Server, map[string]string) {
	t.Helper()
	srv, err := emulator.Listen("127.0.0.1:0", opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	env := srv.Env()
	env["BILLING_DATABASE_URL"] = filepath.Join(t.TempDir(), "billing.db")
	return srv, env
}

// writes counts the Xero writes (PUT and POST of the Accounting API) in a
// CallCounts difference.
func writes(diff map[string]int) int {
	n := 0
	for op, c := range diff {
		if (strings.HasPrefix(op, "PUT /") || strings.HasPrefix(op, "POST /")) && op != "POST /connect/token" {
			n += c
		}
	}
	return n
}

func callDiff(before, after map[string]int) map[string]int {
	out := map[string]int{}
	for op, n := range after {
		if d := n - before[op]; d != 0 {
			out[op] = d
		}
	}
	return out
}

// billedOnce asserts that every member has exactly one invoice in Xero
// with this reference, and that the store holds each.
func billedOnce(t *testing.T, srv *emulator.Server, env map[string]string, members []member, reference string) {
	t.Helper()
	contactOf := map[string]string{} // Xero contact id -> member id
	for _, c := range srv.Contacts() {
		contactOf[c.ContactID] = c.AccountNumber
	}
	per := map[string]int{}
	store, err := sqlurl.Open(context.Background(), env["BILLING_DATABASE_URL"])
	require.NoError(t, err)
	defer store.Close()
	for _, inv := range srv.Invoices() {
		if inv.Reference != reference {
			continue
		}
		per[contactOf[inv.ContactID]]++
		_, err := store.InvoiceByProviderID(context.Background(), inv.InvoiceID)
		assert.NoError(t, err, "the store holds %s", inv.InvoiceNumber)
	}
	for _, m := range members {
		assert.Equal(t, 1, per[m.ID], "invoices of %s", m.ID)
	}
	assert.Len(t, per, len(members), "nobody else billed")
}

// The renewal run, then a rerun: the rerun bills nobody and calls Xero not
// at all.
func TestRenewalThenRerunWritesNothing(t *testing.T) {
	srv, env := xeroFixture(t, emulator.Options{})
	c := testCommand()
	r := c.exec(t, env, "-members", "100", "-date", "2026-12-01")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Equal(t, `Renewal "Membership renewal": 100 member(s), invoices dated 2026-12-01, due 2026-12-31
sync contacts:   100 record(s): 100 created
create invoices: 100 record(s): 100 created
Calls: 4 (sync contacts 2, create invoices 2)
429s seen: 0
`, cutElapsed(t, r.stdout))
	assert.Contains(t, r.stdout, "\nEvery member is done.\n")
	assert.Contains(t, r.stderr, "create invoices: 100/100 done, 2 call(s), Xero budget left 56 this minute, 4996 today\n")
	billedOnce(t, srv, env, demoMembers(100, decimal.Zero), defaultReference)
	inv, ok := srv.Invoice("INV-0001")
	require.True(t, ok)
	assert.Equal(t, "138", inv.Total.String(), "120.00 and 15% tax")

	before := srv.CallCounts()
	r = c.exec(t, env, "-members", "100", "-date", "2026-12-01")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "sync contacts:   100 record(s): 100 unchanged\ncreate invoices: 100 record(s): 100 existing\nCalls: 0 (sync contacts 0, create invoices 0)\n")
	assert.Equal(t, "sync contacts: 100/100 done, 0 call(s)\ncreate invoices: 100/100 done, 0 call(s)\n", r.stderr, "no answer, so no budget to tell")
	diff := callDiff(before, srv.CallCounts())
	assert.Zero(t, writes(diff), "no Xero write: %v", diff)
	assert.Empty(t, diff, "no request at all")
	billedOnce(t, srv, env, demoMembers(100, decimal.Zero), defaultReference)
}

// cutElapsed drops the summary's elapsed line and what follows it: the
// time is measured, not asserted.
func cutElapsed(t *testing.T, s string) string {
	t.Helper()
	i := strings.Index(s, "Elapsed: ")
	require.GreaterOrEqual(t, i, 0, s)
	return s[:i]
}

// A crash in the middle: the second batch's answer is lost (Xero made its
// invoices), so the run stops with those pending; the rerun finds them in
// Xero, sends only what was never sent, and every member is billed once.
func TestRerunAfterLostAnswerBillsEachOnce(t *testing.T) {
	srv, env := xeroFixture(t, emulator.Options{})
	c := testCommand()
	injected := false
	c.observe = func(p billing.Progress) {
		if p.Operation == opCreate && p.Calls == 1 && !injected {
			injected = true
			// Every attempt of the next request loses its answer.
			srv.InjectFault(emulator.Fault{Path: emulator.APIPath + "/Invoices", LoseAnswer: emulator.AnswerTimedOut, Count: 100})
		}
	}
	r := c.exec(t, env, "-members", "120", "-date", "2026-12-01")
	require.Equal(t, 1, r.code, r.stdout+r.stderr)
	// Two lost answers in a row are no outage yet (three are): the run
	// goes on, and the last batch's answer is lost too.
	assert.Contains(t, r.stdout, "create invoices: 120 record(s): 50 created, 70 pending\n")
	assert.Contains(t, r.stdout, "Not done (70):\n")
	assert.Contains(t, r.stdout, "  "+demoMemberID(51)+": create invoices: billing: invoice creation pending")
	assert.Contains(t, r.stdout, "  "+demoMemberID(101)+": create invoices: billing: invoice creation pending")
	assert.NotContains(t, r.stdout, "Stopped: ")
	assert.Contains(t, r.stdout, "Run the same command again to finish the rest; nobody is billed twice.\n")
	assert.Len(t, srv.Invoices(), 120, "Xero made the lost batches")

	srv.ClearFaults()
	before := srv.CallCounts()
	c.observe = nil
	r = c.exec(t, env, "-members", "120", "-date", "2026-12-01")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "create invoices: 120 record(s): 70 created, 50 existing\n")
	diff := callDiff(before, srv.CallCounts())
	assert.Zero(t, diff["PUT /Invoices"], "Xero has them all: nothing sent again: %v", diff)
	assert.LessOrEqual(t, diff["GET /Invoices"], 2, "the 70 pending looked for in Xero, 53 contacts a search: %v", diff)
	billedOnce(t, srv, env, demoMembers(120, decimal.Zero), defaultReference)
}

// -email emails every invoice, one call each; the run waits in the limiter
// when the job needs more than a window's calls, and draws no 429.
func TestEmailWaitsInTheLimiterWithout429(t *testing.T) {
	lim := emulator.Limits{PerMinute: 10, Window: 300 * time.Millisecond}
	srv, env := xeroFixture(t, emulator.Options{RateLimit: lim})
	c := testCommand()
	// The same limits, with a generous margin: correctness, not pace.
	c.limiter = ratelimit.Options{Wait: true, PerMinute: lim.PerMinute, Window: lim.Window, Margin: lim.Window / 2}
	r := c.exec(t, env, "-members", "25", "-email")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "email invoices:  25 record(s): 25 emailed\n")
	assert.Contains(t, r.stdout, "Calls: 27 (sync contacts 1, create invoices 1, email invoices 25)\n429s seen: 0\n")
	assert.Len(t, srv.Emails(), 25)
	assert.Zero(t, countStatus(srv.Requests(), http.StatusTooManyRequests))
	assert.Contains(t, r.stderr, "email invoices: 25/25 done, 25 call(s)")

	// A rerun bills and emails nobody; -force-email emails again.
	r = c.exec(t, env, "-members", "25", "-email")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "create invoices: 25 record(s): 25 existing\nemail invoices:  25 record(s): 25 already emailed\n")
	assert.Contains(t, r.stdout, "Calls: 0 (sync contacts 0, create invoices 0, email invoices 0)\n")
	assert.Len(t, srv.Emails(), 25)
	r = c.exec(t, env, "-members", "25", "-email", "-force-email")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "create invoices: 25 record(s): 25 existing\nemail invoices:  25 record(s): 25 emailed\n")
	assert.Len(t, srv.Emails(), 50)
	assert.Len(t, srv.Invoices(), 25)
}

// With emailing off (or the whitelist refusing), no email call is made, and
// the summary says the invoices were skipped, not emailed.
func TestEmailSkippedBySettings(t *testing.T) {
	srv, env := xeroFixture(t, emulator.Options{})
	env["AMS_BILLING_EMAIL_WHITELIST_REGEX"] = `^member[12]@example\.com$`
	r := testCommand().exec(t, env, "-members", "3", "-email")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "email invoices:  3 record(s): 2 emailed, 1 skipped\n(skipped: XERO_EMAIL_INVOICES is off")
	assert.Len(t, srv.Emails(), 2)

	env["XERO_EMAIL_INVOICES"] = "false"
	r = testCommand().exec(t, env, "-members", "3", "-email")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "email invoices:  3 record(s): 3 skipped\n")
	assert.Contains(t, r.stdout, "email invoices 0)")
	assert.Len(t, srv.Emails(), 2)
}

// A 429 Xero sends anyway stops the operation; the run sits out its
// Retry-After and goes on from the refused call, emailing each once.
func TestXero429IsSatOut(t *testing.T) {
	srv, env := xeroFixture(t, emulator.Options{})
	c := testCommand()
	injected := false
	c.observe = func(p billing.Progress) {
		if p.Operation == opEmail && p.Calls == 3 && !injected {
			injected = true
			srv.InjectFault(emulator.Fault{Path: emulator.APIPath + "/Invoices", Status: http.StatusTooManyRequests,
				Header: http.Header{"Retry-After": {"1"}}})
		}
	}
	r := c.exec(t, env, "-members", "6", "-email")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "email invoices:  6 record(s): 6 emailed (sat out 1 rate-limit stop(s))\n")
	assert.Contains(t, r.stdout, "Calls: 9 (sync contacts 1, create invoices 1, email invoices 7)\n429s seen: 1\n")
	assert.Contains(t, r.stderr, "email invoices: stopped by a rate limit; going on in ")
	assert.Len(t, srv.Emails(), 6, "each emailed once")
	seen := map[string]int{}
	for _, e := range srv.Emails() {
		seen[e.InvoiceID]++
	}
	assert.Len(t, seen, 6)
}

// A member refused by Xero fails alone, is listed with the reason, and the
// run exits 1; the others are invoiced.
func TestRefusedMemberIsListed(t *testing.T) {
	// Xero replays the answer to an Idempotency-Key for minutes, refusals
	// included: a rerun sends the same keys, so it would hear the same
	// refusal until then. This emulator forgets at once.
	srv, env := xeroFixture(t, emulator.Options{IdempotencyTTL: time.Nanosecond})
	file := writeCSV(t, "id,name,email,amount\n"+
		"0b7e8a52-54a4-4f57-9c1e-1d1f3c2b4a59,Ada Lovelace,ada@example.com,120.00\n"+
		"1c8f9b63-65b5-4068-8d2f-2e204d3c5b6a,Charles Babbage,charles@example.com,99.50\n")
	c := testCommand()
	env["XERO_ACCOUNT_CODE"] = "090" // a bank account: no invoice line may use it
	r := c.exec(t, env, "-csv", file)
	require.Equal(t, 1, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "create invoices: 2 record(s): 2 failed\n")
	assert.Contains(t, r.stdout, "  0b7e8a52-54a4-4f57-9c1e-1d1f3c2b4a59: create invoices: billing: invalid invoice")
	assert.Empty(t, srv.Invoices())

	env["XERO_ACCOUNT_CODE"] = "200"
	r = c.exec(t, env, "-csv", file)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "create invoices: 2 record(s): 2 created\n")
	inv, ok := srv.Invoice("INV-0002")
	require.True(t, ok)
	assert.Equal(t, "99.5", inv.SubTotal.String())
}

func writeCSV(t *testing.T, content string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "members.csv")
	require.NoError(t, os.WriteFile(file, []byte(content), 0o600))
	return file
}

// A bad CSV row is reported with its line number, and nothing is called.
func TestBadCSVExits2BeforeAnyCall(t *testing.T) {
	const ada = "0b7e8a52-54a4-4f57-9c1e-1d1f3c2b4a59"
	tests := []struct {
		name, csv string
		want      []string
	}{
		{"id not a UUID", "id,name,email,amount\n" + ada + ",Ada,ada@example.com,120\nmember-2,Bob,bob@example.com,10\n",
			[]string{`line 3: id "member-2" is not a UUID`}},
		{"amount not positive", ada + ",Ada,ada@example.com,0\n", []string{`line 1: amount "0" is not a positive decimal`}},
		{"amount not a decimal", ada + ",Ada,ada@example.com,ten\n", []string{`line 1: amount "ten" is not a positive decimal`}},
		{"missing field", "id,name,email,amount\n" + ada + ",Ada,120\n", []string{"line 2: want 4 fields (id,name,email,amount), got 3"}},
		{"no name", ada + ",,ada@example.com,5\n", []string{"line 1: the name is empty"}},
		{"bad email", ada + ",Ada,ada at example,5\n", []string{`line 1: email "ada at example" is not an address`}},
		{"duplicate id", ada + ",Ada,,5\n" + strings.ToUpper(ada) + ",Ada again,,5\n", []string{"line 2: id " + ada + " is already on line 1"}},
		{"every bad row", "x,,a b,-1\ny,Bob,,1\n", []string{
			`line 1: id "x" is not a UUID; the name is empty; email "a b" is not an address; amount "-1" is not a positive decimal`,
			`line 2: id "y" is not a UUID`}},
		{"quoted line break counts", "\"" + ada + "\",\"Ada\nLovelace\",,5\nnope,B,,1\n", []string{`line 3: id "nope" is not a UUID`}},
		{"bad quoting", ada + ",\"Ada,,5\n", []string{"line 1: extraneous or missing \" in quoted-field"}},
		{"header only", "id,name,email,amount\n", []string{"no members: the file holds no row"}},
	}
	srv, env := xeroFixture(t, emulator.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeCSV(t, tt.csv)
			r := testCommand().exec(t, env, "-csv", file)
			assert.Equal(t, 2, r.code)
			for _, w := range tt.want {
				assert.Contains(t, r.stderr, file+": "+w+"\n")
			}
			assert.Empty(t, r.stdout)
		})
	}
	assert.Empty(t, srv.CallCounts(), "nothing called")
}

func TestExitCodes(t *testing.T) {
	db := filepath.Join(t.TempDir(), "billing.db")
	mockEnv := map[string]string{"AMS_BILLING_SERVICE_CLASS": "mock", "BILLING_DATABASE_URL": db}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want int
	}{
		{"help", nil, []string{"-h"}, 0},
		{"bad flag", nil, []string{"-nope"}, 2},
		{"stray argument", nil, []string{"-members", "3", "all"}, 2},
		{"no members", mockEnv, nil, 2},
		{"both sources", mockEnv, []string{"-members", "3", "-csv", "m.csv"}, 2},
		{"zero members", mockEnv, []string{"-members", "0"}, 2},
		{"too many members", mockEnv, []string{"-members", "100001"}, 2},
		{"amount with csv", mockEnv, []string{"-csv", "m.csv", "-amount", "5"}, 2},
		{"csv missing", mockEnv, []string{"-csv", filepath.Join(t.TempDir(), "none.csv")}, 2},
		{"bad amount", mockEnv, []string{"-members", "3", "-amount", "ten"}, 2},
		{"negative amount", mockEnv, []string{"-members", "3", "-amount", "-5"}, 2},
		{"bad date", mockEnv, []string{"-members", "3", "-date", "1/12/2026"}, 2},
		{"negative due", mockEnv, []string{"-members", "3", "-due", "-1"}, 2},
		{"reference too long", mockEnv, []string{"-members", "3", "-reference", strings.Repeat("r", 300)}, 2},
		{"empty description", mockEnv, []string{"-members", "3", "-description", ""}, 2},
		{"no billing service", map[string]string{"BILLING_DATABASE_URL": db}, []string{"-members", "3"}, 2},
		{"bad configuration", map[string]string{"AMS_BILLING_SERVICE_CLASS": "xero", "XERO_CLIENT_SECRET": "do-not-print-me"}, []string{"-members", "3"}, 2},
		{"bad database URL", map[string]string{"AMS_BILLING_SERVICE_CLASS": "mock", "BILLING_DATABASE_URL": "mysql://db/billing"}, []string{"-members", "3"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testCommand().exec(t, tt.env, tt.args...)
			assert.Equal(t, tt.want, r.code, r.stderr)
			assert.NotContains(t, r.stdout+r.stderr, "do-not-print-me")
		})
	}
}

// Xero unreachable: the run ends at the first operation, exit 1, and says
// why and how to finish.
func TestXeroDownExits1(t *testing.T) {
	srv, env := xeroFixture(t, emulator.Options{})
	require.NoError(t, srv.Close())
	r := testCommand().exec(t, env, "-members", "3", "-date", "2026-12-01")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stdout, "sync contacts: 3 record(s): 3 failed\n")
	assert.Contains(t, r.stdout, "  "+demoMemberID(3)+": sync contacts: xero: PUT /api.xro/2.0/Contacts: ")
	assert.Contains(t, r.stdout, "connection refused\n")
	assert.Contains(t, r.stdout, "Run the same command again to finish the rest; nobody is billed twice.\n")
	assert.NotContains(t, r.stdout, "create invoices")
	assert.NotContains(t, r.stdout+r.stderr, emulator.DefaultClientSecret)
}

// The generic mock is no BulkService: the run goes one record a call.
func TestMockServiceOneByOne(t *testing.T) {
	env := map[string]string{"AMS_BILLING_SERVICE_CLASS": "mock", "BILLING_DATABASE_URL": filepath.Join(t.TempDir(), "billing.db")}
	r := testCommand().exec(t, env, "-members", "3", "-email", "-date", "2026-12-01")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Equal(t, `Renewal "Membership renewal": 3 member(s), invoices dated 2026-12-01, due 2026-12-31
(one by one: this billing service has no bulk operations; each record is one call of the service)
sync contacts:   3 record(s): 3 updated
create invoices: 3 record(s): 3 created
email invoices:  3 record(s): 3 emailed
Calls: 9 (sync contacts 3, create invoices 3, email invoices 3)
`, cutElapsed(t, r.stdout))
	assert.Contains(t, r.stderr, "create invoices: 3/3 done, 3 call(s)\n")
}

// The mock-xero service (the real Xero code on an in-process emulator) is
// a BulkService; its 429s are read from its emulator.
func TestMockXeroService(t *testing.T) {
	env := map[string]string{"AMS_BILLING_SERVICE_CLASS": "mock-xero", "BILLING_DATABASE_URL": filepath.Join(t.TempDir(), "billing.db")}
	r := testCommand().exec(t, env, "-members", "60")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "create invoices: 60 record(s): 60 created\nCalls: 4 (sync contacts 2, create invoices 2)\n429s seen: 0\n")
}

func TestDemoMembersAreStable(t *testing.T) {
	a, b := demoMembers(3, decimal.NewFromInt(5)), demoMembers(3, decimal.NewFromInt(5))
	assert.Equal(t, a, b, "a rerun is the same members")
	assert.Equal(t, member{ID: demoMemberID(2), Name: "Member 2", Email: "member2@example.com", Amount: decimal.NewFromInt(5)}, a[1])
	seen := map[string]bool{}
	for i := 1; i <= 1000; i++ {
		id := demoMemberID(i)
		assert.False(t, seen[id], "member %d", i)
		seen[id] = true
	}
	assert.Equal(t, "5", fmt.Sprint(a[0].Amount))
}

func TestInvoiceKeyFitsXero(t *testing.T) {
	k := invoiceKey(demoMemberID(1), strings.Repeat("long reference ", 40))
	assert.LessOrEqual(t, len(k), 128)
	assert.Equal(t, k, invoiceKey(demoMemberID(1), strings.Repeat("long reference ", 40)))
	assert.NotEqual(t, k, invoiceKey(demoMemberID(2), strings.Repeat("long reference ", 40)))
	assert.NotEqual(t, k, invoiceKey(demoMemberID(1), "another period"))
}

// The CSV reader takes any file: rows it accepts are whole members (a UUID
// id, a positive amount); anything else is an error, never a panic.
func FuzzReadMembers(f *testing.F) {
	for _, seed := range []string{
		"id,name,email,amount\n5b1c9e2a-7d3f-4e60-8a14-c2f0b9d6e371,Ada,ada@example.com,120.00\n",
		"5b1c9e2a-7d3f-4e60-8a14-c2f0b9d6e371,\"Lovelace, Ada\",,1\n", "id\n", "", "\"", ",,,\n", "x,y,z,-1\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		ms, err := readMembers(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, m := range ms {
			require.NoError(t, uuid.Validate(m.ID), "accepted id %q", m.ID)
			require.True(t, m.Amount.IsPositive(), "accepted amount %s", m.Amount)
		}
	})
}
