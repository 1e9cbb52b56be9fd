package xero

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/internal/xerolimit"
)

// RecordPayments records many payments as RecordPayment does each, in
// PUT /Payments calls of up to 50 (summarizeErrors=false: a result per
// payment), with the same exactly-once rule: every payment is recorded in
// the store before the call that sends it, a payment asked for before is
// returned without a call (Existing), a pending one is resolved in Xero
// before anything is sent again. The result is one per payment, in order.
// The error is what stopped the run (the store failing, Xero unreachable
// after opts.MaxFailures calls in a row); the payments it did not reach
// are NotAttempted, and a rerun picks them up.
func (s *Service) RecordPayments(ctx context.Context, ps []billing.PaymentParams, opts billing.BulkOptions) ([]billing.PaymentResult, error) {
	res := make([]billing.PaymentResult, len(ps))
	if err := s.ready(); err != nil {
		return res, err
	}
	prog := newProgress("record payments", len(ps), opts.Progress)
	stop := func(err error) ([]billing.PaymentResult, error) {
		for i := range res {
			if res[i].Outcome == "" {
				res[i] = billing.PaymentResult{Outcome: billing.NotAttempted, Err: billing.NotAttemptedError(err)}
			}
		}
		return res, err
	}
	fail := func(i int, err error) {
		res[i] = billing.PaymentResult{Outcome: billing.Failed, Err: err}
		prog.step(1, 0)
	}
	ops := make([]billing.MoneyOp, 0, len(ps))
	var at []int // ops[k] is ps[at[k]]
	var ids []string
	first := map[string]int{} // fingerprint: the index asking first
	repeats := map[int]int{}  // a repeat's index: the first's
	defer func() {
		// Asked twice in one run: the second is the first's payment.
		for i, j := range repeats {
			res[i] = res[j]
			if res[j].Outcome == billing.Created {
				res[i].Outcome = billing.Existing
			}
		}
	}()
	for i, p := range ps {
		op, err := s.paymentOp(p)
		if err != nil {
			fail(i, err)
			continue
		}
		if j, ok := first[op.Fingerprint]; ok {
			repeats[i] = j
			prog.step(1, 0)
			continue
		}
		first[op.Fingerprint] = i
		ops, at = append(ops, op), append(at, i)
		ids = append(ids, op.Params.Payment.InvoiceID)
	}
	if len(ops) == 0 {
		return res, nil
	}
	invs, err := s.store.InvoicesByProviderIDs(ctx, ids)
	if err != nil {
		return stop(fmt.Errorf("xero: the invoices of %d payments: %w", len(ids), err))
	}
	k := 0
	for j, op := range ops {
		id := op.Params.Payment.InvoiceID
		inv, ok := invs[id]
		switch {
		case !ok:
			fail(at[j], fmt.Errorf("%w: invoice %s is not one of the app's invoices: %w", billing.ErrInvalidPayment, id, billing.ErrNotFound))
			continue
		case inv.Status == billing.StatusVoided || inv.Status == billing.StatusDeleted:
			fail(at[j], fmt.Errorf("%w: invoice %s is %s", billing.ErrInvalidPayment, inv.Number, strings.ToLower(inv.Status)))
			continue
		}
		ops[k], at[k] = op, at[j]
		k++
	}
	ops, at = ops[:k], at[:k]
	if len(ops) == 0 {
		return res, nil
	}
	begun, err := s.store.BeginOps(ctx, ops)
	if err != nil {
		return stop(fmt.Errorf("xero: recording %d payments: %w", len(ops), err))
	}
	var fresh []billing.MoneyOp
	var freshAt []int
	out := newOutage(opts)
	for k, b := range begun {
		i := at[k]
		switch {
		case b.Err != nil:
			fail(i, b.Err)
		case b.Op.Done:
			pay, err := s.store.PaymentByProviderID(ctx, b.Op.ProviderID)
			if err != nil {
				fail(i, fmt.Errorf("xero: payment %s recorded before: %w", b.Op.ProviderID, err))
				continue
			}
			res[i] = billing.PaymentResult{Payment: pay, Outcome: billing.Existing}
			prog.step(1, 0)
		case b.New:
			fresh, freshAt = append(fresh, b.Op), append(freshAt, i)
		default:
			// Pending from an earlier run: Xero is asked first, one by one
			// (a crash leaves few).
			done, err := s.resolveOp(ctx, b.Op)
			if err != nil {
				res[i] = billing.PaymentResult{Outcome: outcomeOf(err), Err: err}
				prog.step(1, 0)
				if serr := out.after(err); serr != nil {
					return stop(serr)
				}
				continue
			}
			out.after(nil)
			pay, err := s.store.PaymentByProviderID(ctx, done.ProviderID)
			if err != nil {
				fail(i, fmt.Errorf("xero: payment %s: %w", done.ProviderID, err))
				continue
			}
			res[i] = billing.PaymentResult{Payment: pay, Outcome: billing.Existing}
			prog.step(1, 0)
		}
	}
	for start := 0; start < len(fresh); start += xerolimit.MaxWriteRecords {
		end := min(start+xerolimit.MaxWriteRecords, len(fresh))
		if err := s.sendPayments(ctx, fresh[start:end], freshAt[start:end], invs, res, prog, out); err != nil {
			return stop(err)
		}
	}
	return res, nil
}

