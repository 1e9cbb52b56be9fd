package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/internal/ctxwait"
	"github.com/amsbilling/sdk/ratelimit"
)

// outcomeOrder is the order outcomes are reported in.
var outcomeOrder = []billing.Outcome{billing.Created, billing.Updated, billing.Unchanged, billing.Existing,
	billing.Emailed, billing.AlreadyEmailed, billing.Skipped, billing.Pending, billing.Failed, billing.NotAttempted}

// Resuming after a rate limit stopped an operation.
const (
	// maxResumeWait is the longest wait the run sits out; a longer one (the
	// day's budget spent) ends the run, and a rerun finishes it.
	maxResumeWait = 2 * time.Minute
	// maxStale is how many stops in a row without progress end the run.
	maxStale = 3
)

// renewal is one run: the members through each operation in turn.
type renewal struct {
	settings
	svc     billing.Service
	bulk    billing.BulkService // nil: the service works one record a call
	stderr  io.Writer
	observe func(billing.Progress)
	// budget describes the budget Xero says is left; nil when nothing can
	// say.
	budget func() string
	// tooMany counts the 429s Xero answered; nil when nothing does.
	tooMany func() int

	started time.Time
	elapsed time.Duration
	ops     []*opStats
	failed  []failure
	stopped error // what ended the run early
}

// opStats is what one operation did.
type opStats struct {
	name     string
	records  int
	outcomes map[billing.Outcome]int
	calls    int // made to the provider, summed over the operation's attempts
	stops    int // rate-limit stops sat out
}

func (o *opStats) done() bool {
	for out, n := range o.outcomes {
		if n > 0 && !finished(out) {
			return false
		}
	}
	return true
}

// finished reports whether a record with this outcome needs no rerun.
func finished(o billing.Outcome) bool { return o.Done() }

// failure is a member an operation did not finish.
type failure struct {
	member string
	op     string
	err    error
}

func (r *renewal) op(name string, records int) *opStats {
	st := &opStats{name: name, records: records, outcomes: map[billing.Outcome]int{}}
	r.ops = append(r.ops, st)
	return st
}

// run syncs every member's contact, invoices those synced and, with
// -email, emails each invoice made or found. An operation that stops, or
// leaves nothing for the next, ends the run.
func (r *renewal) run(ctx context.Context) {
	synced := r.syncContacts(ctx)
	if r.stopped != nil || len(synced) == 0 {
		return
	}
	invoices := r.createInvoices(ctx, synced)
	if r.stopped != nil || !r.email || len(invoices) == 0 {
		return
	}
	r.emailInvoices(ctx, invoices)
}

// done reports whether every member is done in every operation.
func (r *renewal) done() bool {
	if r.stopped != nil || len(r.failed) > 0 {
		return false
	}
	for _, o := range r.ops {
		if !o.done() {
			return false
		}
	}
	return len(r.ops) > 0
}

// attempt is one call of a bulk operation on some of its records.
type attempt struct {
	st     *opStats
	before int // records done before this attempt
	total  int
	calls  int
	// last is the latest report and the budget then; printed says
	// whether its line is out.
	last    billing.Progress
	budget  string
	printed bool
}

// progress reports the attempt's pace to stderr: a line for each call once
// its records are done (when the next call starts, or the last record is
// done), and a last one from flush.
func (r *renewal) progress(a *attempt) func(billing.Progress) {
	return func(p billing.Progress) {
		if r.observe != nil {
			r.observe(p)
		}
		if p.Calls > a.last.Calls && a.last.Calls > 0 && !a.printed {
			r.printProgress(a)
		}
		a.last, a.printed, a.calls = p, false, p.Calls
		if p.Calls > 0 || p.Done == p.Total {
			a.budget = r.budgetNow(p)
		}
		if p.Done == p.Total {
			r.printProgress(a)
			a.printed = true
		}
	}
}

// flush prints the attempt's latest report unless it is out.
func (r *renewal) flush(a *attempt) {
	if !a.printed && a.last.Operation != "" {
		r.printProgress(a)
		a.printed = true
	}
}

// budgetNow describes the budget left as p is reported: what the service
// says, else what Xero's latest answer said; "" when nobody said.
func (r *renewal) budgetNow(p billing.Progress) string {
	switch {
	case p.BudgetLeft >= 0:
		return fmt.Sprintf("Xero budget left %d today", p.BudgetLeft)
	case r.budget != nil:
		return r.budget()
	}
	return ""
}

