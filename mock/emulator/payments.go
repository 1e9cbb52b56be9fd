package emulator

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/amsbilling/sdk/billing"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// DefaultPaymentAccountCode is the account a payment made by hand goes to
// when none is named: the demo organisation's Business Bank Account.
const DefaultPaymentAccountCode = "090"

// The messages payments are refused with. Xero's own words where they are
// known (see doc.go); the others are worded in Xero's style.
const (
	// Xero's: the description's own example of PUT /Payments.
	msgOverpayment = "Payment amount exceeds the amount outstanding on this document"
	// Xero's, as integrations report it.
	msgNotAuthorised = "Payments can only be made against Authorised documents"
	// Xero's, as integrations report it.
	msgNoAccount = "You must specify an Account code or Account ID for the payment"
	// Approximated: Xero's wording for an account that is neither BANK nor
	// enabled for payments is not on record.
	msgAccountNotPayable = "Account type is invalid for making a payment to/from"
	msgAccountNotFound   = "Account could not be found"
	msgNoDocument        = "A payment must be applied to an Invoice or a Credit Note"
	msgInvoiceNotFound   = "Invoice could not be found"
	msgCreditNotFound    = "Credit Note could not be found"
	msgPaymentAmount     = "Payment amount must be greater than zero"
	msgDeleteOnly        = "A payment can only be deleted: send a Status of DELETED"
	msgAlreadyDeleted    = "This payment has already been deleted"
	msgReconciled        = "This payment has been reconciled and cannot be deleted"
)

// paymentWrite is one payment of a write being validated.
type paymentWrite struct {
	p        Payment
	inv      *Invoice    // the invoice paid, when found
	cn       *CreditNote // the credit note refunded, when found
	problems []string
}

// paymentFields are the fields "where" and "order" may name. A refund
// names its credit note under Invoice too, as Xero's answers do. e.mu must
// be held while they are used.
func (e *Emulator) paymentFields() map[string]func(*Payment) string {
	docID := func(p *Payment) string { return p.InvoiceID + p.CreditNoteID }
	docNumber := func(p *Payment) string {
		if inv := e.invoiceByID[p.InvoiceID]; inv != nil {
			return inv.InvoiceNumber
		}
		if cn := e.creditNoteByID[p.CreditNoteID]; cn != nil {
			return cn.CreditNoteNumber
		}
		return ""
	}
	contactID := func(p *Payment) string {
		if inv := e.invoiceByID[p.InvoiceID]; inv != nil {
			return inv.ContactID
		}
		if cn := e.creditNoteByID[p.CreditNoteID]; cn != nil {
			return cn.ContactID
		}
		return ""
	}
	return map[string]func(*Payment) string{
		"PaymentID":                 func(p *Payment) string { return p.PaymentID },
		"PaymentType":               func(p *Payment) string { return p.PaymentType },
		"Status":                    func(p *Payment) string { return p.Status },
		"Reference":                 func(p *Payment) string { return p.Reference },
		"Amount":                    func(p *Payment) string { return p.Amount.String() },
		"BankAmount":                func(p *Payment) string { return p.Amount.String() },
		"Date":                      func(p *Payment) string { return dateString(p.Date) },
		"IsReconciled":              func(p *Payment) string { return strconv.FormatBool(p.IsReconciled) },
		"HasAccount":                func(*Payment) string { return "true" },
		"UpdatedDateUTC":            func(p *Payment) string { return p.UpdatedDateUTC.UTC().Format(whereTimeLayout) },
		"Invoice.InvoiceID":         docID,
		"Invoice.InvoiceNumber":     docNumber,
		"Invoice.Contact.ContactID": contactID,
		"CreditNote.CreditNoteID":   func(p *Payment) string { return p.CreditNoteID },
		"CreditNote.CreditNoteNumber": func(p *Payment) string {
			if p.CreditNoteID == "" {
				return ""
			}
			return docNumber(p)
		},
		"Account.AccountID": func(p *Payment) string { return p.AccountID },
		"Account.Code":      func(p *Payment) string { return p.AccountCode },
	}
}

