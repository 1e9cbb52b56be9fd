package xero

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/internal/xerolimit"
)

var _ billing.BulkService = (*Service)(nil)

// contactFingerprint identifies what a sync sends for a contact, so an
// unchanged re-sync can send nothing.
func contactFingerprint(c Contact) string {
	sum := sha256.Sum256([]byte(c.Name + "\x00" + c.AccountNumber + "\x00" + c.EmailAddress + "\x00" + c.ContactStatus))
	return hex.EncodeToString(sum[:])
}

// duplicateFragments are the words of Xero's refusals of a contact whose
// name or account number is taken.
var duplicateFragments = []string{"is already assigned to another contact", "account number already exists"}

// mentionsAny reports whether any message contains one of the fragments,
// case-insensitively.
func mentionsAny(msgs []string, fragments []string) bool {
	for _, m := range msgs {
		m = strings.ToLower(m)
		for _, f := range fragments {
			if strings.Contains(m, strings.ToLower(f)) {
				return true
			}
		}
	}
	return false
}

// progress reports a bulk operation's pace.
type progress struct {
	op      string
	total   int
	done    int
	calls   int
	started time.Time
	report  func(billing.Progress)
}

func newProgress(op string, total int, report func(billing.Progress)) *progress {
	return &progress{op: op, total: total, started: time.Now(), report: report}
}

func (p *progress) step(done, calls int) {
	p.done += done
	p.calls += calls
	if p.report == nil {
		return
	}
	var eta time.Duration
	if p.done > 0 && p.done < p.total {
		eta = time.Since(p.started) / time.Duration(p.done) * time.Duration(p.total-p.done)
	}
	p.report(billing.Progress{Operation: p.op, Done: p.done, Total: p.total, Calls: p.calls, BudgetLeft: -1, ETA: eta})
}

// SyncContacts implements billing.BulkService: each account's contact
// carries "<name> (<id>)", the id as AccountNumber and the email, in as few
// calls as Xero allows. An account whose contact Xero already holds as it
// would be sent (as last synced) costs no call unless opts.Force is set;
// unlinked accounts are created 50 a call (PUT /Contacts), changed ones
// updated 50 a call (POST /Contacts), each with its own result. A contact
// Xero says exists already (another process made it, or a run stopped
// before linking) is found by its account number and linked.
func (s *Service) SyncContacts(ctx context.Context, details []billing.BillingDetails, opts billing.BulkOptions) ([]billing.SyncResult, error) {
	res := make([]billing.SyncResult, len(details))
	if err := s.ready(); err != nil {
		return res, err
	}
	prog := newProgress("sync contacts", len(details), opts.Progress)
	type item struct {
		i    int
		want Contact
		fp   string
	}
	var creates, updates []item
	for i, d := range details {
		res[i].Account = d.Account
		want, err := contactFor(d)
		if err != nil {
			res[i].Outcome, res[i].Err = billing.Failed, err
			prog.step(1, 0)
			continue
		}
		link, err := s.store.ContactLink(ctx, d.Account)
		switch {
		case errors.Is(err, billing.ErrNotFound):
			creates = append(creates, item{i, want, contactFingerprint(want)})
		case err != nil:
			return res, fmt.Errorf("xero: contact link of %s: %w", d.Account, err)
		default:
			want.ContactID = link.ContactID
			res[i].ContactID = link.ContactID
			fp := contactFingerprint(want)
			if fp == link.Fingerprint && !opts.Force {
				res[i].Outcome = billing.Unchanged
				prog.step(1, 0)
				continue
			}
			updates = append(updates, item{i, want, fp})
		}
	}
	for start := 0; start < len(creates); start += xerolimit.MaxWriteRecords {
		chunk := creates[start:min(start+xerolimit.MaxWriteRecords, len(creates))]
		cs := make([]Contact, len(chunk))
		for k, it := range chunk {
			cs[k] = it.want
		}
		els, err := s.client.CreateContacts(ctx, cs)
		prog.step(0, 1)
		if err != nil {
			return res, err
		}
		for k, el := range els {
			it, r := chunk[k], &res[chunk[k].i]
			switch {
			case el.Failed() && mentionsAny(el.ValidationErrors, duplicateFragments):
				// Taken already: the one-by-one path finds, links and
				// updates it.
				d := details[it.i]
				if err := s.syncContact(ctx, d.Account, d.Name, d.Email); err != nil {
					r.Outcome, r.Err = billing.Failed, err
				} else {
					r.Outcome = billing.Updated
					if link, err := s.store.ContactLink(ctx, d.Account); err == nil {
						r.ContactID = link.ContactID
					}
				}
			case el.Failed():
				r.Outcome, r.Err = billing.Failed, fmt.Errorf("%w: %s", billing.ErrInvalidAccount, el.Error())
			default:
				link, err := s.store.LinkContact(ctx, details[it.i].Account, el.Contact.ContactID)
				if err != nil {
					return res, fmt.Errorf("xero: linking %s to contact %s: %w", details[it.i].Account, el.Contact.ContactID, err)
				}
				r.ContactID, r.Outcome = link.ContactID, billing.Created
				if link.ContactID == el.Contact.ContactID {
					if err := s.store.RecordContactSync(ctx, details[it.i].Account, it.fp, it.want.EmailAddress); err != nil {
						return res, fmt.Errorf("xero: recording the sync of %s: %w", details[it.i].Account, err)
					}
				}
			}
			prog.step(1, 0)
		}
	}
	for start := 0; start < len(updates); start += xerolimit.MaxWriteRecords {
		chunk := updates[start:min(start+xerolimit.MaxWriteRecords, len(updates))]
		cs := make([]Contact, len(chunk))
		for k, it := range chunk {
			cs[k] = it.want
		}
		els, err := s.client.UpdateContacts(ctx, cs)
		prog.step(0, 1)
		if err != nil {
			return res, err
		}
		for k, el := range els {
			it, r := chunk[k], &res[chunk[k].i]
			if el.Failed() {
				r.Outcome, r.Err = billing.Failed, fmt.Errorf("%w: %s", billing.ErrInvalidAccount, el.Error())
			} else {
				r.Outcome = billing.Updated
				if err := s.store.RecordContactSync(ctx, details[it.i].Account, it.fp, it.want.EmailAddress); err != nil {
					return res, fmt.Errorf("xero: recording the sync of %s: %w", details[it.i].Account, err)
				}
			}
			prog.step(1, 0)
		}
	}
	return res, nil
}

