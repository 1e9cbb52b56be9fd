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

// outage tells a bulk operation when to stop: at once on an error that
// fails every other call too (stopsRun), and after max calls in a row
// failed with a temporary error (Xero unreachable). An answer from Xero, a
// refusal included, ends the run of failures.
type outage struct {
	max, n int
}

func newOutage(opts billing.BulkOptions) *outage { return &outage{max: opts.MaxFailures()} }

// after hears the outcome of one call and returns the error that stops the
// operation, or nil to go on.
func (o *outage) after(err error) error {
	switch {
	case err == nil:
		o.n = 0
	case stopsRun(err):
		return err
	case billing.IsTemporary(err):
		o.n++
		if o.n >= o.max {
			return &billing.UnreachableError{Failures: o.n, Err: err}
		}
	default:
		o.n = 0
	}
	return nil
}

// SyncContacts implements billing.BulkService: each account's contact
// carries "<name> (<id>)", the id as AccountNumber and the email, in as few
// calls as Xero allows. An account whose contact Xero already holds as it
// would be sent (as last synced) costs no call unless opts.Force is set;
// unlinked accounts are created 50 a call (PUT /Contacts), changed ones
// updated 50 a call (POST /Contacts), each with its own result. A contact
// Xero says exists already (another process made it, or a run stopped
// before linking) is found by its account number and linked. The store is
// read once and written once a call (the links or the syncs). It stops
// early as BulkOptions.MaxTemporaryFailures says, the rest NotAttempted.
func (s *Service) SyncContacts(ctx context.Context, details []billing.BillingDetails, opts billing.BulkOptions) ([]billing.SyncResult, error) {
	res := make([]billing.SyncResult, len(details))
	for i, d := range details {
		res[i].Account = d.Account
	}
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
	wants := make([]Contact, len(details))
	var accounts []billing.Account
	valid := make([]bool, len(details))
	for i, d := range details {
		want, err := contactFor(d)
		if err != nil {
			res[i].Outcome, res[i].Err = billing.Failed, err
			prog.step(1, 0)
			continue
		}
		wants[i], valid[i] = want, true
		accounts = append(accounts, d.Account)
	}
	links, err := s.store.ContactLinksOf(ctx, accounts)
	if err != nil {
		err = fmt.Errorf("xero: contact links of %d accounts: %w", len(accounts), err)
		notAttempted(res, valid, err)
		return res, err
	}
	for i, d := range details {
		if !valid[i] {
			continue
		}
		want := wants[i]
		link, ok := links[d.Account]
		if !ok {
			creates = append(creates, item{i, want, contactFingerprint(want)})
			continue
		}
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
	out := newOutage(opts)
	// stop ends the operation: what is not done yet is NotAttempted.
	stop := func(err error) ([]billing.SyncResult, error) {
		for i := range res {
			if res[i].Outcome == "" {
				res[i].Outcome, res[i].Err = billing.NotAttempted, billing.NotAttemptedError(err)
			}
		}
		return res, err
	}
	// recordSyncs records what Xero now holds for its, in one store call.
	recordSyncs := func(its []item) error {
		if len(its) == 0 {
			return nil
		}
		syncs := make([]billing.ContactLink, len(its))
		for k, it := range its {
			syncs[k] = billing.ContactLink{Account: details[it.i].Account, Fingerprint: it.fp, Email: it.want.EmailAddress}
		}
		if _, err := s.store.RecordContactSyncs(ctx, syncs); err != nil {
			return fmt.Errorf("xero: recording the sync of %d contacts: %w", len(syncs), err)
		}
		return nil
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
			for _, it := range chunk {
				res[it.i].Outcome, res[it.i].Err = billing.Failed, err
			}
			prog.step(len(chunk), 0)
			if serr := out.after(err); serr != nil {
				return stop(serr)
			}
			continue
		}
		out.after(nil)
		var made []item
		var madeLinks []billing.ContactLink
		var taken []item
		for k, el := range els {
			it, r := chunk[k], &res[chunk[k].i]
			switch {
			case el.Failed() && mentionsAny(el.ValidationErrors, duplicateFragments):
				taken = append(taken, it)
			case el.Failed():
				r.Outcome, r.Err = billing.Failed, fmt.Errorf("%w: %s", billing.ErrInvalidAccount, el.Error())
				prog.step(1, 0)
			default:
				made = append(made, it)
				madeLinks = append(madeLinks, billing.ContactLink{Account: details[it.i].Account, ContactID: el.Contact.ContactID,
					Fingerprint: it.fp, Email: it.want.EmailAddress})
			}
		}
		if len(made) > 0 {
			// The links with their syncs, in one store call: a link
			// another caller stored first stays, with its own sync.
			inForce, err := s.store.LinkContacts(ctx, madeLinks)
			if err != nil {
				return stop(fmt.Errorf("xero: linking %d accounts to their new contacts: %w", len(madeLinks), err))
			}
			for k, it := range made {
				res[it.i].ContactID, res[it.i].Outcome = inForce[k].ContactID, billing.Created
			}
			prog.step(len(made), 0)
		}
		for _, it := range taken {
			// Taken already: the one-by-one path finds, links and
			// updates it.
			d, r := details[it.i], &res[it.i]
			err := s.syncContact(ctx, d.Account, d.Name, d.Email)
			if err != nil {
				r.Outcome, r.Err = billing.Failed, err
			} else {
				r.Outcome = billing.Updated
				if link, err := s.store.ContactLink(ctx, d.Account); err == nil {
					r.ContactID = link.ContactID
				}
			}
			prog.step(1, 0)
			if serr := out.after(err); serr != nil {
				return stop(serr)
			}
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
			for _, it := range chunk {
				res[it.i].Outcome, res[it.i].Err = billing.Failed, err
			}
			prog.step(len(chunk), 0)
			if serr := out.after(err); serr != nil {
				return stop(serr)
			}
			continue
		}
		out.after(nil)
		var synced []item
		for k, el := range els {
			it, r := chunk[k], &res[chunk[k].i]
			if el.Failed() {
				r.Outcome, r.Err = billing.Failed, fmt.Errorf("%w: %s", billing.ErrInvalidAccount, el.Error())
			} else {
				r.Outcome = billing.Updated
				synced = append(synced, it)
			}
		}
		if err := recordSyncs(synced); err != nil {
			return stop(err)
		}
		prog.step(len(chunk), 0)
	}
	return res, nil
}

