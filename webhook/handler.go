package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/amsbilling/sdk/billing"
)

// Defaults of Config.
const (
	DefaultMaxBodyBytes = 1 << 20
	// DefaultMarkTimeout leaves room within the 5 seconds Xero waits for an
	// answer.
	DefaultMarkTimeout = 3 * time.Second
	// DefaultFetchTimeout bounds one background fetch.
	DefaultFetchTimeout = 2 * time.Minute
)

// Buffers larger than this are not pooled, so one big delivery does not pin
// memory.
const maxPooledBuffer = 64 << 10

// Config configures a Handler.
type Config struct {
	// Keys verify signatures: Xero's webhook key, or several while one is
	// being rotated (xero.Config.WebhookKeys). At least one is
	// required, and none may be empty.
	Keys []billing.Secret
	// TenantID is the Xero organisation whose events count
	// (xero.Config.TenantID). Required.
	TenantID string
	// Store records the marks of invoices and of credit notes (any
	// billing.Store will do). Required.
	Store billing.WebhookStore
	// Fetch, when set, runs once a delivery that marked invoices or credit
	// notes has been answered, typically wrapping billing.FetchInvoiceUpdates. It runs on
	// its own goroutine with a context that Shutdown cancels. Runs are
	// coalesced: at most one at a time, plus one queued. Errors and panics
	// are logged: a temporary error (billing.IsTemporary, a rate limit
	// among them) as one warning a minute however many fetches fail, any
	// other as an error.
	Fetch func(ctx context.Context) error
	// MaxBodyBytes limits the request body (default 1 MiB).
	MaxBodyBytes int64
	// MarkTimeout bounds the store write (default 3s).
	MarkTimeout time.Duration
	// FetchTimeout bounds one run of Fetch (default 2m), so a stalled
	// provider cannot hold the fetch goroutine: the marks stay and the
	// next delivery or the cron run fetches them.
	FetchTimeout time.Duration
	// Logger receives what the handler does (default: discarded). It never
	// gets keys, signatures or request headers.
	Logger *slog.Logger
	// Now is the clock for marks (default time.Now).
	Now func() time.Time
	// MeterProvider receives the handler's metrics (webhook.deliveries,
	// webhook.delivery.duration, billing.invoices.marked,
	// billing.credit_notes.marked); default
	// otel.GetMeterProvider(), a no-op until the app sets one.
	MeterProvider metric.MeterProvider
}

// Handler receives Xero webhooks. Mount it where Xero delivers, e.g.
// mux.Handle("/billing/xero/webhooks/", h).
//
// For each delivery it checks the signature (401 with an empty body when
// missing or wrong: also Xero's intent-to-receive check), keeps the INVOICE
// UPDATE events and the sales CREDITNOTE events (Event.IsSalesCreditNoteChange)
// of the configured tenant, marks those invoices (MarkUpdateNeeded) and
// credit notes (MarkCreditNotes, known to the store or not) and answers 200
// only once both are stored (500 otherwise, so Xero delivers again). When
// anything was marked, it triggers Fetch after the answer has been sent.
//
// Call Shutdown (or Close) when the server stops.
type Handler struct {
	keys         [][]byte
	macs         []sync.Pool // one pool of HMACs per key
	bufs         sync.Pool   // *buffer
	tenant       string
	store        billing.WebhookStore
	fetch        func(ctx context.Context) error
	maxBody      int64
	markTimeout  time.Duration
	fetchTimeout time.Duration
	log          *slog.Logger
	now          func() time.Time
	metrics      *handlerMetrics

	fetchCtx    context.Context
	cancelFetch context.CancelFunc

	mu      sync.Mutex
	running chan struct{} // closed when the running fetch loop ends; nil when idle
	pending bool          // a trigger arrived while a fetch was running
	closed  bool

	// Only the one fetch loop running at a time touches these; h.mu
	// orders one loop before the next.
	quietUntil time.Time // temporary failures before then are logged at debug
	quieted    int       // failures logged at debug since the last warning
}

// fetchQuiet is how long one warning about temporary fetch failures (a rate
// limit pause, Xero unreachable) stands for the ones that follow: a burst of
// deliveries during a pause would otherwise log an error per delivery.
const fetchQuiet = time.Minute

