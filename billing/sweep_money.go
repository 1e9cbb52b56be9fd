package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// CreditNotePage is one page of CreditNotesModifiedSince.
type CreditNotePage struct {
	// CreditNotes are the provider's states, ProviderID set. The app's
	// side of a credit note (Account, InvoiceID) is left zero, so a save
	// keeps what the store holds.
	CreditNotes []CreditNote
	// Unreadable are the page's credit notes that could not be read (each
	// Err matches ErrUnreadable); they never fail the page.
	Unreadable []UnreadableRecord
	// Latest is the latest modification time in the page's readable
	// records, those of other kinds (purchase credit notes) included.
	Latest time.Time
	// More is true when another page follows.
	More bool
}

// PaymentPage is one page of PaymentsModifiedSince.
type PaymentPage struct {
	// Payments are the provider's states, ProviderID set: a payment of an
	// invoice has InvoiceID, a refund CreditNoteID only.
	Payments   []Payment
	Unreadable []UnreadableRecord // as CreditNotePage.Unreadable
	Latest     time.Time          // as CreditNotePage.Latest
	More       bool
}

// UnreadableRecord is a credit note or payment the provider sent that could
// not be read.
type UnreadableRecord struct {
	// ProviderID is its id at the provider; empty when even that could
	// not be read.
	ProviderID string
	// Err says why; it matches ErrUnreadable.
	Err error
}

// MoneySweep reports what one Sweep did with one kind of money record
// (credit notes, or payments).
type MoneySweep struct {
	Since time.Time // the modification time asked from (zero: not asked)
	Pages int       // pages read
	Seen  int       // records the provider returned, unreadable ones included
	// Saved counts the records the store keeps (new, changed or not);
	// Changed those of them that were new or changed.
	Saved, Changed int
	// Ignored counts the records of nothing the store holds, not kept.
	Ignored int
	// Failed lists, by provider id, the records the store refused for
	// another reason (a credit note's number held by another, say).
	Failed map[string]error
	// Unreadable lists the records that could not be read, in the order
	// met; they are only reported.
	Unreadable []UnreadableRecord
}

func (m MoneySweep) attrs() []any {
	return []any{slog.Int("pages", m.Pages), slog.Int("seen", m.Seen), slog.Int("saved", m.Saved),
		slog.Int("changed", m.Changed), slog.Int("ignored", m.Ignored), slog.Int("failed", len(m.Failed)),
		slog.Int("unreadable", len(m.Unreadable))}
}

// moneySaved is what the store did with one money record, as the sweep
// needs it.
type moneySaved struct {
	changed bool
	// invoices are the ids of the invoices whose amounts a change of the
	// record moves.
	invoices []string
	err      error
}

// moneyPage is one page of a kind of money record.
type moneyPage[T any] struct {
	records    []T
	ids        func(int) string // the provider id of records[i]
	unreadable []UnreadableRecord
	latest     time.Time
	more       bool
}

// moneyKind is how Sweep lists and saves one kind of money record.
type moneyKind[T any] struct {
	name string // for errors and logs
	mark string // the mark's name, before the tenant
	list func(ctx context.Context, since time.Time, page int) (moneyPage[T], error)
	save func(ctx context.Context, recs []T) ([]moneySaved, error)
}

func creditNoteKind(src SweepSource, store SweepStore) moneyKind[CreditNote] {
	return moneyKind[CreditNote]{
		name: "credit note",
		mark: "modified-credit-notes:",
		list: func(ctx context.Context, since time.Time, page int) (moneyPage[CreditNote], error) {
			p, err := src.CreditNotesModifiedSince(ctx, since, page)
			return moneyPage[CreditNote]{records: p.CreditNotes, ids: func(i int) string { return p.CreditNotes[i].ProviderID },
				unreadable: p.Unreadable, latest: p.Latest, more: p.More}, err
		},
		save: func(ctx context.Context, cs []CreditNote) ([]moneySaved, error) {
			saved, err := store.SaveCreditNoteStates(ctx, cs)
			if err != nil {
				return nil, err
			}
			out := make([]moneySaved, len(saved))
			for i, s := range saved {
				out[i] = moneySaved{changed: s.Changed, err: s.Err}
				// An allocation added, changed or gone moves its invoice.
				for _, a := range slices.Concat(s.Before.Allocations, s.After.Allocations) {
					out[i].invoices = append(out[i].invoices, a.InvoiceID)
				}
			}
			return out, nil
		},
	}
}

func paymentKind(src SweepSource, store SweepStore) moneyKind[Payment] {
	return moneyKind[Payment]{
		name: "payment",
		mark: "modified-payments:",
		list: func(ctx context.Context, since time.Time, page int) (moneyPage[Payment], error) {
			p, err := src.PaymentsModifiedSince(ctx, since, page)
			return moneyPage[Payment]{records: p.Payments, ids: func(i int) string { return p.Payments[i].ProviderID },
				unreadable: p.Unreadable, latest: p.Latest, more: p.More}, err
		},
		save: func(ctx context.Context, ps []Payment) ([]moneySaved, error) {
			saved, err := store.SavePaymentStates(ctx, ps)
			if err != nil {
				return nil, err
			}
			out := make([]moneySaved, len(saved))
			for i, s := range saved {
				// A refund moves its credit note, which the credit
				// notes' pages bring; no invoice.
				out[i] = moneySaved{changed: s.Changed, err: s.Err, invoices: []string{s.Before.InvoiceID, s.After.InvoiceID}}
			}
			return out, nil
		},
	}
}

