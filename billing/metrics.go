package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// meterName is the instrumentation scope of billing's metrics.
const meterName = "github.com/amsbilling/sdk/billing"

// keyOutcome is the attribute that splits billing's counters.
const keyOutcome = attribute.Key("outcome")

// meter returns billing's meter from mp, or from otel.GetMeterProvider()
// when mp is nil.
func meter(mp metric.MeterProvider) metric.Meter {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	return mp.Meter(meterName)
}

// handle reports instrument errors to OpenTelemetry's error handler; the
// instruments work all the same.
func handle(errs ...error) {
	if err := errors.Join(errs...); err != nil {
		otel.Handle(err)
	}
}

// outcome attributes, made once per run.
func outcome(v string) metric.AddOption {
	return metric.WithAttributeSet(attribute.NewSet(keyOutcome.String(v)))
}

// runOutcome classifies a run of the fetch job or the sweep: "ok";
// "unauthorized" (ErrUnauthorized); "stopped" (a temporary error: rate
// limit, outage, cancelled context, store failure); partial when the run
// finished but some invoices failed; "error" for anything else.
func runOutcome(err error, failed bool, partial string) string {
	switch {
	case err == nil && !failed:
		return "ok"
	case err == nil:
		return partial
	case errors.Is(err, ErrUnauthorized):
		return "unauthorized"
	case IsTemporary(err):
		return "stopped"
	case failed:
		return partial
	}
	return "error"
}

// counter makes one of billing's counters; an instrument error goes to
// OpenTelemetry's handler and the counter works all the same.
func counter(mp metric.MeterProvider, name, unit, description string) metric.Int64Counter {
	c, err := meter(mp).Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(description))
	handle(err)
	return c
}

// count is how many things of one outcome ("" for none) a run saw.
type count struct {
	outcome string
	n       int
}

// addCounts adds each count that is not zero, under its outcome.
func addCounts(ctx context.Context, c metric.Int64Counter, counts ...count) {
	for _, k := range counts {
		switch {
		case k.n == 0:
		case k.outcome == "":
			c.Add(ctx, int64(k.n))
		default:
			c.Add(ctx, int64(k.n), outcome(k.outcome))
		}
	}
}

// recordFetch counts one FetchInvoiceUpdates run, its invoices and its
// credit notes.
func recordFetch(ctx context.Context, mp metric.MeterProvider, res FetchResult, err error) {
	cn := res.CreditNotes
	counter(mp, "billing.fetch.runs", "{run}",
		"Runs of the fetch job (FetchInvoiceUpdates, each batch of FetchAllInvoiceUpdates), by outcome.").
		Add(ctx, 1, outcome(runOutcome(err, len(res.Failed)+len(cn.Failed) > 0, "invoice_failed")))
	addCounts(ctx, counter(mp, "billing.fetch.invoices", "{invoice}",
		"Invoices the fetch job handled: updated and unmarked, remarked (marked again meanwhile) or failed."),
		count{"updated", len(res.Updated)}, count{"remarked", len(res.Remarked)}, count{"failed", len(res.Failed)})
	addCounts(ctx, counter(mp, "billing.fetch.credit_notes", "{credit_note}",
		"Credit notes the fetch job handled: refreshed and unmarked, dropped (unmarked, not kept), remarked or failed."),
		count{"refreshed", len(cn.Refreshed)}, count{"dropped", len(cn.Dropped)},
		count{"remarked", len(cn.Remarked)}, count{"failed", len(cn.Failed)})
}

// recordDelivery counts one DeliverEvents run's events.
func recordDelivery(ctx context.Context, mp metric.MeterProvider, res DeliveryResult) {
	addCounts(ctx, counter(mp, "billing.events.delivered", "{event}",
		"Invoice events the app's InvoiceHook took."), count{"", res.Delivered})
	addCounts(ctx, counter(mp, "billing.events.failed", "{event}",
		"Invoice event deliveries the app's InvoiceHook refused (an error or a panic); the events stay pending."), count{"", res.Failed})
}

// recordSweep counts one Sweep and the invoices it changed or failed.
func recordSweep(ctx context.Context, mp metric.MeterProvider, res SweepResult, err error) {
	counter(mp, "billing.sweep.runs", "{run}", "Runs of the sweep, by outcome.").
		Add(ctx, 1, outcome(runOutcome(err, !res.InStep(), "out_of_step")))
	addCounts(ctx, counter(mp, "billing.sweep.invoices", "{invoice}",
		"Invoices the sweep changed (a webhook was missed), could not bring in step, or could not read."),
		count{"changed", len(res.Changed)}, count{"failed", len(res.Failed)}, count{"unreadable", len(res.Unreadable)})
}

