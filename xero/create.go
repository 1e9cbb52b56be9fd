package xero

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/ratelimit"
)

var _ billing.CreationResolver = (*Service)(nil)

// CreateInvoice implements billing.Service: an AUTHORISED sales invoice for
// the account's linked contact, exactly once per logical invoice.
//
// Before any call the creation is recorded in the store (billing.Creation:
// the account, reference, dates and lines, and the idempotency key, yours
// or one generated). Xero's answer completes it into the invoice. When the
// outcome is unknown (a timeout after sending, a dropped connection, an
// unreadable answer, a crash) the creation stays pending and the error is a
// *billing.PendingError: call CreateInvoice again with the same parameters,
// or ResolveCreations, and the pending creation is resolved: Xero's invoice
// is found and adopted with its current state, and only when Xero certainly
// has none is it sent again. Asking again for an invoice already created
// returns the stored one without a call. To bill the same member twice on
// purpose, use another Reference.
func (s *Service) CreateInvoice(ctx context.Context, p billing.CreateInvoiceParams) (billing.Invoice, error) {
	if err := s.ready(); err != nil {
		return billing.Invoice{}, err
	}
	if err := p.Validate(); err != nil {
		return billing.Invoice{}, err
	}
	link, err := s.store.ContactLink(ctx, p.Account)
	if errors.Is(err, billing.ErrNotFound) {
		return billing.Invoice{}, fmt.Errorf("%w (%s)", billing.ErrNoContact, p.Account)
	}
	if err != nil {
		return billing.Invoice{}, fmt.Errorf("xero: contact link of %s: %w", p.Account, err)
	}
	key := p.IdempotencyKey
	if key == "" {
		key = uuid.NewString()
	}
	c := billing.Creation{
		Key:         key,
		Fingerprint: p.Fingerprint(),
		Account:     p.Account,
		ContactID:   link.ContactID,
		Params:      p,
		CreatedAt:   s.now(),
	}
	begun, err := s.store.BeginCreations(ctx, []billing.Creation{c})
	if err != nil {
		return billing.Invoice{}, fmt.Errorf("xero: recording the creation: %w", err)
	}
	b := begun[0]
	switch {
	case b.Err != nil:
		return billing.Invoice{}, b.Err
	case b.Creation.Done():
		// Asked before and created: the same logical invoice, not a new one.
		return s.store.InvoiceByProviderID(ctx, b.Creation.ProviderID)
	case !b.New:
		return s.resolve(ctx, b.Creation)
	}
	return s.send(ctx, b.Creation)
}

// send makes the creation's PUT /Invoices and records the outcome: the
// invoice on an answer, nothing (the creation is dropped) when Xero
// certainly made none, a pending creation when nobody can tell.
func (s *Service) send(ctx context.Context, c billing.Creation) (billing.Invoice, error) {
	created, err := s.client.CreateInvoice(ctx, s.xeroInvoice(c), c.Key)
	if err != nil {
		if refused(err) {
			if aerr := s.store.AbandonCreation(context.WithoutCancel(ctx), c.Key); aerr != nil {
				return billing.Invoice{}, errors.Join(err, fmt.Errorf("xero: dropping the refused creation %s: %w", c.Key, aerr))
			}
			return billing.Invoice{}, err
		}
		s.log.WarnContext(ctx, "xero: invoice creation outcome unknown; it stays pending",
			slog.String("key", c.Key), slog.String("account", c.Account.String()), slog.String("error", err.Error()))
		return billing.Invoice{}, &billing.PendingError{Key: c.Key, Err: err}
	}
	inv := s.local(created, c)
	return s.complete(ctx, c, inv, inv)
}

