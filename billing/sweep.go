package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// SweepSource is what the sweep needs of a provider (xero.Service).
type SweepSource interface {
	InvoiceUpdater
	// InvoicesModifiedSince returns page (from 1) of the provider's
	// invoices modified at or after since, in pages as large as the
	// provider serves.
	InvoicesModifiedSince(ctx context.Context, since time.Time, page int) (ModifiedPage, error)
	// CreditNotesModifiedSince returns page (from 1) of the provider's
	// sales credit notes modified at or after since.
	CreditNotesModifiedSince(ctx context.Context, since time.Time, page int) (CreditNotePage, error)
	// PaymentsModifiedSince returns page (from 1) of the provider's
	// payments of sales invoices and refunds of sales credit notes
	// modified at or after since.
	PaymentsModifiedSince(ctx context.Context, since time.Time, page int) (PaymentPage, error)
}

// ModifiedPage is one page of InvoicesModifiedSince.
type ModifiedPage struct {
	Invoices []Invoice // provider state, ProviderID set
	// Unreadable are the page's invoices the provider sent that could
	// not be read (each Err matches ErrUnreadable); they never fail the
	// page.
	Unreadable []UnreadableInvoice
	// Latest is the latest modification time in the page's readable
	// invoices.
	Latest time.Time
	// More is true when another page follows.
	More bool
}

// ErrUnreadable matches a record the provider sent that could not be read:
// the provider flagged it, or it did not decode (a date outside
// MinYear-MaxYear, say). The error of such a record, and a fetch failure's
// reason (Invoice.UpdateError), hold its text.
var ErrUnreadable = errors.New("billing: unreadable record")

// UnreadableInvoice is an invoice the provider sent that could not be read.
type UnreadableInvoice struct {
	// ProviderID is the invoice's id at the provider; empty when even that
	// could not be read.
	ProviderID string
	// Err says why; it matches ErrUnreadable.
	Err error
	// Queued is set by Sweep when the store knows the invoice and it was
	// marked for the fetch job.
	Queued bool
}

// Defaults of SweepOptions.
const (
	DefaultSweepOverlap   = 5 * time.Minute
	DefaultSweepOpenEvery = 24 * time.Hour
	DefaultSweepBatch     = 50
)

// SweepOptions tune Sweep. The zero value is ready to use.
type SweepOptions struct {
	// Tenant names the provider's organisation; marks are kept per tenant.
	Tenant string
	// Overlap is how far before the stored mark a sweep asks again, so a
	// change in the same second as the mark, or a clock step, is not
	// missed (default 5m).
	Overlap time.Duration
	// OpenEvery is how often the sweep also refreshes every open invoice by
	// id, for the provider's edits that do not count as modifications
	// (default 24h). OpenNow forces it on this run.
	OpenEvery time.Duration
	OpenNow   bool
	// Batch is how many ids one refresh asks for (default 50, within
	// Xero's URL limit).
	Batch  int
	Now    func() time.Time
	Logger *slog.Logger
	// MeterProvider receives billing.sweep.runs and
	// billing.sweep.invoices; default otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
}

