package emulator

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/internal/currency"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// Credit note types Xero knows; the emulator keeps sales ones only.
const (
	creditNoteSales    = "ACCRECCREDIT"
	creditNotePurchase = "ACCPAYCREDIT"
)

// The messages credit notes and allocations are refused with, in Xero's
// style; the two marked are Xero's own, as integrations report them.
const (
	msgCreditNoteType       = "The emulator supports sales credit notes (Type ACCRECCREDIT) only."
	msgCreditNoteNoType     = "Credit Note Type must be specified."
	msgCreditNoteStatus     = "Credit notes can only be created with a status of DRAFT, SUBMITTED or AUTHORISED."
	msgCreditNoteNoLines    = "Credit notes must have at least one line item."
	msgCreditNoteUnique     = "Credit Note # must be unique."
	msgAllocateNotApproved  = "Only AUTHORISED credit notes can be allocated."
	msgAllocateNoInvoice    = "An Invoice must be specified for the allocation."
	msgAllocateInvoiceState = "Credit notes can only be allocated to AUTHORISED invoices."
	msgAllocateContact      = "The credit note and the invoice must be for the same contact."
	msgAllocateCurrency     = "The credit note and the invoice must be in the same currency."
	msgAllocateAmount       = "The allocation Amount must be greater than zero."
	msgAllocateOverCredit   = "The allocation amount exceeds the remaining credit on this credit note."
	// Xero's (xeroizer #320).
	msgAllocatePaidOff = "The invoice you are trying to allocate to has already been paid off"
	// Xero's (xeroizer #320).
	msgAllocateOverDue = "Credit Note cannot be allocated as amount is greater than amount outstanding"
)

// creditNoteWrite is one credit note of a write being validated. Its lines,
// contact, currency and totals are worked out as an invoice's are, in w.
type creditNoteWrite struct {
	w      *invoiceWrite
	number string
}

// creditNote is the credit note the write would save (its id unset).
func (cw *creditNoteWrite) creditNote() *CreditNote {
	inv := &cw.w.inv
	return &CreditNote{
		CreditNoteNumber: cw.number,
		Type:             inv.Type,
		Status:           inv.Status,
		Reference:        inv.Reference,
		CurrencyCode:     inv.CurrencyCode,
		LineAmountTypes:  inv.LineAmountTypes,
		ContactID:        inv.ContactID,
		Date:             inv.Date,
		LineItems:        slices.Clone(inv.LineItems),
		SubTotal:         inv.SubTotal,
		TotalTax:         inv.TotalTax,
		Total:            inv.Total,
		RemainingCredit:  inv.Total,
	}
}

// creditNoteFields are the fields "where" and "order" may name. e.mu must
// be held while they are used.
func (e *Emulator) creditNoteFields() map[string]func(*CreditNote) string {
	return map[string]func(*CreditNote) string{
		"CreditNoteID":      func(c *CreditNote) string { return c.CreditNoteID },
		"CreditNoteNumber":  func(c *CreditNote) string { return c.CreditNoteNumber },
		"Type":              func(c *CreditNote) string { return c.Type },
		"Status":            func(c *CreditNote) string { return c.Status },
		"Reference":         func(c *CreditNote) string { return c.Reference },
		"CurrencyCode":      func(c *CreditNote) string { return c.CurrencyCode },
		"LineAmountTypes":   func(c *CreditNote) string { return c.LineAmountTypes },
		"Contact.ContactID": func(c *CreditNote) string { return c.ContactID },
		"Contact.Name": func(c *CreditNote) string {
			if ct := e.contactByID[c.ContactID]; ct != nil {
				return ct.Name
			}
			return ""
		},
		"SubTotal":        func(c *CreditNote) string { return c.SubTotal.String() },
		"TotalTax":        func(c *CreditNote) string { return c.TotalTax.String() },
		"Total":           func(c *CreditNote) string { return c.Total.String() },
		"RemainingCredit": func(c *CreditNote) string { return c.RemainingCredit.String() },
		"Date":            func(c *CreditNote) string { return dateString(c.Date) },
		"FullyPaidOnDate": func(c *CreditNote) string { return dateString(c.FullyPaidOnDate) },
		"UpdatedDateUTC":  func(c *CreditNote) string { return c.UpdatedDateUTC.UTC().Format(whereTimeLayout) },
	}
}

