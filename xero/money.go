package xero

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/amsbilling/sdk/billing"
)

// Every method here moves money through one mechanism, a billing.MoneyOp:
// recorded in the store before Xero is called (runOp), sent with its key
// (sendOp), completed with Xero's answer and the invoices' new states in
// one transaction (completeOp), and, when the outcome is unknown, left
// pending and later resolved by looking in Xero first (resolveOp, findOp)
// and sending again only when Xero certainly has nothing.

// RecordPayment records a payment the app took (card, direct debit...)
// against the invoice with Xero's id p.InvoiceID: PUT /Payments into
// p.AccountCode, or the configured payment account
// (XERO_PAYMENT_ACCOUNT_CODE) when empty, dated p.Date (today in UTC when
// zero). The logical payment is (invoice, reference): asking again returns
// the first payment, whatever the amount, without a call. An unknown
// outcome is a *billing.PendingError; call again with the same parameters,
// or ResolveMoneyOps, and Xero is searched before anything is sent again.
// Bad parameters, an invoice the store does not hold or one voided, and
// Xero's refusals (more than is due, an account that takes no payments)
// wrap billing.ErrInvalidPayment, and nothing is recorded.
func (s *Service) RecordPayment(ctx context.Context, p billing.PaymentParams) (billing.Payment, error) {
	if err := s.ready(); err != nil {
		return billing.Payment{}, err
	}
	op, err := s.paymentOp(p)
	if err != nil {
		return billing.Payment{}, err
	}
	if _, err := s.payable(ctx, p.InvoiceID); err != nil {
		return billing.Payment{}, err
	}
	done, err := s.runOp(ctx, op)
	if err != nil {
		return billing.Payment{}, err
	}
	return s.store.PaymentByProviderID(ctx, done.ProviderID)
}

// paymentOp fills a payment's defaults and makes its operation.
func (s *Service) paymentOp(p billing.PaymentParams) (billing.MoneyOp, error) {
	if p.AccountCode == "" {
		p.AccountCode = s.cfg.PaymentAccountCode
	}
	if p.Date.IsZero() {
		p.Date = s.today()
	}
	op, err := billing.NewMoneyOp(uuid.NewString(), billing.MoneyParams{Payment: &p}, s.now())
	if err == nil && p.AccountCode == "" {
		err = fmt.Errorf("%w: payment: no account: give one or set %s", billing.ErrInvalidPayment, EnvPaymentAccountCode)
	}
	return op, err
}

func (s *Service) today() billing.Date {
	t := s.now().UTC()
	return billing.NewDate(t.Year(), t.Month(), t.Day())
}

// payable returns the stored invoice money may be recorded against: one the
// store holds and Xero has not voided or deleted.
func (s *Service) payable(ctx context.Context, invoiceID string) (billing.Invoice, error) {
	inv, err := s.store.InvoiceByProviderID(ctx, invoiceID)
	if errors.Is(err, billing.ErrNotFound) {
		return inv, fmt.Errorf("%w: invoice %s is not one of the app's invoices: %w", billing.ErrInvalidPayment, invoiceID, err)
	}
	if err != nil {
		return inv, fmt.Errorf("xero: invoice %s: %w", invoiceID, err)
	}
	switch inv.Status {
	case billing.StatusVoided, billing.StatusDeleted:
		return inv, fmt.Errorf("%w: invoice %s is %s", billing.ErrInvalidPayment, inv.Number, strings.ToLower(inv.Status))
	}
	return inv, nil
}

// ReversePayment deletes a payment in Xero (POST /Payments/{id}, Status
// DELETED), exactly once: the invoice is owed again, and its new state is
// saved with its event. A payment already deleted is returned as it is.
func (s *Service) ReversePayment(ctx context.Context, paymentID string) (billing.Payment, error) {
	if err := s.ready(); err != nil {
		return billing.Payment{}, err
	}
	p, err := s.store.PaymentByProviderID(ctx, paymentID)
	switch {
	case errors.Is(err, billing.ErrNotFound):
		// Made in Xero by hand, perhaps: Xero says which invoice it paid.
		x, gerr := s.client.GetPayment(ctx, paymentID)
		if gerr != nil {
			return billing.Payment{}, fmt.Errorf("xero: payment %s: %w", paymentID, gerr)
		}
		p = localPayment(x)
	case err != nil:
		return billing.Payment{}, fmt.Errorf("xero: payment %s: %w", paymentID, err)
	}
	if p.InvoiceID == "" {
		return billing.Payment{}, fmt.Errorf("%w: payment %s pays no invoice (a refund is reversed in Xero)", billing.ErrInvalidPayment, paymentID)
	}
	op, err := billing.NewMoneyOp(uuid.NewString(), billing.MoneyParams{Reversal: &billing.ReversalParams{PaymentID: p.ProviderID, InvoiceID: p.InvoiceID}}, s.now())
	if err != nil {
		return billing.Payment{}, err
	}
	if p.Status == billing.PaymentDeleted {
		return p, nil
	}
	done, err := s.runOp(ctx, op)
	if err != nil {
		return billing.Payment{}, err
	}
	return s.store.PaymentByProviderID(ctx, done.ProviderID)
}