// complete saves the invoice of a creation.
func (s *Service) complete(ctx context.Context, c billing.Creation, created, current billing.Invoice) (billing.Invoice, error) {
	// The answer is in hand: finish saving it even if the caller gave up.
	done, err := s.store.CompleteCreations(context.WithoutCancel(ctx), []billing.Completion{{Key: c.Key, Created: created, Current: current}})
	if err == nil {
		err = done[0].Err
	}
	if err != nil {
		s.log.ErrorContext(ctx, "xero: invoice created in Xero but not saved locally; it stays pending",
			slog.String("invoice_number", current.Number), slog.String("invoice_id", current.ProviderID),
			slog.String("key", c.Key), slog.String("error", err.Error()))
		return billing.Invoice{}, &billing.PendingError{Key: c.Key,
			Err: fmt.Errorf("xero: invoice %s (%s) was created in Xero but not saved locally: %w", current.Number, current.ProviderID, err)}
	}
	if !created.SameProviderState(current) {
		s.deliver(ctx) // the store recorded the change as an event
	}
	return done[0].Invoice, nil
}

// refused reports whether err proves Xero made no invoice: the request was
// never sent (a local rate-limit refusal, a token failure, a bad request
// built here) or Xero refused it (4xx, 429).
func refused(err error) bool {
	var rl *ratelimit.RateLimitError
	var ae *APIError
	var au *AuthError
	var rr *recordRefused
	switch {
	case errors.As(err, &rl), errors.As(err, &au), errors.As(err, &rr):
		return true
	case errors.As(err, &ae):
		// A 200 APIError is a record Xero flagged inside its answer: not made.
		return ae.StatusCode == 200 || (ae.StatusCode >= 400 && ae.StatusCode < 500)
	}
	// Transport errors, 5xx, unreadable answers, a context that ended:
	// nobody can tell.
	return false
}

// ResolveCreations implements billing.CreationResolver: it resolves every
// pending creation (after a crash; the cron command runs it first). Each is
// found in Xero and adopted with its current state, or, when Xero certainly
// has none, created. A creation it cannot resolve stays pending, with the
// reason in the result.
func (s *Service) ResolveCreations(ctx context.Context) (billing.ResolveResult, error) {
	res := billing.ResolveResult{Pending: map[string]error{}}
	if err := s.ready(); err != nil {
		return res, err
	}
	pending, err := s.store.PendingCreations(ctx)
	if err != nil {
		return res, fmt.Errorf("xero: pending creations: %w", err)
	}
	for _, c := range pending {
		inv, err := s.resolve(ctx, c)
		if err != nil {
			res.Pending[c.Key] = err
			if stopsRun(err) {
				return res, err
			}
			continue
		}
		res.Resolved = append(res.Resolved, inv)
	}
	return res, nil
}