func (o *SweepOptions) defaults() {
	if o.Overlap <= 0 {
		o.Overlap = DefaultSweepOverlap
	}
	if o.OpenEvery <= 0 {
		o.OpenEvery = DefaultSweepOpenEvery
	}
	if o.Batch <= 0 {
		o.Batch = DefaultSweepBatch
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// SweepResult reports one Sweep.
type SweepResult struct {
	Since   time.Time // the modification time asked from
	Pages   int       // pages of modified invoices read
	Seen    int       // modified invoices the provider returned
	Changed []string  // numbers of the known invoices whose state changed
	// OpenChecked is how many open invoices were refreshed by id (0 when
	// that check was not due).
	OpenChecked int
	// Failed lists what could not be brought in step, by provider id.
	Failed map[string]error
	// Unreadable lists the modified invoices the provider sent that could
	// not be read, in the order met; see Sweep for what became of them.
	Unreadable []UnreadableInvoice
	// CreditNotes and Payments report the provider's credit notes and
	// payments modified since their own marks.
	CreditNotes, Payments MoneySweep
	// Repaired is how many invoices were refreshed by id because a new or
	// changed credit note or payment names them; those whose state
	// changed are in Changed too.
	Repaired int
}

// InStep reports whether the sweep left the store in step with the
// provider: nothing failed (invoices, credit notes, payments), and no
// invoice the store knows was unreadable. (One it does not know is not the
// app's, or is a pending creation's, which ResolveCreations reports. An
// unreadable credit note or payment does not count: which invoice it is
// about cannot be read, and that invoice's own record says what it owes.)
func (r SweepResult) InStep() bool {
	if len(r.Failed) > 0 || len(r.CreditNotes.Failed) > 0 || len(r.Payments.Failed) > 0 {
		return false
	}
	for _, u := range r.Unreadable {
		if u.Queued {
			return false
		}
	}
	return true
}

// Sweep repairs what webhooks missed: a webhook Xero never delivered marks
// nothing, so without it an invoice paid in Xero would stay unpaid in the
// app. It asks the provider for the invoices modified since the tenant's
// stored mark (less Overlap; a store that never swept starts a day before
// its oldest invoice's issue date, so the first sweep repairs everything),
// page by page, and saves those the store knows whose state differs (each
// change with its event). Then, every OpenEvery, it refreshes every open
// invoice by id, because some provider edits do not count as
// modifications. The mark moves only after every page was saved.
//
// It then does the same for the provider's credit notes and for its
// payments (refunds included), each kind with its own mark per tenant
// (the same Overlap and first-sweep rules), which moves only after that
// kind's pages were saved (SaveCreditNoteStates, then SavePaymentStates, so
// a refund of a credit note first seen in this run is kept). A credit note
// or payment of nothing the store holds is not the app's: the store says
// ErrNotFound, and it is counted in MoneySweep.Ignored, no error. Another
// store refusal is in MoneySweep.Failed, keeps that kind's mark, and leaves
// the sweep not InStep. The invoices a new or changed payment, or a new or
// changed credit note's allocations, name are refreshed by id
// (UpdateInvoices, Batch ids a call), each once, unless this run's invoice
// pages or open check saved them already; so a payment made in the
// provider by hand reaches the app with the invoice's amounts paid, due and
// credited and its status as the provider computes them. When a refresh
// fails, the invoices not yet refreshed are marked update-needed
// (MarkUpdateNeeded) for the fetch job before the sweep fails. Pending
// events are delivered at the end when src is an EventDeliverer.
//
// An invoice of a page that cannot be read (ModifiedPage.Unreadable: the
// provider flagged it, or a date outside the years 1900-9999) never stops
// the sweep: the rest of its page and the pages after it are saved. Each
// is logged at Warn, listed in SweepResult.Unreadable, counted in
// billing.sweep.invoices (outcome unreadable), and:
//
//   - the store knows it (by provider id): it is marked update-needed
//     (MarkUpdateNeeded; Queued), so the fetch job retries it, counts its
//     failures with the reason and sets it aside, and the doctor and
//     billing.invoices.set_aside show it; the sweep is not InStep;
//   - the store does not know it, or its id is unreadable: it is not the
//     app's, unless it is a pending creation's, which ResolveCreations
//     settles by what it can read of it; so it is only reported.
//
// The mark then moves as if the page had been read, since nothing is lost:
// the known ones are queued durably. A store failure while marking fails
// the sweep, and the mark stays. A credit note or payment that cannot be
// read is logged at Warn and listed in its MoneySweep.Unreadable, and its
// mark moves too: the invoice it is about is swept by its own record.
//
// The marks are stored under "modified:", "open:", "modified-credit-notes:"
// and "modified-payments:" followed by opts.Tenant. Each sweep of a
// provider that is not simulated is counted in opts.MeterProvider.
func Sweep(ctx context.Context, src SweepSource, store SweepStore, opts SweepOptions) (SweepResult, error) {
	opts.defaults()
	res := SweepResult{Failed: map[string]error{}}
	if src == nil || store == nil {
		return res, errors.New("billing: sweep: a provider and a store are required")
	}
	if s, ok := src.(Simulated); ok && s.Simulated() {
		return res, nil
	}
	res, err := sweep(ctx, src, store, opts)
	recordSweep(ctx, opts.MeterProvider, res, err)
	return res, err
}

func sweep(ctx context.Context, src SweepSource, store SweepStore, opts SweepOptions) (SweepResult, error) {
	res := SweepResult{Failed: map[string]error{}}
	// fresh holds the invoices this run saved from the provider, by lower
	// case id, so the money records' repair does not ask for them again.
	fresh := map[string]bool{}
	first := firstSince(ctx, store)
	modKey, openKey := "modified:"+opts.Tenant, "open:"+opts.Tenant
	mark, err := store.SweepMark(ctx, modKey)
	if err != nil {
		return res, fmt.Errorf("billing: sweep mark: %w", err)
	}
	since := mark.Add(-opts.Overlap)
	if mark.IsZero() {
		if since, err = first(); err != nil {
			return res, err
		}
	}
	res.Since = since
	latest := mark
	if !since.IsZero() {
		for page := 1; ; page++ {
			p, err := src.InvoicesModifiedSince(ctx, since, page)
			if err != nil {
				return res, fmt.Errorf("billing: sweep: page %d: %w", page, err)
			}
			res.Pages++
			res.Seen += len(p.Invoices) + len(p.Unreadable)
			if err := res.save(ctx, store, p.Invoices, fresh); err != nil {
				return res, err
			}
			if err := res.queue(ctx, store, p.Unreadable, opts); err != nil {
				return res, err
			}
			if p.Latest.After(latest) {
				latest = p.Latest
			}
			if !p.More || len(p.Invoices)+len(p.Unreadable) == 0 {
				break
			}
		}
		if len(res.Failed) == 0 && latest.After(mark) {
			if err := store.SetSweepMark(ctx, modKey, latest); err != nil {
				return res, fmt.Errorf("billing: saving the sweep mark: %w", err)
			}
		}
	}

	lastOpen, err := store.SweepMark(ctx, openKey)
	if err != nil {
		return res, fmt.Errorf("billing: sweep mark: %w", err)
	}
	now := opts.Now()
	if opts.OpenNow || now.Sub(lastOpen) >= opts.OpenEvery {
		if err := res.checkOpen(ctx, src, store, opts.Batch, fresh); err != nil {
			return res, err
		}
		if len(res.Failed) == 0 {
			if err := store.SetSweepMark(ctx, openKey, now); err != nil {
				return res, fmt.Errorf("billing: saving the sweep mark: %w", err)
			}
		}
	}

	var touched touchedInvoices
	if err := sweepMoney(ctx, store, creditNoteKind(src, store), first, opts, &res.CreditNotes, &touched); err != nil {
		return res, err
	}
	if err := sweepMoney(ctx, store, paymentKind(src, store), first, opts, &res.Payments, &touched); err != nil {
		return res, err
	}
	if err := res.repair(ctx, src, store, touched.except(fresh), opts); err != nil {
		return res, err
	}

	if d, ok := src.(EventDeliverer); ok {
		if _, err := d.DeliverEvents(ctx); err != nil {
			return res, err
		}
	}
	opts.Logger.LogAttrs(ctx, slog.LevelInfo, "billing: swept invoices",
		slog.Time("since", res.Since), slog.Int("pages", res.Pages), slog.Int("seen", res.Seen),
		slog.Int("changed", len(res.Changed)), slog.Int("open_checked", res.OpenChecked), slog.Int("failed", len(res.Failed)),
		slog.Int("unreadable", len(res.Unreadable)),
		slog.Group("credit_notes", res.CreditNotes.attrs()...), slog.Group("payments", res.Payments.attrs()...),
		slog.Int("repaired", res.Repaired))
	return res, nil
}

// firstSince returns where a sweep without a mark starts: a day before the
// store's oldest invoice's issue date, or the zero time when the store holds
// no invoice (nothing to sweep for). The store is asked once.
func firstSince(ctx context.Context, store SweepStore) func() (time.Time, error) {
	var (
		asked bool
		since time.Time
	)
	return func() (time.Time, error) {
		if asked {
			return since, nil
		}
		first, err := store.EarliestIssueDate(ctx)
		if err != nil {
			return time.Time{}, fmt.Errorf("billing: sweep: earliest invoice: %w", err)
		}
		asked = true
		if !first.IsZero() {
			since = first.In(time.UTC).AddDate(0, 0, -1)
		}
		return since, nil
	}
}

// save stores the provider's states; invoices the store does not know are
// not the app's and are skipped. Those saved are added to fresh.
func (r *SweepResult) save(ctx context.Context, store SweepStore, invs []Invoice, fresh map[string]bool) error {
	if len(invs) == 0 {
		return nil
	}
	saved, err := store.SaveInvoiceStates(ctx, invs)
	if err != nil {
		return fmt.Errorf("billing: sweep: saving: %w", err)
	}
	for i, s := range saved {
		switch {
		case errors.Is(s.Err, ErrNotFound):
		case s.Err != nil:
			r.Failed[invs[i].ProviderID] = s.Err
		default:
			fresh[strings.ToLower(invs[i].ProviderID)] = true
			if s.Changed {
				r.Changed = append(r.Changed, s.After.Number)
			}
		}
	}
	return nil
}

// queue applies Sweep's rules to a page's unreadable invoices: those the
// store knows are marked for the fetch job, the others only reported.
// Each is marked alone, so the count says whether the store knows it.
func (r *SweepResult) queue(ctx context.Context, store SweepStore, bad []UnreadableInvoice, opts SweepOptions) error {
	for _, u := range bad {
		if u.ProviderID != "" {
			n, err := store.MarkUpdateNeeded(ctx, []string{u.ProviderID}, opts.Now())
			if err != nil {
				return fmt.Errorf("billing: sweep: marking the unreadable invoice %s: %w", u.ProviderID, err)
			}
			u.Queued = n > 0
		}
		r.Unreadable = append(r.Unreadable, u)
		msg := "billing: sweep: an invoice the provider sent cannot be read; it is not in the store, so only reported"
		if u.Queued {
			msg = "billing: sweep: an invoice the provider sent cannot be read; marked for the fetch job, which sets it aside if it stays so"
		}
		opts.Logger.LogAttrs(ctx, slog.LevelWarn, msg, slog.String("provider_id", u.ProviderID), slog.Any("error", u.Err))
	}
	return nil
}

// checkOpen refreshes every open invoice by id, batch by batch, adding
// those saved to fresh.
func (r *SweepResult) checkOpen(ctx context.Context, src SweepSource, store SweepStore, batch int, fresh map[string]bool) error {
	ids, err := store.OpenInvoices(ctx)
	if err != nil {
		return fmt.Errorf("billing: sweep: open invoices: %w", err)
	}
	for start := 0; start < len(ids); start += batch {
		chunk := ids[start:min(start+batch, len(ids))]
		ur, err := src.UpdateInvoices(ctx, chunk)
		if err != nil {
			return fmt.Errorf("billing: sweep: refreshing open invoices: %w", err)
		}
		r.OpenChecked += len(chunk)
		for id, ferr := range ur.Failed {
			r.Failed[id] = ferr
		}
		for _, id := range ur.Missing {
			r.Failed[id] = fmt.Errorf("%w: the provider no longer has invoice %s", ErrNotFound, id)
		}
		for _, inv := range ur.Updated {
			fresh[strings.ToLower(inv.ProviderID)] = true
		}
		r.Changed = append(r.Changed, ur.Changed...)
	}
	return nil
}