// CreditInvoice raises a sales credit note (ACCRECCREDIT, AUTHORISED) of
// p.Amount for the invoice's contact, with p.Reason as its line and
// reference, and then allocates it to the invoice (p.Allocate) or pays it
// back to the member (p.Refund, from the payment account
// XERO_PAYMENT_ACCOUNT_CODE). The logical credit note is (invoice, reason,
// amount); the allocation and the refund are operations of their own,
// recorded before the credit note's is done, so a crash between them
// leaves a pending operation that a call with the same parameters, or
// ResolveMoneyOps, finishes. p.Account and p.ContactID are taken from the
// stored invoice; p.AccountCode is the line's revenue account (default
// XERO_ACCOUNT_CODE); a zero p.Date is today in UTC.
func (s *Service) CreditInvoice(ctx context.Context, p billing.CreditNoteParams) (billing.CreditResult, error) {
	if err := s.ready(); err != nil {
		return billing.CreditResult{}, err
	}
	if p.Allocate && p.Refund {
		return billing.CreditResult{}, fmt.Errorf("%w: credit note: allocate or refund, not both", billing.ErrInvalidPayment)
	}
	inv, err := s.payable(ctx, p.InvoiceID)
	if err != nil {
		return billing.CreditResult{}, err
	}
	link, err := s.store.ContactLink(ctx, inv.Account)
	if err != nil {
		return billing.CreditResult{}, fmt.Errorf("xero: contact link of %s: %w", inv.Account, err)
	}
	p.Account, p.ContactID = inv.Account, link.ContactID
	if p.Date.IsZero() {
		p.Date = s.today()
	}
	if p.AccountCode == "" {
		p.AccountCode = s.cfg.AccountCode
	}
	if p.Refund && s.cfg.PaymentAccountCode == "" {
		return billing.CreditResult{}, fmt.Errorf("%w: refund: no payment account: set %s", billing.ErrInvalidPayment, EnvPaymentAccountCode)
	}
	op, err := billing.NewMoneyOp(uuid.NewString(), billing.MoneyParams{CreditNote: &p}, s.now())
	if err != nil {
		return billing.CreditResult{}, err
	}
	done, err := s.runOp(ctx, op)
	if err != nil {
		return billing.CreditResult{}, err
	}
	var res billing.CreditResult
	if next, ok := s.followUp(done); ok {
		// Recorded before the credit note's operation was done: this
		// finds it, and finishes it if a crash left it pending.
		fdone, err := s.runOp(ctx, next)
		if err != nil {
			return res, err
		}
		if fdone.Kind == billing.KindRefund {
			pay, err := s.store.PaymentByProviderID(ctx, fdone.ProviderID)
			if err != nil {
				return res, fmt.Errorf("xero: refund %s: %w", fdone.ProviderID, err)
			}
			res.Refund = &pay
		}
	}
	if res.CreditNote, err = s.store.CreditNoteByProviderID(ctx, done.ProviderID); err != nil {
		return res, fmt.Errorf("xero: credit note %s: %w", done.ProviderID, err)
	}
	if res.Invoice, err = s.store.InvoiceByProviderID(ctx, p.InvoiceID); err != nil {
		return res, fmt.Errorf("xero: invoice %s: %w", p.InvoiceID, err)
	}
	return res, nil
}

// followUp is the operation a done credit note operation asks for next:
// its allocation or its refund. The refund's reference names the credit
// note, so it is the same logical refund however often it is asked for.
func (s *Service) followUp(op billing.MoneyOp) (billing.MoneyOp, bool) {
	c := op.Params.CreditNote
	if op.Kind != billing.KindCreditNote || c == nil || op.ProviderID == "" {
		return billing.MoneyOp{}, false
	}
	var p billing.MoneyParams
	switch {
	case c.Allocate:
		p.Allocation = &billing.AllocationParams{CreditNoteID: op.ProviderID, InvoiceID: c.InvoiceID, Amount: c.Amount, Date: c.Date}
	case c.Refund:
		p.Refund = &billing.RefundParams{CreditNoteID: op.ProviderID, Amount: c.Amount, Date: c.Date,
			Reference: cutUTF16("Refund: "+c.Reason, 255), AccountCode: s.cfg.PaymentAccountCode}
	default:
		return billing.MoneyOp{}, false
	}
	// Keyed by the credit note's operation: the same follow-up whoever
	// records it first.
	next, err := billing.NewMoneyOp(op.Key+"/"+string(kindOf(p)), p, s.now())
	return next, err == nil
}