// printProgress prints the attempt's latest report.
func (r *renewal) printProgress(a *attempt) {
	p := a.last
	line := fmt.Sprintf("%s: %d/%d done, %d call(s)", p.Operation, a.before+p.Done, a.total, a.st.calls+p.Calls)
	if a.budget != "" {
		line += ", " + a.budget
	}
	if p.ETA > 0 {
		line += ", ETA " + roundDuration(p.ETA).String()
	}
	fmt.Fprintln(r.stderr, line)
}

// attempts runs an operation on the records todo (indexes) until it
// finishes. try runs it on some records and returns those still to do. A
// rate limit that stops it is sat out when its wait is short, and the
// operation goes on with the rest; anything else that stops it is returned.
func (r *renewal) attempts(ctx context.Context, st *opStats, todo []int, try func(a *attempt, todo []int) (rest []int, err error)) error {
	stale := 0
	for {
		a := &attempt{st: st, before: st.records - len(todo), total: st.records}
		rest, err := try(a, todo)
		r.flush(a)
		st.calls += a.calls
		if err == nil {
			return nil
		}
		if len(rest) == 0 {
			fmt.Fprintf(r.stderr, "%s: every record is done, but: %v\n", st.name, err)
			return nil
		}
		if len(rest) < len(todo) {
			stale = 0
		} else {
			stale++
		}
		wait, ok := resumable(err)
		if !ok || stale >= maxStale {
			return err
		}
		st.stops++
		fmt.Fprintf(r.stderr, "%s: stopped by a rate limit; going on in %v: %v\n", st.name, roundDuration(wait), err)
		if err := ctxwait.Sleep(ctx, wait, nil); err != nil {
			return err
		}
		todo = rest
	}
}

// resumable reports whether err is a rate limit worth waiting for, and how
// long to wait.
func resumable(err error) (time.Duration, bool) {
	var rl *ratelimit.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter > maxResumeWait {
		return 0, false
	}
	return rl.RetryAfter, true
}

// stopsOneByOne reports whether err ends a one-by-one operation: a rate
// limit, a cancelled run, credentials refused.
func stopsOneByOne(ctx context.Context, err error) bool {
	var rl *ratelimit.RateLimitError
	return ctx.Err() != nil || errors.As(err, &rl) || errors.Is(err, billing.ErrUnauthorized)
}

// syncContacts syncs every member's contact and returns the members whose
// contact is in step.
func (r *renewal) syncContacts(ctx context.Context) []member {
	st := r.op(opSync, len(r.members))
	outs := make([]billing.Outcome, len(r.members))
	errs := make([]error, len(r.members))
	err := r.attempts(ctx, st, indexes(len(r.members)), func(a *attempt, todo []int) ([]int, error) {
		if r.bulk == nil {
			return r.oneByOne(ctx, a, opSync, todo, outs, errs, func(i int) (billing.Outcome, error) {
				m := r.members[i]
				return billing.Updated, r.svc.UpdateUserBillingDetails(ctx, billing.User{ID: m.ID, Name: m.Name, Email: m.Email})
			})
		}
		details := make([]billing.BillingDetails, len(todo))
		for k, i := range todo {
			m := r.members[i]
			details[k] = billing.UserDetails(billing.User{ID: m.ID, Name: m.Name, Email: m.Email})
		}
		res, err := r.bulk.SyncContacts(ctx, details, r.bulkOptions(a))
		for k, i := range todo {
			outs[i], errs[i] = res[k].Outcome, res[k].Err
		}
		return notDone(todo, outs), err
	})
	r.stopped = err
	var synced []member
	for i, m := range r.members {
		st.count(outs[i])
		if finished(outs[i]) {
			synced = append(synced, m)
		} else {
			r.fail(m.ID, opSync, outs[i], errs[i], err)
		}
	}
	return synced
}

