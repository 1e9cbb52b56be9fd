package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/examples/internal/moneycmd"
)

// outcomeReversed is a row whose logical payment was recorded and later
// reversed: asking again returns the reversed payment, so no money moved.
const outcomeReversed billing.Outcome = "reversed before"

// recordFile records the file's payments in one RecordPayments run (50 a
// call) and prints a line per row, then the counts.
func recordFile(ctx context.Context, app *moneycmd.App, s settings, rows []row, stdout, stderr io.Writer) int {
	if len(rows) == 0 {
		fmt.Fprintf(stdout, "No payments in %s.\n", s.file)
		return moneycmd.ExitDone
	}
	type line struct {
		inv     billing.Invoice
		outcome billing.Outcome
		pay     billing.Payment
		err     error
	}
	lines := make([]line, len(rows))
	var params []billing.PaymentParams
	var at []int // params[k] is rows[at[k]]
	first := map[[2]string]int{}
	for i, r := range rows {
		inv, err := moneycmd.FindInvoice(ctx, app.Store, r.Invoice)
		if err != nil {
			lines[i] = line{outcome: billing.Failed, err: err}
			continue
		}
		lines[i].inv = inv
		// One logical payment a row: a repeat is refused here rather than
		// sent twice in one run.
		k := [2]string{inv.ProviderID, r.Reference}
		if j, ok := first[k]; ok {
			lines[i] = line{inv: inv, outcome: billing.Failed,
				err: fmt.Errorf("the same payment as row %d (invoice %s, reference %q); give it another reference if it is another payment", rows[j].N, inv.Number, r.Reference)}
			continue
		}
		first[k] = i
		params = append(params, billing.PaymentParams{InvoiceID: inv.ProviderID, Amount: r.Amount, Date: r.Date, Reference: r.Reference, AccountCode: s.account})
		at = append(at, i)
	}
	var stopErr error
	if len(params) > 0 {
		var res []billing.PaymentResult
		res, stopErr = app.Money.RecordPayments(ctx, params, billing.BulkOptions{})
		for k, r := range res {
			l := &lines[at[k]]
			l.outcome, l.pay, l.err = r.Outcome, r.Payment, r.Err
			if r.Outcome == billing.Existing && r.Payment.Status == billing.PaymentDeleted {
				l.outcome = outcomeReversed
				l.err = fmt.Errorf("payment %s with this reference was reversed; give a new reference to pay again", r.Payment.ProviderID)
			}
		}
	}
	counts := map[billing.Outcome]int{}
	for i, l := range lines {
		r := rows[i]
		name := r.Invoice
		if l.inv.Number != "" {
			name = l.inv.Number
		}
		counts[l.outcome]++
		switch l.outcome {
		case billing.Created, billing.Existing:
			fmt.Fprintf(stdout, "row %d: %s: %s payment %s (%s %s, reference %q)\n",
				r.N, name, l.outcome, l.pay.ProviderID, l.inv.Currency, l.pay.Amount.StringFixed(2), l.pay.Reference)
		default:
			fmt.Fprintf(stdout, "row %d: %s: %s: %v\n", r.N, name, l.outcome, l.err)
		}
	}
	var parts []string
	for _, o := range []billing.Outcome{billing.Created, billing.Existing, outcomeReversed, billing.Failed, billing.Pending, billing.NotAttempted} {
		if counts[o] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[o], o))
		}
	}
	fmt.Fprintf(stdout, "%d payment(s): %s\n", len(rows), strings.Join(parts, ", "))
	if stopErr != nil {
		fmt.Fprintln(stderr, "The run stopped:", stopErr)
	}
	if counts[billing.Pending]+counts[billing.NotAttempted] > 0 {
		fmt.Fprintf(stdout, "Some payments are pending or were not attempted: run the same command with the same file again to finish them; the payments recorded are not recorded again.\n")
	}
	if counts[billing.Created]+counts[billing.Existing] == len(rows) {
		return moneycmd.ExitDone
	}
	return moneycmd.ExitNotDone
}