// buffer is the pooled per-request memory.
type buffer struct {
	body []byte
	sig  scratch
}

// New returns a Handler, or an error wrapping billing.ErrInvalidConfig that
// names every problem with cfg.
func New(cfg Config) (*Handler, error) {
	var errs []error
	if len(cfg.Keys) == 0 {
		errs = append(errs, errors.New("webhook: at least one key is required"))
	}
	for i, k := range cfg.Keys {
		if k.IsZero() {
			errs = append(errs, fmt.Errorf("webhook: key %d is empty", i+1))
		}
	}
	tenant := strings.TrimSpace(cfg.TenantID)
	if tenant == "" {
		errs = append(errs, errors.New("webhook: tenant id is required"))
	}
	if cfg.Store == nil {
		errs = append(errs, errors.New("webhook: store is required"))
	}
	if cfg.MaxBodyBytes < 0 {
		errs = append(errs, errors.New("webhook: max body bytes is negative"))
	}
	if cfg.MarkTimeout < 0 {
		errs = append(errs, errors.New("webhook: mark timeout is negative"))
	}
	if cfg.FetchTimeout < 0 {
		errs = append(errs, errors.New("webhook: fetch timeout is negative"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", billing.ErrInvalidConfig, errors.Join(errs...))
	}

	h := &Handler{
		keys:         make([][]byte, len(cfg.Keys)),
		macs:         make([]sync.Pool, len(cfg.Keys)),
		tenant:       tenant,
		store:        cfg.Store,
		fetch:        cfg.Fetch,
		maxBody:      cfg.MaxBodyBytes,
		markTimeout:  cfg.MarkTimeout,
		fetchTimeout: cfg.FetchTimeout,
		log:          cfg.Logger,
		now:          cfg.Now,
		metrics:      newHandlerMetrics(cfg.MeterProvider),
	}
	for i, k := range cfg.Keys {
		key := []byte(k.Reveal())
		h.keys[i] = key
		h.macs[i].New = func() any { return hmac.New(sha256.New, key) }
	}
	h.bufs.New = func() any { return &buffer{body: make([]byte, 0, 4<<10)} }
	if h.maxBody == 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	if h.markTimeout == 0 {
		h.markTimeout = DefaultMarkTimeout
	}
	if h.fetchTimeout == 0 {
		h.fetchTimeout = DefaultFetchTimeout
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	// Fetches outlive the request that triggered them; Shutdown ends them.
	h.fetchCtx, h.cancelFetch = context.WithCancel(context.Background())
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	o, marked, credits := h.serve(w, r)
	h.metrics.delivered(r.Context(), o, marked, credits, time.Since(start))
	if marked+credits == 0 || h.fetch == nil {
		// Nothing new to fetch: the invoice ids were unknown to the store
		// (invoices not created by this app) or there were none.
		return
	}
	// Send the answer before fetching, as Xero wants it within 5 seconds.
	// A writer that cannot flush answers when ServeHTTP returns, which the
	// fetch, on its own goroutine, does not delay.
	_ = http.NewResponseController(w).Flush()
	h.trigger()
}

// serve answers one delivery and says what became of it, with the numbers
// of invoices and credit notes it marked.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request) (o outcome, marked, credits int) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return outcomeMethodNotAllowed, 0, 0
	}
	if r.ContentLength > h.maxBody {
		h.debug(ctx, "webhook: body too large", slog.Int64("content_length", r.ContentLength))
		http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
		return outcomeTooLarge, 0, 0
	}

	buf := h.bufs.Get().(*buffer)
	defer h.putBuffer(buf)
	body, err := readBody(http.MaxBytesReader(w, r.Body, h.maxBody), buf.body[:0])
	buf.body = body
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.debug(ctx, "webhook: body too large")
			http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
			return outcomeTooLarge, 0, 0
		}
		h.log.LogAttrs(ctx, slog.LevelWarn, "webhook: reading body failed", slog.Any("error", err))
		http.Error(w, "could not read body", http.StatusBadRequest)
		return outcomeReadFailed, 0, 0
	}

	if err := h.verify(&buf.sig, r.Header[SignatureHeader], body); err != nil {
		// Expected during Xero's intent-to-receive check; says nothing about
		// the key or the signature.
		h.log.LogAttrs(ctx, slog.LevelInfo, "webhook: rejected delivery", slog.String("reason", err.Error()))
		w.WriteHeader(http.StatusUnauthorized)
		return outcomeBadSignature, 0, 0
	}

	p, err := ParsePayload(body)
	if err != nil {
		h.log.LogAttrs(ctx, slog.LevelWarn, "webhook: signed delivery is not a valid payload", slog.Any("error", err))
		http.Error(w, "malformed payload", http.StatusBadRequest)
		return outcomeMalformed, 0, 0
	}

	ids, creditIDs := h.resourceIDs(ctx, p.Events)
	if len(ids) > 0 || len(creditIDs) > 0 {
		// The writes are not tied to the client's connection: if Xero hangs
		// up, finishing a write already under way is better than rolling it
		// back, and marking is idempotent should Xero deliver again. Both
		// are stored before the 200; if the second fails, Xero's retry
		// marks the first again, which costs one refresh at most.
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.markTimeout)
		at := h.now().UTC()
		var err error
		if len(ids) > 0 {
			marked, err = h.store.MarkUpdateNeeded(mctx, ids, at)
		}
		if err == nil && len(creditIDs) > 0 {
			credits, err = h.store.MarkCreditNotes(mctx, creditIDs, at)
		}
		cancel()
		if err != nil {
			h.log.LogAttrs(ctx, slog.LevelError, "webhook: marking invoices or credit notes failed",
				slog.Int("invoices", len(ids)), slog.Int("credit_notes", len(creditIDs)), slog.Any("error", err))
			http.Error(w, "could not record the events", http.StatusInternalServerError)
			return outcomeStoreFailed, 0, 0
		}
	}
	h.log.LogAttrs(ctx, slog.LevelInfo, "webhook: delivery received",
		slog.Int("events", len(p.Events)), slog.Int("invoices", len(ids)), slog.Int("marked", marked),
		slog.Int("credit_notes", credits))

	w.Header()["Content-Length"] = []string{"0"}
	w.WriteHeader(http.StatusOK)
	return outcomeOK, marked, credits
}

