package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// InvoiceEvent is one change to an invoice, recorded in the same transaction
// as the new state, and delivered to the app's InvoiceHook at least once.
type InvoiceEvent struct {
	// ID is stable: the same on every delivery attempt, so the app can
	// de-duplicate with it. Change.EventID holds it too.
	ID        string
	Change    InvoiceChange
	CreatedAt time.Time
	// Attempts counts failed deliveries; LastError is the latest failure.
	Attempts  int
	LastError string
	// NextAttemptAt is when the event may be delivered again.
	NextAttemptAt time.Time
	// NextWaiting is true when a later undelivered event of the same
	// invoice waits behind this one, as ClaimEvents and PendingEvents saw
	// the queue. A delivery round whose events have none, and that claimed
	// fewer than it asked for, has left nothing due to claim.
	NextWaiting bool
}

// EventQueue holds the events not yet delivered to the app.
type EventQueue interface {
	// ClaimEvents leases, until now+lease, up to limit undelivered events
	// whose NextAttemptAt has come and that no unexpired lease holds;
	// of each invoice only its oldest undelivered event, so one invoice's
	// events reach the app in order. Oldest first, each with NextWaiting
	// set. A limit <= 0 claims nothing; a lease <= 0 is an error.
	ClaimEvents(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]InvoiceEvent, error)
	// EventDelivered records, in one call, that the app took these events;
	// they are no longer pending. Unknown ids are ignored.
	EventDelivered(ctx context.Context, ids ...string) error
	// EventFailed records a failed delivery: Attempts+1, LastError =
	// reason, NextAttemptAt = retryAt, and the lease ends.
	EventFailed(ctx context.Context, id, reason string, retryAt time.Time) error
	// PendingEvents lists undelivered events, oldest first, at most limit
	// of them (limit <= 0: all), for operators.
	PendingEvents(ctx context.Context, limit int) ([]InvoiceEvent, error)
}

// EventDeliverer is implemented by services that deliver the store's pending
// events to the app's hook (xero.Service): after every UpdateInvoices, and
// when asked. The fetch job asks when it refreshed nothing, and the sweep
// after saving states itself, so an event whose delivery failed is retried
// on their next run.
type EventDeliverer interface {
	DeliverEvents(ctx context.Context) (DeliveryResult, error)
}

// Defaults of DeliverOptions.
const (
	DefaultDeliverLimit = 500
	DefaultDeliverLease = 5 * time.Minute
)

// DeliverOptions tune DeliverEvents. The zero value is ready to use.
type DeliverOptions struct {
	// Limit bounds the events one run delivers (default 500).
	Limit int
	// Lease is how long a claimed event stays with this run if it never
	// finishes (a crash); default 5m.
	Lease time.Duration
	// Backoff is the wait before a failed event is tried again, after
	// attempts failures (1, 2, ...); default 30s doubling up to an hour.
	Backoff func(attempts int) time.Duration
	Now     func() time.Time
	Logger  *slog.Logger
	// MeterProvider receives billing.events.delivered and
	// billing.events.failed; default otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
}

func (o *DeliverOptions) defaults() {
	if o.Limit <= 0 {
		o.Limit = DefaultDeliverLimit
	}
	if o.Lease <= 0 {
		o.Lease = DefaultDeliverLease
	}
	if o.Backoff == nil {
		o.Backoff = defaultBackoff
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

func defaultBackoff(attempts int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < attempts && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// DeliveryResult is what one DeliverEvents run did.
type DeliveryResult struct {
	Delivered int // events the hook took
	Failed    int // events whose hook failed; they stay pending
}

// DeliverEvents hands the queue's due events to hook, oldest first and in
// order per invoice, until none is due or opts.Limit is reached. An event
// the hook takes (nil error) is delivered; one it refuses (an error, or a
// panic) stays pending and is tried again after opts.Backoff, and the
// invoice's later events wait for it. A nil hook takes every event: with
// nobody to tell, events do not pile up. The error is the store's, if any;
// hook failures are counted, not returned.
func DeliverEvents(ctx context.Context, q EventQueue, hook InvoiceHook, opts DeliverOptions) (DeliveryResult, error) {
	opts.defaults()
	res, err := deliverEvents(ctx, q, hook, opts)
	recordDelivery(ctx, opts.MeterProvider, res)
	return res, err
}

func deliverEvents(ctx context.Context, q EventQueue, hook InvoiceHook, opts DeliverOptions) (DeliveryResult, error) {
	var res DeliveryResult
	if q == nil {
		return res, errors.New("billing: deliver events: no event queue")
	}
	for res.Delivered+res.Failed < opts.Limit {
		limit := opts.Limit - res.Delivered - res.Failed
		evs, err := q.ClaimEvents(ctx, opts.Now(), limit, opts.Lease)
		if err != nil {
			return res, fmt.Errorf("billing: claiming events: %w", err)
		}
		if len(evs) == 0 {
			return res, nil
		}
		var delivered []string
		// unblocked is set when a delivery lets a later event of its
		// invoice be claimed.
		unblocked := false
		for _, ev := range evs {
			ev.Change.EventID = ev.ID
			herr := callHook(ctx, hook, ev.Change)
			if herr == nil {
				delivered = append(delivered, ev.ID)
				unblocked = unblocked || ev.NextWaiting
				continue
			}
			res.Failed++
			retry := opts.Now().Add(opts.Backoff(ev.Attempts + 1))
			opts.Logger.LogAttrs(ctx, slog.LevelWarn, "billing: invoice hook failed; the event stays pending",
				slog.String("event", ev.ID), slog.String("invoice", ev.Change.After.Number),
				slog.Int("attempts", ev.Attempts+1), slog.Time("retry_at", retry), slog.String("error", herr.Error()))
			if err := q.EventFailed(context.WithoutCancel(ctx), ev.ID, herr.Error(), retry); err != nil {
				return res, fmt.Errorf("billing: recording failed delivery of event %s: %w", ev.ID, err)
			}
		}
		// The round's deliveries are recorded together: a crash before this
		// delivers them again, which at-least-once allows.
		if len(delivered) > 0 {
			if err := q.EventDelivered(context.WithoutCancel(ctx), delivered...); err != nil {
				return res, fmt.Errorf("billing: recording %d deliveries: %w", len(delivered), err)
			}
			res.Delivered += len(delivered)
		}
		if len(delivered) == 0 || ctx.Err() != nil {
			// Nothing unblocked a later event: the rest waits for its turn.
			return res, ctx.Err()
		}
		if len(evs) < limit && !unblocked {
			// The claim took every event due, and none of those delivered
			// had another behind it: a claim now would find nothing. (An
			// event saved since the claim waits for the next delivery: its
			// saver's own, or the next fetch or sweep's.)
			return res, nil
		}
	}
	return res, nil
}

// callHook runs hook, turning a panic into an error so one bad event cannot
// stop the others.
func callHook(ctx context.Context, hook InvoiceHook, c InvoiceChange) (err error) {
	if hook == nil {
		return nil
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("invoice hook panicked: %v", p)
		}
	}()
	return hook(ctx, c)
}