// PUT /CreditNotes creates credit notes.
func (e *Emulator) putCreditNotes(call *apiCall) reply {
	ins, bad := decodeList[creditNoteIn](call.body, "CreditNotes")
	if bad != nil {
		return *bad
	}
	places := unitPlaces(call.query)
	writes := make([]*creditNoteWrite, 0, len(ins))
	earlier := make([]*invoiceWrite, 0, len(ins))
	for _, in := range ins {
		cw, bad := e.buildCreditNote(in, places, writes, earlier)
		if bad != nil {
			return *bad
		}
		writes = append(writes, cw)
		earlier = append(earlier, cw.w)
	}
	return e.commitCreditNotes(call, writes)
}

// buildCreditNote validates a new credit note and computes its amounts, by
// the rules of invoices. earlier are the records before it in the same
// request (earlierInvoices the same, as invoice writes, for the contacts
// they create). e.mu must be held.
func (e *Emulator) buildCreditNote(in creditNoteIn, places int32, earlier []*creditNoteWrite, earlierInvoices []*invoiceWrite) (*creditNoteWrite, *reply) {
	cw := &creditNoteWrite{w: &invoiceWrite{}}
	w := cw.w
	inv := &w.inv
	inv.Status = billing.StatusDraft
	inv.LineAmountTypes = amountsExclusive
	inv.CurrencyCode = e.opts.Currency
	inv.Date = billing.DateOf(e.now())
	problem := func(msg string) { w.problems = append(w.problems, msg) }
	unreadable := func(field, value string) (*creditNoteWrite, *reply) {
		rp := postDataInvalid(fmt.Sprintf("Error converting value %q to type '%s'.", value, field))
		return nil, &rp
	}

	if t := strings.TrimSpace(str(in.Type)); t != "" {
		v, ok := enumValue(t, []string{creditNotePurchase, creditNoteSales})
		if !ok {
			return unreadable("CreditNoteType", t)
		}
		inv.Type = v
	}
	switch inv.Type {
	case "":
		problem(msgCreditNoteNoType)
	case creditNotePurchase:
		problem(msgCreditNoteType)
	}
	if s := strings.TrimSpace(str(in.Status)); s != "" {
		v, ok := enumValue(s, invoiceStatuses())
		if !ok {
			return unreadable("CreditNoteStatus", s)
		}
		inv.Status = v
	}
	switch inv.Status {
	case billing.StatusDraft, billing.StatusSubmitted, billing.StatusAuthorised:
	default:
		problem(msgCreditNoteStatus)
	}
	if t := strings.TrimSpace(str(in.LineAmountTypes)); t != "" {
		v, ok := enumValue(t, []string{amountsExclusive, amountsInclusive, amountsNoTax})
		if !ok {
			return unreadable("LineAmountType", t)
		}
		inv.LineAmountTypes = v
	}
	if d := strings.TrimSpace(str(in.Date)); d != "" {
		v, err := parseDate(d)
		if err != nil {
			return unreadable("DateTime", d)
		}
		inv.Date = v
	}
	if c := strings.TrimSpace(str(in.CurrencyCode)); c != "" {
		inv.CurrencyCode = strings.ToUpper(c)
	}
	inv.Reference = strings.TrimSpace(str(in.Reference))
	switch {
	case !currency.IsCode(inv.CurrencyCode):
		problem(fmt.Sprintf("The currency code %s is not valid.", inv.CurrencyCode))
	case !slices.Contains(e.currencies, inv.CurrencyCode):
		problem(fmt.Sprintf("The currency %s has not been added to this organisation.", inv.CurrencyCode))
	}

	e.resolveInvoiceContact(w, in.Contact, earlierInvoices)

	if num := strings.TrimSpace(str(in.CreditNoteNumber)); num != "" {
		cw.number = num
		taken := e.creditNoteByNumber(num) != nil || slices.ContainsFunc(earlier, func(o *creditNoteWrite) bool {
			return strings.EqualFold(o.number, num)
		})
		if taken {
			problem(msgCreditNoteUnique)
		}
	}
	if len(in.LineItems) == 0 && inv.Status != billing.StatusDraft {
		problem(msgCreditNoteNoLines)
	}
	for _, li := range in.LineItems {
		item, msgs := e.buildLineItem(li, inv.LineAmountTypes, inv.Status, places)
		w.problems = append(w.problems, msgs...)
		inv.LineItems = append(inv.LineItems, item)
	}
	computeTotals(inv)
	return cw, nil
}