func (h *Handler) putBuffer(b *buffer) {
	if cap(b.body) > maxPooledBuffer {
		return
	}
	b.body = b.body[:0]
	h.bufs.Put(b)
}

// readBody reads r to the end into buf, growing it as needed.
func readBody(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// verify checks the signature header (exactly one value) against every key.
func (h *Handler) verify(s *scratch, header []string, body []byte) error {
	switch len(header) {
	case 0:
		return ErrMissingSignature
	case 1:
	default:
		return ErrInvalidSignature
	}
	return verify(s, len(h.keys),
		func(i int) hash.Hash { return h.macs[i].Get().(hash.Hash) },
		func(i int, m hash.Hash) { m.Reset(); h.macs[i].Put(m) },
		body, header[0])
}

// resourceIDs returns the distinct resource ids of the tenant's invoice
// updates and of its sales credit-note events, each in order of first
// appearance.
func (h *Handler) resourceIDs(ctx context.Context, events []Event) (invoices, creditNotes []string) {
	var inv, cn idSet
	for i := range events {
		e := &events[i]
		var set *idSet
		switch {
		case !strings.EqualFold(e.TenantID, h.tenant) || e.ResourceID == "":
		case e.IsInvoiceUpdate():
			set = &inv
		case e.IsSalesCreditNoteChange():
			set = &cn
		}
		if set == nil {
			h.debug(ctx, "webhook: ignored event",
				slog.String("category", e.EventCategory), slog.String("type", e.EventType),
				slog.String("tenant", e.TenantID))
			continue
		}
		set.add(e.ResourceID, len(events)-i)
	}
	return inv.ids, cn.ids
}

// idSet collects distinct ids in order: a scan of the slice while it is
// short, a map once a delivery is large.
type idSet struct {
	ids  []string
	seen map[string]struct{}
}

// add adds id unless present; left is how many events remain, this one
// included, to size the slice and the map.
func (s *idSet) add(id string, left int) {
	if s.ids == nil {
		s.ids = make([]string, 0, left)
	}
	if len(s.ids) < 16 && s.seen == nil {
		for _, x := range s.ids {
			if x == id {
				return
			}
		}
		s.ids = append(s.ids, id)
		return
	}
	if s.seen == nil {
		s.seen = make(map[string]struct{}, len(s.ids)+left)
		for _, x := range s.ids {
			s.seen[x] = struct{}{}
		}
	}
	if _, ok := s.seen[id]; !ok {
		s.seen[id] = struct{}{}
		s.ids = append(s.ids, id)
	}
}

// debug logs at debug level without building attributes when disabled.
func (h *Handler) debug(ctx context.Context, msg string, attrs ...slog.Attr) {
	if h.log.Enabled(ctx, slog.LevelDebug) {
		h.log.LogAttrs(ctx, slog.LevelDebug, msg, attrs...)
	}
}

// trigger starts a fetch, or queues one if a fetch is running: a burst of
// deliveries runs at most two fetches, and every mark is followed by a fetch
// that starts after it.
func (h *Handler) trigger() {
	if h.fetch == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	if h.running != nil {
		h.pending = true
		return
	}
	done := make(chan struct{})
	h.running = done
	go h.fetchLoop(done)
}

func (h *Handler) fetchLoop(done chan struct{}) {
	defer close(done)
	for {
		h.runFetch()
		h.mu.Lock()
		if !h.pending || h.closed {
			h.pending = false
			h.running = nil
			h.mu.Unlock()
			return
		}
		h.pending = false
		h.mu.Unlock()
	}
}

// runFetch runs Fetch once; an error or a panic is logged, never raised.
func (h *Handler) runFetch() {
	ctx, cancel := context.WithTimeout(h.fetchCtx, h.fetchTimeout)
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			h.log.LogAttrs(ctx, slog.LevelError, "webhook: fetch panicked",
				slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
		}
	}()
	h.fetchDone(ctx, h.fetch(ctx))
}

