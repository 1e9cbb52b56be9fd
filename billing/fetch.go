package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// Defaults of FetchOptions.
const (
	DefaultFetchLimit = 30
	// DefaultFetchAllLimit is FetchAllInvoiceUpdates' batch: the most ids
	// one request may carry within Xero's URL limit, less a margin.
	DefaultFetchAllLimit    = 50
	DefaultFetchLease       = 5 * time.Minute
	DefaultFetchMaxAttempts = 5
)

// FetchOptions tune FetchInvoiceUpdates. The zero value is ready to use.
type FetchOptions struct {
	// Limit is how many marked invoices one run claims (default 30, which
	// keeps a run well inside Xero's 60 calls a minute).
	Limit int
	// Lease is how long a claim stays with this run if it never finishes
	// (a crash); other runs skip leased invoices until then. Default 5m.
	Lease time.Duration
	// MaxAttempts is how many failed fetches set an invoice aside
	// (default 5). Outages and rate limits do not count as failures, and an
	// invoice is only set aside by a run in which another fetch worked.
	MaxAttempts int
	Now         func() time.Time
	Logger      *slog.Logger
	// MeterProvider receives the runs' metrics (billing.fetch.runs,
	// billing.fetch.invoices); default otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
}

func (o *FetchOptions) defaults() {
	if o.Limit <= 0 {
		o.Limit = DefaultFetchLimit
	}
	if o.Lease <= 0 {
		o.Lease = DefaultFetchLease
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultFetchMaxAttempts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// FetchResult reports one run of FetchInvoiceUpdates.
type FetchResult struct {
	// Simulated is true when the service talks to no billing provider
	// (billing.Simulated, such as the generic mock): nothing was fetched.
	Simulated bool
	// Claimed is how many marked invoices the run took.
	Claimed int
	// Updated lists the numbers of the invoices fetched and unmarked.
	Updated []string
	// Remarked lists invoices fetched while a newer mark arrived; they stay
	// marked for the next run.
	Remarked []string
	// Failed lists invoices whose fetch failed; they stay marked.
	Failed []FetchFailure
	// CreditNotes reports the credit-note marks the run drained before the
	// invoices (see FetchInvoiceUpdates).
	CreditNotes CreditNoteFetch
	Duration    time.Duration
}

// FetchFailure is one invoice a run could not update.
type FetchFailure struct {
	Number   string
	Reason   string
	SetAside bool // failed MaxAttempts times: no longer claimed until marked again
}

// FetchInvoiceUpdates is AMS's fetch_updated_invoice_details: it claims
// up to Limit invoices marked by webhooks (oldest mark first), fetches them
// from the provider in one batched UpdateInvoices call, and unmarks each one
// whose mark did not change meanwhile.
//
// A rate limit, a cancelled context or a provider outage (any error with a
// Temporary() bool method returning true) stops the run: every claimed flag
// stays set, the claims are released, and the error is returned. So does an
// error matching ErrUnauthorized (the provider refused the credentials or
// their permissions): it is no invoice's fault, so nothing is split or
// recorded against an invoice, and the one error returned says so. Any other
// error is blamed on an invoice: the batch is split in halves until the
// failing invoices are found, and each of those records a failed attempt with
// its reason; after MaxAttempts it is set aside (still marked, listed by
// Store.SetAsideInvoices) so it cannot starve the others. An invoice the
// provider no longer returns fails the same way. Setting aside needs proof
// that the provider works, an invoice it returned in the run (one it sent
// but that cannot be read, ErrUnreadable, counts): when no call of a run
// succeeds (revoked credentials, a missing scope), failures are recorded but
// nothing is set aside, so every invoice is fetched once the provider
// recovers. The returned error then joins the failures, and the result says
// what was updated.
//
// Credit notes come first, when the store is a CreditNoteQueue (every Store
// is) and the service a CreditNoteUpdater (xero.Service): up to Limit
// credit-note marks of CREDITNOTE webhooks are claimed and refreshed by
// UpdateCreditNotes, which saves them and marks the stored invoices they
// were raised for or allocated to, so the invoice claim that follows, in
// the same run, refreshes those invoices with what the provider computed
// (amounts credited and due, status), each change an InvoiceEvent. Their
// marks follow the invoices' rules: a mark made meanwhile survives
// (CreditNoteFetch.Remarked), a rate limit, an outage or ErrUnauthorized
// stops the whole run with every claim released, and any other failure is
// blamed on the credit notes that cause it, by halving the batch, each
// recording an attempt and, after MaxAttempts in a run where the provider
// answered, set aside. A credit note the provider does not hold, of
// another kind, or of no stored invoice is unmarked without being kept
// (CreditNoteFetch.Dropped). A service that cannot refresh credit notes
// leaves their marks alone.
//
// Each run but a simulated one is counted in opts.MeterProvider.
func FetchInvoiceUpdates(ctx context.Context, svc InvoiceUpdater, store UpdateQueue, opts FetchOptions) (FetchResult, error) {
	opts.defaults()
	res, err := fetchInvoiceUpdates(ctx, svc, store, opts)
	if !res.Simulated {
		recordFetch(ctx, opts.MeterProvider, res, err)
	}
	return res, err
}

func fetchInvoiceUpdates(ctx context.Context, svc InvoiceUpdater, store UpdateQueue, opts FetchOptions) (FetchResult, error) {
	start := opts.Now()
	var res FetchResult
	if svc == nil {
		return res, ErrNoService
	}
	if s, ok := svc.(Simulated); ok && s.Simulated() {
		res.Simulated = true
		return res, nil
	}
	if store == nil {
		return res, errors.New("billing: fetch invoice updates: no store")
	}
	// Credit notes first: their refresh marks the invoices they touch,
	// which the claim below then takes.
	var creditFails error
	if q, ok := store.(CreditNoteQueue); ok {
		if cu, ok := svc.(CreditNoteUpdater); ok {
			var stop error
			stop, creditFails = fetchCreditNotes(ctx, cu, q, opts, &res.CreditNotes)
			if stop != nil {
				res.Duration = opts.Now().Sub(start)
				logFetch(ctx, opts, res, stop)
				return res, stop
			}
		}
	}
	claims, err := store.ClaimUpdates(ctx, start, opts.Limit, opts.Lease)
	if err != nil {
		return res, errors.Join(fmt.Errorf("billing: claiming invoice updates: %w", err), creditFails)
	}
	res.Claimed = len(claims)
	if len(claims) == 0 {
		// Nothing to fetch, so no refresh delivers events: those whose
		// delivery failed earlier are due again all the same. (A refresh
		// delivers them itself; see EventDeliverer.)
		err = errors.Join(deliverPending(ctx, svc), creditFails)
		res.Duration = opts.Now().Sub(start)
		if res.CreditNotes.Claimed > 0 {
			logFetch(ctx, opts, res, err)
		}
		return res, err
	}
	f := fetcher{svc: svc, store: store, opts: opts, res: &res}
	err = errors.Join(f.run(ctx, claims), creditFails)
	res.Duration = opts.Now().Sub(start)
	logFetch(ctx, opts, res, err)
	return res, err
}

func logFetch(ctx context.Context, opts FetchOptions, res FetchResult, err error) {
	opts.Logger.LogAttrs(ctx, slog.LevelInfo, "billing: fetched invoice updates",
		slog.Int("claimed", res.Claimed), slog.Int("updated", len(res.Updated)),
		slog.Int("remarked", len(res.Remarked)), slog.Int("failed", len(res.Failed)),
		slog.Int("credit_notes_claimed", res.CreditNotes.Claimed),
		slog.Int("credit_notes_refreshed", len(res.CreditNotes.Refreshed)),
		slog.Int("credit_notes_failed", len(res.CreditNotes.Failed)),
		slog.Duration("duration", res.Duration), slog.Any("error", err))
}

// FetchAllInvoiceUpdates runs FetchInvoiceUpdates batch after batch, so a
// burst of marks larger than one batch is fetched now rather than at the
// next cron run. Its batch defaults to DefaultFetchAllLimit, one request's
// worth. It stops after a batch that was not full, that updated
// nothing, or that failed (a rate limit included: every claim it did not
// finish stays marked), and returns the batches' results merged; a batch
// whose credit-note claim was full and refreshed or dropped some goes on
// too. Each batch is a few calls to the provider, so the rate limiter
// bounds it too.
func FetchAllInvoiceUpdates(ctx context.Context, svc InvoiceUpdater, store UpdateQueue, opts FetchOptions) (FetchResult, error) {
	if opts.Limit <= 0 {
		opts.Limit = DefaultFetchAllLimit
	}
	opts.defaults()
	start := opts.Now()
	var all FetchResult
	for {
		res, err := FetchInvoiceUpdates(ctx, svc, store, opts)
		all.Simulated = res.Simulated
		all.Claimed += res.Claimed
		all.Updated = append(all.Updated, res.Updated...)
		all.Remarked = append(all.Remarked, res.Remarked...)
		all.Failed = append(all.Failed, res.Failed...)
		all.CreditNotes.merge(res.CreditNotes)
		cn := res.CreditNotes
		moreInvoices := res.Claimed >= opts.Limit && len(res.Updated) > 0
		moreCredits := cn.Claimed >= opts.Limit && len(cn.Refreshed)+len(cn.Dropped) > 0
		if err != nil || res.Simulated || (!moreInvoices && !moreCredits) {
			all.Duration = opts.Now().Sub(start)
			return all, err
		}
	}
}

// deliverPending retries the events a service holds for the app, when it is
// an EventDeliverer. Only a store failure is an error: a hook's failures
// leave their events pending for the next run.
func deliverPending(ctx context.Context, svc InvoiceUpdater) error {
	d, ok := svc.(EventDeliverer)
	if !ok {
		return nil
	}
	if _, err := d.DeliverEvents(ctx); err != nil {
		return temporary{fmt.Errorf("billing: delivering invoice events: %w", err)}
	}
	return nil
}

type fetcher struct {
	svc   InvoiceUpdater
	store UpdateQueue
	opts  FetchOptions
	res   *FetchResult
	fails []error
	// fetched is set once the provider returns an invoice of this run,
	// readable or not: proof that it works, so an invoice that fails is to
	// blame.
	fetched bool
	// suspects are the invoices that failed: alone in a call that failed,
	// or failed or missing in a call that worked. They are blamed when the
	// run ends, once it is known whether the provider returned anything.
	suspects []suspect
}

type suspect struct {
	claim  Claim
	reason string
}

func claimsOf(ss []suspect) []Claim {
	out := make([]Claim, len(ss))
	for i, s := range ss {
		out[i] = s.claim
	}
	return out
}

// run fetches claims, splitting on blamable errors. On a stop error it
// releases every claim it has not ended and returns that error.
func (f *fetcher) run(ctx context.Context, claims []Claim) error {
	pending := [][]Claim{claims}
	for len(pending) > 0 {
		batch := pending[0]
		pending = pending[1:]
		open, err := f.batch(ctx, batch)
		if err == nil {
			continue
		}
		if errors.Is(err, ErrUnauthorized) {
			err = fmt.Errorf("billing: fetching invoice updates stopped: the billing provider refused the app's credentials or permissions; no invoice was blamed and every one stays marked: %w", err)
		} else if !IsTemporary(err) && ctx.Err() == nil {
			if len(batch) > 1 {
				half := len(batch) / 2
				pending = append([][]Claim{batch[:half], batch[half:]}, pending...)
			} else {
				f.suspects = append(f.suspects, suspect{batch[0], err.Error()})
			}
			continue
		}
		// Stop: nothing left in this run is to blame, so release it all.
		// (A new slice: open and pending share the claims' backing array.)
		rest := slices.Concat(append(append([][]Claim{open}, pending...), claimsOf(f.suspects))...)
		return f.stop(ctx, err, rest)
	}
	// Set an invoice aside only when the provider returned an invoice in
	// this run: an error every call gets (revoked credentials, a missing
	// scope) is no invoice's fault, and setting them all aside would leave
	// them unfetched after the provider recovers.
	maxAttempts := 0
	if f.fetched {
		maxAttempts = f.opts.MaxAttempts
	}
	for i, s := range f.suspects {
		if err := f.fail(ctx, s.claim, s.reason, maxAttempts); err != nil {
			return f.stop(ctx, err, claimsOf(f.suspects[i:]))
		}
	}
	return errors.Join(f.fails...)
}

// stop releases the claims the run has not ended and returns err with the
// failures recorded so far.
func (f *fetcher) stop(ctx context.Context, err error, open []Claim) error {
	if rerr := f.store.ReleaseClaims(context.WithoutCancel(ctx), open); rerr != nil {
		err = errors.Join(err, fmt.Errorf("billing: releasing claims: %w", rerr))
	}
	return errors.Join(append([]error{err}, f.fails...)...)
}

// batch makes one UpdateInvoices call, ends the claims of the invoices it
// fetched in one store call and adds the others to the suspects. On an error
// it returns the claims it has not ended: all of them.
func (f *fetcher) batch(ctx context.Context, claims []Claim) (open []Claim, err error) {
	ids := make([]string, len(claims))
	for i, c := range claims {
		ids[i] = c.ProviderID
	}
	ur, err := f.svc.UpdateInvoices(ctx, ids)
	if err != nil {
		return claims, err
	}
	updated := make(map[string]bool, len(ur.Updated))
	for _, inv := range ur.Updated {
		updated[inv.ProviderID] = true
	}
	var done []Claim
	var suspects []suspect
	for _, c := range claims {
		var reason string
		switch {
		case updated[c.ProviderID]:
			done = append(done, c)
			continue
		case ur.Failed[c.ProviderID] != nil:
			reason = ur.Failed[c.ProviderID].Error()
			// The provider sent the record, unreadable: it works, and
			// this invoice is to blame.
			f.fetched = f.fetched || errors.Is(ur.Failed[c.ProviderID], ErrUnreadable)
		default:
			reason = "not returned by the billing provider"
		}
		suspects = append(suspects, suspect{c, reason})
	}
	if len(done) > 0 {
		f.fetched = true
		// One store transaction ends every fetched claim.
		cleared, err := f.store.CompleteUpdates(ctx, done)
		if err != nil {
			return slices.Concat(done, claimsOf(suspects)), storeFailed(err)
		}
		for i, c := range done {
			if cleared[i] {
				f.res.Updated = append(f.res.Updated, c.Number)
			} else {
				f.res.Remarked = append(f.res.Remarked, c.Number)
			}
		}
	}
	f.suspects = append(f.suspects, suspects...)
	return nil, nil
}

// storeFailed turns a store error mid-batch into a stop: the store is the
// thing that failed, not an invoice.
func storeFailed(err error) error {
	return temporary{fmt.Errorf("billing: saving fetch results: %w", err)}
}

func (f *fetcher) fail(ctx context.Context, c Claim, reason string, maxAttempts int) error {
	inv, err := f.store.FailUpdate(ctx, c, reason, maxAttempts)
	if err != nil {
		return storeFailed(fmt.Errorf("recording failed fetch of %s: %w", c.Number, err))
	}
	f.res.Failed = append(f.res.Failed, FetchFailure{Number: c.Number, Reason: reason, SetAside: inv.SetAside})
	f.fails = append(f.fails, fmt.Errorf("invoice %s: %s", c.Number, reason))
	level := slog.LevelWarn
	if inv.SetAside {
		level = slog.LevelError
	}
	f.opts.Logger.LogAttrs(ctx, level, "billing: invoice update failed",
		slog.String("invoice", c.Number), slog.String("reason", reason),
		slog.Int("attempts", inv.UpdateAttempts), slog.Bool("set_aside", inv.SetAside))
	return nil
}

// ErrUnauthorized matches, with errors.Is, an error meaning the billing
// provider refused the app's credentials or what they may do: a wrong client
// secret, a revoked connection, a missing scope, a tenant not connected.
// Trying again cannot help until the configuration changes, and no invoice
// is to blame, so FetchInvoiceUpdates stops at once (see there). Providers
// make their errors match it, keeping billing free of their types; package
// xero matches it with a refused token request (*xero.AuthError, apart from
// the identity service's own outages), a 401 that a fresh token did not cure
// and a 403 (*xero.APIError). It is the counterpart of IsTemporary: an error
// is one or the other, or neither (blame the request).
var ErrUnauthorized = errors.New("billing: the billing provider refused the credentials")

// temporary marks an error as a reason to stop and retry later.
type temporary struct{ error }

func (t temporary) Unwrap() error   { return t.error }
func (t temporary) Temporary() bool { return true }

// IsTemporary reports whether err means "try again later" rather than "this
// request is wrong": a cancelled or expired context, or any error in the
// chain with a Temporary() bool or Timeout() bool method returning true
// (ratelimit.RateLimitError, Xero 5xx answers, network timeouts).
func IsTemporary(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var t interface{ Temporary() bool }
	if errors.As(err, &t) && t.Temporary() {
		return true
	}
	var to interface{ Timeout() bool }
	return errors.As(err, &to) && to.Timeout()
}