// createInvoices invoices the members and returns the invoices made now or
// before.
func (r *renewal) createInvoices(ctx context.Context, members []member) []billing.Invoice {
	st := r.op(opCreate, len(members))
	params := make([]billing.CreateInvoiceParams, len(members))
	for i, m := range members {
		params[i] = r.params(m)
	}
	outs := make([]billing.Outcome, len(members))
	errs := make([]error, len(members))
	invs := make([]billing.Invoice, len(members))
	err := r.attempts(ctx, st, indexes(len(members)), func(a *attempt, todo []int) ([]int, error) {
		if r.bulk == nil {
			return r.oneByOne(ctx, a, opCreate, todo, outs, errs, func(i int) (billing.Outcome, error) {
				inv, err := r.svc.CreateInvoice(ctx, params[i])
				switch {
				case errors.Is(err, billing.ErrCreationPending):
					return billing.Pending, err
				case err != nil:
					return billing.Failed, err
				}
				invs[i] = inv
				return billing.Created, nil
			})
		}
		sub := make([]billing.CreateInvoiceParams, len(todo))
		for k, i := range todo {
			sub[k] = params[i]
		}
		res, err := r.bulk.CreateInvoices(ctx, sub, r.bulkOptions(a))
		for k, i := range todo {
			outs[i], errs[i], invs[i] = res[k].Outcome, res[k].Err, res[k].Invoice
		}
		return notDone(todo, outs), err
	})
	r.stopped = err
	var made []billing.Invoice
	for i, m := range members {
		st.count(outs[i])
		if finished(outs[i]) {
			made = append(made, invs[i])
		} else {
			r.fail(m.ID, opCreate, outs[i], errs[i], err)
		}
	}
	return made
}

// emailInvoices emails each invoice.
func (r *renewal) emailInvoices(ctx context.Context, invs []billing.Invoice) {
	st := r.op(opEmail, len(invs))
	outs := make([]billing.Outcome, len(invs))
	errs := make([]error, len(invs))
	err := r.attempts(ctx, st, indexes(len(invs)), func(a *attempt, todo []int) ([]int, error) {
		if r.bulk == nil {
			return r.oneByOne(ctx, a, opEmail, todo, outs, errs, func(i int) (billing.Outcome, error) {
				return billing.Emailed, r.svc.EmailInvoice(ctx, invs[i])
			})
		}
		sub := make([]billing.Invoice, len(todo))
		for k, i := range todo {
			sub[k] = invs[i]
		}
		res, err := r.bulk.EmailInvoices(ctx, sub, r.bulkOptions(a))
		for k, i := range todo {
			outs[i], errs[i] = res[k].Outcome, res[k].Err
		}
		return notDone(todo, outs), err
	})
	r.stopped = err
	for i, inv := range invs {
		st.count(outs[i])
		if !finished(outs[i]) {
			r.fail(inv.Account.OwnerID(), opEmail, outs[i], errs[i], err)
		}
	}
}

// oneByOne runs an operation record by record, for a service without bulk
// operations: each record is one call of the service. It stops at an error
// that ends the run, leaving the rest untried.
func (r *renewal) oneByOne(ctx context.Context, a *attempt, op string, todo []int, outs []billing.Outcome, errs []error,
	do func(i int) (billing.Outcome, error)) ([]int, error) {
	report := r.progress(a)
	start := time.Now()
	for k, i := range todo {
		out, err := do(i)
		if err != nil && out != billing.Pending {
			out = billing.Failed
		}
		outs[i], errs[i] = out, err
		p := billing.Progress{Operation: op, Done: k + 1, Total: len(todo), Calls: k + 1, BudgetLeft: -1}
		if k+1 < len(todo) {
			p.ETA = time.Since(start) / time.Duration(k+1) * time.Duration(len(todo)-k-1)
		}
		report(p)
		if err != nil && stopsOneByOne(ctx, err) {
			for _, j := range todo[k+1:] {
				outs[j], errs[j] = billing.NotAttempted, billing.NotAttemptedError(err)
			}
			return notDone(todo, outs), err
		}
	}
	return notDone(todo, outs), nil
}

func (o *opStats) count(out billing.Outcome) {
	if out == "" {
		out = billing.NotAttempted
	}
	o.outcomes[out]++
}

// bulkOptions are the options of an attempt's bulk call.
func (r *renewal) bulkOptions(a *attempt) billing.BulkOptions {
	return billing.BulkOptions{Force: r.force, ForceEmail: r.forceEmail, Progress: r.progress(a)}
}

