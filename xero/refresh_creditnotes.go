package xero

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/internal/xerolimit"
)

var _ billing.CreditNoteUpdater = (*Service)(nil)

// UpdateCreditNotes implements billing.CreditNoteUpdater: the refresh of the
// credit notes CREDITNOTE webhooks marked.
//
// It asks Xero for them by id, as many a request as stay within Xero's URL
// limit (GET /CreditNotes?where=CreditNoteID==Guid("...") OR ..., about 26
// ids a call), and for each one the answer lacks, or of a request Xero
// refused, one by one (GET /CreditNotes/{CreditNoteID}), so a refusal is
// blamed on the credit note that causes it. A 404 drops the credit note, as
// do ids that are not GUIDs and credit notes that are not sales ones
// (ACCRECCREDIT). The others are saved in one store transaction with their
// account taken from the stored invoice they are allocated to and their
// InvoiceID left to the store (SaveCreditNoteStates keeps both); one the
// store does not keep, as none of its invoices is stored, is dropped. The
// stored invoices each saved or dropped credit note was raised for or is,
// or was, allocated to are then marked for update in one store call.
//
// A rate limit, an outage, refused credentials and store failures fail the
// whole call; a record Xero sent that cannot be read fails that credit note
// only, matching billing.ErrUnreadable.
func (s *Service) UpdateCreditNotes(ctx context.Context, providerIDs []string) (billing.CreditNoteUpdateResult, error) {
	res := billing.CreditNoteUpdateResult{Failed: make(map[string]error)}
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
			res.Dropped = append(res.Dropped, id) // never a Xero credit note
			continue
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return res, nil
	}
	f, err := s.fetchCreditNotes(ctx, ids, &res)
	if err != nil {
		return res, err
	}

	var (
		states  []billing.CreditNote
		touched []string
	)
	for _, id := range ids {
		key := strings.ToLower(id)
		switch x, ok := f.found[key]; {
		case f.failed[key] != nil:
			res.Failed[id] = f.failed[key]
		case !ok:
			res.Dropped = append(res.Dropped, id)
			// Gone from Xero: the invoices its stored copy named may
			// have changed with it.
			old, err := s.store.CreditNoteByProviderID(ctx, id)
			switch {
			case err == nil:
				touched = append(touched, invoicesOfCredit(old)...)
			case !errors.Is(err, billing.ErrNotFound):
				return res, storeError{fmt.Errorf("xero: reading credit note %s: %w", id, err)}
			}
		case x.Type != "" && !strings.EqualFold(x.Type, CreditNoteTypeSales):
			res.Dropped = append(res.Dropped, id) // a supplier's credit: never the app's
		default:
			state := localCreditNote(x, billing.Account{}, "")
			state.ProviderID = id // as the store knows it
			states = append(states, state)
		}
	}
	if err := s.accountsOfCredits(ctx, states); err != nil {
		return res, err
	}
	if len(states) > 0 {
		saved, err := s.store.SaveCreditNoteStates(ctx, states)
		if err != nil {
			return res, storeError{fmt.Errorf("xero: saving %d credit notes: %w", len(states), err)}
		}
		for i, sv := range saved {
			id := states[i].ProviderID
			switch {
			case errors.Is(sv.Err, billing.ErrNotFound):
				res.Dropped = append(res.Dropped, id) // of no invoice the app holds
			case sv.Err != nil:
				res.Failed[id] = sv.Err
			default:
				res.Refreshed = append(res.Refreshed, id)
				if sv.Changed {
					res.Changed = append(res.Changed, id)
				}
				touched = append(touched, invoicesOfCredit(sv.Before)...)
				touched = append(touched, invoicesOfCredit(sv.After)...)
			}
		}
	}
	if touched = distinctCreditIDs(touched); len(touched) > 0 {
		n, err := s.store.MarkUpdateNeeded(ctx, touched, s.now().UTC())
		if err != nil {
			return res, storeError{fmt.Errorf("xero: marking the %d invoices of credit notes: %w", len(touched), err)}
		}
		res.InvoicesMarked = n
	}
	return res, nil
}

// fetchedCredits is what Xero answered for the credit notes asked, by
// lower-case id: found, or failed; an id in neither is gone (404).
type fetchedCredits struct {
	found  map[string]CreditNote
	failed map[string]error
}

