package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/examples/internal/moneycmd/moneytest"
	"github.com/amsbilling/sdk/mock/emulator"
)

const putPayments = "PUT /Payments"

// writeCSV writes a payments file and returns its path.
func writeCSV(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "payments.csv")
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	return path
}

// live counts the payments Xero holds and has not deleted.
func live(r *moneytest.Rig) int {
	n := 0
	for _, p := range r.Server.Payments() {
		if p.Status != emulator.PaymentDeleted {
			n++
		}
	}
	return n
}

// A payment recorded, asked again, reversed, asked to reverse again: each
// reaches Xero once, and the invoice shows what Xero computed.
func TestRecordAndReverse(t *testing.T) {
	r := moneytest.New(t, emulator.Options{})
	invs := r.Bill(t, 1)

	res := r.Run(t, run, "-invoice", "INV-0001", "-amount", "50.00", "-date", "2026-12-05", "-reference", "stripe ch_1")
	require.Equal(t, 0, res.Code, res)
	assert.Contains(t, res.Stdout, "Recorded payment ")
	assert.Contains(t, res.Stdout, `of NZD 50.00 to INV-0001 on 2026-12-05, reference "stripe ch_1", account 090`)
	assert.Contains(t, res.Stdout, "INV-0001 is AUTHORISED: NZD 65.00 due of 115.00 (50.00 paid), partly paid")
	assert.Equal(t, 1, r.Calls(putPayments))

	// Xero's id names the invoice too; the same reference is the same payment.
	res = r.Run(t, run, "-invoice", strings.ToUpper(invs[0].ProviderID), "-amount", "60.00", "-reference", "stripe ch_1")
	require.Equal(t, 0, res.Code, res)
	assert.Contains(t, res.Stdout, "Already recorded: payment ")
	assert.Contains(t, res.Stdout, "-amount 60.00 was not recorded; give another -reference")
	assert.Equal(t, 1, r.Calls(putPayments), "nothing sent again")
	assert.Equal(t, 1, live(r))

	res = r.Run(t, run, "-reverse", "-invoice", "INV-0001", "-reference", "stripe ch_1")
	require.Equal(t, 0, res.Code, res)
	assert.Contains(t, res.Stdout, "Reversed payment ")
	assert.Contains(t, res.Stdout, "INV-0001 is AUTHORISED: NZD 115.00 due of 115.00")
	assert.Zero(t, live(r))
	reversals := r.Calls("POST /Payments/{PaymentID}")
	assert.Equal(t, 1, reversals)

	res = r.Run(t, run, "-reverse", "-invoice", "INV-0001", "-reference", "stripe ch_1")
	require.Equal(t, 0, res.Code, res)
	assert.Contains(t, res.Stdout, "Already reversed: payment ")
	assert.Equal(t, reversals, r.Calls("POST /Payments/{PaymentID}"))

	// The logical payment was reversed: paying again needs a new reference.
	res = r.Run(t, run, "-invoice", "INV-0001", "-amount", "50.00", "-reference", "stripe ch_1")
	assert.Equal(t, 1, res.Code, res)
	assert.Contains(t, res.Stderr, "recorded and then reversed")
	assert.Contains(t, res.Stderr, "give a new -reference")
	assert.Equal(t, 1, r.Calls(putPayments))

	res = r.Run(t, run, "-invoice", "INV-0001", "-amount", "115", "-reference", "stripe ch_2")
	require.Equal(t, 0, res.Code, res)
	assert.Contains(t, res.Stdout, "INV-0001 is PAID: NZD 0.00 due of 115.00 (115.00 paid)")
	assert.Equal(t, billing.StatusPaid, r.Invoice(t, "INV-0001").Status)
}