// contactFor is the contact a sync sends for d.
func contactFor(d billing.BillingDetails) (Contact, error) {
	if err := d.Account.Validate(); err != nil {
		return Contact{}, err
	}
	want := Contact{
		Name:          ContactName(d.Name, d.Account.OwnerID()),
		AccountNumber: d.Account.OwnerID(),
		EmailAddress:  strings.TrimSpace(d.Email),
	}
	if err := checkContact(d.Name, want); err != nil {
		return Contact{}, fmt.Errorf("%w of %s: %w", ErrInvalidContact, d.Account, err)
	}
	return want, nil
}

// CreateInvoices implements billing.BulkService: each invoice as
// CreateInvoice makes it (a recorded creation first, exactly once per
// logical invoice), 50 a call (PUT /Invoices?summarizeErrors=false, one
// idempotency key a request), each with its own result. Invoices created
// before cost no call (Existing); pending ones, left by a crash or a lost
// answer, are looked for in Xero first, a few dozen contacts a call, and
// only those Xero certainly lacks are sent.
func (s *Service) CreateInvoices(ctx context.Context, params []billing.CreateInvoiceParams, opts billing.BulkOptions) ([]billing.CreateResult, error) {
	res := make([]billing.CreateResult, len(params))
	if err := s.ready(); err != nil {
		return res, err
	}
	prog := newProgress("create invoices", len(params), opts.Progress)
	var cs []billing.Creation
	var at []int // cs[k] is params[at[k]]
	for i, p := range params {
		if err := p.Validate(); err != nil {
			res[i] = billing.CreateResult{Outcome: billing.Failed, Err: err}
			prog.step(1, 0)
			continue
		}
		link, err := s.store.ContactLink(ctx, p.Account)
		if errors.Is(err, billing.ErrNotFound) {
			res[i] = billing.CreateResult{Outcome: billing.Failed, Err: fmt.Errorf("%w (%s)", billing.ErrNoContact, p.Account)}
			prog.step(1, 0)
			continue
		}
		if err != nil {
			return res, fmt.Errorf("xero: contact link of %s: %w", p.Account, err)
		}
		key := p.IdempotencyKey
		if key == "" {
			key = uuid.NewString()
		}
		cs = append(cs, billing.Creation{Key: key, Fingerprint: p.Fingerprint(), Account: p.Account,
			ContactID: link.ContactID, Params: p, CreatedAt: s.now()})
		at = append(at, i)
	}
	if len(cs) == 0 {
		return res, nil
	}
	begun, err := s.store.BeginCreations(ctx, cs)
	if err != nil {
		return res, fmt.Errorf("xero: recording %d creations: %w", len(cs), err)
	}
	var fresh, pending []billing.Creation
	var freshAt, pendingAt []int
	for k, b := range begun {
		i := at[k]
		switch {
		case b.Err != nil:
			res[i] = billing.CreateResult{Outcome: billing.Failed, Err: b.Err}
			prog.step(1, 0)
		case b.Creation.Done():
			inv, err := s.store.InvoiceByProviderID(ctx, b.Creation.ProviderID)
			if err != nil {
				return res, err
			}
			res[i] = billing.CreateResult{Invoice: inv, Outcome: billing.Existing}
			prog.step(1, 0)
		case b.New:
			fresh, freshAt = append(fresh, b.Creation), append(freshAt, i)
		default:
			pending, pendingAt = append(pending, b.Creation), append(pendingAt, i)
		}
	}
	if len(pending) > 0 {
		// Look in Xero first: what it has is adopted, the rest is sent.
		found, err := s.findPending(ctx, pending, prog)
		if err != nil {
			for k, i := range pendingAt {
				res[i] = billing.CreateResult{Outcome: billing.Pending, Err: &billing.PendingError{Key: pending[k].Key, Err: err}}
			}
			for _, i := range freshAt {
				// Recorded, never sent: a rerun sends it.
				res[i] = billing.CreateResult{Outcome: billing.Failed, Err: fmt.Errorf("not tried: %w", err)}
			}
			return res, err
		}
		var adopt []billing.Completion
		var adoptAt []int
		for k, c := range pending {
			switch m := found[c.Key]; len(m) {
			case 0:
				fresh, freshAt = append(fresh, c), append(freshAt, pendingAt[k])
			case 1:
				cur := s.local(m[0], c)
				adopt, adoptAt = append(adopt, billing.Completion{Key: c.Key, Created: asCreated(cur), Current: cur}), append(adoptAt, pendingAt[k])
			default:
				res[pendingAt[k]] = billing.CreateResult{Outcome: billing.Pending, Err: ambiguous(c.Key, m)}
				prog.step(1, 0)
			}
		}
		if err := s.completeAll(ctx, adopt, adoptAt, res, prog); err != nil {
			return res, err
		}
	}
	for start := 0; start < len(fresh); {
		end := s.chunkEnd(fresh, start)
		if err := s.sendChunk(ctx, fresh[start:end], freshAt[start:end], res, prog); err != nil {
			// The rest was not tried: a rerun sends it.
			for _, i := range freshAt[end:] {
				res[i] = billing.CreateResult{Outcome: billing.Failed, Err: fmt.Errorf("not tried: %w", err)}
			}
			return res, err
		}
		start = end
	}
	return res, nil
}