func kindOf(p billing.MoneyParams) billing.MoneyKind { k, _ := p.Kind(); return k }

// parentKey is the key of the credit note operation whose follow-up has
// this key (see followUp).
func parentKey(key string) (string, bool) {
	i := strings.LastIndexByte(key, '/')
	if i <= 0 {
		return "", false
	}
	switch billing.MoneyKind(key[i+1:]) {
	case billing.KindAllocation, billing.KindRefund:
		return key[:i], true
	}
	return "", false
}

// VoidInvoice voids an AUTHORISED invoice in Xero (POST /Invoices/{id},
// Status VOIDED), exactly once, and returns it as saved. An invoice with
// payments in Xero is refused with billing.ErrHasPayments naming them,
// unless reversePayments asks for each to be reversed first (each a
// ReversePayment, exactly once). Voiding an invoice already voided returns
// it as it is.
func (s *Service) VoidInvoice(ctx context.Context, invoiceID string, reversePayments bool) (billing.Invoice, error) {
	if err := s.ready(); err != nil {
		return billing.Invoice{}, err
	}
	inv, err := s.store.InvoiceByProviderID(ctx, invoiceID)
	if errors.Is(err, billing.ErrNotFound) {
		return inv, fmt.Errorf("%w: invoice %s is not one of the app's invoices: %w", billing.ErrInvalidPayment, invoiceID, err)
	}
	if err != nil {
		return inv, fmt.Errorf("xero: invoice %s: %w", invoiceID, err)
	}
	op, err := billing.NewMoneyOp(uuid.NewString(), billing.MoneyParams{Void: &billing.VoidParams{InvoiceID: inv.ProviderID, ReversePayments: reversePayments}}, s.now())
	if err != nil {
		return inv, err
	}
	if inv.Status == billing.StatusVoided {
		return inv, nil
	}
	// Xero's payments, not the store's: one made by hand counts too.
	found, bad, err := s.client.FindPayments(ctx, inv.ProviderID, "")
	if err != nil {
		return inv, fmt.Errorf("xero: payments of invoice %s: %w", inv.Number, err)
	}
	if len(bad) > 0 {
		return inv, fmt.Errorf("xero: payments of invoice %s: %w", inv.Number, bad[0])
	}
	var live []Payment
	for _, x := range found {
		if x.Status != billing.PaymentDeleted {
			live = append(live, x)
		}
	}
	if len(live) > 0 && !reversePayments {
		names := make([]string, len(live))
		for i, x := range live {
			names[i] = fmt.Sprintf("%s of %s on %s (%s)", x.Reference, x.Amount.StringFixed(2), x.Date, x.PaymentID)
		}
		return inv, fmt.Errorf("%w: invoice %s has %d payment(s) in Xero: %s; reverse them first, or ask for them to be reversed",
			billing.ErrHasPayments, inv.Number, len(live), strings.Join(names, "; "))
	}
	for _, x := range live {
		if _, err := s.ReversePayment(ctx, x.PaymentID); err != nil {
			return inv, fmt.Errorf("xero: reversing payment %s of invoice %s: %w", x.PaymentID, inv.Number, err)
		}
	}
	if _, err := s.runOp(ctx, op); err != nil {
		return inv, err
	}
	return s.store.InvoiceByProviderID(ctx, inv.ProviderID)
}