// Every bad input is refused with a clear message, exit 1 or 2, and
// nothing is recorded, in Xero or in the store.
func TestRecordPaymentBadInput(t *testing.T) {
	r := moneytest.New(t, emulator.Options{})
	r.Bill(t, 2)
	_, err := r.Money(t).VoidInvoice(t.Context(), r.Invoice(t, "INV-0002").ProviderID, false)
	require.NoError(t, err)
	good := []string{"-invoice", "INV-0001", "-amount", "50.00", "-reference", "r1"}
	with := func(flag, value string) []string {
		args := append([]string(nil), good...)
		for i := 0; i < len(args); i += 2 {
			if args[i] == flag {
				args[i+1] = value
				return args
			}
		}
		return append(args, flag, value)
	}
	tests := []struct {
		name  string
		args  []string
		env   map[string]string // changes; "-" unsets
		code  int
		want  string // in stderr
		calls int    // PUT /Payments made
	}{
		{"zero amount", with("-amount", "0"), nil, 2, `-amount "0" is not a positive amount`, 0},
		{"negative amount", with("-amount", "-5"), nil, 2, `-amount "-5" is not a positive amount`, 0},
		{"not a decimal", with("-amount", "ten"), nil, 2, `-amount "ten" is not a decimal amount`, 0},
		{"three decimals", with("-amount", "1.005"), nil, 2, "has more than two decimals", 0},
		{"bad date", with("-date", "2026-02-30"), nil, 2, `-date "2026-02-30" is not a date`, 0},
		{"no reference", good[:4], nil, 2, "give -invoice INV -amount 50.00 -reference REF", 0},
		{"blank reference", with("-reference", "  "), nil, 2, "-reference must not be blank", 0},
		{"csv with -invoice", with("-csv", "x.csv"), nil, 2, "-invoice is not for -csv", 0},
		{"reverse with -amount", []string{"-reverse", "-invoice", "INV-0001", "-reference", "r1", "-amount", "5"}, nil, 2, "-amount is not for -reverse", 0},
		{"stray argument", append(with("-amount", "5"), "now"), nil, 2, `unexpected argument "now"`, 0},
		{"bad flag", []string{"-nope"}, nil, 2, "flag provided but not defined", 0},
		{"no payment account", good, map[string]string{"XERO_PAYMENT_ACCOUNT_CODE": "-"}, 2, "No payment account: give -account CODE", 0},
		{"account with a space", with("-account", " 090"), nil, 2, "-account:", 0},
		{"mock billing", good, map[string]string{"AMS_BILLING_SERVICE_CLASS": "mock"}, 2, "moves no money", 0},
		{"no billing service", good, map[string]string{"AMS_BILLING_SERVICE_CLASS": "-"}, 2, "No billing service configured", 0},
		{"unknown invoice", with("-invoice", "INV-9999"), nil, 1, `invoice "INV-9999" is not in the billing database`, 0},
		{"unknown Xero id", with("-invoice", "00000000-0000-4000-8000-00000000dead"), nil, 1, "is not in the billing database", 0},
		{"voided invoice", with("-invoice", "INV-0002"), nil, 1, "invoice INV-0002 is voided", 0},
		{"more than due", with("-amount", "115.01"), nil, 1, "Payment amount exceeds the amount outstanding on this document", 1},
		{"account that takes no payments", with("-account", "200"), nil, 1, "Xero refused the payment", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r.SetEnv(t, tt.env)
			before := r.Calls(putPayments)
			res := r.Run(t, run, tt.args...)
			assert.Equal(t, tt.code, res.Code, res)
			assert.Contains(t, res.Stderr, tt.want)
			assert.Empty(t, res.Stdout)
			assert.Equal(t, tt.calls, r.Calls(putPayments)-before)
			assert.Empty(t, r.Server.Payments(), "Xero holds no payment")
			assert.Zero(t, r.PendingOps(t), "nothing half-recorded")
			paid, err := r.Store(t).PaymentsOfInvoice(t.Context(), r.Invoice(t, "INV-0001").ProviderID)
			require.NoError(t, err)
			assert.Empty(t, paid)
		})
	}
	res := r.Run(t, run, "-h")
	assert.Equal(t, 0, res.Code)
	// A refusal recorded nothing: the same payment may be asked again.
	res = r.Run(t, run, good...)
	assert.Equal(t, 0, res.Code, res)
}