// PUT /Payments (and POST /Payments) makes payments against invoices and
// refunds out of credit notes.
func (e *Emulator) putPayments(call *apiCall) reply {
	ins, bad := decodeList[paymentIn](call.body, "Payments")
	if bad != nil {
		return *bad
	}
	pending := map[string]decimal.Decimal{}
	writes := make([]*paymentWrite, 0, len(ins))
	for _, in := range ins {
		w, bad := e.buildPayment(in, pending)
		if bad != nil {
			return *bad
		}
		writes = append(writes, w)
	}
	return e.commitPayments(call, writes)
}

// buildPayment validates one payment. pending holds, by document id, what
// the valid payments before it in the same request take; a valid payment
// adds to it. A body Xero could not read gives a reply instead. e.mu must
// be held.
func (e *Emulator) buildPayment(in paymentIn, pending map[string]decimal.Decimal) (*paymentWrite, *reply) {
	w := &paymentWrite{}
	w.p.Status = PaymentAuthorised
	problem := func(msg string) { w.problems = append(w.problems, msg) }
	unreadable := func(field, value string) (*paymentWrite, *reply) {
		rp := postDataInvalid(fmt.Sprintf("Error converting value %q to type '%s'.", value, field))
		return nil, &rp
	}

	var invID, invNum, cnID, cnNum string
	if in.Invoice != nil {
		invID, invNum = strings.TrimSpace(str(in.Invoice.InvoiceID)), strings.TrimSpace(str(in.Invoice.InvoiceNumber))
	}
	if invNum == "" {
		invNum = strings.TrimSpace(str(in.InvoiceNumber))
	}
	if in.CreditNote != nil {
		cnID, cnNum = strings.TrimSpace(str(in.CreditNote.CreditNoteID)), strings.TrimSpace(str(in.CreditNote.CreditNoteNumber))
	}
	if cnNum == "" {
		cnNum = strings.TrimSpace(str(in.CreditNoteNumber))
	}
	for _, id := range []string{invID, cnID} {
		if _, err := uuid.Parse(id); id != "" && err != nil {
			return unreadable("System.Guid", id)
		}
	}
	switch {
	case invID != "" || invNum != "":
		w.p.PaymentType = PaymentTypeInvoice
		if invID != "" {
			w.inv = e.findInvoice(invID)
		} else {
			w.inv = e.invoiceByNumber(invNum)
		}
		if w.inv == nil {
			problem(msgInvoiceNotFound)
		} else {
			w.p.InvoiceID = w.inv.InvoiceID
		}
	case cnID != "" || cnNum != "":
		w.p.PaymentType = PaymentTypeRefund
		if cnID != "" {
			w.cn = e.findCreditNote(cnID)
		} else {
			w.cn = e.creditNoteByNumber(cnNum)
		}
		if w.cn == nil {
			problem(msgCreditNotFound)
		} else {
			w.p.CreditNoteID = w.cn.CreditNoteID
		}
	default:
		problem(msgNoDocument)
	}

	var accountID, code string
	if in.Account != nil {
		accountID, code = strings.TrimSpace(str(in.Account.AccountID)), strings.TrimSpace(str(in.Account.Code))
	}
	if code == "" {
		code = strings.TrimSpace(str(in.Code))
	}
	var acct *account
	switch {
	case accountID != "":
		if _, err := uuid.Parse(accountID); err != nil {
			return unreadable("System.Guid", accountID)
		}
		acct = e.accountByID(accountID)
	case code != "":
		acct = e.accountByCode(code)
	}
	switch {
	case accountID == "" && code == "":
		problem(msgNoAccount)
	case acct == nil:
		problem(msgAccountNotFound)
	case !acct.payable():
		problem(msgAccountNotPayable)
	}
	if acct != nil {
		w.p.AccountID, w.p.AccountCode = acct.id, acct.code
	}

	w.p.Date = billing.DateOf(e.now())
	if in.Date != nil && strings.TrimSpace(*in.Date) != "" {
		d, err := parseDate(*in.Date)
		if err != nil {
			return unreadable("DateTime", *in.Date)
		}
		w.p.Date = d
	}
	w.p.Reference = strings.TrimSpace(str(in.Reference))
	if in.IsReconciled != nil {
		w.p.IsReconciled = *in.IsReconciled
	}
	// Money moves in cents: round first, so a payment that rounds to
	// nothing is refused and one that rounds to what is due pays it.
	if in.Amount != nil {
		w.p.Amount = in.Amount.Round(2)
	}
	if !w.p.Amount.IsPositive() {
		problem(msgPaymentAmount)
	}

	var docID string
	var outstanding decimal.Decimal
	switch {
	case w.inv != nil:
		docID, outstanding = w.inv.InvoiceID, w.inv.AmountDue
		if w.inv.Status != billing.StatusAuthorised {
			problem(msgNotAuthorised)
		}
	case w.cn != nil:
		docID, outstanding = w.cn.CreditNoteID, w.cn.RemainingCredit
		if w.cn.Status != billing.StatusAuthorised {
			problem(msgNotAuthorised)
		}
	}
	if docID != "" && w.p.Amount.IsPositive() && w.p.Amount.GreaterThan(outstanding.Sub(pending[docID])) {
		problem(msgOverpayment)
	}
	if docID != "" && len(w.problems) == 0 {
		pending[docID] = pending[docID].Add(w.p.Amount)
	}
	return w, nil
}

