package webhook

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// meterName is the instrumentation scope of the Handler's metrics.
const meterName = "github.com/amsbilling/sdk/webhook"

// outcome is what became of one delivery: the outcome attribute of
// webhook.deliveries and webhook.delivery.duration.
type outcome int

const (
	outcomeOK               outcome = iota // 200: verified, and the marks stored
	outcomeBadSignature                    // 401: missing or wrong signature
	outcomeTooLarge                        // 413: over MaxBodyBytes
	outcomeMalformed                       // 400: signed, but not a payload
	outcomeReadFailed                      // 400: the body could not be read
	outcomeStoreFailed                     // 500: the marks were not stored
	outcomeMethodNotAllowed                // 405: not a POST
	numOutcomes
)

func (o outcome) String() string {
	switch o {
	case outcomeOK:
		return "ok"
	case outcomeBadSignature:
		return "bad_signature"
	case outcomeTooLarge:
		return "too_large"
	case outcomeMalformed:
		return "malformed"
	case outcomeReadFailed:
		return "read_failed"
	case outcomeStoreFailed:
		return "store_failed"
	case outcomeMethodNotAllowed:
		return "method_not_allowed"
	}
	return "unknown"
}

// handlerMetrics are a Handler's instruments, made once in New, with one
// attribute set per outcome, so recording a delivery allocates nothing.
type handlerMetrics struct {
	deliveries metric.Int64Counter
	duration   metric.Float64Histogram
	marked     metric.Int64Counter
	credits    metric.Int64Counter
	add        [numOutcomes][]metric.AddOption
	record     [numOutcomes][]metric.RecordOption
}

func newHandlerMetrics(mp metric.MeterProvider) *handlerMetrics {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	meter := mp.Meter(meterName)
	m := &handlerMetrics{}
	var err1, err2, err3, err4 error
	m.deliveries, err1 = meter.Int64Counter("webhook.deliveries",
		metric.WithUnit("{delivery}"),
		metric.WithDescription("Webhook deliveries received, by outcome."))
	m.duration, err2 = meter.Float64Histogram("webhook.delivery.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Time from receiving a delivery to answering it, by outcome."),
		// The semantic conventions' advice for HTTP request durations.
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10))
	m.marked, err3 = meter.Int64Counter("billing.invoices.marked",
		metric.WithUnit("{invoice}"),
		metric.WithDescription("Invoices the webhook marked update-needed (ids unknown to the store are not counted)."))
	m.credits, err4 = meter.Int64Counter("billing.credit_notes.marked",
		metric.WithUnit("{credit_note}"),
		metric.WithDescription("Credit notes the webhook marked for a refresh (sales credit notes, stored or not)."))
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		// The instruments still work; OpenTelemetry's error handler reports it.
		otel.Handle(err)
	}
	for o := range numOutcomes {
		set := metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", o.String())))
		m.add[o] = []metric.AddOption{set}
		m.record[o] = []metric.RecordOption{set}
	}
	return m
}

// delivered records one delivery.
func (m *handlerMetrics) delivered(ctx context.Context, o outcome, marked, credits int, d time.Duration) {
	m.deliveries.Add(ctx, 1, m.add[o]...)
	m.duration.Record(ctx, d.Seconds(), m.record[o]...)
	if marked > 0 {
		m.marked.Add(ctx, int64(marked))
	}
	if credits > 0 {
		m.credits.Add(ctx, int64(credits))
	}
}
