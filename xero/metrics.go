package xero

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/amsbilling/sdk/ratelimit"
)

// meterName is the instrumentation scope of the Client's metrics.
const meterName = "github.com/amsbilling/sdk/xero"

// Attribute keys: OpenTelemetry's semantic conventions for HTTP clients,
// and the SDK's own under "xero.".
const (
	keyMethod    = attribute.Key("http.request.method")
	keyStatus    = attribute.Key("http.response.status_code")
	keyAddress   = attribute.Key("server.address")
	keyPort      = attribute.Key("server.port")
	keyErrorType = attribute.Key("error.type")
	keyOperation = attribute.Key("xero.operation")
	keyProblem   = attribute.Key("xero.rate_limit.problem")
	keyWindow    = attribute.Key("xero.rate_limit.window")
	keyTenant    = attribute.Key("xero.tenant.id")
	keyOutcome   = attribute.Key("outcome")
)

// WithMeterProvider sets where the Client's metrics go (see the package
// documentation for the list). The default is otel.GetMeterProvider(), a
// no-op until the app sets a global provider. The Service built on the
// Client records billing.DeliverEvents' metrics there too.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) { o.meters = mp }
}

// clientMetrics are a Client's instruments, made once in NewClient, with
// the attribute sets its calls reuse.
type clientMetrics struct {
	provider  metric.MeterProvider
	duration  metric.Float64Histogram
	exceeded  metric.Int64Counter
	refused   metric.Int64Counter
	remaining metric.Int64Gauge
	refreshes metric.Int64Counter
	// unread counts records of list answers readList could not take.
	unread metric.Int64Counter

	apiURL, connURL string               // as the Client sends them
	apiServer       []attribute.KeyValue // server.address and server.port
	connServer      []attribute.KeyValue
	minute, day     []metric.RecordOption
	tokenOK         []metric.AddOption
	tokenFailed     []metric.AddOption
}

// newClientMetrics makes the instruments of a Client calling tenant.
func newClientMetrics(mp metric.MeterProvider, apiURL, connURL, tenant string) *clientMetrics {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	meter := mp.Meter(meterName, metric.WithInstrumentationVersion(Version))
	m := &clientMetrics{provider: mp, apiURL: apiURL, connURL: connURL}
	var errs [6]error
	m.duration, errs[0] = meter.Float64Histogram("http.client.request.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of HTTP requests to Xero's Accounting API and connections list, one per attempt."),
		// The semantic conventions' advice for this histogram.
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10))
	m.exceeded, errs[1] = meter.Int64Counter("xero.rate_limit.exceeded",
		metric.WithUnit("{response}"),
		metric.WithDescription("HTTP 429 answers from Xero (API and token endpoint), by the limit Xero named."))
	m.refused, errs[2] = meter.Int64Counter("xero.rate_limit.refused",
		metric.WithUnit("{call}"),
		metric.WithDescription("Calls refused locally, before any request was sent, because a rate limit would be exceeded."))
	m.remaining, errs[3] = meter.Int64Gauge("xero.rate_limit.remaining",
		metric.WithUnit("{call}"),
		metric.WithDescription("Calls the tenant (xero.tenant.id) has left in Xero's minute and day windows, from the latest answer that said."))
	m.refreshes, errs[4] = meter.Int64Counter("xero.token.refreshes",
		metric.WithUnit("{request}"),
		metric.WithDescription("Access token requests to Xero's identity service, by outcome."))
	m.unread, errs[5] = meter.Int64Counter("xero.records.unreadable",
		metric.WithUnit("{record}"),
		metric.WithDescription("Records of Xero's list answers that could not be read (flagged, or not decodable) while the others were, by operation."))
	if err := errors.Join(errs[:]...); err != nil {
		// The instruments still work; OpenTelemetry's error handler reports it.
		otel.Handle(err)
	}
	if u, err := url.Parse(apiURL); err == nil {
		m.apiServer = serverAttrs(u)
	}
	if u, err := url.Parse(connURL); err == nil {
		m.connServer = serverAttrs(u)
	}
	// The remaining counts are the tenant's: Clients of several tenants on
	// one provider must not overwrite each other's.
	m.minute = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(keyWindow.String("minute"), keyTenant.String(tenant)))}
	m.day = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(keyWindow.String("day"), keyTenant.String(tenant)))}
	m.tokenOK = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(keyOutcome.String("ok")))}
	m.tokenFailed = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(keyOutcome.String("error")))}
	return m
}

// serverAttrs are server.address and server.port of u, the port implied by
// the scheme when u names none.
func serverAttrs(u *url.URL) []attribute.KeyValue {
	port := 443
	if u.Scheme == "http" {
		port = 80
	}
	if p, err := strconv.Atoi(u.Port()); err == nil {
		port = p
	}
	return []attribute.KeyValue{keyAddress.String(u.Hostname()), keyPort.Int(port)}
}