// notAttempted marks the records at valid NotAttempted, stopped by err.
func notAttempted(res []billing.SyncResult, valid []bool, err error) {
	for i := range res {
		if valid[i] {
			res[i].Outcome, res[i].Err = billing.NotAttempted, billing.NotAttemptedError(err)
		}
	}
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
// only those Xero certainly lacks are sent. The store is read twice for
// the whole batch (the contact links, the invoices made before), written
// once to record the creations and once a call to save its invoices. A
// call whose outcome is unknown leaves its invoices Pending; the operation
// stops early as BulkOptions.MaxTemporaryFailures says, the rest
// NotAttempted.
func (s *Service) CreateInvoices(ctx context.Context, params []billing.CreateInvoiceParams, opts billing.BulkOptions) ([]billing.CreateResult, error) {
	res := make([]billing.CreateResult, len(params))
	if err := s.ready(); err != nil {
		return res, err
	}
	prog := newProgress("create invoices", len(params), opts.Progress)
	// stop ends the operation: what is not done yet is NotAttempted.
	stop := func(err error) ([]billing.CreateResult, error) {
		for i := range res {
			if res[i].Outcome == "" {
				res[i] = billing.CreateResult{Outcome: billing.NotAttempted, Err: billing.NotAttemptedError(err)}
			}
		}
		return res, err
	}
	var accounts []billing.Account
	valid := make([]bool, len(params))
	for i, p := range params {
		if err := p.Validate(); err != nil {
			res[i] = billing.CreateResult{Outcome: billing.Failed, Err: err}
			prog.step(1, 0)
			continue
		}
		valid[i] = true
		accounts = append(accounts, p.Account)
	}
	links, err := s.store.ContactLinksOf(ctx, accounts)
	if err != nil {
		return stop(fmt.Errorf("xero: contact links of %d accounts: %w", len(accounts), err))
	}
	var cs []billing.Creation
	var at []int // cs[k] is params[at[k]]
	for i, p := range params {
		if !valid[i] {
			continue
		}
		link, ok := links[p.Account]
		if !ok {
			res[i] = billing.CreateResult{Outcome: billing.Failed, Err: fmt.Errorf("%w (%s)", billing.ErrNoContact, p.Account)}
			prog.step(1, 0)
			continue
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
		return stop(fmt.Errorf("xero: recording %d creations: %w", len(cs), err))
	}
	var fresh, pending []billing.Creation
	var freshAt, pendingAt, doneAt []int
	var doneIDs []string
	for k, b := range begun {
		i := at[k]
		switch {
		case b.Err != nil:
			res[i] = billing.CreateResult{Outcome: billing.Failed, Err: b.Err}
			prog.step(1, 0)
		case b.Creation.Done():
			doneAt, doneIDs = append(doneAt, i), append(doneIDs, b.Creation.ProviderID)
		case b.New:
			fresh, freshAt = append(fresh, b.Creation), append(freshAt, i)
		default:
			pending, pendingAt = append(pending, b.Creation), append(pendingAt, i)
		}
	}
	if len(doneIDs) > 0 {
		made, err := s.store.InvoicesByProviderIDs(ctx, doneIDs)
		if err != nil {
			return stop(fmt.Errorf("xero: the invoices of %d creations done before: %w", len(doneIDs), err))
		}
		for k, i := range doneAt {
			if inv, ok := made[doneIDs[k]]; ok {
				res[i] = billing.CreateResult{Invoice: inv, Outcome: billing.Existing}
			} else {
				res[i] = billing.CreateResult{Outcome: billing.Failed, Err: fmt.Errorf("xero: invoice %s of a creation done before: %w", doneIDs[k], billing.ErrNotFound)}
			}
		}
		prog.step(len(doneAt), 0)
	}
	out := newOutage(opts)
	if len(pending) > 0 {
		// Look in Xero first: what it has is adopted, the rest is sent.
		found, err := s.findPending(ctx, pending, prog)
		if err != nil {
			for k, i := range pendingAt {
				res[i] = billing.CreateResult{Outcome: billing.Pending, Err: &billing.PendingError{Key: pending[k].Key, Err: err}}
			}
			prog.step(len(pendingAt), 0)
			if serr := out.after(err); serr != nil {
				return stop(serr)
			}
		} else {
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
				return stop(err)
			}
		}
	}
	for start := 0; start < len(fresh); {
		end := s.chunkEnd(fresh, start)
		if err := s.sendChunk(ctx, fresh[start:end], freshAt[start:end], res, prog, out); err != nil {
			// The rest was not sent: a rerun sends it.
			return stop(err)
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
// It returns the error that stops the operation (out says when a failed
// call does), or nil to go on.
func (s *Service) sendChunk(ctx context.Context, chunk []billing.Creation, at []int, res []billing.CreateResult, prog *progress, out *outage) error {
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
			var aerrs []error
			for k, c := range chunk {
				if aerr := s.store.AbandonCreation(context.WithoutCancel(ctx), c.Key); aerr != nil {
					aerrs = append(aerrs, aerr)
				}
				res[at[k]] = billing.CreateResult{Outcome: billing.Failed, Err: errors.Join(append([]error{err}, aerrs...)...)}
			}
			prog.step(len(chunk), 0)
			if len(aerrs) > 0 {
				return errors.Join(append([]error{err}, aerrs...)...) // the store failed
			}
			return out.after(err)
		}
		for k, c := range chunk {
			res[at[k]] = billing.CreateResult{Outcome: billing.Pending, Err: &billing.PendingError{Key: c.Key, Err: err}}
		}
		prog.step(len(chunk), 0)
		s.log.WarnContext(ctx, "xero: batch creation outcome unknown; its invoices stay pending",
			slog.Int("invoices", len(chunk)), slog.String("error", err.Error()))
		if serr := out.after(err); serr != nil {
			return &billing.PendingError{Key: reqKey, Err: serr}
		}
		return nil
	}
	out.after(nil)
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

// emailRecordBatch and emailRecordDelay bound how the emails EmailInvoices
// sends are recorded: at most 50 a store write, and at most a second
// behind, so a crash can lose the record of a second's emails at most.
const (
	emailRecordBatch = 50
	emailRecordDelay = time.Second
)

// EmailInvoices implements billing.BulkService: EmailInvoice for each
// invoice (Xero emails one invoice a call), the whitelist checked against
// the addresses recorded at the last contact sync, read from the store in
// one call, so no call reads them. An invoice the store records as emailed
// is AlreadyEmailed and costs no call, unless opts.ForceEmail is set; each
// email Xero accepts (204) is recorded, in batches (emailRecordBatch,
// emailRecordDelay). It stops early as BulkOptions.MaxTemporaryFailures
// says, the rest NotAttempted.
func (s *Service) EmailInvoices(ctx context.Context, invoices []billing.Invoice, opts billing.BulkOptions) ([]billing.EmailResult, error) {
	res := make([]billing.EmailResult, len(invoices))
	if err := s.ready(); err != nil {
		return res, err
	}
	prog := newProgress("email invoices", len(invoices), opts.Progress)
	stop := func(err error) ([]billing.EmailResult, error) {
		for i := range res {
			if res[i].Outcome == "" {
				res[i] = billing.EmailResult{Outcome: billing.NotAttempted, Err: billing.NotAttemptedError(err)}
			}
		}
		return res, err
	}
	ids := make([]string, 0, len(invoices))
	accounts := make([]billing.Account, 0, len(invoices))
	for _, inv := range invoices {
		if inv.ProviderID != "" {
			ids = append(ids, inv.ProviderID)
		}
		if inv.Account.Validate() == nil {
			accounts = append(accounts, inv.Account)
		}
	}
	var sent map[string]time.Time
	var links map[billing.Account]billing.ContactLink
	if s.cfg.EmailInvoices {
		var err error
		if !opts.ForceEmail {
			if sent, err = s.store.InvoiceEmails(ctx, ids); err != nil {
				return stop(fmt.Errorf("xero: the invoices emailed before: %w", err))
			}
		}
		if s.cfg.EmailWhitelist != nil {
			if links, err = s.store.ContactLinksOf(ctx, accounts); err != nil {
				return stop(fmt.Errorf("xero: contact links of %d accounts: %w", len(accounts), err))
			}
		}
	}
	lookup := func(_ context.Context, a billing.Account) (billing.ContactLink, error) {
		if link, ok := links[a]; ok {
			return link, nil
		}
		return billing.ContactLink{}, fmt.Errorf("contact link for %s: %w", a, billing.ErrNotFound)
	}
	rec := emailRecorder{s: s}
	out := newOutage(opts)
	for i, inv := range invoices {
		if at, ok := sent[inv.ProviderID]; ok && inv.ProviderID != "" {
			res[i] = billing.EmailResult{Outcome: billing.AlreadyEmailed, EmailedAt: at}
			prog.step(1, 0)
			continue
		}
		emailed, calls, err := s.emailInvoice(ctx, inv, lookup)
		switch {
		case err != nil:
			res[i] = billing.EmailResult{Outcome: billing.Failed, Err: err}
		case emailed:
			at := s.now()
			res[i] = billing.EmailResult{Outcome: billing.Emailed, EmailedAt: at}
			rec.add(billing.InvoiceEmail{ProviderID: inv.ProviderID, SentAt: at})
		default:
			res[i] = billing.EmailResult{Outcome: billing.Skipped}
		}
		prog.step(1, calls)
		var serr error
		if calls > 0 {
			serr = out.after(err)
		}
		if ferr := rec.flush(ctx, false); ferr != nil {
			serr = errors.Join(serr, ferr)
		}
		if serr != nil {
			if ferr := rec.flush(ctx, true); ferr != nil {
				serr = errors.Join(serr, ferr)
			}
			return stop(serr)
		}
	}
	if err := rec.flush(ctx, true); err != nil {
		return res, err
	}
	return res, nil
}

// emailRecorder records the emails sent, in batches.
type emailRecorder struct {
	s       *Service
	pending []billing.InvoiceEmail
}

func (r *emailRecorder) add(e billing.InvoiceEmail) { r.pending = append(r.pending, e) }

// flush records the pending emails when all is set, when a batch is full,
// or when the oldest waited emailRecordDelay. The emails are sent: the
// record is written even if ctx was cancelled.
func (r *emailRecorder) flush(ctx context.Context, all bool) error {
	if len(r.pending) == 0 {
		return nil
	}
	if !all && len(r.pending) < emailRecordBatch && r.s.now().Sub(r.pending[0].SentAt) < emailRecordDelay {
		return nil
	}
	if _, err := r.s.store.RecordInvoiceEmails(context.WithoutCancel(ctx), r.pending); err != nil {
		return fmt.Errorf("xero: recording %d invoice emails sent (a rerun may email them again): %w", len(r.pending), err)
	}
	r.pending = r.pending[:0]
	return nil
}

// emailInvoice is EmailInvoice without the record: it reports whether Xero
// emailed the invoice and the calls it made. link reads the account's
// contact link, for the whitelist.
func (s *Service) emailInvoice(ctx context.Context, inv billing.Invoice,
	link func(context.Context, billing.Account) (billing.ContactLink, error)) (emailed bool, calls int, err error) {
	if err := s.ready(); err != nil {
		return false, 0, err
	}
	if inv.ProviderID == "" {
		return false, 0, fmt.Errorf("%w: invoice %q has no Xero invoice id", billing.ErrInvalidInvoice, inv.Number)
	}
	if !s.cfg.EmailInvoices {
		s.log.DebugContext(ctx, "xero: not emailing invoice: XERO_EMAIL_INVOICES is off", slog.String("invoice_number", inv.Number))
		return false, 0, nil
	}
	if s.cfg.EmailWhitelist != nil {
		l, err := link(ctx, inv.Account)
		if errors.Is(err, billing.ErrNotFound) {
			return false, 0, fmt.Errorf("%w (%s)", billing.ErrNoContact, inv.Account)
		}
		if err != nil {
			return false, 0, fmt.Errorf("xero: contact link of %s: %w", inv.Account, err)
		}
		addr := l.Email
		if l.Fingerprint == "" {
			// Linked before syncs were recorded: ask Xero.
			contact, err := s.client.GetContact(ctx, l.ContactID)
			calls++
			if err != nil {
				return false, calls, err
			}
			addr = contact.EmailAddress
		}
		if !s.cfg.EmailAllowed(addr) {
			s.log.InfoContext(ctx, "xero: not emailing invoice: the contact's address does not match the whitelist",
				slog.String("invoice_number", inv.Number))
			return false, calls, nil
		}
	}
	if err := s.client.EmailInvoice(ctx, inv.ProviderID); err != nil {
		return false, calls + 1, err
	}
	return true, calls + 1, nil
}