// outcomeOf is the bulk outcome of a failed operation.
func outcomeOf(err error) billing.Outcome {
	var pe *billing.PendingError
	if errors.As(err, &pe) {
		return billing.Pending
	}
	return billing.Failed
}

// sendPayments records one call's worth of payments and each outcome, as
// sendChunk does for invoices (the request's key derives from its
// operations). It returns the error that stops the run, or nil.
func (s *Service) sendPayments(ctx context.Context, chunk []billing.MoneyOp, at []int, invs map[string]billing.Invoice,
	res []billing.PaymentResult, prog *progress, out *outage) error {
	xs := make([]Payment, len(chunk))
	keys := make([]string, len(chunk))
	for k, op := range chunk {
		p := op.Params.Payment
		xs[k] = Payment{InvoiceID: p.InvoiceID, AccountCode: p.AccountCode, Date: p.Date, Amount: p.Amount, Reference: p.Reference}
		keys[k] = op.Key + "@" + strconv.FormatInt(op.CreatedAt.UnixMicro(), 36)
	}
	sort.Strings(keys)
	sum := sha256.Sum256([]byte(strings.Join(keys, "\x00")))
	reqKey := "payments-" + hex.EncodeToString(sum[:24])
	els, err := s.client.CreatePayments(ctx, xs, reqKey)
	prog.step(0, 1)
	if err != nil {
		if refused(err) {
			var aerrs []error
			for k, op := range chunk {
				if aerr := s.store.AbandonOp(context.WithoutCancel(ctx), op.Key); aerr != nil {
					aerrs = append(aerrs, aerr)
				}
				res[at[k]] = billing.PaymentResult{Outcome: billing.Failed, Err: refusal(billing.KindPayment, err)}
			}
			prog.step(len(chunk), 0)
			if len(aerrs) > 0 {
				return errors.Join(append([]error{err}, aerrs...)...)
			}
			return out.after(err)
		}
		for k, op := range chunk {
			res[at[k]] = billing.PaymentResult{Outcome: billing.Pending, Err: &billing.PendingError{Key: op.Key, Kind: op.Kind, Err: err}}
		}
		prog.step(len(chunk), 0)
		s.log.WarnContext(ctx, "xero: batch payment outcome unknown; its payments stay pending",
			slog.Int("payments", len(chunk)), slog.String("error", err.Error()))
		if serr := out.after(err); serr != nil {
			return &billing.PendingError{Key: reqKey, Kind: billing.KindPayment, Err: serr}
		}
		return nil
	}
	out.after(nil)
	var done []billing.OpCompletion
	var doneAt []int
	var later []string
	for k, el := range els {
		op := chunk[k]
		switch err := elementError(el.Element); {
		case err == nil:
			id := op.Params.Payment.InvoiceID
			inv, known := invs[id]
			c, mark := paymentCompletionOf(el.Payment, id, inv, known)
			if known && len(c.Invoices) == 1 {
				invs[id] = c.Invoices[0] // a second payment of it builds on this one
			}
			if mark {
				later = append(later, id)
			}
			c.Key = op.Key
			done, doneAt = append(done, c), append(doneAt, at[k])
		case refused(err):
			if aerr := s.store.AbandonOp(context.WithoutCancel(ctx), op.Key); aerr != nil {
				return aerr
			}
			res[at[k]] = billing.PaymentResult{Outcome: billing.Failed, Err: refusal(billing.KindPayment, err)}
			prog.step(1, 0)
		default:
			res[at[k]] = billing.PaymentResult{Outcome: billing.Pending, Err: &billing.PendingError{Key: op.Key, Kind: op.Kind, Err: err}}
			prog.step(1, 0)
		}
	}
	if len(done) == 0 {
		return nil
	}
	saved, err := s.store.CompleteOps(context.WithoutCancel(ctx), done)
	if err != nil {
		for k, c := range done {
			res[doneAt[k]] = billing.PaymentResult{Outcome: billing.Pending, Err: s.unsaved(ctx, billing.MoneyOp{Key: c.Key, Kind: billing.KindPayment}, c, err)}
		}
		prog.step(len(done), 0)
		return err
	}
	changed := false
	for k, sv := range saved {
		i := doneAt[k]
		if sv.Err != nil {
			res[i] = billing.PaymentResult{Outcome: billing.Pending, Err: s.unsaved(ctx, sv.Op, done[k], sv.Err)}
			continue
		}
		for _, inv := range sv.Invoices {
			changed = changed || inv.Changed
		}
		res[i] = billing.PaymentResult{Payment: done[k].Payments[0], Outcome: billing.Created}
	}
	prog.step(len(done), 0)
	if len(later) > 0 {
		// Saved: a failure to mark costs freshness, not money.
		if _, err := s.store.MarkUpdateNeeded(context.WithoutCancel(ctx), later, s.now()); err != nil {
			s.log.WarnContext(ctx, "xero: marking paid invoices for the fetch job failed",
				slog.Int("invoices", len(later)), slog.String("error", err.Error()))
		}
	}
	if changed {
		s.deliver(ctx)
	}
	return nil
}
