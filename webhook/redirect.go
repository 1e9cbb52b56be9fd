package webhook

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/internal/urlcheck"
)

// RedirectConfig configures an InvoiceRedirect.
type RedirectConfig struct {
	// Service gets the online invoice URL (any billing.Service will do).
	// Nil means no billing service is configured: every request gets 503.
	Service billing.InvoiceLinker
	// Store finds the invoice by number (any billing.Store will do). Nil
	// answers 503 like Service.
	Store billing.InvoiceFinder
	// Authorize says whether the request may see the invoice, e.g. whether
	// the signed-in user owns inv.Account. Required: when nil, every request
	// gets 403.
	Authorize func(r *http.Request, inv billing.Invoice) bool
	// Number extracts the invoice number from the request. Default:
	// r.PathValue("number"), else the last segment of the path.
	Number func(r *http.Request) string
	// Logger receives failures (default: discarded).
	Logger *slog.Logger
}

// InvoiceRedirect is AMS's invoice view: it sends the customer to the
// provider's online invoice with a 302. Mount it with a pattern such as
// "GET /billing/invoices/{number}" behind the app's authentication.
//
// Answers: 302 to the invoice; 404 for an unknown number or an invoice with
// no online URL; 403 when Authorize refuses; 503 without a billing service or
// when the provider asks to try later (rate limit, outage); 502 for any other
// provider error; 405 for methods other than GET and HEAD.
type InvoiceRedirect struct {
	svc       billing.InvoiceLinker
	store     billing.InvoiceFinder
	authorize func(r *http.Request, inv billing.Invoice) bool
	number    func(r *http.Request) string
	log       *slog.Logger
}

// NewInvoiceRedirect returns an InvoiceRedirect.
func NewInvoiceRedirect(cfg RedirectConfig) *InvoiceRedirect {
	ir := &InvoiceRedirect{
		svc:       cfg.Service,
		store:     cfg.Store,
		authorize: cfg.Authorize,
		number:    cfg.Number,
		log:       cfg.Logger,
	}
	if ir.number == nil {
		ir.number = defaultNumber
	}
	if ir.log == nil {
		ir.log = slog.New(slog.DiscardHandler)
	}
	return ir
}

func defaultNumber(r *http.Request) string {
	if n := r.PathValue("number"); n != "" {
		return n
	}
	p := strings.TrimRight(r.URL.Path, "/")
	return p[strings.LastIndexByte(p, '/')+1:]
}

// ServeHTTP implements http.Handler.
func (ir *InvoiceRedirect) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if ir.svc == nil || ir.store == nil {
		http.Error(w, "billing is not available", http.StatusServiceUnavailable)
		return
	}
	number := ir.number(r)
	if number == "" {
		http.NotFound(w, r)
		return
	}
	inv, err := ir.store.InvoiceByNumber(ctx, number)
	if errors.Is(err, billing.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		ir.log.LogAttrs(ctx, slog.LevelError, "webhook: looking up invoice failed",
			slog.String("invoice", number), slog.Any("error", err))
		http.Error(w, "could not look up the invoice", http.StatusInternalServerError)
		return
	}
	if ir.authorize == nil || !ir.authorize(r, inv) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	target, err := ir.svc.GetInvoiceURL(ctx, inv)
	switch {
	case errors.Is(err, billing.ErrNotFound):
		http.NotFound(w, r)
		return
	case errors.Is(err, billing.ErrNoService), billing.IsTemporary(err):
		ir.log.LogAttrs(ctx, slog.LevelWarn, "webhook: invoice URL unavailable",
			slog.String("invoice", number), slog.Any("error", err))
		http.Error(w, "billing service busy, try again later", http.StatusServiceUnavailable)
		return
	case err != nil:
		ir.log.LogAttrs(ctx, slog.LevelError, "webhook: getting invoice URL failed",
			slog.String("invoice", number), slog.Any("error", err))
		http.Error(w, "billing service error", http.StatusBadGateway)
		return
	case target == "":
		http.NotFound(w, r)
		return
	}
	// Only ever redirect to an absolute web URL, whatever the provider says.
	if _, perr := urlcheck.Absolute(target); perr != nil {
		ir.log.LogAttrs(ctx, slog.LevelError, "webhook: provider returned an unusable invoice URL",
			slog.String("invoice", number))
		http.Error(w, "billing service error", http.StatusBadGateway)
		return
	}
	// The URL opens the invoice without signing in: keep it out of caches.
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusFound)
}
