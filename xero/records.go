package xero

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/internal/xerolimit"
)

// recordKind is one kind of record Xero lists: the name errors call it, the
// answer's array that holds them and the record's id field. A list read of a
// new kind (payments, credit notes) adds one and reads with readList.
type recordKind struct {
	name    string // "invoice"
	list    string // "Invoices"
	idField string // "InvoiceID"
}

var (
	invoiceRecords = recordKind{name: "invoice", list: "Invoices", idField: "InvoiceID"}
	contactRecords = recordKind{name: "contact", list: "Contacts", idField: "ContactID"}
)

// invoiceWarnings and contactWarnings are where readRecord puts a record's
// warnings.
func invoiceWarnings(inv *Invoice) *[]string { return &inv.Warnings }
func contactWarnings(ct *Contact) *[]string  { return &ct.Warnings }

// RecordError is one record of a list answer that could not be taken while
// the others were: Xero flagged it (StatusAttributeString ERROR or
// ValidationErrors; Err is then an *APIError with StatusCode 200), it did
// not decode (a date outside the years 1900-9999 or in no form Xero
// documents, say), or it has no id. It matches billing.ErrUnreadable and
// its cause.
type RecordError struct {
	// Kind is the kind of record: "invoice", "contact".
	Kind string
	// ID is the record's own id as Xero sent it (InvoiceID, ContactID);
	// empty when even that could not be read.
	ID string
	// InvoiceID is the invoice the record is, or is about: an invoice's
	// own id, or the InvoiceID of a record's Invoice (a payment's) when it
	// could be read; empty otherwise.
	InvoiceID string
	Err       error

	raw json.RawMessage // the record as Xero sent it, for a lenient read
}

func (e *RecordError) Error() string {
	kind := e.Kind
	if kind == "" {
		kind = "record"
	}
	if e.ID == "" {
		return fmt.Sprintf("xero: an %v (%s without an id): %v", billing.ErrUnreadable, kind, e.Err)
	}
	return fmt.Sprintf("xero: %s %s: %v: %v", kind, e.ID, billing.ErrUnreadable, e.Err)
}

// Unwrap returns billing.ErrUnreadable and the record's error.
func (e *RecordError) Unwrap() []error { return []error{billing.ErrUnreadable, e.Err} }

// listAnswer is one list answer: its records undecoded, and Xero's paging
// summary when it sent one.
type listAnswer struct {
	res     *response
	records []json.RawMessage
	paging  *pagination
}

// more reports whether another page follows page: Xero's pagination says
// so when it is there, else a full page does. An empty page ends it. Every
// record counts, read or not.
func (a listAnswer) more(page int) bool {
	if len(a.records) == 0 {
		return false
	}
	if p := a.paging; p != nil && p.PageCount > 0 {
		return page < p.PageCount
	}
	return len(a.records) >= xerolimit.MaxPageSize
}

// list sends r and returns kind's records of the answer, undecoded. An
// answer that is not a JSON object, or whose list is not an array of
// records, fails: nothing in it can be trusted.
func (c *Client) list(ctx context.Context, r request, kind recordKind) (listAnswer, error) {
	res, err := c.send(ctx, r)
	if err != nil {
		return listAnswer{}, err
	}
	var body map[string]json.RawMessage
	if err := c.decode(r, res, &body); err != nil {
		return listAnswer{}, err
	}
	a := listAnswer{res: res}
	if raw := field(body, kind.list); raw != nil {
		if err := json.Unmarshal(raw, &a.records); err != nil {
			return listAnswer{}, fmt.Errorf("xero: %s %s: decoding the %d response: %s: %w", r.method, r.path, res.status, kind.list, err)
		}
	}
	if raw := field(body, "pagination"); raw != nil {
		if err := json.Unmarshal(raw, &a.paging); err != nil {
			return listAnswer{}, fmt.Errorf("xero: %s %s: decoding the %d response: pagination: %w", r.method, r.path, res.status, err)
		}
	}
	return a, nil
}

// field is the member of obj named name, matched as encoding/json matches
// struct fields (exactly, else ignoring case); nil when absent or null.
func field(obj map[string]json.RawMessage, name string) json.RawMessage {
	raw, ok := obj[name]
	if !ok {
		for k, v := range obj {
			if strings.EqualFold(k, name) {
				raw, ok = v, true
				break
			}
		}
	}
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil
	}
	return raw
}

// readList reads raws, the records of kind in the answer res to r, each on
// its own, into Ts (as readRecord does; warnings, when not nil, says where a
// record's warnings go). A record that cannot be taken, because Xero
// flagged it, it does not decode, it is not a JSON object or it has no id,
// is a *RecordError in bad, logged and counted in xero.records.unreadable
// by operation; it never stops the others, which are returned in good, in
// order.
//
// Every list read of the Client takes its records through it
// (GetInvoices, InvoicesModifiedSince, FindInvoices,
// FindContactByAccountNumber), so one unreadable record costs that record
// only, everywhere. A list read of another kind adds a recordKind, calls
// Client.list and then readList with its record type, and decides what a
// bad record means for its caller: a search, for one, cannot say "none"
// while a record it could not read might be the one (see FindInvoices).
func readList[T any](ctx context.Context, c *Client, r request, res *response, kind recordKind, raws []json.RawMessage, warnings func(*T) *[]string) (good []T, bad []*RecordError) {
	for _, raw := range raws {
		var v T
		var w *[]string
		if warnings != nil {
			w = warnings(&v)
		}
		err := readable(raw, kind)
		if err == nil {
			err = c.takeRecord(ctx, r, res, raw, &v, w)
		}
		if err != nil {
			rerr := recordError(kind, raw, err)
			c.unreadable(ctx, r, rerr)
			bad = append(bad, rerr)
			continue
		}
		good = append(good, v)
	}
	return good, bad
}