// commitPayments saves the valid payments: all or none by default, the
// valid ones with summarizeErrors=false (or with Options.PartialBatchOnError).
// e.mu must be held.
func (e *Emulator) commitPayments(call *apiCall, writes []*paymentWrite) reply {
	if rp, ok := e.checkBatch(len(writes)); !ok {
		return rp
	}
	failed := slices.ContainsFunc(writes, func(w *paymentWrite) bool { return len(w.problems) > 0 })
	all := summarize(call.query)
	rejected := func(w *paymentWrite) wirePaymentFull {
		p := w.p
		p.PaymentID = unsavedID
		p.Status = ""
		wp := e.toWirePayment(&p, w.inv, w.cn)
		wp.UpdatedDateUTC, wp.UpdatedDateUTCString = "", ""
		wp.HasValidationErrors = true
		wp.ValidationErrors = validationErrors(w.problems)
		wp.Warnings = validationList(call.warnings)
		return wp
	}
	if failed && all {
		var elements []any
		for _, w := range writes {
			if len(w.problems) > 0 {
				elements = append(elements, rejected(w))
			} else if e.opts.PartialBatchOnError {
				e.savePayment(w)
			}
		}
		return validationReply(elements)
	}
	out := paymentsOut{envelope: e.envelope(), Payments: make([]wirePaymentFull, 0, len(writes))}
	for _, w := range writes {
		if len(w.problems) > 0 {
			wp := rejected(w)
			wp.StatusAttributeString = statusError
			out.Payments = append(out.Payments, wp)
			continue
		}
		p := e.savePayment(w)
		wp := e.toWirePayment(p, w.inv, w.cn)
		wp.Warnings = validationList(call.warnings)
		if !all {
			wp.StatusAttributeString = savedStatus(call.warnings)
			wp.ValidationErrors = []wireValidationError{}
		}
		out.Payments = append(out.Payments, wp)
	}
	return jsonReply(http.StatusOK, out)
}

// savePayment saves a valid payment and settles the document it pays,
// queueing its webhook. e.mu must be held.
func (e *Emulator) savePayment(w *paymentWrite) *Payment {
	now := e.now()
	p := new(Payment)
	*p = w.p
	p.PaymentID = e.entityID(idOther)
	p.Status = PaymentAuthorised
	p.UpdatedDateUTC = now
	e.payments = append(e.payments, p)
	e.paymentByID[p.PaymentID] = p
	switch {
	case w.inv != nil:
		w.inv.payments = append(w.inv.payments, p)
		e.settleInvoice(w.inv, p.Date, now)
	case w.cn != nil:
		w.cn.payments = append(w.cn.payments, p)
		e.settleCreditNote(w.cn, p.Date, now)
	}
	return p
}

