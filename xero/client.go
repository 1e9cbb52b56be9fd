package xero

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/metric"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/internal/ctxwait"
	"github.com/amsbilling/sdk/internal/urlcheck"
	"github.com/amsbilling/sdk/ratelimit"
)

// Version is the SDK version sent in the User-Agent.
const Version = "0.1.0"

const (
	defaultUserAgent = "amsbilling-sdk-go/" + Version
	defaultAttempts  = 3
	defaultBackoff   = 500 * time.Millisecond
	maxBackoff       = 30 * time.Second
	// defaultTotal bounds a whole call, retries, backoff, limiter waits and
	// the token included; defaultAttempt bounds each attempt (WithTimeout).
	defaultTotal   = 90 * time.Second
	defaultAttempt = 30 * time.Second
	// maxResponseBody bounds a successful response; 100 invoices with their
	// line items are far below it.
	maxResponseBody = 32 << 20
	// maxIdempotencyKey is Xero's limit on Idempotency-Key.
	maxIdempotencyKey = 128
)

// Client calls the Xero Accounting API for one tenant through a Custom
// Connection. Build it once with NewClient and share it: it is safe for
// concurrent use, and it caches the access token and shares the rate
// limiter across all calls.
//
// Every call gets its token first (token requests never count against the
// API budget and hold no concurrency slot), then asks the Limiter (a refusal
// is a *ratelimit.RateLimitError with Local set, and no API request is sent;
// a limiter that cannot answer is returned as it is, never retried), reports
// each response to it, and turns a 429 into a *ratelimit.RateLimitError that
// is never retried; a 429 from the token endpoint is reported to the Limiter
// the same way, and no token is asked for again until its wait ends. GETs
// and writes (which always carry an Idempotency-Key) are retried on 5xx
// answers and network errors, with exponential backoff and jitter. A 401
// fetches a new token and repeats the call once.
//
// Every call is bounded, with or without a context deadline: 90s in all and
// 30s an attempt by default (WithTimeout).
type Client struct {
	tenantID       string
	apiURL         string
	connectionsURL string
	userAgent      string
	hc             *http.Client
	limiter        ratelimit.Limiter
	log            *slog.Logger
	attempts       int
	backoff        time.Duration
	total          time.Duration
	attempt        time.Duration
	tokens         *tokenCache
	redact         *redactor
	rate           rateMemo // the latest answer's rate-limit headers (LastRateInfo)
	metrics        *clientMetrics
}

// Option configures a Client.
type Option func(*options)

type options struct {
	hc             *http.Client
	limiter        ratelimit.Limiter
	log            *slog.Logger
	userAgent      string
	attempts       int
	backoff        time.Duration
	total          time.Duration
	attempt        time.Duration
	connectionsURL string
	meters         metric.MeterProvider
}

// WithHTTPClient sets the HTTP client used for the API and the token
// endpoint. The client is copied, not modified. The default has no timeout
// of its own (WithTimeout bounds every call); a Timeout set on hc bounds
// each attempt as well.
func WithHTTPClient(hc *http.Client) Option { return func(o *options) { o.hc = hc } }

// WithLimiter sets the rate limiter. The default is
// ratelimit.NewLocal(ratelimit.Options{}), which refuses fast; share one
// Limiter between Clients of the same tenant.
func WithLimiter(l ratelimit.Limiter) Option { return func(o *options) { o.limiter = l } }

// WithLogger sets the logger. The default discards everything. With
// Config.Debug set, requests and responses are logged at Debug level, so
// the logger's handler must enable that level to show them.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithUserAgent puts product (e.g. "myapp/1.2") before the SDK's own
// User-Agent, "amsbilling-sdk-go/<Version>".
func WithUserAgent(product string) Option { return func(o *options) { o.userAgent = product } }

// WithRetries sets how many times a call is tried in all (at least 1;
// default 3) and the first backoff (default 500ms), which doubles per retry
// up to 30s, with jitter.
func WithRetries(attempts int, baseBackoff time.Duration) Option {
	return func(o *options) { o.attempts, o.backoff = attempts, baseBackoff }
}

// WithTimeout bounds every call, with or without a deadline on its context:
// total bounds the whole call, its retries, backoff, limiter waits and the
// wait for a token included (default 90s); perAttempt bounds each attempt,
// from sending the request to reading the whole answer (default 30s, and
// never more than total). Zero or negative values take the defaults. A
// context deadline that comes sooner still wins. When total passes, the
// error wraps context.DeadlineExceeded (so billing.IsTemporary reports
// true) and says the client gave up.
//
// A token request has a bound of its own (30s), since it is shared by every
// call waiting for the token; each caller waits for it within its own call's
// bound.
func WithTimeout(total, perAttempt time.Duration) Option {
	return func(o *options) { o.total, o.attempt = total, perAttempt }
}