// commitCreditNotes saves the valid credit notes: all or none by default,
// the valid ones with summarizeErrors=false (or with
// Options.PartialBatchOnError). e.mu must be held.
func (e *Emulator) commitCreditNotes(call *apiCall, writes []*creditNoteWrite) reply {
	if rp, ok := e.checkBatch(len(writes)); !ok {
		return rp
	}
	places := unitPlaces(call.query)
	failed := slices.ContainsFunc(writes, func(cw *creditNoteWrite) bool { return len(cw.w.problems) > 0 })
	all := summarize(call.query)
	rejected := func(cw *creditNoteWrite) wireCreditNote {
		cn := cw.creditNote()
		cn.CreditNoteID = unsavedID
		wc := toWireCreditNote(cn, cw.w.contact, true, places)
		wc.HasErrors = true
		wc.ValidationErrors = validationErrors(cw.w.problems)
		wc.Warnings = validationList(call.warnings)
		return wc
	}
	if failed && all {
		var elements []any
		for _, cw := range writes {
			if len(cw.w.problems) > 0 {
				elements = append(elements, rejected(cw))
			} else if e.opts.PartialBatchOnError {
				e.saveCreditNote(cw)
			}
		}
		return validationReply(elements)
	}
	out := creditNotesOut{envelope: e.envelope(), CreditNotes: make([]wireCreditNote, 0, len(writes))}
	for _, cw := range writes {
		if len(cw.w.problems) > 0 {
			wc := rejected(cw)
			wc.StatusAttributeString = statusError
			out.CreditNotes = append(out.CreditNotes, wc)
			continue
		}
		cn := e.saveCreditNote(cw)
		wc := toWireCreditNote(cn, e.contactByID[cn.ContactID], true, places)
		wc.Warnings = validationList(call.warnings)
		if !all {
			wc.StatusAttributeString = savedStatus(call.warnings)
			wc.ValidationErrors = []wireValidationError{}
		}
		out.CreditNotes = append(out.CreditNotes, wc)
	}
	return jsonReply(http.StatusOK, out)
}

// saveCreditNote saves a valid credit note, with the contact it creates,
// and queues its CREDITNOTE CREATE webhook. e.mu must be held.
func (e *Emulator) saveCreditNote(cw *creditNoteWrite) *CreditNote {
	now := e.now()
	e.saveWriteContactAndLines(cw.w, now)
	cn := cw.creditNote()
	cn.CreditNoteID = e.entityID(idCreditNote)
	if cn.CreditNoteNumber == "" {
		cn.CreditNoteNumber = e.nextCreditNoteNumber()
	}
	cn.UpdatedDateUTC = now
	e.creditNotes = append(e.creditNotes, cn)
	e.creditNoteByID[cn.CreditNoteID] = cn
	e.queueCreditNoteEvent(cn, "CREATE", now)
	return cn
}

// nextCreditNoteNumber hands out CN-0001, CN-0002... skipping numbers in
// use. e.mu must be held.
func (e *Emulator) nextCreditNoteNumber() string {
	for {
		e.nextCreditNote++
		n := fmt.Sprintf("CN-%04d", e.nextCreditNote)
		if e.creditNoteByNumber(n) == nil {
			return n
		}
	}
}

// findCreditNote finds a credit note by CreditNoteID or, for a value that
// is not a GUID, by CreditNoteNumber. e.mu must be held.
func (e *Emulator) findCreditNote(idOrNumber string) *CreditNote {
	if u, err := uuid.Parse(idOrNumber); err == nil {
		return e.creditNoteByID[u.String()]
	}
	return e.creditNoteByNumber(idOrNumber)
}