// Xero made the payment but every answer was lost: exit 1 saying to run
// again; the rerun finds it in Xero and pays nothing twice.
func TestRecordPaymentLostAnswer(t *testing.T) {
	r := moneytest.New(t, emulator.Options{})
	r.Bill(t, 1)
	// The client's 3 attempts and net/http's own replay of a keyed request.
	r.Server.InjectFault(emulator.Fault{Path: emulator.APIPath + "/Payments", LoseAnswer: emulator.AnswerDropped, Count: 4})
	args := []string{"-invoice", "INV-0001", "-amount", "115.00", "-reference", "dd 42"}
	res := r.Run(t, run, args...)
	assert.Equal(t, 1, res.Code, res)
	assert.Contains(t, res.Stderr, "recorded as pending. Run the same command again")
	require.Equal(t, 1, live(r), "Xero made it")
	assert.Equal(t, 1, r.PendingOps(t))

	res = r.Run(t, run, args...)
	require.Equal(t, 0, res.Code, res)
	assert.Contains(t, res.Stdout, "INV-0001 is PAID")
	assert.Equal(t, 1, live(r), "paid once")
	assert.Zero(t, r.PendingOps(t))
}

func TestRecordPaymentsFromCSV(t *testing.T) {
	r := moneytest.New(t, emulator.Options{})
	invs := r.Bill(t, 4)
	file := writeCSV(t,
		"invoice,amount,date,reference",
		"INV-0001,115.00,2026-12-05,dd 1",
		"INV-0002,50.00,,dd 2",
		invs[2].ProviderID+",10.5,2026-12-06,dd 3",
	)
	res := r.Run(t, run, "-csv", file)
	require.Equal(t, 0, res.Code, res)
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	require.Len(t, lines, 4, res.Stdout)
	assert.Regexp(t, `^row 1: INV-0001: created payment \S+ \(NZD 115.00, reference "dd 1"\)$`, lines[0])
	assert.Regexp(t, `^row 2: INV-0002: created payment \S+ \(NZD 50.00, reference "dd 2"\)$`, lines[1])
	assert.Regexp(t, `^row 3: INV-0003: created payment \S+ \(NZD 10.50, reference "dd 3"\)$`, lines[2])
	assert.Equal(t, "3 payment(s): 3 created", lines[3])
	assert.Equal(t, 1, r.Calls(putPayments), "one call for the file")
	assert.Equal(t, billing.StatusPaid, r.Invoice(t, "INV-0001").Status)
	assert.True(t, r.Invoice(t, "INV-0002").IsPartlyPaid())

	// The same file again records nothing again.
	res = r.Run(t, run, "-csv", file)
	require.Equal(t, 0, res.Code, res)
	assert.Contains(t, res.Stdout, "row 2: INV-0002: existing payment ")
	assert.Contains(t, res.Stdout, "3 payment(s): 3 existing")
	assert.Equal(t, 1, r.Calls(putPayments), "a rerun sends nothing")
	assert.Equal(t, 3, live(r))

	// Rows that fail do not stop the others, and exit 1.
	mixed := writeCSV(t,
		"invoice,amount,date,reference",
		"INV-9999,5.00,,dd 9",   // unknown
		"INV-0004,200.00,,dd 4", // more than due
		"INV-0002,65.00,,dd 5",  // the rest of INV-0002
		"INV-0002,1.00,,dd 5",   // the same logical payment as row 3
		"INV-0001,1.00,,dd 1",   // recorded by the first file
	)
	res = r.Run(t, run, "-csv", mixed)
	assert.Equal(t, 1, res.Code, res)
	assert.Contains(t, res.Stdout, `row 1: INV-9999: failed: invoice "INV-9999" is not in the billing database`)
	assert.Contains(t, res.Stdout, "row 2: INV-0004: failed: ")
	assert.Contains(t, res.Stdout, "Payment amount exceeds the amount outstanding on this document")
	assert.Contains(t, res.Stdout, "row 3: INV-0002: created payment ")
	assert.Contains(t, res.Stdout, `row 4: INV-0002: failed: the same payment as row 3`)
	assert.Contains(t, res.Stdout, "row 5: INV-0001: existing payment ")
	assert.Contains(t, res.Stdout, "5 payment(s): 1 created, 1 existing, 3 failed")
	assert.Equal(t, 2, r.Calls(putPayments), "one more call")
	assert.Equal(t, 4, live(r))
	assert.Equal(t, billing.StatusPaid, r.Invoice(t, "INV-0002").Status)
	assert.Zero(t, r.PendingOps(t))
}