// stopsRun reports whether err will fail every other call too.
func stopsRun(err error) bool {
	var rl *ratelimit.RateLimitError
	var au *AuthError
	return errors.As(err, &rl) || errors.As(err, &au) || errors.Is(err, billing.ErrUnauthorized) ||
		errors.Is(err, ErrForbidden) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// resolve settles a pending creation. While the key is young, a resend with
// it cannot create a second invoice, even if the first request is still in
// flight; past that, a lease keeps other resolvers out. Xero is searched
// first: one match is adopted with its current state (see adopt for one
// read in part), two are an error naming both, none means Xero certainly
// has no such invoice, and it is sent (with the same key). A record of the
// search that cannot be read enough to match leaves the creation pending,
// named to the operator (unresolvable): it is never sent again past it.
func (s *Service) resolve(ctx context.Context, c billing.Creation) (billing.Invoice, error) {
	start := s.now()
	if start.Sub(c.CreatedAt) >= s.keyWindow {
		got, ok, err := s.store.ClaimCreation(ctx, c.Key, start, s.resolveLease)
		if err != nil {
			return billing.Invoice{}, fmt.Errorf("xero: claiming creation %s: %w", c.Key, err)
		}
		if got.Done() {
			return s.store.InvoiceByProviderID(ctx, got.ProviderID)
		}
		if !ok {
			return billing.Invoice{}, &billing.PendingError{Key: c.Key, Err: errors.New("another process is resolving it")}
		}
		c = got
	}
	found, err := s.client.FindInvoices(ctx, []string{c.ContactID}, c.Params.Reference)
	if err != nil {
		var rerr *RecordError
		if errors.As(err, &rerr) {
			// Never sent again: the record may be this creation's invoice.
			return billing.Invoice{}, s.unresolvable(ctx, c, rerr)
		}
		return billing.Invoice{}, &billing.PendingError{Key: c.Key, Err: fmt.Errorf("searching Xero: %w", err)}
	}
	var matches []Invoice
	for _, x := range found {
		if s.matches(ctx, c, x) {
			matches = append(matches, x)
		}
	}
	switch len(matches) {
	case 0:
		return s.send(ctx, c)
	case 1:
		return s.adopt(ctx, c, matches[0])
	}
	return billing.Invoice{}, ambiguous(c.Key, matches)
}

// adopt completes creation c with Xero's invoice x. An invoice Xero holds
// but the SDK read only in part (x.Partial) is adopted with what was read,
// the creation's own dates standing in for those that were not, and marked
// update-needed: its row cannot equal Xero's, so the fetch job retries it
// and, while it stays unreadable, sets it aside with the reason, where the
// doctor shows it.
func (s *Service) adopt(ctx context.Context, c billing.Creation, x Invoice) (billing.Invoice, error) {
	cur := s.local(x, c)
	if x.Partial == nil {
		s.log.InfoContext(ctx, "xero: found the invoice of a pending creation",
			slog.String("key", c.Key), slog.String("invoice_number", cur.Number), slog.String("status", cur.Status))
		return s.complete(ctx, c, asCreated(cur), cur)
	}
	s.log.ErrorContext(ctx, "xero: adopted the invoice of a pending creation that Xero holds but the SDK cannot read in full; correct it in Xero",
		slog.String("key", c.Key), slog.String("invoice_number", cur.Number), slog.String("invoice_id", cur.ProviderID),
		slog.String("status", cur.Status), slog.String("error", x.Partial.Error()))
	inv, err := s.complete(ctx, c, asCreated(cur), cur)
	if err != nil {
		return inv, err
	}
	// Saved: a failure to mark loses visibility, not the invoice.
	if _, merr := s.store.MarkUpdateNeeded(context.WithoutCancel(ctx), []string{inv.ProviderID}, s.now()); merr != nil {
		s.log.ErrorContext(ctx, "xero: marking a partly read invoice for the fetch job failed",
			slog.String("invoice_number", inv.Number), slog.String("error", merr.Error()))
	}
	return inv, nil
}

// unresolvable is the error of creation c while Xero's search for it holds
// a record the SDK cannot read enough to match: it may be c's invoice, so c
// is neither sent again nor adopted, and the operator is told which record
// it is, by id and number, at Error.
func (s *Service) unresolvable(ctx context.Context, c billing.Creation, rerr *RecordError) error {
	number := ""
	var obj map[string]json.RawMessage
	if json.Unmarshal(rerr.raw, &obj) == nil {
		number = stringField(obj, "InvoiceNumber")
	}
	name := "an invoice"
	switch {
	case number != "" && rerr.ID != "":
		name = fmt.Sprintf("invoice %s (%s)", number, rerr.ID)
	case rerr.ID != "":
		name = "invoice " + rerr.ID
	case number != "":
		name = "invoice " + number
	}
	s.log.ErrorContext(ctx, "xero: a pending creation cannot be resolved: Xero holds an invoice of its contact and reference that the SDK cannot read; correct it in Xero",
		slog.String("key", c.Key), slog.String("invoice_number", number), slog.String("invoice_id", rerr.ID),
		slog.String("error", rerr.Err.Error()))
	return &billing.PendingError{Key: c.Key,
		Err: fmt.Errorf("the search of Xero found %s of this contact and reference that cannot be read, so it may be this creation's and nothing is sent again; correct the invoice in Xero, then resolve again: %w", name, rerr)}
}

// ambiguous is the error of a creation two or more of Xero's invoices
// match: it names them all, and guesses none.
func ambiguous(key string, matches []Invoice) error {
	names := make([]string, len(matches))
	for i, m := range matches {
		names[i] = fmt.Sprintf("%s (%s)", m.InvoiceNumber, m.InvoiceID)
	}
	return &billing.PendingError{Key: key,
		Err: fmt.Errorf("%w: Xero holds %d invoices that match it: %s; void the extra one in Xero, then resolve again",
			billing.ErrConflict, len(matches), strings.Join(names, ", "))}
}

// matches reports whether Xero's invoice x is the one creation c asked for:
// the same contact, reference, dates and lines (description, quantity, unit
// amount, account code), made no earlier than the creation (less a clock
// margin), and not already another row of ours. Of an invoice read in part
// (x.Partial) only what was read is compared: a date that did not read is
// no reason to bill again.
func (s *Service) matches(ctx context.Context, c billing.Creation, x Invoice) bool {
	p := c.Params
	if !strings.EqualFold(x.Contact.ContactID, c.ContactID) && x.Contact.ContactID != "" {
		return false
	}
	if x.Type != "" && x.Type != InvoiceTypeSales {
		return false
	}
	if x.Reference != p.Reference || !sameDate(x, x.Date, p.Date) || !sameDate(x, x.DueDate, p.DueDate) || len(x.LineItems) != len(p.LineItems) {
		return false
	}
	for i, li := range p.LineItems {
		xl := x.LineItems[i]
		if xl.Description != li.Description || !xl.Quantity.Equal(li.Quantity) || !xl.UnitAmount.Equal(li.UnitAmount) ||
			!s.sameAccount(xl.AccountCode, li.AccountCode) {
			return false
		}
	}
	if !x.UpdatedDateUTC.IsZero() && x.UpdatedDateUTC.Before(c.CreatedAt.Add(-clockMargin)) {
		return false
	}
	if _, err := s.store.InvoiceByProviderID(ctx, x.InvoiceID); err == nil {
		return false
	}
	return true
}

// sameDate reports whether got, a date of x, is want, or did not read.
func sameDate(x Invoice, got, want billing.Date) bool {
	return got == want || (x.Partial != nil && got.IsZero())
}

// sameAccount reports whether Xero's line account code xeroCode is the one
// a line with code was sent with (code, else the configured default, as
// xeroInvoice sends). Xero may echo it in another letter case; a line
// without one is no other invoice either, since Xero drops a code it does
// not recognise (with a warning) and keeps the line.
func (s *Service) sameAccount(xeroCode, code string) bool {
	if code == "" {
		code = s.cfg.AccountCode
	}
	xeroCode, code = strings.TrimSpace(xeroCode), strings.TrimSpace(code)
	return xeroCode == "" || code == "" || strings.EqualFold(xeroCode, code)
}

// clockMargin allows for the app's clock and Xero's disagreeing.
const clockMargin = 5 * time.Minute

// asCreated is inv as Xero made it: approved, nothing paid yet. Saving the
// current state over it records the change (a payment made while the answer
// was lost) as an event.
func asCreated(inv billing.Invoice) billing.Invoice {
	inv.Status = billing.StatusAuthorised
	inv.Paid = inv.Amount.Sub(inv.Amount)
	inv.Due = inv.Amount
	inv.PaidDate = billing.Date{}
	return inv
}

// xeroInvoice is the PUT /Invoices body of a creation.
func (s *Service) xeroInvoice(c billing.Creation) Invoice {
	p := c.Params
	inv := Invoice{
		Type:         InvoiceTypeSales,
		Contact:      Contact{ContactID: c.ContactID},
		Date:         p.Date,
		DueDate:      p.DueDate,
		Status:       billing.StatusAuthorised,
		CurrencyCode: s.cfg.Currency,
		Reference:    p.Reference,
	}
	if s.cfg.AmountType != "" {
		inv.LineAmountTypes = s.cfg.AmountType.wireName()
	}
	for _, li := range p.LineItems {
		code := li.AccountCode
		if code == "" {
			code = s.cfg.AccountCode
		}
		inv.LineItems = append(inv.LineItems, LineItem{
			Description: li.Description,
			Quantity:    li.Quantity,
			UnitAmount:  li.UnitAmount,
			AccountCode: code,
		})
	}
	return inv
}

// local is Xero's invoice as the app's copy for creation c.
func (s *Service) local(x Invoice, c billing.Creation) billing.Invoice {
	inv := localInvoice(x)
	inv.Account = c.Account
	if inv.IssueDate.IsZero() {
		inv.IssueDate = c.Params.Date
	}
	if inv.DueDate.IsZero() {
		inv.DueDate = c.Params.DueDate
	}
	return inv
}