func (e *Emulator) creditNoteByNumber(n string) *CreditNote {
	for _, cn := range e.creditNotes {
		if strings.EqualFold(cn.CreditNoteNumber, n) {
			return cn
		}
	}
	return nil
}

// settleCreditNote recomputes the credit left on cn after an allocation or
// a refund changed, on date: it becomes PAID when none is left
// (FullyPaidOnDate = date) and AUTHORISED again when a reversal gives some
// back. It queues a CREDITNOTE UPDATE webhook. e.mu must be held.
func (e *Emulator) settleCreditNote(cn *CreditNote, date billing.Date, now time.Time) {
	used := decimal.Zero
	for _, p := range cn.payments {
		if p.Status != PaymentDeleted {
			used = used.Add(p.Amount)
		}
	}
	for _, a := range cn.Allocations {
		used = used.Add(a.Amount)
	}
	cn.RemainingCredit = cn.Total.Sub(used)
	switch {
	case cn.Status == billing.StatusAuthorised && !cn.RemainingCredit.IsPositive():
		cn.RemainingCredit = decimal.Zero
		cn.Status = billing.StatusPaid
		cn.FullyPaidOnDate = date
	case cn.Status == billing.StatusPaid && cn.RemainingCredit.IsPositive():
		cn.Status = billing.StatusAuthorised
		cn.FullyPaidOnDate = billing.Date{}
	}
	cn.UpdatedDateUTC = now
	e.queueCreditNoteEvent(cn, "UPDATE", now)
}

// GET /CreditNotes/{CreditNoteID} (an id, or a CreditNoteNumber).
func (e *Emulator) getCreditNote(call *apiCall) reply {
	cn := e.findCreditNote(call.segs[1])
	if cn == nil {
		return notFound()
	}
	return jsonReply(http.StatusOK, creditNotesOut{envelope: e.envelope(), CreditNotes: []wireCreditNote{
		toWireCreditNote(cn, e.contactByID[cn.ContactID], true, unitPlaces(call.query)),
	}})
}

// GET /CreditNotes with where, order, page, pageSize and If-Modified-Since.
// As for invoices, line items are only included with "page".
func (e *Emulator) getCreditNotes(call *apiCall) reply {
	q := call.query
	list := slices.Clone(e.creditNotes)
	if since, ok := ifModifiedSince(call.r); ok {
		list = slices.DeleteFunc(list, func(c *CreditNote) bool { return !modifiedSince(c.UpdatedDateUTC, since) })
	}
	fields := e.creditNoteFields()
	if where := q.Get("where"); strings.TrimSpace(where) != "" {
		pred, err := parseWhere(where, "CreditNote", fields)
		if err != nil {
			if rp, ok := asQueryError(err); ok {
				return rp
			}
			return queryParseError(err.Error())
		}
		list = slices.DeleteFunc(list, func(c *CreditNote) bool { return !pred(c) })
	}
	if rp, ok := sortBy(list, q.Get("order"), "CreditNote", fields, func(a, b *CreditNote) int { return 0 }); !ok {
		return rp
	}
	page, pag, rp, ok := paginate(list, q)
	if !ok {
		return rp
	}
	places := unitPlaces(q)
	out := creditNotesOut{envelope: e.envelope(), Pagination: pag, CreditNotes: make([]wireCreditNote, 0, len(page))}
	for _, cn := range page {
		out.CreditNotes = append(out.CreditNotes, toWireCreditNote(cn, e.contactByID[cn.ContactID], pag != nil, places))
	}
	return jsonReply(http.StatusOK, out)
}

// allocationWrite is one allocation of a write being validated.
type allocationWrite struct {
	a        Allocation
	inv      *Invoice // nil when not found
	problems []string
}