// A file with a bad row is refused whole, naming the row, before any call.
func TestRecordPaymentsBadCSV(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  []string // in stderr
	}{
		{"no header", []string{"INV-0001,5.00,,r1"}, []string{"header: want invoice,amount,date,reference, got INV-0001,5.00,,r1"}},
		{"another header", []string{"invoice,amount,reference", "INV-0001,5.00,r1"}, []string{"header: want invoice,amount,date,reference"}},
		{"empty", []string{""}, []string{"header: the file is empty"}},
		{"zero amount", []string{"invoice,amount,date,reference", "INV-0001,5.00,,r1", "INV-0001,0,,r2"}, []string{`row 2: amount "0" is not a positive amount`}},
		{"negative amount", []string{"invoice,amount,date,reference", "INV-0001,-5,,r1"}, []string{`row 1: amount "-5" is not a positive amount`}},
		{"float-looking amount", []string{"invoice,amount,date,reference", "INV-0001,5.001,,r1"}, []string{`row 1: amount "5.001" has more than two decimals`}},
		{"every problem of every row", []string{"invoice,amount,date,reference", ",ten,31/12/2026,", "INV-0001,5,,r1,extra"},
			[]string{`row 1: no invoice; amount "ten" is not a decimal amount (like 50.00); date "31/12/2026" is not a date (YYYY-MM-DD, or empty for today); no reference`, "row 2: 5 fields, want 4"}},
		{"reference too long", []string{"invoice,amount,date,reference", "INV-0001,5,," + strings.Repeat("r", 256)}, []string{"row 1: billing: invalid money operation: payment: reference is 256 characters; at most 255"}},
		{"not CSV", []string{"invoice,amount,date,reference", `INV-0001,"5,,r1`}, []string{"row 1: not CSV"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := moneytest.New(t, emulator.Options{})
			file := writeCSV(t, tt.lines...)
			res := r.Run(t, run, "-csv", file)
			assert.Equal(t, 2, res.Code, res)
			for _, w := range tt.want {
				assert.Contains(t, res.Stderr, file+": "+w)
			}
			assert.Contains(t, res.Stderr, "Nothing was recorded.")
			assert.Zero(t, r.Calls(putPayments))
			assert.Zero(t, r.Calls("POST /connect/token"), "not even a token")
		})
	}
	r := moneytest.New(t, emulator.Options{})
	res := r.Run(t, run, "-csv", filepath.Join(t.TempDir(), "missing.csv"))
	assert.Equal(t, 2, res.Code, res)
	assert.Contains(t, res.Stderr, "-csv: open ")
}

// The answer to the file's call is lost: the rows are pending, exit 1 with
// how to finish; the rerun finds them in Xero and records none twice.
func TestRecordPaymentsLostAnswer(t *testing.T) {
	r := moneytest.New(t, emulator.Options{})
	r.Bill(t, 2)
	file := writeCSV(t, "invoice,amount,date,reference", "INV-0001,115.00,,a", "INV-0002,115.00,,b")
	r.Server.InjectFault(emulator.Fault{Path: emulator.APIPath + "/Payments", LoseAnswer: emulator.AnswerDropped, Count: 4})
	res := r.Run(t, run, "-csv", file)
	assert.Equal(t, 1, res.Code, res)
	assert.Contains(t, res.Stdout, "row 1: INV-0001: pending: ")
	assert.Contains(t, res.Stdout, "2 payment(s): 2 pending")
	assert.Contains(t, res.Stdout, "run the same command with the same file again")
	require.Equal(t, 2, live(r), "Xero made them")

	res = r.Run(t, run, "-csv", file)
	require.Equal(t, 0, res.Code, res)
	assert.Contains(t, res.Stdout, "2 payment(s): 2 existing")
	assert.Equal(t, 2, live(r), "paid once each")
	assert.Zero(t, r.PendingOps(t))
	assert.Equal(t, billing.StatusPaid, r.Invoice(t, "INV-0002").Status)
}