// settleInvoice recomputes what is paid, credited and due on inv after a
// payment or allocation changed, on date: it becomes PAID when nothing is
// due (FullyPaidOnDate = date) and AUTHORISED again when a reversal leaves
// something due. It queues an INVOICE UPDATE webhook. e.mu must be held.
func (e *Emulator) settleInvoice(inv *Invoice, date billing.Date, now time.Time) {
	inv.AmountPaid = decimal.Zero
	for _, p := range inv.payments {
		if p.Status != PaymentDeleted {
			inv.AmountPaid = inv.AmountPaid.Add(p.Amount)
		}
	}
	inv.AmountCredited = decimal.Zero
	for _, a := range inv.Allocations {
		inv.AmountCredited = inv.AmountCredited.Add(a.Amount)
	}
	inv.AmountDue = inv.Total.Sub(inv.AmountPaid).Sub(inv.AmountCredited)
	switch {
	case inv.Status == billing.StatusAuthorised && !inv.AmountDue.IsPositive():
		inv.AmountDue = decimal.Zero
		inv.Status = billing.StatusPaid
		inv.FullyPaidOnDate = date
	case inv.Status == billing.StatusPaid && inv.AmountDue.IsPositive():
		inv.Status = billing.StatusAuthorised
		inv.FullyPaidOnDate = billing.Date{}
	}
	inv.UpdatedDateUTC = now
	e.queueEvent(inv.InvoiceID, "UPDATE", now)
}

// GET /Payments with where, order, page, pageSize and If-Modified-Since.
// Deleted payments are listed too, with Status DELETED.
func (e *Emulator) getPayments(call *apiCall) reply {
	q := call.query
	list := slices.Clone(e.payments)
	if since, ok := ifModifiedSince(call.r); ok {
		list = slices.DeleteFunc(list, func(p *Payment) bool { return !modifiedSince(p.UpdatedDateUTC, since) })
	}
	fields := e.paymentFields()
	if where := q.Get("where"); strings.TrimSpace(where) != "" {
		pred, err := parseWhere(where, "Payment", fields)
		if err != nil {
			if rp, ok := asQueryError(err); ok {
				return rp
			}
			return queryParseError(err.Error())
		}
		list = slices.DeleteFunc(list, func(p *Payment) bool { return !pred(p) })
	}
	if rp, ok := sortBy(list, q.Get("order"), "Payment", fields, func(a, b *Payment) int { return 0 }); !ok {
		return rp
	}
	page, pag, rp, ok := paginate(list, q)
	if !ok {
		return rp
	}
	out := paymentsOut{envelope: e.envelope(), Pagination: pag, Payments: make([]wirePaymentFull, 0, len(page))}
	for _, p := range page {
		out.Payments = append(out.Payments, e.toWirePayment(p, e.invoiceByID[p.InvoiceID], e.creditNoteByID[p.CreditNoteID]))
	}
	return jsonReply(http.StatusOK, out)
}

// findPayment finds a payment by its PaymentID. e.mu must be held.
func (e *Emulator) findPayment(id string) *Payment {
	u, err := uuid.Parse(id)
	if err != nil {
		return nil
	}
	return e.paymentByID[u.String()]
}

// GET /Payments/{PaymentID}
func (e *Emulator) getPayment(call *apiCall) reply {
	p := e.findPayment(call.segs[1])
	if p == nil {
		return notFound()
	}
	return jsonReply(http.StatusOK, paymentsOut{envelope: e.envelope(), Payments: []wirePaymentFull{
		e.toWirePayment(p, e.invoiceByID[p.InvoiceID], e.creditNoteByID[p.CreditNoteID]),
	}})
}