// WithConnectionsURL sets the identity API's connections endpoint. The
// default is the API URL's scheme and host with "/connections".
func WithConnectionsURL(u string) Option { return func(o *options) { o.connectionsURL = u } }

// NewClient returns a Client for cfg. It checks that the client id, client
// secret and tenant id are set and hold no control character, that the URLs
// are absolute http(s) URLs without credentials (empty URLs take Xero's
// production defaults; the API URL takes no query), and that the User-Agent
// fits a header; the error wraps billing.ErrInvalidConfig, names each bad
// variable and never quotes a value. It makes no call.
func NewClient(cfg Config, opts ...Option) (*Client, error) {
	o := options{attempts: defaultAttempts, backoff: defaultBackoff}
	for _, opt := range opts {
		opt(&o)
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if cfg.TokenURL == "" {
		cfg.TokenURL = DefaultTokenURL
	}
	var errs []error
	for _, r := range []struct{ name, val string }{
		{EnvClientID, cfg.ClientID},
		{EnvClientSecret, cfg.ClientSecret.Reveal()},
		{EnvTenantID, cfg.TenantID},
	} {
		if strings.TrimSpace(r.val) == "" {
			errs = append(errs, fmt.Errorf("%s: required", r.name))
		} else if strings.ContainsFunc(r.val, unicode.IsControl) {
			// Never quote the value: it may be the secret.
			errs = append(errs, fmt.Errorf("%s: contains a control character", r.name))
		}
	}
	if strings.ContainsFunc(o.userAgent, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
		errs = append(errs, errors.New("user agent (WithUserAgent): contains a control character"))
	}
	apiURL, err := urlcheck.Absolute(cfg.APIURL)
	if err == nil && (apiURL.RawQuery != "" || apiURL.ForceQuery || apiURL.Fragment != "") {
		// Paths are appended to it: a query or fragment would swallow them.
		apiURL, err = nil, errors.New("must not have a query or fragment")
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", EnvAPIURL, err))
	}
	if _, err := urlcheck.Absolute(cfg.TokenURL); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", EnvTokenURL, err))
	}
	connURL := o.connectionsURL
	if connURL == "" && apiURL != nil {
		connURL = (&url.URL{Scheme: apiURL.Scheme, Host: apiURL.Host, Path: "/connections"}).String()
	}
	if connURL != "" {
		if _, err := urlcheck.Absolute(connURL); err != nil {
			errs = append(errs, fmt.Errorf("connections URL: %w", err))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("xero: %w:\n%w", billing.ErrInvalidConfig, errors.Join(errs...))
	}

	if o.attempts < 1 {
		o.attempts = 1
	}
	if o.backoff < 0 {
		o.backoff = 0
	}
	if o.total <= 0 {
		o.total = defaultTotal
	}
	if o.attempt <= 0 {
		o.attempt = defaultAttempt
	}
	o.attempt = min(o.attempt, o.total)
	if o.limiter == nil {
		o.limiter = ratelimit.NewLocal(ratelimit.Options{})
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	ua := defaultUserAgent
	if p := strings.TrimSpace(o.userAgent); p != "" {
		ua = p + " " + ua
	}
	hc := &http.Client{}
	if o.hc != nil {
		copied := *o.hc
		hc = &copied
	}
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	apiBase := strings.TrimRight(apiURL.String(), "/")
	m := newClientMetrics(o.meters, apiBase, connURL, cfg.TenantID)
	red := newRedactor(cfg.ClientID, cfg.ClientSecret.Reveal())
	hc.Transport = &transport{next: next, userAgent: ua, debug: cfg.Debug, log: o.log, redact: red}

	conf := &clientcredentials.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret.Reveal(),
		TokenURL:     cfg.TokenURL,
		// Empty by default: connections created since April 2026 reject
		// an explicit scope.
		Scopes:    cfg.Scopes,
		AuthStyle: oauth2.AuthStyleInHeader,
	}
	return &Client{
		tenantID:       cfg.TenantID,
		apiURL:         apiBase,
		connectionsURL: connURL,
		userAgent:      ua,
		hc:             hc,
		limiter:        o.limiter,
		log:            o.log,
		attempts:       o.attempts,
		backoff:        o.backoff,
		total:          o.total,
		attempt:        o.attempt,
		tokens: newTokenCache(conf, hc, red, cfg.TenantID, func(status int, h http.Header) {
			o.limiter.Observe(cfg.TenantID, status, h)
			m.rateLimited(context.Background(), ratelimit.ParseHeaders(h, time.Now()).Problem)
		}, m.tokenFetched),
		redact:  red,
		metrics: m,
	}, nil
}

// TenantID returns the tenant the client calls.
func (c *Client) TenantID() string { return c.tenantID }

// request is one API call, replayed as is on every attempt.
type request struct {
	method string
	url    string
	path   string // for errors and logs
	body   []byte
	key    string // Idempotency-Key
	tenant bool   // send xero-tenant-id
	// ifModifiedSince, when set, asks only for records modified since.
	ifModifiedSince time.Time
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// send runs r through the limiter, auth and retry rules and returns a 2xx
// response, or an error: *ratelimit.RateLimitError, *APIError, *AuthError,
// or a wrapped network or context error.
func (c *Client) send(ctx context.Context, r request) (*response, error) {
	res, err := c.sendWithin(ctx, r)
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		// The client's own bound ended the call, not the caller.
		return nil, fmt.Errorf("xero: %s %s: gave up after %v, the client's bound on a call (WithTimeout): %w", r.method, pathOf(r.url), c.total, err)
	}
	return res, err
}

// sendWithin is send under the client's total bound.
func (c *Client) sendWithin(ctx context.Context, r request) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.total)
	defer cancel()
	if r.method != http.MethodGet {
		// Generated once, so every attempt carries the same key.
		if r.key == "" {
			r.key = uuid.NewString()
		}
		if len(r.key) > maxIdempotencyKey {
			return nil, fmt.Errorf("xero: idempotency key longer than %d characters", maxIdempotencyKey)
		}
		if strings.ContainsFunc(r.key, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
			// net/http would refuse the header on every attempt, which
			// would read as a network failure and be retried.
			return nil, errors.New("xero: idempotency key contains a control character")
		}
	}
	if u, err := url.Parse(r.url); err == nil {
		r.path = u.Path
	}
	// Writes are retried only because they carry a key; GETs are safe.
	retryable := r.method == http.MethodGet || r.key != ""
	reauthed := false
	for attempt := 1; ; {
		res, tok, err := c.once(ctx, r)
		if err != nil {
			c.metrics.refusal(ctx, err)
		}
		temporary := false
		var lf *limiterFailure
		switch {
		case errors.As(err, &lf):
			// The limiter's own bound applies; retrying would multiply it.
			return nil, lf.err
		case err != nil:
			temporary = isTemporary(ctx, err)
		case res.status >= 200 && res.status < 300:
			return res, nil
		case res.status == http.StatusTooManyRequests:
			rl := ratelimit.FromResponse(res.status, res.header, time.Now())
			rl.Tenant = c.tenantID
			c.metrics.rateLimited(ctx, rl.Problem)
			return nil, rl
		case res.status == http.StatusUnauthorized && !reauthed:
			// The token may have been revoked or expired early: fetch a
			// new one and try once more, outside the retry budget.
			c.tokens.drop(tok)
			reauthed = true
			continue
		default:
			err = c.apiError(r, res)
			temporary = res.status >= 500
		}
		if !temporary || !retryable || attempt >= c.attempts {
			return nil, transportError(r, err, temporary)
		}
		wait := c.backoffFor(attempt)
		c.log.WarnContext(ctx, "xero: retrying request",
			slog.String("method", r.method), slog.String("path", r.path),
			slog.Int("attempt", attempt), slog.Duration("wait", wait),
			slog.String("error", c.redact.text(err.Error())))
		if werr := ctxwait.SleepWithin(ctx, wait); werr != nil {
			if errors.Is(werr, ctxwait.ErrDeadlineTooSoon) {
				return nil, transportError(r, err, temporary)
			}
			return nil, fmt.Errorf("xero: %s %s: %w (last error: %w)", r.method, r.path, werr, err)
		}
		attempt++
	}
}