// ResolveMoneyOps resolves every pending money operation (after a crash;
// the cron command runs it first), as ResolveCreations does for invoices.
func (s *Service) ResolveMoneyOps(ctx context.Context) (billing.MoneyResolveResult, error) {
	res := billing.MoneyResolveResult{Pending: map[string]error{}}
	if err := s.ready(); err != nil {
		return res, err
	}
	pending, err := s.store.PendingOps(ctx)
	if err != nil {
		return res, fmt.Errorf("xero: pending money operations: %w", err)
	}
	waiting := map[string]bool{}
	for _, op := range pending {
		waiting[op.Key] = true
	}
	for _, op := range pending {
		if !waiting[op.Key] {
			continue // settled as its credit note's follow-up
		}
		if parent, ok := parentKey(op.Key); ok && waiting[parent] {
			// An allocation or refund runs after its credit note's
			// operation is done, never before: until then nothing
			// knows the credit note as this one's.
			res.Pending[op.Key] = fmt.Errorf("it waits for the credit note's operation %s", parent)
			continue
		}
		done, err := s.resolveOp(ctx, op)
		delete(waiting, op.Key)
		if err == nil {
			if next, ok := s.followUp(done); ok {
				delete(waiting, next.Key)
				delete(res.Pending, next.Key)
				if _, ferr := s.runOp(ctx, next); ferr != nil {
					res.Pending[next.Key] = ferr
					err = ferr
				}
			}
		}
		if err != nil {
			res.Pending[op.Key] = err
			if stopsRun(err) {
				return res, err
			}
			continue
		}
		res.Resolved = append(res.Resolved, done)
	}
	return res, nil
}

// runOp records op unless its logical operation is recorded already, and
// settles it: done before is returned as stored; pending is resolved; new
// is sent.
func (s *Service) runOp(ctx context.Context, op billing.MoneyOp) (billing.MoneyOp, error) {
	begun, err := s.store.BeginOps(ctx, []billing.MoneyOp{op})
	if err != nil {
		return billing.MoneyOp{}, fmt.Errorf("xero: recording the %s: %w", op.Kind, err)
	}
	b := begun[0]
	switch {
	case b.Err != nil:
		return billing.MoneyOp{}, b.Err
	case b.Op.Done:
		return b.Op, nil
	case !b.New:
		return s.resolveOp(ctx, b.Op)
	}
	return s.sendOp(ctx, b.Op)
}

// resolveOp settles a pending operation as resolve settles a creation:
// past the key window a lease keeps other resolvers out; Xero is searched
// first, and only when it certainly holds nothing is the operation sent
// again (with its key).
func (s *Service) resolveOp(ctx context.Context, op billing.MoneyOp) (billing.MoneyOp, error) {
	start := s.now()
	if start.Sub(op.CreatedAt) >= s.keyWindow {
		got, ok, err := s.store.ClaimOp(ctx, op.Key, start, s.resolveLease)
		if err != nil {
			return billing.MoneyOp{}, fmt.Errorf("xero: claiming the %s %s: %w", op.Kind, op.Key, err)
		}
		if got.Done {
			return got, nil
		}
		if !ok {
			return billing.MoneyOp{}, &billing.PendingError{Key: op.Key, Kind: op.Kind, Err: errors.New("another process is resolving it")}
		}
		op = got
	}
	c, found, err := s.findOp(ctx, op)
	if err != nil {
		return billing.MoneyOp{}, &billing.PendingError{Key: op.Key, Kind: op.Kind, Err: fmt.Errorf("searching Xero for the %s: %w", op.Kind, err)}
	}
	if found {
		s.log.InfoContext(ctx, "xero: found what a pending money operation made",
			slog.String("key", op.Key), slog.String("kind", string(op.Kind)), slog.String("id", c.ProviderID))
		return s.completeOp(ctx, op, c)
	}
	return s.sendOp(ctx, op)
}

// sendOp makes op's call and records the outcome: done on an answer,
// dropped when Xero certainly did nothing, pending when nobody can tell.
func (s *Service) sendOp(ctx context.Context, op billing.MoneyOp) (billing.MoneyOp, error) {
	c, err := s.callOp(ctx, op)
	if err != nil {
		if refused(err) {
			if aerr := s.store.AbandonOp(context.WithoutCancel(ctx), op.Key); aerr != nil {
				return billing.MoneyOp{}, errors.Join(err, fmt.Errorf("xero: dropping the refused %s %s: %w", op.Kind, op.Key, aerr))
			}
			return billing.MoneyOp{}, refusal(op.Kind, err)
		}
		s.log.WarnContext(ctx, "xero: money operation outcome unknown; it stays pending",
			slog.String("key", op.Key), slog.String("kind", string(op.Kind)), slog.String("error", err.Error()))
		return billing.MoneyOp{}, &billing.PendingError{Key: op.Key, Kind: op.Kind, Err: err}
	}
	return s.completeOp(ctx, op, c)
}

// refusal is the error of an operation Xero refused: its validation
// message, matching billing.ErrInvalidPayment; a refusal that is no
// verdict on the operation (a rate limit, a token failure) stays as it is.
func refusal(kind billing.MoneyKind, err error) error {
	var ae *APIError
	var rr *recordRefused
	if errors.As(err, &rr) || (errors.As(err, &ae) && (ae.StatusCode == 200 || ae.StatusCode == 400)) {
		return fmt.Errorf("%w: Xero refused the %s: %w", billing.ErrInvalidPayment, kind, err)
	}
	return err
}