// PUT /CreditNotes/{CreditNoteID}/Allocations allocates the credit note to
// invoices: each takes Amount off the invoice's AmountDue (into
// AmountCredited) and off the credit note's RemainingCredit.
func (e *Emulator) putAllocations(call *apiCall) reply {
	cn := e.findCreditNote(call.segs[1])
	if cn == nil {
		return notFound()
	}
	ins, bad := decodeList[allocationIn](call.body, "Allocations")
	if bad != nil {
		return *bad
	}
	if len(ins) == 0 {
		return postDataInvalid("No allocation was received")
	}
	if rp, ok := e.checkBatch(len(ins)); !ok {
		return rp
	}
	var credited decimal.Decimal
	pendingDue := map[string]decimal.Decimal{}
	writes := make([]*allocationWrite, 0, len(ins))
	for _, in := range ins {
		w, bad := e.buildAllocation(cn, in, credited, pendingDue)
		if bad != nil {
			return *bad
		}
		if len(w.problems) == 0 {
			credited = credited.Add(w.a.Amount)
			pendingDue[w.inv.InvoiceID] = pendingDue[w.inv.InvoiceID].Add(w.a.Amount)
		}
		writes = append(writes, w)
	}

	failed := slices.ContainsFunc(writes, func(w *allocationWrite) bool { return len(w.problems) > 0 })
	all := summarize(call.query)
	rejected := func(w *allocationWrite) wireAllocation {
		wa := e.toWireAllocation(w.a, w.inv, cn)
		wa.AllocationID = ""
		wa.ValidationErrors = validationErrors(w.problems)
		return wa
	}
	if failed && all {
		var elements []any
		for _, w := range writes {
			if len(w.problems) > 0 {
				elements = append(elements, rejected(w))
			} else if e.opts.PartialBatchOnError {
				e.saveAllocation(cn, w)
			}
		}
		return validationReply(elements)
	}
	out := allocationsOut{envelope: e.envelope(), Allocations: make([]wireAllocation, 0, len(writes))}
	for _, w := range writes {
		if len(w.problems) > 0 {
			wa := rejected(w)
			wa.StatusAttributeString = statusError
			out.Allocations = append(out.Allocations, wa)
			continue
		}
		wa := e.toWireAllocation(e.saveAllocation(cn, w), w.inv, cn)
		if !all {
			wa.StatusAttributeString = savedStatus(call.warnings)
		}
		out.Allocations = append(out.Allocations, wa)
	}
	return jsonReply(http.StatusOK, out)
}

// buildAllocation validates one allocation of cn; credited is what the
// valid allocations before it in the request take from cn, pendingDue what
// they take from each invoice. e.mu must be held.
func (e *Emulator) buildAllocation(cn *CreditNote, in allocationIn, credited decimal.Decimal, pendingDue map[string]decimal.Decimal) (*allocationWrite, *reply) {
	w := &allocationWrite{a: Allocation{CreditNoteID: cn.CreditNoteID, CreditNoteNumber: cn.CreditNoteNumber, Date: billing.DateOf(e.now())}}
	problem := func(msg string) { w.problems = append(w.problems, msg) }
	unreadable := func(field, value string) (*allocationWrite, *reply) {
		rp := postDataInvalid(fmt.Sprintf("Error converting value %q to type '%s'.", value, field))
		return nil, &rp
	}
	if d := strings.TrimSpace(str(in.Date)); d != "" {
		v, err := parseDate(d)
		if err != nil {
			return unreadable("DateTime", d)
		}
		w.a.Date = v
	}
	if in.Amount != nil {
		w.a.Amount = in.Amount.Round(2)
	}
	if cn.Status != billing.StatusAuthorised {
		problem(msgAllocateNotApproved)
	}
	var id, number string
	if in.Invoice != nil {
		id, number = strings.TrimSpace(str(in.Invoice.InvoiceID)), strings.TrimSpace(str(in.Invoice.InvoiceNumber))
	}
	switch {
	case id != "":
		if _, err := uuid.Parse(id); err != nil {
			return unreadable("System.Guid", id)
		}
		w.inv = e.findInvoice(id)
	case number != "":
		w.inv = e.invoiceByNumber(number)
	default:
		problem(msgAllocateNoInvoice)
	}
	if w.inv == nil && (id != "" || number != "") {
		problem(msgInvoiceNotFound)
	}
	if !w.a.Amount.IsPositive() {
		problem(msgAllocateAmount)
	}
	if inv := w.inv; inv != nil {
		w.a.InvoiceID, w.a.InvoiceNumber = inv.InvoiceID, inv.InvoiceNumber
		switch {
		case inv.Status == billing.StatusPaid:
			problem(msgAllocatePaidOff)
		case inv.Status != billing.StatusAuthorised:
			problem(msgAllocateInvoiceState)
		case inv.ContactID != cn.ContactID:
			problem(msgAllocateContact)
		case inv.CurrencyCode != cn.CurrencyCode:
			problem(msgAllocateCurrency)
		case w.a.Amount.GreaterThan(inv.AmountDue.Sub(pendingDue[inv.InvoiceID])):
			problem(msgAllocateOverDue)
		}
	}
	if w.a.Amount.IsPositive() && w.a.Amount.GreaterThan(cn.RemainingCredit.Sub(credited)) {
		problem(msgAllocateOverCredit)
	}
	return w, nil
}