// chunkEnd is where the chunk of creations starting at start ends: at most
// 50 invoices and Xero's 3.5 MB a request.
func (s *Service) chunkEnd(cs []billing.Creation, start int) int {
	size := 64 // the envelope
	end := start
	for end < len(cs) && end-start < xerolimit.MaxWriteRecords {
		b, _ := json.Marshal(s.xeroInvoice(cs[end]))
		if end > start && size+len(b)+1 > xerolimit.MaxWriteBytes {
			break
		}
		size += len(b) + 1
		end++
	}
	return end
}

// sendChunk creates one request's worth of invoices and records each
// outcome. The request's idempotency key derives from its creations (their
// keys and when they were recorded), so the same chunk sent again cannot
// create twice, while a chunk of creations recorded anew is a new request.
func (s *Service) sendChunk(ctx context.Context, chunk []billing.Creation, at []int, res []billing.CreateResult, prog *progress) error {
	invs := make([]Invoice, len(chunk))
	keys := make([]string, len(chunk))
	for k, c := range chunk {
		invs[k] = s.xeroInvoice(c)
		// With when it was recorded: a creation Xero refused is dropped,
		// and the rerun's new record must not get the refusal replayed.
		keys[k] = c.Key + "@" + strconv.FormatInt(c.CreatedAt.UnixMicro(), 36)
	}
	sort.Strings(keys)
	sum := sha256.Sum256([]byte(strings.Join(keys, "\x00")))
	reqKey := "batch-" + hex.EncodeToString(sum[:24])
	els, err := s.client.CreateInvoices(ctx, invs, reqKey)
	prog.step(0, 1)
	if err != nil {
		if refused(err) {
			for k, c := range chunk {
				if aerr := s.store.AbandonCreation(context.WithoutCancel(ctx), c.Key); aerr != nil {
					err = errors.Join(err, aerr)
				}
				res[at[k]] = billing.CreateResult{Outcome: billing.Failed, Err: err}
			}
			prog.step(len(chunk), 0)
			return err
		}
		for k, c := range chunk {
			res[at[k]] = billing.CreateResult{Outcome: billing.Pending, Err: &billing.PendingError{Key: c.Key, Err: err}}
		}
		prog.step(len(chunk), 0)
		s.log.WarnContext(ctx, "xero: batch creation outcome unknown; its invoices stay pending",
			slog.Int("invoices", len(chunk)), slog.String("error", err.Error()))
		return &billing.PendingError{Key: reqKey, Err: err}
	}
	var done []billing.Completion
	var doneAt []int
	for k, el := range els {
		c := chunk[k]
		switch {
		case el.Err != nil:
			// Xero answered for it, but the answer cannot be read.
			res[at[k]] = billing.CreateResult{Outcome: billing.Pending, Err: &billing.PendingError{Key: c.Key, Err: el.Err}}
			prog.step(1, 0)
		case el.Failed():
			if aerr := s.store.AbandonCreation(context.WithoutCancel(ctx), c.Key); aerr != nil {
				return aerr
			}
			res[at[k]] = billing.CreateResult{Outcome: billing.Failed, Err: fmt.Errorf("%w: %s", billing.ErrInvalidInvoice, el.Error())}
			prog.step(1, 0)
		default:
			if len(el.Warnings) > 0 {
				s.log.WarnContext(ctx, "xero: invoice created with warnings",
					slog.String("invoice_number", el.Invoice.InvoiceNumber), slog.String("warnings", strings.Join(el.Warnings, "; ")))
			}
			inv := s.local(el.Invoice, c)
			done, doneAt = append(done, billing.Completion{Key: c.Key, Created: inv, Current: inv}), append(doneAt, at[k])
		}
	}
	return s.completeAll(ctx, done, doneAt, res, prog)
}