// POST /Payments/{PaymentID} with {"Status":"DELETED"} (or that record in
// a "Payments" list) deletes the payment: the invoice it paid, or the
// credit note it refunded, gets the amount back.
func (e *Emulator) postPayment(call *apiCall) reply {
	p := e.findPayment(call.segs[1])
	if p == nil {
		return notFound()
	}
	ins, bad := decodeList[paymentIn](call.body, "Payments")
	if bad != nil {
		return *bad
	}
	if len(ins) == 0 {
		return postDataInvalid("No payment was received")
	}
	inv, cn := e.invoiceByID[p.InvoiceID], e.creditNoteByID[p.CreditNoteID]
	var problems []string
	switch {
	case !strings.EqualFold(strings.TrimSpace(str(ins[0].Status)), PaymentDeleted):
		problems = append(problems, msgDeleteOnly)
	case p.Status == PaymentDeleted:
		problems = append(problems, msgAlreadyDeleted)
	case p.IsReconciled:
		problems = append(problems, msgReconciled)
	}
	if len(problems) > 0 {
		wp := e.toWirePayment(p, inv, cn)
		wp.HasValidationErrors = true
		wp.ValidationErrors = validationErrors(problems)
		wp.Warnings = validationList(call.warnings)
		return validationReply([]any{wp})
	}
	e.deletePayment(p)
	wp := e.toWirePayment(p, inv, cn)
	wp.Warnings = validationList(call.warnings)
	return jsonReply(http.StatusOK, paymentsOut{envelope: e.envelope(), Payments: []wirePaymentFull{wp}})
}

// deletePayment marks p DELETED and gives its amount back to the document
// it was applied to. e.mu must be held.
func (e *Emulator) deletePayment(p *Payment) {
	now := e.now()
	p.Status = PaymentDeleted
	p.UpdatedDateUTC = now
	if inv := e.invoiceByID[p.InvoiceID]; inv != nil {
		e.settleInvoice(inv, inv.FullyPaidOnDate, now)
	}
	if cn := e.creditNoteByID[p.CreditNoteID]; cn != nil {
		e.settleCreditNote(cn, cn.FullyPaidOnDate, now)
	}
}

// toWirePayment renders p with the invoice it pays or the credit note it
// refunds (either may be nil for a refused payment). A refund names its
// credit note under Invoice, with Type ACCRECCREDIT, as Xero's answers do,
// and under CreditNote.
func (e *Emulator) toWirePayment(p *Payment, inv *Invoice, cn *CreditNote) wirePaymentFull {
	one := num{d: decimal.NewFromInt(1), places: 10}
	w := wirePaymentFull{
		PaymentID:    p.PaymentID,
		Date:         dateMS(p.Date),
		BankAmount:   money(p.Amount),
		Amount:       money(p.Amount),
		Reference:    p.Reference,
		CurrencyRate: one,
		PaymentType:  p.PaymentType,
		Status:       p.Status,
		HasAccount:   p.AccountID != "",
		IsReconciled: p.IsReconciled,
	}
	if !p.UpdatedDateUTC.IsZero() {
		w.UpdatedDateUTC = msDate(p.UpdatedDateUTC)
		w.UpdatedDateUTCString = p.UpdatedDateUTC.UTC().Format(time.RFC3339)
	}
	if p.AccountID != "" {
		ref := &wireAccountRef{AccountID: p.AccountID, Code: p.AccountCode}
		if a := e.accountByID(p.AccountID); a != nil {
			ref.Name = a.name
		}
		w.Account = ref
	}
	switch {
	case inv != nil:
		wi := toWireInvoice(inv, e.contactByID[inv.ContactID], false, 2)
		w.Invoice = &wi
	case cn != nil:
		wi := creditNoteAsInvoice(cn, e.contactByID[cn.ContactID])
		w.Invoice = &wi
		w.CreditNote = &wireCreditNoteRef{CreditNoteID: cn.CreditNoteID, CreditNoteNumber: cn.CreditNoteNumber, Type: cn.Type, Status: cn.Status}
	}
	return w
}