// recordRefused is a record of a batch answer that Xero refused (its
// validation errors): Xero made nothing of it.
type recordRefused struct{ el Element }

func (e *recordRefused) Error() string { return e.el.Error() }

// completeOp saves what op made, with the invoices' new states, as done.
// A credit note's allocation or refund is recorded first, so a crash
// after this leaves it pending rather than forgotten.
func (s *Service) completeOp(ctx context.Context, op billing.MoneyOp, c billing.OpCompletion) (billing.MoneyOp, error) {
	ctx0 := context.WithoutCancel(ctx) // Xero moved the money: finish saving it
	c.Key = op.Key
	if op.Kind == billing.KindCreditNote {
		op.ProviderID = c.ProviderID
		if next, ok := s.followUp(op); ok {
			if _, err := s.store.BeginOps(ctx0, []billing.MoneyOp{next}); err != nil {
				return billing.MoneyOp{}, s.unsaved(ctx, op, c, err)
			}
		}
	}
	done, err := s.store.CompleteOps(ctx0, []billing.OpCompletion{c})
	if err == nil {
		err = done[0].Err
	}
	if err != nil {
		return billing.MoneyOp{}, s.unsaved(ctx, op, c, err)
	}
	changed := false
	for _, sv := range done[0].Invoices {
		changed = changed || sv.Changed
	}
	if changed {
		s.deliver(ctx)
	}
	return done[0].Op, nil
}

func (s *Service) unsaved(ctx context.Context, op billing.MoneyOp, c billing.OpCompletion, err error) error {
	s.log.ErrorContext(ctx, "xero: money operation made in Xero but not saved locally; it stays pending",
		slog.String("key", op.Key), slog.String("kind", string(op.Kind)), slog.String("id", c.ProviderID), slog.String("error", err.Error()))
	return &billing.PendingError{Key: op.Key, Kind: op.Kind,
		Err: fmt.Errorf("xero: the %s %s was made in Xero but not saved locally: %w", op.Kind, c.ProviderID, err)}
}

// callOp sends op to Xero with its key and reads the answer into its
// completion.
func (s *Service) callOp(ctx context.Context, op billing.MoneyOp) (billing.OpCompletion, error) {
	p := op.Params
	switch op.Kind {
	case billing.KindPayment:
		return s.sendPayment(ctx, Payment{InvoiceID: p.Payment.InvoiceID, AccountCode: p.Payment.AccountCode,
			Date: p.Payment.Date, Amount: p.Payment.Amount, Reference: p.Payment.Reference}, op.Key)
	case billing.KindRefund:
		return s.sendPayment(ctx, Payment{CreditNoteID: p.Refund.CreditNoteID, AccountCode: p.Refund.AccountCode,
			Date: p.Refund.Date, Amount: p.Refund.Amount, Reference: p.Refund.Reference}, op.Key)
	case billing.KindPaymentReversal:
		x, err := s.client.DeletePayment(ctx, p.Reversal.PaymentID, op.Key)
		if err != nil {
			return billing.OpCompletion{}, err
		}
		return s.paymentCompletion(ctx, x, p.Reversal.InvoiceID), nil
	case billing.KindVoid:
		x, err := s.client.VoidInvoice(ctx, p.Void.InvoiceID, op.Key)
		if err != nil {
			return billing.OpCompletion{}, err
		}
		return s.invoiceCompletion(ctx, x), nil
	case billing.KindCreditNote:
		els, err := s.client.CreateCreditNotes(ctx, []CreditNote{s.xeroCreditNote(*p.CreditNote)}, op.Key)
		if err != nil {
			return billing.OpCompletion{}, err
		}
		if err := elementError(els[0].Element); err != nil {
			return billing.OpCompletion{}, err
		}
		return s.creditCompletion(els[0].CreditNote, *p.CreditNote), nil
	case billing.KindAllocation:
		a := p.Allocation
		if _, err := s.client.AllocateCreditNote(ctx, a.CreditNoteID, Allocation{InvoiceID: a.InvoiceID, Amount: a.Amount, Date: a.Date}, op.Key); err != nil {
			return billing.OpCompletion{}, err
		}
		return s.allocationCompletion(ctx, a)
	}
	return billing.OpCompletion{}, fmt.Errorf("xero: unknown money operation %q", op.Kind)
}