// saveAllocation saves a valid allocation and settles the invoice and the
// credit note. e.mu must be held.
func (e *Emulator) saveAllocation(cn *CreditNote, w *allocationWrite) Allocation {
	now := e.now()
	a := w.a
	a.AllocationID = e.entityID(idOther)
	cn.Allocations = append(cn.Allocations, a)
	w.inv.Allocations = append(w.inv.Allocations, a)
	e.settleInvoice(w.inv, a.Date, now)
	e.settleCreditNote(cn, a.Date, now)
	return a
}

func (e *Emulator) toWireAllocation(a Allocation, inv *Invoice, cn *CreditNote) wireAllocation {
	wa := wireAllocation{
		AllocationID:     a.AllocationID,
		Amount:           money(a.Amount),
		Date:             dateMS(a.Date),
		ValidationErrors: []wireValidationError{},
		CreditNote:       &wireCreditNoteRef{CreditNoteID: cn.CreditNoteID, CreditNoteNumber: cn.CreditNoteNumber, Type: cn.Type, Status: cn.Status},
	}
	if inv != nil {
		due := money(inv.AmountDue)
		wa.Invoice = wireInvoiceRef{InvoiceID: inv.InvoiceID, InvoiceNumber: inv.InvoiceNumber, Type: inv.Type, Status: inv.Status, AmountDue: &due}
	}
	return wa
}

// toWireCreditNote renders cn; contact is its contact (nil when unknown).
func toWireCreditNote(cn *CreditNote, contact *Contact, withLines bool, unitPlaces int32) wireCreditNote {
	w := wireCreditNote{
		Type:             cn.Type,
		CreditNoteID:     cn.CreditNoteID,
		CreditNoteNumber: cn.CreditNoteNumber,
		Reference:        cn.Reference,
		Payments:         toWirePayments(cn.payments),
		Allocations:      make([]wireAllocation, 0, len(cn.Allocations)),
		RemainingCredit:  money(cn.RemainingCredit),
		CurrencyRate:     num{d: decimal.NewFromInt(1), places: 10},
		DateString:       dateString(cn.Date),
		Date:             dateMS(cn.Date),
		FullyPaidOnDate:  dateMS(cn.FullyPaidOnDate),
		Status:           cn.Status,
		LineAmountTypes:  cn.LineAmountTypes,
		SubTotal:         money(cn.SubTotal),
		TotalTax:         money(cn.TotalTax),
		Total:            money(cn.Total),
		CurrencyCode:     cn.CurrencyCode,
	}
	if !cn.UpdatedDateUTC.IsZero() {
		w.UpdatedDateUTC = msDate(cn.UpdatedDateUTC)
		w.UpdatedDateUTCString = cn.UpdatedDateUTC.UTC().Format(time.RFC3339)
	}
	if contact != nil {
		w.Contact = toWireContact(contact)
	} else {
		w.Contact = toWireContact(&Contact{ContactID: cn.ContactID})
	}
	for _, a := range cn.Allocations {
		w.Allocations = append(w.Allocations, wireAllocation{
			AllocationID:     a.AllocationID,
			Amount:           money(a.Amount),
			Date:             dateMS(a.Date),
			Invoice:          wireInvoiceRef{InvoiceID: a.InvoiceID, InvoiceNumber: a.InvoiceNumber},
			ValidationErrors: []wireValidationError{},
		})
	}
	if withLines {
		w.LineItems = toWireLineItems(cn.LineItems, unitPlaces)
	}
	return w
}