// fail records that member is not done with op. A record the operation
// did not reach, or whose reason is what stopped it, says so: the stop is
// printed once.
func (r *renewal) fail(member, op string, out billing.Outcome, err, stop error) {
	if out == "" || out == billing.NotAttempted || err == nil || (stop != nil && errors.Is(err, stop)) {
		err = errStopped
	}
	if op == opCreate && errors.Is(err, billing.ErrConflict) && !errors.Is(err, billing.ErrCreationPending) {
		err = fmt.Errorf("%w (invoiced before with another date, due date or amount: pass the first run's -date, -due and amount)", err)
	}
	r.failed = append(r.failed, failure{member: member, op: op, err: err})
}

// errStopped is the reason of a record left undone by the stop.
var errStopped = errors.New("not done: the run stopped (see Stopped)")

// notDone returns the records of todo whose outcome is not done.
func notDone(todo []int, outs []billing.Outcome) []int {
	var rest []int
	for _, i := range todo {
		if !finished(outs[i]) {
			rest = append(rest, i)
		}
	}
	return rest
}

func indexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// roundDuration rounds d for a person: to the second, or to the
// millisecond under one.
func roundDuration(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}

// summary prints what the run did: records and outcomes per operation,
// calls by operation, 429s, elapsed time, and every member not done.
func (r *renewal) summary(w io.Writer) {
	fmt.Fprintf(w, "Renewal %q: %d member(s), invoices dated %s, due %s\n", r.reference, len(r.members), r.date, r.due)
	if r.bulk == nil {
		fmt.Fprintln(w, "(one by one: this billing service has no bulk operations; each record is one call of the service)")
	}
	width := 0
	for _, o := range r.ops {
		width = max(width, len(o.name))
	}
	var calls []string
	total := 0
	for _, o := range r.ops {
		var parts []string
		for _, out := range outcomeOrder {
			if n := o.outcomes[out]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, out))
			}
		}
		if len(parts) == 0 {
			parts = []string{"nothing to do"}
		}
		line := fmt.Sprintf("%-*s %d record(s): %s", width+1, o.name+":", o.records, strings.Join(parts, ", "))
		if o.stops > 0 {
			line += fmt.Sprintf(" (sat out %d rate-limit stop(s))", o.stops)
		}
		fmt.Fprintln(w, line)
		calls = append(calls, fmt.Sprintf("%s %d", o.name, o.calls))
		total += o.calls
	}
	notAttempted := 0
	for _, o := range r.ops {
		if o.outcomes[billing.Skipped] > 0 {
			fmt.Fprintln(w, "(skipped: XERO_EMAIL_INVOICES is off, or the address does not match AMS_BILLING_EMAIL_WHITELIST_REGEX)")
		}
		if o.outcomes[billing.AlreadyEmailed] > 0 {
			fmt.Fprintln(w, "(already emailed: by an earlier run; -force-email sends again)")
		}
		notAttempted += o.outcomes[billing.NotAttempted]
	}
	fmt.Fprintf(w, "Calls: %d (%s)\n", total, strings.Join(calls, ", "))
	if r.tooMany != nil {
		fmt.Fprintf(w, "429s seen: %d\n", r.tooMany())
	}
	fmt.Fprintf(w, "Elapsed: %v\n", roundDuration(r.elapsed))
	if r.done() {
		fmt.Fprintln(w, "Every member is done.")
		return
	}
	if r.stopped != nil {
		fmt.Fprintf(w, "Stopped: %v\n", r.stopped)
	}
	if notAttempted > 0 {
		fmt.Fprintf(w, "Not attempted: %d record(s): the run stopped before them; a rerun resumes with them.\n", notAttempted)
	}
	if len(r.failed) > 0 {
		fmt.Fprintf(w, "Not done (%d):\n", len(r.failed))
		for _, f := range r.failed {
			fmt.Fprintf(w, "  %s: %s: %v\n", f.member, f.op, f.err)
		}
	}
	rerun := "Run the same command again"
	if !r.dateSet {
		rerun += " with -date " + r.date.String()
	}
	fmt.Fprintln(w, rerun+" to finish the rest; nobody is billed twice.")
}

// statusCounter counts the 429s Xero answers, on the wire.
type statusCounter struct {
	next    http.RoundTripper
	tooMany atomic.Int64
}

func (c *statusCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := c.next.RoundTrip(req)
	if err == nil && res.StatusCode == http.StatusTooManyRequests {
		c.tooMany.Add(1)
	}
	return res, err
}

func (c *statusCounter) count() int { return int(c.tooMany.Load()) }