// once makes one attempt. An error means no usable HTTP response.
func (c *Client) once(ctx context.Context, r request) (_ *response, _ *oauth2.Token, err error) {
	// The token comes first: token requests never count against the
	// tenant's API budget, and a slow or failing identity service holds no
	// concurrency slot.
	tok, err := c.tokens.token(ctx)
	if err != nil {
		return nil, nil, c.ctxError(ctx, r, err)
	}
	release, err := c.limiter.Acquire(ctx, c.tenantID)
	if err != nil {
		// A refusal is returned unchanged, so callers see Local set. Any
		// other limiter failure (its store is down) is no failure of a
		// request, none having been sent: send returns it untried.
		return nil, nil, &limiterFailure{c.ctxError(ctx, r, err)}
	}
	defer release()
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	// The attempt's own bound covers sending and reading the whole answer.
	actx, cancel := context.WithTimeout(ctx, c.attempt)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, r.method, r.url, body)
	if err != nil {
		return nil, nil, fmt.Errorf("xero: %s %s: %w", r.method, r.path, err)
	}
	tok.SetAuthHeader(req)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if r.tenant {
		req.Header.Set("xero-tenant-id", c.tenantID)
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.key != "" {
		req.Header.Set("Idempotency-Key", r.key)
	}
	if !r.ifModifiedSince.IsZero() {
		// Xero's description wants an ISO 8601 date-time (its SDKs send
		// one), read in UTC to the second.
		req.Header.Set("If-Modified-Since", r.ifModifiedSince.UTC().Format(time.RFC3339))
	}
	// One request sent: its duration and outcome are recorded, whatever
	// comes of it.
	start, status := time.Now(), 0
	defer func() { c.metrics.attempt(ctx, r, status, err, time.Since(start)) }()
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("xero: %s %s: %w", r.method, r.path, err)
	}
	defer resp.Body.Close()
	status = resp.StatusCode
	c.limiter.Observe(c.tenantID, resp.StatusCode, resp.Header)
	c.rate.observe(resp.Header, time.Now())
	c.metrics.observe(ctx, resp.Header)

	limit := int64(maxResponseBody)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		limit = maxErrorBody
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, nil, fmt.Errorf("xero: %s %s: reading response: %w", r.method, r.path, err)
	}
	if int64(len(b)) > limit {
		if limit == maxErrorBody {
			b = b[:limit] // an error body only needs its start
		} else {
			return nil, nil, &permanentError{fmt.Errorf("xero: %s %s: response larger than %d bytes", r.method, r.path, limit)}
		}
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}, tok, nil
}