// ObservedStore is what ObserveStore reads. Every Store has it.
type ObservedStore interface {
	MarkCounter
	PendingEvents(ctx context.Context, limit int) ([]InvoiceEvent, error)
	PendingCreations(ctx context.Context) ([]Creation, error)
	SetAsideInvoices(ctx context.Context) ([]Invoice, error)
}

// Defaults and bounds of ObserveStore.
const (
	// DefaultObserveTimeout bounds the store reads of one collection.
	DefaultObserveTimeout = 2 * time.Second
	// MaxObservedEvents bounds the events one collection reads:
	// billing.events.pending says at most this many.
	MaxObservedEvents = 1000
)

// ObserveOptions tune ObserveStore. The zero value is ready to use.
type ObserveOptions struct {
	// MeterProvider receives the gauges; default otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
	// Timeout bounds the store reads of one collection (default 2s), so a
	// slow database cannot hold a scrape.
	Timeout time.Duration
	// Now is the clock of billing.marks.oldest_age (default time.Now).
	Now func() time.Time
	// Logger hears about failed reads (default: discarded); the gauge of
	// a failed read is left out of that collection.
	Logger *slog.Logger
}

// ObserveStore registers gauges read from store each time the app's metrics
// are collected (a Prometheus scrape, an OTLP export): the marked invoices
// (billing.marks.pending) and the age of the oldest mark
// (billing.marks.oldest_age), the undelivered events
// (billing.events.pending, at most MaxObservedEvents), the creations whose
// outcome is not known yet (billing.creations.pending) and the invoices set
// aside (billing.invoices.set_aside). The reads of one collection share
// opts.Timeout. Nothing is read until then; call Unregister on the result
// to stop.
func ObserveStore(store ObservedStore, opts ObserveOptions) (metric.Registration, error) {
	if store == nil {
		return nil, errors.New("billing: observe store: no store")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultObserveTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	m := meter(opts.MeterProvider)
	marks, err1 := m.Int64ObservableGauge("billing.marks.pending",
		metric.WithUnit("{invoice}"),
		metric.WithDescription("Invoices marked by webhooks and waiting for the fetch job, set-aside ones excluded."))
	oldest, err2 := m.Float64ObservableGauge("billing.marks.oldest_age",
		metric.WithUnit("s"),
		metric.WithDescription("How long the oldest pending mark has waited; 0 when none waits."))
	events, err3 := m.Int64ObservableGauge("billing.events.pending",
		metric.WithUnit("{event}"),
		metric.WithDescription(fmt.Sprintf("Invoice events not yet taken by the app's InvoiceHook (at most %d are counted).", MaxObservedEvents)))
	creations, err4 := m.Int64ObservableGauge("billing.creations.pending",
		metric.WithUnit("{creation}"),
		metric.WithDescription("Invoice creations begun whose outcome at the provider is not known yet."))
	aside, err5 := m.Int64ObservableGauge("billing.invoices.set_aside",
		metric.WithUnit("{invoice}"),
		metric.WithDescription("Invoices whose fetch failed too often: no longer fetched until marked again."))
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		return nil, fmt.Errorf("billing: observe store: %w", err)
	}
	return m.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
		var errs []error
		if n, at, err := store.CountMarked(ctx); err != nil {
			errs = append(errs, fmt.Errorf("counting marks: %w", err))
		} else {
			age := 0.0
			if n > 0 {
				age = max(0, opts.Now().Sub(at).Seconds())
			}
			o.ObserveInt64(marks, int64(n))
			o.ObserveFloat64(oldest, age)
		}
		if evs, err := store.PendingEvents(ctx, MaxObservedEvents); err != nil {
			errs = append(errs, fmt.Errorf("listing pending events: %w", err))
		} else {
			o.ObserveInt64(events, int64(len(evs)))
		}
		if cs, err := store.PendingCreations(ctx); err != nil {
			errs = append(errs, fmt.Errorf("listing pending creations: %w", err))
		} else {
			o.ObserveInt64(creations, int64(len(cs)))
		}
		if invs, err := store.SetAsideInvoices(ctx); err != nil {
			errs = append(errs, fmt.Errorf("listing set-aside invoices: %w", err))
		} else {
			o.ObserveInt64(aside, int64(len(invs)))
		}
		if err := errors.Join(errs...); err != nil {
			// Logged, not returned: the other gauges are good, and the
			// app's logger, not OpenTelemetry's, is where the SDK speaks.
			opts.Logger.LogAttrs(ctx, slog.LevelWarn, "billing: reading the store for metrics failed", slog.Any("error", err))
		}
		return nil
	}, marks, oldest, events, creations, aside)
}