// completeAll saves the completions in one store call.
func (s *Service) completeAll(ctx context.Context, cs []billing.Completion, at []int, res []billing.CreateResult, prog *progress) error {
	if len(cs) == 0 {
		return nil
	}
	out, err := s.store.CompleteCreations(context.WithoutCancel(ctx), cs)
	if err != nil {
		for k, c := range cs {
			res[at[k]] = billing.CreateResult{Outcome: billing.Pending, Err: &billing.PendingError{Key: c.Key, Err: err}}
		}
		return fmt.Errorf("xero: saving %d created invoices: %w", len(cs), err)
	}
	for _, c := range cs {
		if !c.Created.SameProviderState(c.Current) {
			s.deliver(ctx) // an adopted invoice changed meanwhile: its event is due
			break
		}
	}
	for k, o := range out {
		if o.Err != nil {
			res[at[k]] = billing.CreateResult{Outcome: billing.Pending, Err: &billing.PendingError{Key: cs[k].Key, Err: o.Err}}
		} else {
			res[at[k]] = billing.CreateResult{Invoice: o.Invoice, Outcome: billing.Created}
		}
	}
	prog.step(len(cs), 0)
	return nil
}

// findPending searches Xero for the invoices of pending creations, grouped
// by reference, a URL's worth of contacts a call, and returns the matches
// of each creation by key.
func (s *Service) findPending(ctx context.Context, pending []billing.Creation, prog *progress) (map[string][]Invoice, error) {
	byRef := map[string][]billing.Creation{}
	var refs []string
	for _, c := range pending {
		if _, ok := byRef[c.Params.Reference]; !ok {
			refs = append(refs, c.Params.Reference)
		}
		byRef[c.Params.Reference] = append(byRef[c.Params.Reference], c)
	}
	out := map[string][]Invoice{}
	for _, ref := range refs {
		group := byRef[ref]
		seen := map[string]bool{}
		var contacts []string
		for _, c := range group {
			if !seen[c.ContactID] {
				seen[c.ContactID] = true
				contacts = append(contacts, c.ContactID)
			}
		}
		found, err := s.client.FindInvoices(ctx, contacts, ref)
		prog.step(0, 1)
		if err != nil {
			return nil, err
		}
		for _, c := range group {
			for _, x := range found {
				if s.matches(ctx, c, x) {
					out[c.Key] = append(out[c.Key], x)
				}
			}
		}
	}
	return out, nil
}

// EmailInvoices implements billing.BulkService: EmailInvoice for each
// invoice (Xero emails one invoice a call), the whitelist checked against
// the address recorded at the last contact sync, so no call reads it.
func (s *Service) EmailInvoices(ctx context.Context, invoices []billing.Invoice, opts billing.BulkOptions) ([]error, error) {
	errs := make([]error, len(invoices))
	prog := newProgress("email invoices", len(invoices), opts.Progress)
	for i, inv := range invoices {
		calls, err := s.emailInvoice(ctx, inv)
		errs[i] = err
		prog.step(1, calls)
		if err != nil && stopsRun(err) {
			return errs, err
		}
	}
	return errs, nil
}