// attempt records one HTTP request: status is 0 when no answer came, err
// the attempt's failure, if any.
func (m *clientMetrics) attempt(ctx context.Context, r request, status int, err error, d time.Duration) {
	op, server := m.operation(r)
	attrs := make([]attribute.KeyValue, 0, 6)
	attrs = append(attrs, keyMethod.String(r.method), keyOperation.String(op))
	attrs = append(attrs, server...)
	if status > 0 {
		attrs = append(attrs, keyStatus.Int(status))
	}
	switch {
	case err != nil:
		attrs = append(attrs, keyErrorType.String(errorType(err)))
	case status >= 400:
		attrs = append(attrs, keyErrorType.String(strconv.Itoa(status)))
	}
	m.duration.Record(ctx, d.Seconds(), metric.WithAttributes(attrs...))
}

// operation names r by its method and path template, such as
// "GET /Invoices/{InvoiceID}", with the server it went to. Only the API's
// own words are kept: every other path segment (an id, a number) becomes a
// placeholder, so no record's id reaches a metric.
func (m *clientMetrics) operation(r request) (string, []attribute.KeyValue) {
	if r.url == m.connURL {
		return r.method + " /connections", m.connServer
	}
	rest, ok := strings.CutPrefix(r.url, m.apiURL)
	if !ok {
		return r.method + " other", nil
	}
	rest, _, _ = strings.Cut(rest, "?")
	rest = strings.Trim(rest, "/")
	if rest == "" {
		return r.method + " /", m.apiServer
	}
	var b strings.Builder
	b.WriteString(r.method)
	b.WriteByte(' ')
	prev := ""
	for seg := range strings.SplitSeq(rest, "/") {
		b.WriteByte('/')
		switch {
		case isAPIWord(seg):
			b.WriteString(seg)
		case prev == "Invoices":
			b.WriteString("{InvoiceID}")
		case prev == "Contacts":
			b.WriteString("{ContactID}")
		case prev == "Accounts":
			b.WriteString("{AccountID}")
		case prev == "Payments":
			b.WriteString("{PaymentID}")
		case prev == "CreditNotes":
			b.WriteString("{CreditNoteID}")
		default:
			b.WriteString("{id}")
		}
		prev = seg
	}
	return b.String(), m.apiServer
}

// isAPIWord reports whether seg is a path segment of the Accounting API
// the Client uses.
func isAPIWord(seg string) bool {
	switch seg {
	case "Invoices", "Contacts", "Accounts", "Currencies", "Organisation", "Email", "OnlineInvoice",
		"Payments", "CreditNotes", "Allocations":
		return true
	}
	return false
}

// errorType is error.type for an attempt that got no usable answer: a few
// stable words, never the error's text (which may name an id).
func errorType(err error) string {
	var ne net.Error
	var pe *permanentError
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.As(err, &pe):
		return "response_too_large"
	}
	return "_OTHER"
}

// recordUnreadable counts one record of r's answer that could not be read,
// and returns r's operation.
func (m *clientMetrics) recordUnreadable(ctx context.Context, r request) string {
	op, _ := m.operation(r)
	m.unread.Add(ctx, 1, metric.WithAttributes(keyOperation.String(op)))
	return op
}

// rateLimited counts a 429 from Xero.
func (m *clientMetrics) rateLimited(ctx context.Context, p ratelimit.Problem) {
	m.exceeded.Add(ctx, 1, metric.WithAttributes(keyProblem.String(problemValue(p))))
}

// refusal counts err when it is a local refusal: no request was sent.
func (m *clientMetrics) refusal(ctx context.Context, err error) {
	var rl *ratelimit.RateLimitError
	if errors.As(err, &rl) && rl.Local {
		m.refused.Add(ctx, 1, metric.WithAttributes(keyProblem.String(problemValue(rl.Problem))))
	}
}

// observe records the remaining calls an answer's headers report for the
// Client's tenant.
func (m *clientMetrics) observe(ctx context.Context, h http.Header) {
	rem := ratelimit.ParseHeaders(h, time.Time{}).Remaining
	if rem.Minute >= 0 {
		m.remaining.Record(ctx, int64(rem.Minute), m.minute...)
	}
	if rem.Day >= 0 {
		m.remaining.Record(ctx, int64(rem.Day), m.day...)
	}
}

// tokenFetched counts a token request.
func (m *clientMetrics) tokenFetched(err error) {
	// The fetch runs on the cache's own context, not a caller's.
	if err != nil {
		m.refreshes.Add(context.Background(), 1, m.tokenFailed...)
		return
	}
	m.refreshes.Add(context.Background(), 1, m.tokenOK...)
}

// problemValue bounds xero.rate_limit.problem to Xero's four limits,
// "unknown" when none was named and "other" for any other text.
func problemValue(p ratelimit.Problem) string {
	switch p {
	case ratelimit.ProblemMinute, ratelimit.ProblemDay, ratelimit.ProblemConcurrent, ratelimit.ProblemAppMinute:
		return string(p)
	case "":
		return "unknown"
	}
	return "other"
}