// elementError is the error of a batch answer's record: nil when Xero made
// it, a refusal when Xero said why not, an unknown outcome when the record
// could not be read.
func elementError(el Element) error {
	switch {
	case el.Err != nil:
		return el.Err
	case el.Failed():
		return &recordRefused{el}
	}
	return nil
}

func (s *Service) sendPayment(ctx context.Context, x Payment, key string) (billing.OpCompletion, error) {
	els, err := s.client.CreatePayments(ctx, []Payment{x}, key)
	if err != nil {
		return billing.OpCompletion{}, err
	}
	if err := elementError(els[0].Element); err != nil {
		return billing.OpCompletion{}, err
	}
	if x.CreditNoteID != "" {
		return s.refundCompletion(ctx, els[0].Payment, x.CreditNoteID), nil
	}
	return s.paymentCompletion(ctx, els[0].Payment, x.InvoiceID), nil
}

// paymentCompletion is the completion of a payment or its reversal: the
// payment and its invoice as the answer says Xero now computes it.
func (s *Service) paymentCompletion(ctx context.Context, x Payment, invoiceID string) billing.OpCompletion {
	inv, err := s.store.InvoiceByProviderID(ctx, orDefault(localPayment(x).InvoiceID, invoiceID))
	c, later := paymentCompletionOf(x, invoiceID, inv, err == nil)
	if later {
		s.markLater(ctx, inv.ProviderID)
	}
	return c
}