// ctxError names the call when err is the caller's context ending.
func (c *Client) ctxError(ctx context.Context, r request, err error) error {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return fmt.Errorf("xero: %s %s: %w", r.method, r.path, err)
	}
	return err
}

// limiterFailure carries the Limiter's error out of once: a refusal or an
// outage of the limiter's store, returned as it is and never retried.
type limiterFailure struct{ err error }

func (e *limiterFailure) Error() string { return e.err.Error() }
func (e *limiterFailure) Unwrap() error { return e.err }

// permanentError marks a failure that trying again cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// isTemporary reports whether err, from one attempt, is worth another try:
// network failures and server-side token failures, never rate limits, auth
// refusals or the caller's own context.
func isTemporary(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var rl *ratelimit.RateLimitError
	var ae *AuthError
	var pe *permanentError
	switch {
	case errors.As(err, &rl), errors.As(err, &pe):
		return false
	case errors.As(err, &ae):
		return ae.temporary()
	}
	// Network errors, and timeouts of the *http.Client or the token
	// request: the server may be slow, not gone.
	return true
}

func (c *Client) apiError(r request, res *response) *APIError {
	e := decodeError(res.status, res.body)
	e.Method, e.Path = r.method, r.path
	e.CorrelationID = cleanText(res.header.Get("Xero-Correlation-Id"))
	c.redactError(e)
	return e
}

// redactError removes credentials from the server text e holds.
func (c *Client) redactError(e *APIError) {
	e.Type = c.redact.text(e.Type)
	e.Message = c.redact.text(e.Message)
	for i, m := range e.ValidationErrors {
		e.ValidationErrors[i] = c.redact.text(m)
	}
	for i, m := range e.Warnings {
		e.Warnings[i] = c.redact.text(m)
	}
}

// backoffFor returns the wait after the attempt-th try: the base doubled
// per try up to 30s (or the base, if larger), with the upper half jittered.
func (c *Client) backoffFor(attempt int) time.Duration {
	ceiling := max(c.backoff, maxBackoff)
	d := c.backoff
	for i := 1; i < attempt && d < ceiling; i++ {
		d *= 2
	}
	d = min(d, ceiling)
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// doJSON sends in (if not nil) as JSON and decodes a 2xx body into out (if
// not nil).
func (c *Client) doJSON(ctx context.Context, method, u, key string, in, out any) error {
	r := request{method: method, url: u, key: key, tenant: true}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("xero: encoding %s request: %w", method, err)
		}
		r.body = b
	}
	res, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	return c.decode(r, res, out)
}

func (c *Client) decode(r request, res *response, out any) error {
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(res.body, out); err != nil {
		return fmt.Errorf("xero: %s %s: decoding the %d response: %w", r.method, pathOf(r.url), res.status, err)
	}
	return nil
}

func pathOf(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Path
	}
	return ""
}

// endpoint joins the API URL, a path and a query.
func (c *Client) endpoint(path string, q url.Values) string {
	u := c.apiURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}