// sweepMoney pages one kind of money record modified since its mark (first
// when there is none), saves each page, records what it did in out and the
// invoices changes name in touched, and moves the mark when nothing
// failed.
func sweepMoney[T any](ctx context.Context, store SweepStore, k moneyKind[T], first func() (time.Time, error),
	opts SweepOptions, out *MoneySweep, touched *touchedInvoices) error {
	out.Failed = map[string]error{}
	key := k.mark + opts.Tenant
	mark, err := store.SweepMark(ctx, key)
	if err != nil {
		return fmt.Errorf("billing: sweep mark: %w", err)
	}
	since := mark.Add(-opts.Overlap)
	if mark.IsZero() {
		if since, err = first(); err != nil {
			return err
		}
	}
	out.Since = since
	if since.IsZero() {
		return nil
	}
	latest := mark
	for page := 1; ; page++ {
		p, err := k.list(ctx, since, page)
		if err != nil {
			return fmt.Errorf("billing: sweep: %s page %d: %w", k.name, page, err)
		}
		out.Pages++
		out.Seen += len(p.records) + len(p.unreadable)
		if len(p.records) > 0 {
			saved, err := k.save(ctx, p.records)
			if err != nil {
				return fmt.Errorf("billing: sweep: saving %ss: %w", k.name, err)
			}
			for i, s := range saved {
				switch {
				case errors.Is(s.err, ErrNotFound):
					out.Ignored++
				case s.err != nil:
					out.Failed[p.ids(i)] = s.err
				default:
					out.Saved++
					if s.changed {
						out.Changed++
						touched.add(s.invoices...)
					}
				}
			}
		}
		for _, u := range p.unreadable {
			out.Unreadable = append(out.Unreadable, u)
			opts.Logger.LogAttrs(ctx, slog.LevelWarn, "billing: sweep: a "+k.name+" the provider sent cannot be read; only reported",
				slog.String("provider_id", u.ProviderID), slog.Any("error", u.Err))
		}
		if p.latest.After(latest) {
			latest = p.latest
		}
		if !p.more || len(p.records)+len(p.unreadable) == 0 {
			break
		}
	}
	if len(out.Failed) == 0 && latest.After(mark) {
		if err := store.SetSweepMark(ctx, key, latest); err != nil {
			return fmt.Errorf("billing: saving the sweep mark: %w", err)
		}
	}
	return nil
}

// touchedInvoices are the invoices changed money records name, each once,
// in the order met.
type touchedInvoices struct {
	ids  []string
	seen map[string]bool
}

func (t *touchedInvoices) add(ids ...string) {
	for _, id := range ids {
		key := strings.ToLower(id)
		if id == "" || t.seen[key] {
			continue
		}
		if t.seen == nil {
			t.seen = map[string]bool{}
		}
		t.seen[key] = true
		t.ids = append(t.ids, id)
	}
}

// except returns the ids not in fresh (lower case ids).
func (t *touchedInvoices) except(fresh map[string]bool) []string {
	var out []string
	for _, id := range t.ids {
		if !fresh[strings.ToLower(id)] {
			out = append(out, id)
		}
	}
	return out
}

// repair refreshes the invoices changed money records name, batch by batch.
// An invoice the store does not hold is not the app's (a credit note
// allocated to several invoices, one of them made outside the app) and is
// skipped. When a refresh fails, the ids not refreshed yet are marked for
// the fetch job, so the failure loses nothing, and the sweep fails.
func (r *SweepResult) repair(ctx context.Context, src SweepSource, store SweepStore, ids []string, opts SweepOptions) error {
	for start := 0; start < len(ids); start += opts.Batch {
		chunk := ids[start:min(start+opts.Batch, len(ids))]
		ur, err := src.UpdateInvoices(ctx, chunk)
		if err != nil {
			err = fmt.Errorf("billing: sweep: refreshing the invoices of changed payments and credit notes: %w", err)
			if _, merr := store.MarkUpdateNeeded(ctx, ids[start:], opts.Now()); merr != nil {
				return errors.Join(err, fmt.Errorf("billing: sweep: marking %d invoices for the fetch job: %w", len(ids)-start, merr))
			}
			return err
		}
		r.Repaired += len(ur.Updated)
		for id, ferr := range ur.Failed {
			if !errors.Is(ferr, ErrNotFound) {
				r.Failed[id] = ferr
			}
		}
		for _, id := range ur.Missing {
			r.Failed[id] = fmt.Errorf("%w: the provider no longer has invoice %s", ErrNotFound, id)
		}
		r.Changed = append(r.Changed, ur.Changed...)
	}
	return nil
}