// paymentCompletionOf is paymentCompletion with the stored invoice in
// hand (known false when the store has none). An answer that does not say
// all of the invoice's new state (Xero's names neither the credit nor when
// it was fully paid) asks for the invoice to be marked for the fetch job,
// which reads the rest (later).
func paymentCompletionOf(x Payment, invoiceID string, inv billing.Invoice, known bool) (c billing.OpCompletion, later bool) {
	pay := localPayment(x)
	if pay.InvoiceID == "" {
		pay.InvoiceID = invoiceID
	}
	c = billing.OpCompletion{ProviderID: pay.ProviderID, Payments: []billing.Payment{pay}}
	if !known {
		return c, false
	}
	if x.Invoice != nil {
		c.Invoices = []billing.Invoice{x.Invoice.Apply(inv)}
	}
	return c, x.Invoice == nil || !x.Invoice.Complete()
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// markLater queues the invoice for the fetch job; a failure costs
// freshness, not money.
func (s *Service) markLater(ctx context.Context, invoiceID string) {
	if _, err := s.store.MarkUpdateNeeded(context.WithoutCancel(ctx), []string{invoiceID}, s.now()); err != nil {
		s.log.WarnContext(ctx, "xero: marking an invoice for the fetch job failed",
			slog.String("invoice_id", invoiceID), slog.String("error", err.Error()))
	}
}

// invoiceCompletion is the completion of a void: the invoice as Xero
// answered it.
func (s *Service) invoiceCompletion(ctx context.Context, x Invoice) billing.OpCompletion {
	c := billing.OpCompletion{ProviderID: x.InvoiceID}
	if inv, err := s.store.InvoiceByProviderID(ctx, x.InvoiceID); err == nil {
		c.Invoices = []billing.Invoice{inv.WithProviderState(localInvoice(x))}
	}
	return c
}

// xeroCreditNote is the PUT /CreditNotes body of a credit note: one line of
// the whole amount, tax included, so the member is credited exactly that.
func (s *Service) xeroCreditNote(p billing.CreditNoteParams) CreditNote {
	amountType := AmountInclusive
	if s.cfg.AmountType == AmountNoTax {
		amountType = AmountNoTax
	}
	return CreditNote{
		Type:            CreditNoteTypeSales,
		Contact:         Contact{ContactID: p.ContactID},
		Date:            p.Date,
		Status:          billing.StatusAuthorised,
		Reference:       creditReference(p.Reason),
		LineAmountTypes: amountType.wireName(),
		CurrencyCode:    s.cfg.Currency,
		LineItems: []LineItem{{Description: p.Reason, Quantity: decimal.NewFromInt(1), UnitAmount: p.Amount,
			AccountCode: p.AccountCode}},
	}
}

// creditReference is a credit note's reference: its reason, within Xero's
// 255 characters.
func creditReference(reason string) string {
	return cutUTF16(strings.Join(strings.Fields(reason), " "), 255)
}

func (s *Service) creditCompletion(x CreditNote, p billing.CreditNoteParams) billing.OpCompletion {
	cn := localCreditNote(x, p.Account, p.InvoiceID)
	return billing.OpCompletion{ProviderID: cn.ProviderID, CreditNotes: []billing.CreditNote{cn}}
}

// allocationCompletion reads the credit note and the invoice after an
// allocation: Xero's answer to it holds neither's new state.
func (s *Service) allocationCompletion(ctx context.Context, a *billing.AllocationParams) (billing.OpCompletion, error) {
	c := billing.OpCompletion{}
	cn, err := s.client.GetCreditNote(ctx, a.CreditNoteID)
	if err != nil {
		// The credit is allocated: the fetch job reads the rest.
		s.markLater(ctx, a.InvoiceID)
		return c, nil
	}
	for _, x := range cn.Allocations {
		if strings.EqualFold(x.InvoiceID, a.InvoiceID) {
			c.ProviderID = x.AllocationID
		}
	}
	c.CreditNotes = []billing.CreditNote{localCreditNote(cn, billing.Account{}, "")}
	s.addInvoice(ctx, &c, a.InvoiceID)
	return c, nil
}

// addInvoice adds the invoice's state as Xero holds it to c, or marks it
// for the fetch job when it cannot be read now.
func (s *Service) addInvoice(ctx context.Context, c *billing.OpCompletion, invoiceID string) {
	xs, _, err := s.client.GetInvoices(ctx, []string{invoiceID})
	stored, serr := s.store.InvoiceByProviderID(ctx, invoiceID)
	if err != nil || len(xs) != 1 || serr != nil {
		s.markLater(ctx, invoiceID)
		return
	}
	c.Invoices = append(c.Invoices, stored.WithProviderState(localInvoice(xs[0])))
}

// refundCompletion is the completion of a refund: the payment and the
// credit note it paid out of, read again for its remaining credit.
func (s *Service) refundCompletion(ctx context.Context, x Payment, creditNoteID string) billing.OpCompletion {
	pay := localPayment(x)
	pay.InvoiceID, pay.CreditNoteID = "", creditNoteID
	c := billing.OpCompletion{ProviderID: pay.ProviderID, Payments: []billing.Payment{pay}}
	if cn, err := s.client.GetCreditNote(ctx, creditNoteID); err == nil {
		c.CreditNotes = []billing.CreditNote{localCreditNote(cn, billing.Account{}, "")}
	}
	return c
}

// findOp looks in Xero for what op made. found is false only when Xero
// certainly holds nothing of it; a record that cannot be read is an error,
// so nothing is sent again past it.
func (s *Service) findOp(ctx context.Context, op billing.MoneyOp) (billing.OpCompletion, bool, error) {
	p := op.Params
	switch op.Kind {
	case billing.KindPayment:
		xs, bad, err := s.client.FindPayments(ctx, p.Payment.InvoiceID, p.Payment.Reference)
		x, found, err := s.pickPayment(ctx, xs, bad, err)
		if !found || err != nil {
			return billing.OpCompletion{}, found, err
		}
		c := billing.OpCompletion{ProviderID: x.PaymentID, Payments: []billing.Payment{localPayment(x)}}
		c.Payments[0].InvoiceID = p.Payment.InvoiceID
		s.addInvoice(ctx, &c, p.Payment.InvoiceID)
		return c, true, nil
	case billing.KindRefund:
		xs, bad, err := s.client.FindRefunds(ctx, p.Refund.CreditNoteID, p.Refund.Reference)
		x, found, err := s.pickPayment(ctx, xs, bad, err)
		if !found || err != nil {
			return billing.OpCompletion{}, found, err
		}
		return s.refundCompletion(ctx, x, p.Refund.CreditNoteID), true, nil
	case billing.KindPaymentReversal:
		x, err := s.client.GetPayment(ctx, p.Reversal.PaymentID)
		if err != nil || x.Status != billing.PaymentDeleted {
			return billing.OpCompletion{}, false, err
		}
		c := s.paymentCompletion(ctx, x, p.Reversal.InvoiceID)
		if len(c.Invoices) == 0 || x.Invoice == nil || !x.Invoice.Complete() {
			c.Invoices = nil
			s.addInvoice(ctx, &c, p.Reversal.InvoiceID)
		}
		return c, true, nil
	case billing.KindVoid:
		xs, bad, err := s.client.GetInvoices(ctx, []string{p.Void.InvoiceID})
		switch {
		case err != nil:
			return billing.OpCompletion{}, false, err
		case len(bad) > 0:
			return billing.OpCompletion{}, false, bad[0]
		case len(xs) != 1:
			return billing.OpCompletion{}, false, fmt.Errorf("xero: invoice %s: %w", p.Void.InvoiceID, ErrNotFound)
		case xs[0].Status != billing.StatusVoided:
			return billing.OpCompletion{}, false, nil
		}
		return s.invoiceCompletion(ctx, xs[0]), true, nil
	case billing.KindCreditNote:
		return s.findCreditNote(ctx, op)
	case billing.KindAllocation:
		a := p.Allocation
		cn, err := s.client.GetCreditNote(ctx, a.CreditNoteID)
		if err != nil {
			return billing.OpCompletion{}, false, err
		}
		for _, x := range cn.Allocations {
			if strings.EqualFold(x.InvoiceID, a.InvoiceID) {
				c := billing.OpCompletion{ProviderID: x.AllocationID, CreditNotes: []billing.CreditNote{localCreditNote(cn, billing.Account{}, "")}}
				s.addInvoice(ctx, &c, a.InvoiceID)
				return c, true, nil
			}
		}
		return billing.OpCompletion{}, false, nil
	}
	return billing.OpCompletion{}, false, fmt.Errorf("xero: unknown money operation %q", op.Kind)
}

// pickPayment is the payment of a search that is the operation's: the one
// the store does not hold already (a payment of the same invoice and
// reference recorded by another operation is that one's), preferring one
// not deleted. Two candidates are an error naming both; an unreadable
// record is an error too.
func (s *Service) pickPayment(ctx context.Context, xs []Payment, bad []*MoneyRecordError, err error) (Payment, bool, error) {
	if err != nil {
		return Payment{}, false, err
	}
	if len(bad) > 0 {
		return Payment{}, false, fmt.Errorf("the search of Xero found a payment that cannot be read, so nothing is sent again; correct it in Xero: %w", bad[0])
	}
	var live, deleted []Payment
	for _, x := range xs {
		if _, err := s.store.PaymentByProviderID(ctx, x.PaymentID); err == nil {
			continue
		}
		if x.Status == billing.PaymentDeleted {
			deleted = append(deleted, x)
		} else {
			live = append(live, x)
		}
	}
	cands := live
	if len(cands) == 0 {
		cands = deleted
	}
	switch len(cands) {
	case 0:
		return Payment{}, false, nil
	case 1:
		return cands[0], true, nil
	}
	names := make([]string, len(cands))
	for i, x := range cands {
		names[i] = x.PaymentID
	}
	return Payment{}, false, fmt.Errorf("%w: Xero holds %d payments that match it: %s; delete the extra one in Xero, then resolve again",
		billing.ErrConflict, len(cands), strings.Join(names, ", "))
}

// findCreditNote looks for the credit note of op: the contact's, with its
// reference, one line of its reason and amount, changed no earlier than op
// was recorded (less a clock margin), and not stored as raised for another
// invoice. One stored without an invoice is taken: the logical credit note
// (invoice, reason, amount) is unique, and only a refresh saves one so.
func (s *Service) findCreditNote(ctx context.Context, op billing.MoneyOp) (billing.OpCompletion, bool, error) {
	p := *op.Params.CreditNote
	xs, bad, err := s.client.FindCreditNotes(ctx, p.ContactID, creditReference(p.Reason))
	if err != nil {
		return billing.OpCompletion{}, false, err
	}
	if len(bad) > 0 {
		return billing.OpCompletion{}, false, fmt.Errorf("the search of Xero found a credit note that cannot be read, so nothing is sent again; correct it in Xero: %w", bad[0])
	}
	var match []CreditNote
	for _, x := range xs {
		if x.Type != "" && x.Type != CreditNoteTypeSales {
			continue
		}
		if len(x.LineItems) != 1 || x.LineItems[0].Description != p.Reason || !x.Total.Equal(p.Amount) {
			continue
		}
		if !x.UpdatedDateUTC.IsZero() && x.UpdatedDateUTC.Before(op.CreatedAt.Add(-clockMargin)) {
			continue
		}
		if stored, err := s.store.CreditNoteByProviderID(ctx, x.CreditNoteID); err == nil &&
			stored.InvoiceID != "" && !strings.EqualFold(stored.InvoiceID, p.InvoiceID) {
			continue
		}
		match = append(match, x)
	}
	switch len(match) {
	case 0:
		return billing.OpCompletion{}, false, nil
	case 1:
		return s.creditCompletion(match[0], p), true, nil
	}
	names := make([]string, len(match))
	for i, x := range match {
		names[i] = fmt.Sprintf("%s (%s)", x.CreditNoteNumber, x.CreditNoteID)
	}
	return billing.OpCompletion{}, false, fmt.Errorf("%w: Xero holds %d credit notes that match it: %s; void the extra one in Xero, then resolve again",
		billing.ErrConflict, len(match), strings.Join(names, ", "))
}

var _ billing.MoneyService = (*Service)(nil)