// fetchDone logs the outcome of a fetch. A temporary failure (billing.IsTemporary:
// a rate limit, a timeout, Xero unreachable) is a warning once per fetchQuiet,
// and debug in between, since the marks stay and a later fetch takes them;
// any other failure is an error every time.
func (h *Handler) fetchDone(ctx context.Context, err error) {
	switch {
	case err == nil:
		if !h.quietUntil.IsZero() {
			h.log.LogAttrs(ctx, slog.LevelInfo, "webhook: fetch works again",
				slog.Int("failed_runs_not_logged", h.quieted))
		}
		h.quietUntil, h.quieted = time.Time{}, 0
	case !billing.IsTemporary(err):
		h.log.LogAttrs(ctx, slog.LevelError, "webhook: fetch failed", slog.Any("error", err))
	case h.now().Before(h.quietUntil):
		h.quieted++
		h.debug(ctx, "webhook: fetch failed", slog.Any("error", err))
	default:
		h.log.LogAttrs(ctx, slog.LevelWarn, "webhook: fetch failed; the marks stay for the next fetch",
			slog.Any("error", err), slog.Int("failed_runs_not_logged", h.quieted))
		h.quietUntil, h.quieted = h.now().Add(fetchQuiet), 0
	}
}

// Shutdown stops starting fetches and waits for the one running, if any. If
// ctx ends first it cancels that fetch's context and returns ctx's error.
// Deliveries are still verified and marked afterwards (the marks are durable
// and the next fetch, or a scheduled one, picks them up); only the fetch
// they would trigger is skipped.
func (h *Handler) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	h.pending = false
	running := h.running
	h.mu.Unlock()
	if running != nil {
		select {
		case <-running:
		case <-ctx.Done():
			h.cancelFetch()
			return ctx.Err()
		}
	}
	h.cancelFetch()
	return nil
}

// Close is Shutdown without a deadline.
func (h *Handler) Close() error { return h.Shutdown(context.Background()) }

// Format prints a Handler without its keys, whatever the verb: %+v of a
// struct would otherwise show the key bytes.
func (h *Handler) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "webhook.Handler{tenant: %s, keys: %d}", h.tenant, len(h.keys))
}