// creditNoteAsInvoice renders cn as Xero names a credit note in a payment's
// Invoice: Type ACCRECCREDIT, the credit note's id and number, what remains
// of it as AmountDue.
func creditNoteAsInvoice(cn *CreditNote, contact *Contact) wireInvoice {
	refunded, allocated := decimal.Zero, decimal.Zero
	for _, p := range cn.payments {
		if p.Status != PaymentDeleted {
			refunded = refunded.Add(p.Amount)
		}
	}
	for _, a := range cn.Allocations {
		allocated = allocated.Add(a.Amount)
	}
	w := wireInvoice{
		Type:            cn.Type,
		InvoiceID:       cn.CreditNoteID,
		InvoiceNumber:   cn.CreditNoteNumber,
		Reference:       cn.Reference,
		Payments:        toWirePayments(cn.payments),
		CreditNotes:     []wireCreditNoteRef{},
		AmountDue:       money(cn.RemainingCredit),
		AmountPaid:      money(refunded),
		AmountCredited:  money(allocated),
		CurrencyRate:    num{d: decimal.NewFromInt(1), places: 10},
		DateString:      dateString(cn.Date),
		Date:            dateMS(cn.Date),
		FullyPaidOnDate: dateMS(cn.FullyPaidOnDate),
		Status:          cn.Status,
		LineAmountTypes: cn.LineAmountTypes,
		SubTotal:        money(cn.SubTotal),
		TotalTax:        money(cn.TotalTax),
		Total:           money(cn.Total),
		CurrencyCode:    cn.CurrencyCode,
	}
	if contact != nil {
		w.Contact = toWireContact(contact)
	} else {
		w.Contact = toWireContact(&Contact{ContactID: cn.ContactID})
	}
	return w
}

// CreditNotes returns copies of every credit note, in creation order.
func (e *Emulator) CreditNotes() []CreditNote {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]CreditNote, len(e.creditNotes))
	for i, cn := range e.creditNotes {
		out[i] = cn.clone()
	}
	return out
}

// CreditNote returns a copy of the credit note with this id (or number).
func (e *Emulator) CreditNote(idOrNumber string) (CreditNote, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	cn := e.findCreditNote(idOrNumber)
	if cn == nil {
		return CreditNote{}, false
	}
	return cn.clone(), true
}

// AllocateCreditNote allocates amount of a credit note to an invoice on
// date (zero means today), as someone working in Xero would, by the rules
// of PUT /CreditNotes/{id}/Allocations, and returns the allocation. It
// queues INVOICE and CREDITNOTE UPDATE webhooks. It fails with ErrNotFound
// for an unknown credit note or invoice (ids or numbers) and ErrInvalid,
// saying why, for an allocation Xero would refuse.
func (e *Emulator) AllocateCreditNote(ctx context.Context, creditNoteID, invoiceID string, amount decimal.Decimal, date billing.Date) (Allocation, error) {
	if err := ctx.Err(); err != nil {
		return Allocation{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cn := e.findCreditNote(strings.TrimSpace(creditNoteID))
	if cn == nil {
		return Allocation{}, fmt.Errorf("%w: credit note %q", ErrNotFound, creditNoteID)
	}
	inv := e.findInvoice(strings.TrimSpace(invoiceID))
	if inv == nil {
		return Allocation{}, fmt.Errorf("%w: invoice %q", ErrNotFound, invoiceID)
	}
	in := allocationIn{Invoice: &docRefIn{InvoiceID: &inv.InvoiceID}, Amount: &amount}
	if !date.IsZero() {
		d := date.String()
		in.Date = &d
	}
	w, bad := e.buildAllocation(cn, in, decimal.Zero, map[string]decimal.Decimal{})
	if bad != nil {
		return Allocation{}, fmt.Errorf("%w: %s", ErrInvalid, bad.body)
	}
	if len(w.problems) > 0 {
		return Allocation{}, fmt.Errorf("%w: %s", ErrInvalid, strings.Join(w.problems, "; "))
	}
	return e.saveAllocation(cn, w), nil
}
