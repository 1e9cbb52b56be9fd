package emulator

import (
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

// Tax types of the demo organisation and their rates. Account codes 200
// and 260 default to OUTPUT2 (15% GST on income), 270 to NONE.
const (
	taxOutput2 = "OUTPUT2"
	taxNone    = "NONE"
)

// taxRate returns the rate of a tax type of the demo organisation.
func taxRate(taxType string) (decimal.Decimal, bool) {
	switch taxType {
	case taxOutput2:
		return decimal.New(15, -2), true
	case taxNone, "EXEMPTOUTPUT", "ZERORATEDOUTPUT":
		return decimal.Zero, true
	}
	return decimal.Zero, false
}

// Line amount types.
const (
	amountsExclusive = "Exclusive"
	amountsInclusive = "Inclusive"
	amountsNoTax     = "NoTax"
)

// The enums of the Invoice schema.
func invoiceTypes() []string {
	return []string{"ACCPAY", "ACCPAYCREDIT", "APOVERPAYMENT", "APPREPAYMENT", "ACCREC", "ACCRECCREDIT", "AROVERPAYMENT", "ARPREPAYMENT"}
}

func invoiceStatuses() []string {
	return []string{billing.StatusDraft, billing.StatusSubmitted, billing.StatusDeleted, billing.StatusAuthorised, billing.StatusPaid, billing.StatusVoided}
}

// invoiceFields are the fields "where" and "order" may name. e.mu must be
// held while they are used.
func (e *Emulator) invoiceFields() map[string]func(*Invoice) string {
	return map[string]func(*Invoice) string{
		"InvoiceID":         func(i *Invoice) string { return i.InvoiceID },
		"InvoiceNumber":     func(i *Invoice) string { return i.InvoiceNumber },
		"Type":              func(i *Invoice) string { return i.Type },
		"Status":            func(i *Invoice) string { return i.Status },
		"Reference":         func(i *Invoice) string { return i.Reference },
		"CurrencyCode":      func(i *Invoice) string { return i.CurrencyCode },
		"LineAmountTypes":   func(i *Invoice) string { return i.LineAmountTypes },
		"Contact.ContactID": func(i *Invoice) string { return i.ContactID },
		"Contact.Name": func(i *Invoice) string {
			if c := e.contactByID[i.ContactID]; c != nil {
				return c.Name
			}
			return ""
		},
		"Total":           func(i *Invoice) string { return i.Total.String() },
		"AmountDue":       func(i *Invoice) string { return i.AmountDue.String() },
		"AmountPaid":      func(i *Invoice) string { return i.AmountPaid.String() },
		"AmountCredited":  func(i *Invoice) string { return i.AmountCredited.String() },
		"SentToContact":   func(i *Invoice) string { return fmt.Sprint(i.SentToContact) },
		"SubTotal":        func(i *Invoice) string { return i.SubTotal.String() },
		"TotalTax":        func(i *Invoice) string { return i.TotalTax.String() },
		"Date":            func(i *Invoice) string { return dateString(i.Date) },
		"DueDate":         func(i *Invoice) string { return dateString(i.DueDate) },
		"FullyPaidOnDate": func(i *Invoice) string { return dateString(i.FullyPaidOnDate) },
		"UpdatedDateUTC": func(i *Invoice) string {
			return i.UpdatedDateUTC.UTC().Format(whereTimeLayout)
		},
	}
}

// invoiceWrite is one record of an invoices write being validated.
type invoiceWrite struct {
	inv        Invoice
	existing   *Invoice // nil for a create
	contact    *Contact // resolved contact; newContact when Xero would create it
	newContact bool
	problems   []string
}

// unitPlaces is how many places unit amounts keep: 2, or 4 with unitdp=4.
func unitPlaces(q map[string][]string) int32 {
	for k, v := range q {
		if strings.EqualFold(k, "unitdp") && len(v) > 0 && v[0] == "4" {
			return 4
		}
	}
	return 2
}

// PUT /Invoices creates invoices.
func (e *Emulator) putInvoices(call *apiCall) reply {
	ins, bad := decodeList[invoiceIn](call.body, "Invoices")
	if bad != nil {
		return *bad
	}
	places := unitPlaces(call.query)
	writes := make([]*invoiceWrite, 0, len(ins))
	for _, in := range ins {
		w, bad := e.buildInvoice(in, nil, places, writes)
		if bad != nil {
			return *bad
		}
		writes = append(writes, w)
	}
	return e.commitInvoices(call, writes)
}

// POST /Invoices updates the invoices it names (InvoiceID or an existing
// InvoiceNumber) and creates the others.
func (e *Emulator) postInvoices(call *apiCall) reply {
	ins, bad := decodeList[invoiceIn](call.body, "Invoices")
	if bad != nil {
		return *bad
	}
	places := unitPlaces(call.query)
	writes := make([]*invoiceWrite, 0, len(ins))
	for _, in := range ins {
		var existing *Invoice
		if id := strings.TrimSpace(str(in.InvoiceID)); id != "" {
			existing = e.findInvoice(id)
			if existing == nil {
				return notFound()
			}
		} else if num := strings.TrimSpace(str(in.InvoiceNumber)); num != "" {
			existing = e.invoiceByNumber(num)
		}
		w, bad := e.buildInvoice(in, existing, places, writes)
		if bad != nil {
			return *bad
		}
		writes = append(writes, w)
	}
	return e.commitInvoices(call, writes)
}

// POST /Invoices/{InvoiceID} updates one invoice.
func (e *Emulator) postInvoice(call *apiCall) reply {
	existing := e.findInvoice(call.segs[1])
	if existing == nil {
		return notFound()
	}
	ins, bad := decodeList[invoiceIn](call.body, "Invoices")
	if bad != nil {
		return *bad
	}
	if len(ins) == 0 {
		return postDataInvalid("No invoice was received")
	}
	w, bad := e.buildInvoice(ins[0], existing, unitPlaces(call.query), nil)
	if bad != nil {
		return *bad
	}
	return e.commitInvoices(call, []*invoiceWrite{w})
}

// enumValue matches v against allowed without regard to case, as Xero's
// deserialiser does; ok is false for a value outside the enum.
func enumValue(v string, allowed []string) (string, bool) {
	for _, a := range allowed {
		if strings.EqualFold(a, v) {
			return a, true
		}
	}
	return "", false
}

// buildInvoice validates in, on top of base when it updates an invoice, and
// computes the invoice's amounts. earlier are the records before it in the
// same request. A body Xero could not even read gives a reply instead.
// e.mu must be held.
func (e *Emulator) buildInvoice(in invoiceIn, base *Invoice, places int32, earlier []*invoiceWrite) (*invoiceWrite, *reply) {
	w := &invoiceWrite{existing: base}
	inv := &w.inv
	if base != nil {
		*inv = base.clone()
	} else {
		inv.Status = billing.StatusDraft
		inv.LineAmountTypes = amountsExclusive
		inv.CurrencyCode = e.opts.Currency
		inv.Date = billing.DateOf(e.now())
	}
	problem := func(format string, args ...any) { w.problems = append(w.problems, fmt.Sprintf(format, args...)) }
	unreadable := func(field, value string) (*invoiceWrite, *reply) {
		rp := postDataInvalid(fmt.Sprintf("Error converting value %q to type '%s'.", value, field))
		return nil, &rp
	}

	if in.Type != nil {
		t, ok := enumValue(strings.TrimSpace(*in.Type), invoiceTypes())
		if !ok {
			return unreadable("InvoiceType", *in.Type)
		}
		inv.Type = t
	}
	if inv.Type == "" {
		problem("Invoice Type must be specified.")
	} else if inv.Type != "ACCREC" {
		problem("The emulator supports sales invoices (Type ACCREC) only.")
	}
	newStatus := inv.Status
	if in.Status != nil && strings.TrimSpace(*in.Status) != "" {
		s, ok := enumValue(strings.TrimSpace(*in.Status), invoiceStatuses())
		if !ok {
			return unreadable("InvoiceStatus", *in.Status)
		}
		newStatus = s
	}
	if in.LineAmountTypes != nil && strings.TrimSpace(*in.LineAmountTypes) != "" {
		t, ok := enumValue(strings.TrimSpace(*in.LineAmountTypes), []string{amountsExclusive, amountsInclusive, amountsNoTax})
		if !ok {
			return unreadable("LineAmountType", *in.LineAmountTypes)
		}
		inv.LineAmountTypes = t
	}
	for _, d := range []struct {
		src *string
		dst *billing.Date
	}{{in.Date, &inv.Date}, {in.DueDate, &inv.DueDate}} {
		if d.src == nil || strings.TrimSpace(*d.src) == "" {
			continue
		}
		v, err := parseDate(*d.src)
		if err != nil {
			return unreadable("DateTime", *d.src)
		}
		*d.dst = v
	}
	if in.CurrencyCode != nil && *in.CurrencyCode != "" {
		inv.CurrencyCode = strings.ToUpper(strings.TrimSpace(*in.CurrencyCode))
	}
	if in.Reference != nil {
		inv.Reference = strings.TrimSpace(*in.Reference)
	}
	if in.SentToContact != nil {
		inv.SentToContact = *in.SentToContact
	}

	// Status: what may be created, and which changes Xero allows.
	if base == nil {
		switch newStatus {
		case billing.StatusDraft, billing.StatusSubmitted, billing.StatusAuthorised:
		default:
			problem("Invoices can only be created with a status of DRAFT, SUBMITTED or AUTHORISED.")
		}
	} else {
		switch {
		case base.Status == billing.StatusPaid || base.Status == billing.StatusVoided || base.Status == billing.StatusDeleted:
			problem("Invoice not of valid status for modification")
		case newStatus == base.Status:
		case newStatus == billing.StatusVoided && base.Status != billing.StatusAuthorised:
			problem("Only AUTHORISED invoices can be voided; delete a %s invoice instead.", base.Status)
		case newStatus == billing.StatusVoided && moneyApplied(base):
			problem(msgMoneyApplied)
		case newStatus == billing.StatusDeleted && base.Status == billing.StatusAuthorised:
			problem("An AUTHORISED invoice cannot be deleted; void it instead.")
		case newStatus == billing.StatusPaid:
			problem("An invoice becomes PAID when payments cover it; its status cannot be set to PAID.")
		case newStatus == billing.StatusDraft && base.Status == billing.StatusAuthorised:
			problem("An AUTHORISED invoice cannot be returned to DRAFT.")
		}
	}
	inv.Status = newStatus

	if !slices.Contains([]string{billing.StatusDraft, billing.StatusDeleted}, inv.Status) && inv.DueDate.IsZero() {
		problem("Due Date cannot be empty.")
	}
	switch {
	case !currency.IsCode(inv.CurrencyCode):
		problem("The currency code %s is not valid.", inv.CurrencyCode)
	case !slices.Contains(e.currencies, inv.CurrencyCode):
		problem("The currency %s has not been added to this organisation.", inv.CurrencyCode)
	}

	e.resolveInvoiceContact(w, in.Contact, earlier)

	if num := strings.TrimSpace(str(in.InvoiceNumber)); num != "" {
		inv.InvoiceNumber = num
		if other := e.invoiceByNumber(num); other != nil && other != base {
			problem("Invoice # must be unique.")
		} else {
			for _, o := range earlier {
				if strings.EqualFold(o.inv.InvoiceNumber, num) {
					problem("Invoice # must be unique.")
					break
				}
			}
		}
	}

	lines := in.LineItems
	if lines == nil && base != nil {
		for _, li := range base.LineItems {
			lines = append(lines, lineItemIn{
				Description: ptr(li.Description), Quantity: ptr(li.Quantity), UnitAmount: ptr(li.UnitAmount),
				AccountCode: ptr(li.AccountCode), TaxType: ptr(li.TaxType), ItemCode: ptr(li.ItemCode),
			})
		}
	} else if in.LineItems != nil && base != nil && moneyApplied(base) {
		problem(msgMoneyApplied)
	}
	if len(lines) == 0 && inv.Status != billing.StatusDraft && inv.Status != billing.StatusDeleted {
		problem("Invoices must have at least one line item.")
	}
	inv.LineItems = inv.LineItems[:0]
	for i, li := range lines {
		item, msgs := e.buildLineItem(li, inv.LineAmountTypes, inv.Status, places)
		if base != nil && i < len(base.LineItems) {
			item.LineItemID = base.LineItems[i].LineItemID
		}
		w.problems = append(w.problems, msgs...)
		inv.LineItems = append(inv.LineItems, item)
	}
	computeTotals(inv)
	return w, nil
}

func ptr[T any](v T) *T { return &v }

// msgMoneyApplied is Xero's refusal to void, or change the lines of, an
// invoice with payments or credit allocated (Xero-NetStandard #84).
const msgMoneyApplied = "This document cannot be edited as it has a payment or credit note allocated to it."

// moneyApplied reports whether payments or credit notes are applied to inv.
func moneyApplied(inv *Invoice) bool {
	return inv.AmountPaid.IsPositive() || inv.AmountCredited.IsPositive()
}

// resolveInvoiceContact finds the invoice's contact: by ContactID, or by
// name, creating a new contact for an unknown name as Xero does.
func (e *Emulator) resolveInvoiceContact(w *invoiceWrite, in *contactIn, earlier []*invoiceWrite) {
	if in == nil {
		if w.existing != nil {
			w.contact = e.contactByID[w.existing.ContactID]
			return
		}
		w.problems = append(w.problems, "A Contact must be specified for this type of transaction")
		return
	}
	id, name := strings.TrimSpace(str(in.ContactID)), strings.TrimSpace(str(in.Name))
	switch {
	case id != "":
		if u, err := uuid.Parse(id); err == nil {
			w.contact = e.contactByID[u.String()]
		}
		if w.contact == nil {
			w.problems = append(w.problems, "The contact with ContactID "+id+" could not be found.")
			w.inv.ContactID = id
			return
		}
	case name != "":
		for _, c := range e.contacts {
			if c.ContactStatus == contactActive && strings.EqualFold(c.Name, name) {
				w.contact = c
			}
		}
		for _, o := range earlier {
			if w.contact == nil && o.newContact && strings.EqualFold(o.contact.Name, name) {
				w.contact, w.newContact = o.contact, true
			}
		}
		if w.contact == nil {
			c := contactFromInput(*in) // its id is given when it is saved
			if c.EmailAddress != "" && !validEmail(c.EmailAddress) {
				w.problems = append(w.problems, "Email address must be valid.")
			}
			w.contact, w.newContact = &c, true
		}
	default:
		w.problems = append(w.problems, "A Contact must be specified for this type of transaction")
		return
	}
	w.inv.ContactID = w.contact.ContactID // empty for a contact still to create
}

// buildLineItem computes one line. The rules (see the package comment):
// Quantity defaults to 1 and keeps 4 places; UnitAmount keeps 2 places (4
// with unitdp=4); LineAmount = Quantity × UnitAmount rounded to 2 places;
// TaxAmount is computed per line from the tax type's rate, rounded to 2
// places: LineAmount × rate (Exclusive), LineAmount × rate / (1 + rate)
// (Inclusive), zero (NoTax).
func (e *Emulator) buildLineItem(in lineItemIn, amountTypes, status string, places int32) (LineItem, []string) {
	var msgs []string
	li := LineItem{
		Description: strings.TrimSpace(str(in.Description)),
		AccountCode: strings.TrimSpace(str(in.AccountCode)),
		ItemCode:    strings.TrimSpace(str(in.ItemCode)),
		Quantity:    decimal.NewFromInt(1),
	}
	if li.Description == "" {
		msgs = append(msgs, "The description field is mandatory for each line item.")
	}
	if in.Quantity != nil {
		li.Quantity = in.Quantity.Round(4)
	}
	switch {
	case in.UnitAmount != nil:
		li.UnitAmount = in.UnitAmount.Round(places)
		li.LineAmount = li.Quantity.Mul(li.UnitAmount).Round(2)
	case in.LineAmount != nil:
		li.LineAmount = in.LineAmount.Round(2)
		if !li.Quantity.IsZero() {
			li.UnitAmount = li.LineAmount.Div(li.Quantity).Round(places)
		}
	}

	defaultTax := taxOutput2
	switch {
	case li.AccountCode == "":
		if status != billing.StatusDraft && status != billing.StatusDeleted {
			msgs = append(msgs, "An account code must be specified for each line item on an approved invoice.")
		}
	default:
		// Unknown, archived, or not one a sales invoice may use.
		a := e.accountByCode(li.AccountCode)
		if a == nil || !a.sales || a.status != accountActive {
			msgs = append(msgs, fmt.Sprintf("Account code '%s' is not a valid code for this document.", li.AccountCode))
		} else {
			defaultTax = a.taxType
		}
	}
	li.TaxType = defaultTax
	if t := strings.ToUpper(strings.TrimSpace(str(in.TaxType))); t != "" {
		if _, ok := taxRate(t); ok {
			li.TaxType = t
		} else {
			msgs = append(msgs, fmt.Sprintf("The TaxType code '%s' does not exist or cannot be used for this type of transaction.", t))
		}
	}
	if amountTypes == amountsNoTax {
		li.TaxType = taxNone
	}
	rate, _ := taxRate(li.TaxType)
	switch amountTypes {
	case amountsExclusive:
		li.TaxAmount = li.LineAmount.Mul(rate).Round(2)
	case amountsInclusive:
		li.TaxAmount = li.LineAmount.Mul(rate).Div(decimal.NewFromInt(1).Add(rate)).Round(2)
	default:
		li.TaxAmount = decimal.Zero
	}
	if in.TaxAmount != nil && amountTypes != amountsNoTax {
		li.TaxAmount = in.TaxAmount.Round(2)
	}
	return li, msgs
}

// computeTotals sums the lines: SubTotal excludes tax, Total includes it.
func computeTotals(inv *Invoice) {
	var lines, tax decimal.Decimal
	for _, li := range inv.LineItems {
		lines = lines.Add(li.LineAmount)
		tax = tax.Add(li.TaxAmount)
	}
	inv.TotalTax = tax
	if inv.LineAmountTypes == amountsInclusive {
		inv.SubTotal = lines.Sub(tax)
		inv.Total = lines
	} else {
		inv.SubTotal = lines
		inv.Total = lines.Add(tax)
	}
	inv.AmountDue = inv.Total.Sub(inv.AmountPaid).Sub(inv.AmountCredited)
	if inv.Status == billing.StatusVoided || inv.Status == billing.StatusDeleted {
		inv.AmountDue = decimal.Zero
	}
}

// commitInvoices validates and saves the writes: all or none by default,
// the valid ones with summarizeErrors=false (or with
// Options.PartialBatchOnError). e.mu must be held.
func (e *Emulator) commitInvoices(call *apiCall, writes []*invoiceWrite) reply {
	if rp, ok := e.checkBatch(len(writes)); !ok {
		return rp
	}
	places := unitPlaces(call.query)
	failed := slices.ContainsFunc(writes, func(w *invoiceWrite) bool { return len(w.problems) > 0 })
	all := summarize(call.query)
	rejected := func(w *invoiceWrite) wireInvoice {
		wi := toWireInvoice(&w.inv, w.contact, true, places)
		if wi.InvoiceID == "" {
			wi.InvoiceID = unsavedID
		}
		wi.HasErrors = true
		wi.ValidationErrors = validationErrors(w.problems)
		wi.Warnings = validationList(call.warnings)
		return wi
	}
	if failed && all {
		var elements []any
		for _, w := range writes {
			if len(w.problems) > 0 {
				elements = append(elements, rejected(w))
			} else if e.opts.PartialBatchOnError {
				e.saveInvoice(w)
			}
		}
		return validationReply(elements)
	}

	out := invoicesOut{envelope: e.envelope(), Invoices: make([]wireInvoice, 0, len(writes))}
	for _, w := range writes {
		if len(w.problems) > 0 {
			wi := rejected(w)
			wi.StatusAttributeString = statusError
			out.Invoices = append(out.Invoices, wi)
			continue
		}
		saved := e.saveInvoice(w)
		wi := toWireInvoice(saved, w.contact, true, places)
		wi.Warnings = validationList(call.warnings)
		if !all {
			wi.StatusAttributeString = savedStatus(call.warnings)
			wi.ValidationErrors = []wireValidationError{}
		}
		out.Invoices = append(out.Invoices, wi)
	}
	return jsonReply(http.StatusOK, out)
}

// saveInvoice saves a valid write, with the contact it creates, and queues
// its webhook. e.mu must be held.
func (e *Emulator) saveInvoice(w *invoiceWrite) *Invoice {
	now := e.now()
	e.saveWriteContactAndLines(w, now)
	w.inv.UpdatedDateUTC = now
	var saved *Invoice
	eventType := "UPDATE"
	if w.existing != nil {
		*w.existing = w.inv
		saved = w.existing
	} else {
		eventType = "CREATE"
		w.inv.InvoiceID = e.entityID(idInvoice)
		if w.inv.InvoiceNumber == "" {
			w.inv.InvoiceNumber = e.nextInvoiceNumber()
		}
		saved = new(Invoice)
		*saved = w.inv
		e.invoices = append(e.invoices, saved)
		e.invoiceByID[saved.InvoiceID] = saved
	}
	e.queueEvent(saved.InvoiceID, eventType, now)
	return saved
}

// saveWriteContactAndLines saves the contact a valid write creates, marks
// its contact a customer once the document is approved, and gives new
// lines their ids. e.mu must be held.
func (e *Emulator) saveWriteContactAndLines(w *invoiceWrite, now time.Time) {
	if w.newContact && w.contact.ContactID == "" {
		w.contact.ContactID = e.entityID(idContact)
		w.contact.UpdatedDateUTC = now
		e.contacts = append(e.contacts, w.contact)
		e.contactByID[w.contact.ContactID] = w.contact
	}
	w.inv.ContactID = w.contact.ContactID
	for i := range w.inv.LineItems {
		if w.inv.LineItems[i].LineItemID == "" {
			w.inv.LineItems[i].LineItemID = e.entityID(idOther)
		}
	}
	if !w.contact.IsCustomer && w.inv.Status != billing.StatusDraft {
		w.contact.IsCustomer = true
		w.contact.UpdatedDateUTC = now
	}
}

// nextInvoiceNumber hands out INV-0001, INV-0002... skipping numbers in use.
// e.mu must be held.
func (e *Emulator) nextInvoiceNumber() string {
	for {
		e.nextNumber++
		n := fmt.Sprintf("INV-%04d", e.nextNumber)
		if e.invoiceByNumber(n) == nil {
			return n
		}
	}
}

// findInvoice finds an invoice by InvoiceID or, for a value that is not a
// GUID, by InvoiceNumber. e.mu must be held.
func (e *Emulator) findInvoice(idOrNumber string) *Invoice {
	if u, err := uuid.Parse(idOrNumber); err == nil {
		return e.invoiceByID[u.String()]
	}
	return e.invoiceByNumber(idOrNumber)
}

func (e *Emulator) invoiceByNumber(n string) *Invoice {
	for _, inv := range e.invoices {
		if strings.EqualFold(inv.InvoiceNumber, n) {
			return inv
		}
	}
	return nil
}

// GET /Invoices/{InvoiceID}
func (e *Emulator) getInvoice(call *apiCall) reply {
	inv := e.findInvoice(call.segs[1])
	if inv == nil {
		return notFound()
	}
	return jsonReply(http.StatusOK, invoicesOut{
		envelope: e.envelope(),
		Invoices: []wireInvoice{toWireInvoice(inv, e.contactByID[inv.ContactID], true, unitPlaces(call.query))},
	})
}

// GET /Invoices with IDs, InvoiceNumbers, ContactIDs, Statuses, where,
// order, searchTerm, page, pageSize and If-Modified-Since. As Xero does,
// line items are only included when "page" is given.
func (e *Emulator) getInvoices(call *apiCall) reply {
	q := call.query
	list := slices.Clone(e.invoices)
	if ids := q.Get("IDs"); ids != "" {
		want := idSet(ids)
		list = slices.DeleteFunc(list, func(i *Invoice) bool { return !want[i.InvoiceID] })
	}
	if ids := q.Get("ContactIDs"); ids != "" {
		want := idSet(ids)
		list = slices.DeleteFunc(list, func(i *Invoice) bool { return !want[i.ContactID] })
	}
	if nums := q.Get("InvoiceNumbers"); nums != "" {
		want := map[string]bool{}
		for n := range strings.SplitSeq(nums, ",") {
			want[strings.ToUpper(strings.TrimSpace(n))] = true
		}
		list = slices.DeleteFunc(list, func(i *Invoice) bool { return !want[strings.ToUpper(i.InvoiceNumber)] })
	}
	if sts := q.Get("Statuses"); sts != "" {
		want := map[string]bool{}
		for s := range strings.SplitSeq(sts, ",") {
			want[strings.ToUpper(strings.TrimSpace(s))] = true
		}
		list = slices.DeleteFunc(list, func(i *Invoice) bool { return !want[i.Status] })
	}
	if since, ok := ifModifiedSince(call.r); ok {
		list = slices.DeleteFunc(list, func(i *Invoice) bool { return !modifiedSince(i.UpdatedDateUTC, since) })
	}
	if term := strings.ToLower(strings.TrimSpace(q.Get("searchTerm"))); term != "" {
		list = slices.DeleteFunc(list, func(i *Invoice) bool {
			return !strings.Contains(strings.ToLower(i.InvoiceNumber), term) && !strings.Contains(strings.ToLower(i.Reference), term)
		})
	}
	fields := e.invoiceFields()
	if where := q.Get("where"); strings.TrimSpace(where) != "" {
		pred, err := parseWhere(where, "Invoice", fields)
		if err != nil {
			if rp, ok := asQueryError(err); ok {
				return rp
			}
			return queryParseError(err.Error())
		}
		list = slices.DeleteFunc(list, func(i *Invoice) bool { return !pred(i) })
	}
	if rp, ok := sortBy(list, q.Get("order"), "Invoice", fields, func(a, b *Invoice) int { return 0 }); !ok {
		return rp
	}
	page, pag, rp, ok := paginate(list, q)
	if !ok {
		return rp
	}
	withLines := pag != nil && !strings.EqualFold(q.Get("summaryOnly"), "true")
	places := unitPlaces(q)
	out := invoicesOut{envelope: e.envelope(), Pagination: pag, Invoices: make([]wireInvoice, 0, len(page))}
	for _, inv := range page {
		out.Invoices = append(out.Invoices, toWireInvoice(inv, e.contactByID[inv.ContactID], withLines, places))
	}
	return jsonReply(http.StatusOK, out)
}

// POST /Invoices/{InvoiceID}/Email: 204, or 400 when the invoice is not
// approved or its contact has no email address.
func (e *Emulator) emailInvoice(call *apiCall) reply {
	inv := e.findInvoice(call.segs[1])
	if inv == nil {
		return notFound()
	}
	contact := e.contactByID[inv.ContactID]
	var problems []string
	if inv.Type != "ACCREC" || (inv.Status != billing.StatusAuthorised && inv.Status != billing.StatusPaid) {
		problems = append(problems, "Only sales invoices with a status of AUTHORISED or PAID can be emailed.")
	}
	if contact == nil || contact.EmailAddress == "" {
		problems = append(problems, "The contact does not have an email address.")
	}
	if len(problems) > 0 {
		wi := toWireInvoice(inv, contact, false, 2)
		wi.HasErrors = true
		wi.ValidationErrors = validationErrors(problems)
		return validationReply([]any{wi})
	}
	now := e.now()
	inv.SentToContact = true
	inv.UpdatedDateUTC = now
	if len(e.emails) >= e.bounds.emails {
		e.emails = e.emails[1:]
	}
	e.emails = append(e.emails, Email{InvoiceID: inv.InvoiceID, InvoiceNumber: inv.InvoiceNumber, To: contact.EmailAddress, At: now})
	return reply{status: http.StatusNoContent}
}

// GET /Invoices/{InvoiceID}/OnlineInvoice: the customer-facing link, which
// the emulator serves itself.
func (e *Emulator) onlineInvoice(call *apiCall) reply {
	inv := e.findInvoice(call.segs[1])
	if inv == nil {
		return notFound()
	}
	switch inv.Status {
	case billing.StatusAuthorised, billing.StatusPaid, billing.StatusVoided:
	default:
		wi := toWireInvoice(inv, e.contactByID[inv.ContactID], false, 2)
		wi.HasErrors = true
		wi.ValidationErrors = validationErrors([]string{"Online invoices are only available for approved invoices."})
		return validationReply([]any{wi})
	}
	return jsonReply(http.StatusOK, onlineInvoicesOut{
		envelope:       e.envelope(),
		OnlineInvoices: []wireOnlineInvoice{{OnlineInvoiceURL: call.base + OnlineInvoicePath + e.onlineToken(inv)}},
	})
}

// onlineToken returns the invoice's online link token, making one the
// first time. e.mu must be held.
func (e *Emulator) onlineToken(inv *Invoice) string {
	if inv.onlineToken == "" {
		inv.onlineToken = randomToken()[:24]
		e.onlineByTok[inv.onlineToken] = inv
	}
	return inv.onlineToken
}