// readable checks what every record needs before it is decoded: to be a
// JSON object with an id.
func readable(raw json.RawMessage, kind recordKind) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return errors.New("the record is not a JSON object")
	}
	var id string
	if json.Unmarshal(field(obj, kind.idField), &id) != nil || strings.TrimSpace(id) == "" {
		return fmt.Errorf("the record has no %s", kind.idField)
	}
	return nil
}

// recordError is err of one record, with the ids that can be read of it.
func recordError(kind recordKind, raw json.RawMessage, err error) *RecordError {
	e := &RecordError{Kind: kind.name, Err: err, raw: raw}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return e
	}
	e.ID = stringField(obj, kind.idField)
	if kind.idField == "InvoiceID" {
		e.InvoiceID = e.ID
	} else if inv := field(obj, "Invoice"); inv != nil {
		var in map[string]json.RawMessage
		if json.Unmarshal(inv, &in) == nil {
			e.InvoiceID = stringField(in, "InvoiceID")
		}
	}
	return e
}

// stringField is obj's string member name, clipped for messages; "" when
// absent or not a string.
func stringField(obj map[string]json.RawMessage, name string) string {
	var s string
	if json.Unmarshal(field(obj, name), &s) != nil {
		return ""
	}
	return clip(strings.TrimSpace(s), 64)
}

// recordType is the Type of the record e is about, "" when it cannot be
// read.
func recordType(e *RecordError) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(e.raw, &obj) != nil {
		return ""
	}
	return stringField(obj, "Type")
}

// unreadable logs and counts a record readList could not take.
func (c *Client) unreadable(ctx context.Context, r request, e *RecordError) {
	op := c.metrics.recordUnreadable(ctx, r)
	c.log.WarnContext(ctx, "xero: a record of Xero's answer could not be read; the others were taken",
		slog.String("operation", op), slog.String("kind", e.Kind), slog.String("id", e.ID),
		slog.String("error", c.redact.text(e.Err.Error())))
}

// partialInvoice reads what it can of an invoice readList could not take
// whole: what the resolution of a creation needs to match and adopt it (the
// ids, number, type, status, reference, contact, currency, lines and
// amounts) must read, else ok is false; the dates and the other amounts are
// read each on its own, and left zero when they do not. The invoice's
// Partial is e.
func partialInvoice(e *RecordError) (inv Invoice, ok bool) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(e.raw, &obj) != nil || obj == nil {
		return Invoice{}, false
	}
	// read decodes one member, absent or null as zero.
	read := func(name string, out any) bool {
		raw := field(obj, name)
		return raw == nil || json.Unmarshal(raw, out) == nil
	}
	var contact struct{ ContactID string }
	var total, paid, due amount
	head := read("InvoiceID", &inv.InvoiceID) && read("Type", &inv.Type) && read("InvoiceNumber", &inv.InvoiceNumber) &&
		read("Reference", &inv.Reference) && read("Status", &inv.Status) && read("CurrencyCode", &inv.CurrencyCode) &&
		read("Contact", &contact) && read("LineItems", &inv.LineItems) &&
		read("Total", &total) && read("AmountPaid", &paid) && read("AmountDue", &due)
	if !head || !isGUID(inv.InvoiceID) {
		return Invoice{}, false
	}
	inv.Contact = Contact{ContactID: contact.ContactID}
	inv.Total, inv.AmountPaid, inv.AmountDue = total.dec(), paid.dec(), due.dec()
	inv.Partial = e
	_ = read("LineAmountTypes", &inv.LineAmountTypes)
	for name, dst := range map[string]*decimal.Decimal{"SubTotal": &inv.SubTotal, "TotalTax": &inv.TotalTax, "AmountCredited": &inv.AmountCredited} {
		var a amount
		if raw := field(obj, name); raw != nil && json.Unmarshal(raw, &a) == nil {
			*dst = a.dec()
		}
	}
	date := func(names ...string) billing.Date {
		var s []string
		for _, n := range names {
			s = append(s, stringField(obj, n))
		}
		d, _ := ParseCalendarDate(firstNonEmpty(s...))
		return d
	}
	inv.Date = date("DateString", "Date")
	inv.DueDate = date("DueDateString", "DueDate")
	inv.FullyPaidOnDate = date("FullyPaidOnDate")
	if t, err := ParseDate(stringField(obj, "UpdatedDateUTC")); err == nil {
		inv.UpdatedDateUTC = t
	}
	return inv, true
}