// ManualPayment is a payment made in Xero by hand (RecordPayment): against
// an invoice, or a refund out of a credit note.
type ManualPayment struct {
	// InvoiceID names the invoice paid (its id or number); CreditNoteID
	// instead the credit note refunded (its id or number).
	InvoiceID    string
	CreditNoteID string
	// AccountCode is the account paid into; default
	// DefaultPaymentAccountCode.
	AccountCode string
	Amount      decimal.Decimal
	// Date is the payment's date; zero means today.
	Date      billing.Date
	Reference string
}

// RecordPayment makes a payment as someone working in Xero would, by the
// rules PUT /Payments applies (an AUTHORISED document, an amount in (0,
// what is outstanding], a payable account), and returns it. It queues an
// INVOICE or CREDITNOTE UPDATE webhook. It fails with ErrNotFound for an
// unknown document and ErrInvalid, saying why, for a payment Xero would
// refuse.
func (e *Emulator) RecordPayment(ctx context.Context, mp ManualPayment) (Payment, error) {
	if err := ctx.Err(); err != nil {
		return Payment{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	in := paymentIn{Amount: &mp.Amount, Reference: &mp.Reference}
	code := cmp.Or(strings.TrimSpace(mp.AccountCode), DefaultPaymentAccountCode)
	in.Code = &code
	if !mp.Date.IsZero() {
		d := mp.Date.String()
		in.Date = &d
	}
	switch {
	case mp.InvoiceID != "":
		inv := e.findInvoice(strings.TrimSpace(mp.InvoiceID))
		if inv == nil {
			return Payment{}, fmt.Errorf("%w: invoice %q", ErrNotFound, mp.InvoiceID)
		}
		in.Invoice = &docRefIn{InvoiceID: &inv.InvoiceID}
	case mp.CreditNoteID != "":
		cn := e.findCreditNote(strings.TrimSpace(mp.CreditNoteID))
		if cn == nil {
			return Payment{}, fmt.Errorf("%w: credit note %q", ErrNotFound, mp.CreditNoteID)
		}
		in.CreditNote = &docRefIn{CreditNoteID: &cn.CreditNoteID}
	}
	w, bad := e.buildPayment(in, map[string]decimal.Decimal{})
	if bad != nil {
		return Payment{}, fmt.Errorf("%w: %s", ErrInvalid, bad.body)
	}
	if len(w.problems) > 0 {
		return Payment{}, fmt.Errorf("%w: %s", ErrInvalid, strings.Join(w.problems, "; "))
	}
	w.p.ByHand = true
	return *e.savePayment(w), nil
}

// DeletePayment deletes a payment as someone working in Xero would (see
// POST /Payments/{PaymentID}): the invoice or credit note gets the amount
// back. It queues an UPDATE webhook for it. It fails with ErrNotFound for an
// unknown payment and ErrInvalid for one already deleted or reconciled.
func (e *Emulator) DeletePayment(ctx context.Context, paymentID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.findPayment(paymentID)
	switch {
	case p == nil:
		return fmt.Errorf("%w: payment %q", ErrNotFound, paymentID)
	case p.Status == PaymentDeleted:
		return fmt.Errorf("%w: %s", ErrInvalid, msgAlreadyDeleted)
	case p.IsReconciled:
		return fmt.Errorf("%w: %s", ErrInvalid, msgReconciled)
	}
	e.deletePayment(p)
	return nil
}

// Payments returns copies of every payment, deleted ones too, in creation
// order.
func (e *Emulator) Payments() []Payment {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Payment, len(e.payments))
	for i, p := range e.payments {
		out[i] = *p
	}
	return out
}

// Payment returns a copy of the payment with this id.
func (e *Emulator) Payment(id string) (Payment, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.findPayment(id)
	if p == nil {
		return Payment{}, false
	}
	return *p, true
}
