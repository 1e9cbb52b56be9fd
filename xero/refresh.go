package xero

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/amsbilling/sdk/billing"
)

var (
	_ billing.EventDeliverer = (*Service)(nil)
	_ billing.SweepSource    = (*Service)(nil)
)

// UpdateInvoices implements billing.Service. Ids that are not GUIDs can
// never be Xero invoices: they go to Failed without a call, as do invoices
// whose record Xero flagged or that could not be read (a *RecordError),
// while the others are saved. Duplicates are handled once. Every state is saved in one store transaction, each change
// with its event, and the pending events are then delivered to the hook.
// A failed fetch or store fails the whole call; a rate limit comes back as
// the *ratelimit.RateLimitError itself.
func (s *Service) UpdateInvoices(ctx context.Context, providerIDs []string) (billing.UpdateResult, error) {
	res := billing.UpdateResult{Failed: make(map[string]error)}
	if err := s.ready(); err != nil {
		return res, err
	}
	var ids []string
	seen := make(map[string]bool, len(providerIDs))
	for _, id := range providerIDs {
		key := strings.ToLower(id)
		if seen[key] {
			continue
		}
		seen[key] = true
		if !isGUID(id) {
			res.Failed[id] = fmt.Errorf("xero: %q is not a Xero invoice id", clip(id, 64))
			continue
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return res, nil
	}
	fetched, unreadable, err := s.client.GetInvoices(ctx, ids)
	if err != nil {
		return billing.UpdateResult{}, err
	}
	byID := make(map[string]Invoice, len(fetched))
	for _, inv := range fetched {
		byID[strings.ToLower(inv.InvoiceID)] = inv
	}
	// A record Xero flagged or that could not be read fails that invoice
	// only; the others are saved.
	bad := make(map[string]error, len(unreadable))
	for _, rerr := range unreadable {
		bad[strings.ToLower(rerr.InvoiceID)] = rerr
	}
	var states []billing.Invoice
	for _, id := range ids {
		if rerr := bad[strings.ToLower(id)]; rerr != nil {
			res.Failed[id] = rerr
			continue
		}
		x, ok := byID[strings.ToLower(id)]
		if !ok {
			res.Missing = append(res.Missing, id)
			continue
		}
		state := localInvoice(x)
		state.ProviderID = id // as the store knows it
		states = append(states, state)
	}
	if err := s.save(ctx, states, &res); err != nil {
		return res, err
	}
	s.deliver(ctx)
	return res, nil
}

// save stores states in one transaction and fills res.
func (s *Service) save(ctx context.Context, states []billing.Invoice, res *billing.UpdateResult) error {
	if len(states) == 0 {
		return nil
	}
	saved, err := s.store.SaveInvoiceStates(ctx, states)
	if err != nil {
		// The store failed, not an invoice: a reason to stop and retry.
		return storeError{fmt.Errorf("xero: saving %d invoice states: %w", len(states), err)}
	}
	for i, sv := range saved {
		if sv.Err != nil {
			res.Failed[states[i].ProviderID] = sv.Err
			continue
		}
		res.Updated = append(res.Updated, sv.After)
		if sv.Changed {
			res.Changed = append(res.Changed, sv.After.Number)
		}
	}
	return nil
}

// storeError is a store failure during a refresh: temporary, so the fetch
// job keeps its marks instead of blaming invoices.
type storeError struct{ error }

func (e storeError) Unwrap() error   { return e.error }
func (e storeError) Temporary() bool { return true }

// DeliverEvents implements billing.EventDeliverer: it hands the store's due
// events to the invoice hook (see WithInvoiceHook and billing.DeliverEvents).
// Its metrics go to the Client's MeterProvider unless WithDelivery names
// another.
func (s *Service) DeliverEvents(ctx context.Context) (billing.DeliveryResult, error) {
	if err := s.ready(); err != nil {
		return billing.DeliveryResult{}, err
	}
	opts := s.delivery
	if opts.Logger == nil {
		opts.Logger = s.log
	}
	if opts.MeterProvider == nil {
		opts.MeterProvider = s.client.metrics.provider
	}
	return billing.DeliverEvents(ctx, s.store, s.hook, opts)
}

// deliver delivers due events after a save; a store failure here only
// delays them to the next run, so it is logged.
func (s *Service) deliver(ctx context.Context) {
	if _, err := s.DeliverEvents(ctx); err != nil && !errors.Is(err, context.Canceled) {
		s.log.WarnContext(ctx, "xero: delivering invoice events failed; they stay pending", slog.String("error", err.Error()))
	}
}

// InvoicesModifiedSince implements billing.SweepSource. A sales invoice
// of the page that cannot be read (a *RecordError) is in the page's
// Unreadable, by its InvoiceID; one that reads as another type (a bill) is
// not the app's and is left out, like a readable bill.
func (s *Service) InvoicesModifiedSince(ctx context.Context, since time.Time, page int) (billing.ModifiedPage, error) {
	if err := s.ready(); err != nil {
		return billing.ModifiedPage{}, err
	}
	invs, bad, more, err := s.client.InvoicesModifiedSince(ctx, since, page)
	if err != nil {
		return billing.ModifiedPage{}, err
	}
	out := billing.ModifiedPage{More: more}
	for _, x := range invs {
		if x.UpdatedDateUTC.After(out.Latest) {
			out.Latest = x.UpdatedDateUTC
		}
		if x.Type != "" && x.Type != InvoiceTypeSales {
			continue // bills to pay are not the app's
		}
		out.Invoices = append(out.Invoices, localInvoice(x))
	}
	for _, rerr := range bad {
		if t := recordType(rerr); t != "" && t != InvoiceTypeSales {
			continue
		}
		out.Unreadable = append(out.Unreadable, billing.UnreadableInvoice{ProviderID: rerr.InvoiceID, Err: rerr})
	}
	return out, nil
}