// fetchCreditNotes asks Xero for ids, counting its requests in res.Calls.
// It fails only with an error that stops the refresh (stopsCreditRefresh).
func (s *Service) fetchCreditNotes(ctx context.Context, ids []string, res *billing.CreditNoteUpdateResult) (fetchedCredits, error) {
	f := fetchedCredits{found: make(map[string]CreditNote, len(ids)), failed: make(map[string]error)}
	var alone []string
	for _, chunk := range s.client.creditNoteChunks(ids) {
		cns, bad, err := s.client.creditNotesByID(ctx, chunk)
		res.Calls++
		if err != nil {
			if stopsCreditRefresh(ctx, err) {
				return f, err
			}
			alone = append(alone, chunk...) // the query was refused: ask one by one
			continue
		}
		for _, cn := range cns {
			f.found[strings.ToLower(cn.CreditNoteID)] = cn
		}
		for _, rerr := range bad {
			if rerr.ID != "" {
				f.failed[strings.ToLower(rerr.ID)] = unreadableCredit(rerr)
			}
		}
		for _, id := range chunk {
			key := strings.ToLower(id)
			if _, ok := f.found[key]; !ok && f.failed[key] == nil {
				alone = append(alone, id)
			}
		}
	}
	for _, id := range alone {
		key := strings.ToLower(id)
		cn, err := s.client.GetCreditNote(ctx, id)
		res.Calls++
		switch {
		case err == nil:
			f.found[key] = cn
		case errors.Is(err, billing.ErrNotFound):
			// gone: neither found nor failed
		case stopsCreditRefresh(ctx, err):
			return f, err
		default:
			f.failed[key] = creditGetFailure(err)
		}
	}
	return f, nil
}

// stopsCreditRefresh reports whether err is no credit note's fault: the context
// ended, a rate limit or an outage (billing.IsTemporary), or Xero refused
// the credentials.
func stopsCreditRefresh(ctx context.Context, err error) bool {
	return ctx.Err() != nil || billing.IsTemporary(err) || errors.Is(err, billing.ErrUnauthorized)
}

// unreadableCredit is a credit note of a list answer that could not be
// taken, as a failure matching billing.ErrUnreadable.
func unreadableCredit(rerr *MoneyRecordError) error {
	return fmt.Errorf("%w: %w", billing.ErrUnreadable, rerr)
}

// creditGetFailure is the failure of one credit note's GET: a record Xero
// answered but that cannot be taken (it flagged it, or it did not decode)
// matches billing.ErrUnreadable; a refusal (a 400) is returned as it is.
func creditGetFailure(err error) error {
	var ae *APIError
	if errors.As(err, &ae) && ae.StatusCode >= 300 {
		return err
	}
	return fmt.Errorf("%w: %w", billing.ErrUnreadable, err)
}

// accountsOfCredits gives each credit note the account of the first stored
// invoice it is allocated to, in one store call: a credit note made in Xero
// by hand is then listed under the member's account as the app's own are.
// One allocated to no stored invoice keeps the zero Account, which keeps
// the stored one.
func (s *Service) accountsOfCredits(ctx context.Context, states []billing.CreditNote) error {
	var ids []string
	for _, c := range states {
		for _, a := range c.Allocations {
			ids = append(ids, a.InvoiceID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	invs, err := s.store.InvoicesByProviderIDs(ctx, distinctCreditIDs(ids))
	if err != nil {
		return storeError{fmt.Errorf("xero: reading the invoices of %d credit notes: %w", len(states), err)}
	}
	for i, c := range states {
		for _, a := range c.Allocations {
			if inv, ok := invs[a.InvoiceID]; ok {
				states[i].Account = inv.Account
				break
			}
		}
	}
	return nil
}

// invoicesOfCredit lists the invoices c was raised for or is allocated to.
func invoicesOfCredit(c billing.CreditNote) []string {
	var out []string
	if c.InvoiceID != "" {
		out = append(out, c.InvoiceID)
	}
	for _, a := range c.Allocations {
		out = append(out, a.InvoiceID)
	}
	return out
}

// distinctCreditIDs is ids without empty ones and repeats, in first order.
func distinctCreditIDs(ids []string) []string {
	out := ids[:0:0]
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// creditNoteChunks splits ids (GUIDs) into where conditions
// CreditNoteID==Guid("...") OR ... whose request URL, with room for a page
// number, stays within xerolimit.MaxURLLength.
func (c *Client) creditNoteChunks(ids []string) [][]string {
	var (
		out   [][]string
		cur   []string
		where string
	)
	for _, id := range ids {
		clause := guidWhere("CreditNoteID", id)
		next := clause
		if len(cur) > 0 {
			next = where + " OR " + clause
		}
		if len(cur) > 0 && len(c.endpoint("/CreditNotes", pagedQuery(next, 99999))) > xerolimit.MaxURLLength {
			out = append(out, cur)
			cur, next = nil, clause
		}
		cur, where = append(cur, id), next
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// creditNotesByID fetches the credit notes with these ids (GUIDs, as
// creditNoteChunks groups them) in one request; ids Xero does not know are
// absent. Each record is read on its own: one that cannot be taken is in
// failed.
func (c *Client) creditNotesByID(ctx context.Context, ids []string) (creditNotes []CreditNote, failed []*MoneyRecordError, err error) {
	clauses := make([]string, len(ids))
	for i, id := range ids {
		clauses[i] = guidWhere("CreditNoteID", id)
	}
	r, err := c.jsonRequest(http.MethodGet, c.endpoint("/CreditNotes", pagedQuery(strings.Join(clauses, " OR "), 1)), "", nil)
	if err != nil {
		return nil, nil, err
	}
	creditNotes, failed, _, err = c.creditNotePage(ctx, r, 1)
	return creditNotes, failed, err
}
