package doctor

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/xero/setup"
)

const (
	// staleMark warns when an invoice has waited this long for its fetch:
	// the webhook fetches at once and cron every few minutes.
	staleMark = time.Hour
	// stalePending warns when a creation or an event has waited this long:
	// past Xero's idempotency window, a creation needs resolving.
	stalePending = 10 * time.Minute
	// maxEvents bounds the events the doctor reads.
	maxEvents = 1000
	// fetchJob is the command that works the queues.
	fetchJob = "examples/fetch-invoice-updates (AMS's fetch_invoice_updates) from cron"
)

// storeChecks reports the database and the work waiting in it.
func storeChecks(ctx context.Context, t Target) []Check {
	const name = "database"
	if t.Store == nil {
		if t.StoreErr == nil {
			return []Check{skipped(name, "no store given")}
		}
		return []Check{{
			Name: name, Status: Fail, Err: t.StoreErr, Var: setup.EnvDatabaseURL,
			Found: fmt.Sprintf("%s did not open: %v", t.Database, t.StoreErr),
			Fix:   "check that the database runs and that the URL reaches it with a user who may create tables (the store migrates when it opens); " + fixFor(setup.EnvDatabaseURL),
		}}
	}
	// The first read shows whether the schema is there.
	aside, err := t.Store.SetAsideInvoices(ctx)
	if err != nil {
		return []Check{{
			Name: name, Status: Fail, Err: err, Var: setup.EnvDatabaseURL,
			Found: fmt.Sprintf("%s opened, but reading it failed: %v", t.Database, err),
			Fix:   "the schema may be missing or old: point it at the database the app migrates, and let the app (or any example command) open it once so it migrates; check the user's rights",
		}}
	}
	now := t.Now()
	return []Check{
		{Name: name, Status: Pass, Found: t.Database + " opened, and its schema answers"},
		markedCheck(ctx, t.Store, aside, now),
		setAsideCheck(aside),
		creationsCheck(ctx, t.Store, now),
		eventsCheck(ctx, t.Store, now),
	}
}

// markedCheck reports the fetch job's queue: the marked invoices waiting,
// and those set aside beside them, the unreadable ones counted apart.
func markedCheck(ctx context.Context, s billing.Store, aside []billing.Invoice, now time.Time) Check {
	const name = "marked invoices"
	n, oldest, err := s.CountMarked(ctx)
	if err != nil {
		return Check{Name: name, Status: Fail, Err: err, Found: "counting them failed: " + err.Error()}
	}
	besides := ""
	if len(aside) > 0 {
		besides = fmt.Sprintf("; %d more set aside", len(aside))
		if k := countUnreadable(aside); k > 0 {
			besides += fmt.Sprintf(", %d of them unreadable in Xero", k)
		}
	}
	if n == 0 {
		return Check{Name: name, Status: Pass, Found: "none waiting for a fetch" + besides}
	}
	age := now.Sub(oldest)
	c := Check{Name: name, Status: Pass, Found: fmt.Sprintf("%d waiting for a fetch, the oldest marked %s ago", n, ago(age))}
	if age > staleMark {
		c.Status = Warn
		c.Found += ": is the fetch job running?"
		c.Fix = "run " + fetchJob + " every few minutes; a rate limit or an outage at Xero also holds them"
	}
	c.Found += besides
	return c
}

// unreadable reports whether a fetch failure's reason says Xero sent the
// invoice in a form the SDK cannot read, and returns what it says after.
func unreadable(reason string) (string, bool) {
	_, after, ok := strings.Cut(reason, billing.ErrUnreadable.Error()+": ")
	return after, ok
}

func countUnreadable(invs []billing.Invoice) int {
	n := 0
	for _, inv := range invs {
		if _, ok := unreadable(inv.UpdateError); ok {
			n++
		}
	}
	return n
}

func setAsideCheck(aside []billing.Invoice) Check {
	const name = "set aside"
	if len(aside) == 0 {
		return Check{Name: name, Status: Pass, Found: "none"}
	}
	var items []string
	for _, inv := range aside {
		item := inv.Number
		if why, ok := unreadable(inv.UpdateError); ok {
			item += " (unreadable in Xero: " + clip(why, 100) + ")"
		} else if inv.UpdateError != "" {
			item += " (" + clip(inv.UpdateError, 100) + ")"
		}
		items = append(items, item)
	}
	c := Check{
		Name: name, Status: Warn,
		Found: fmt.Sprintf("%d invoice(s) failed too often and are no longer fetched: %s", len(aside), list(items)),
		Fix:   "fix the cause each shows; an invoice returns to the queue when it is marked again (its next webhook)",
	}
	if k := countUnreadable(aside); k > 0 {
		c.Fix = fmt.Sprintf("%d of them Xero holds in a form the SDK cannot read (a date outside %d-%d, say): correct them in Xero, and their next webhook brings them back; ",
			k, billing.MinYear, billing.MaxYear) + c.Fix
	}
	return c
}

func creationsCheck(ctx context.Context, s billing.Store, now time.Time) Check {
	const name = "pending creations"
	pending, err := s.PendingCreations(ctx)
	switch {
	case err != nil:
		return Check{Name: name, Status: Fail, Err: err, Found: "listing them failed: " + err.Error()}
	case len(pending) == 0:
		return Check{Name: name, Status: Pass, Found: "none"}
	}
	oldest := pending[0]
	age := now.Sub(oldest.CreatedAt)
	c := Check{Name: name, Status: Pass,
		Found: fmt.Sprintf("%d invoice creation(s) whose outcome at Xero is not known yet, the oldest begun %s ago (reference %q)", len(pending), ago(age), clip(oldest.Params.Reference, 60))}
	if age > stalePending {
		c.Status = Warn
		c.Fix = "run " + fetchJob + ": it resolves them first, adopting Xero's invoice or, only when Xero has none, creating it; never bill them anew"
	}
	return c
}

func eventsCheck(ctx context.Context, s billing.Store, now time.Time) Check {
	const name = "undelivered events"
	evs, err := s.PendingEvents(ctx, maxEvents)
	switch {
	case err != nil:
		return Check{Name: name, Status: Fail, Err: err, Found: "listing them failed: " + err.Error()}
	case len(evs) == 0:
		return Check{Name: name, Status: Pass, Found: "none"}
	}
	count := fmt.Sprint(len(evs))
	if len(evs) == maxEvents {
		count += " or more"
	}
	failed, lastErr := 0, ""
	for _, ev := range evs {
		if ev.Attempts > 0 {
			failed++
			lastErr = ev.LastError
		}
	}
	age := now.Sub(evs[0].CreatedAt)
	c := Check{Name: name, Status: Pass, Found: fmt.Sprintf("%s waiting for the app's invoice hook, the oldest %s old", count, ago(age))}
	switch {
	case failed > 0:
		c.Status = Warn
		c.Found += fmt.Sprintf("; the hook refused %d of them", failed)
		if lastErr != "" {
			c.Found += fmt.Sprintf(", lately with %q", clip(lastErr, 120))
		}
		c.Fix = "fix the app's InvoiceHook; the fetch job and the sweep deliver them again"
	case age > stalePending:
		c.Status = Warn
		c.Fix = "run " + fetchJob + ": it delivers them"
	}
	return c
}

// ago writes a duration as an operator reads it: 45s, 12m, 5h, 3d.
func ago(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}
