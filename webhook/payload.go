package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Event categories and types the handler acts on: INVOICE UPDATE events,
// and CREDITNOTE events (CREATE and UPDATE) of sales credit notes. Xero
// also sends CONTACT and SUBSCRIPTION categories and INVOICE CREATE events,
// which it ignores: an invoice the app made is known from its creation.
const (
	CategoryInvoice    = "INVOICE"
	CategoryCreditNote = "CREDITNOTE"
	TypeUpdate         = "UPDATE"
	// CreditNoteTypeSales is the Type, in a CREDITNOTE event's data, of a
	// credit note to a customer (a member), the only kind the app keeps.
	CreditNoteTypeSales = "ACCRECCREDIT"
)

// ErrMalformedPayload: the body is not a Xero webhook payload.
var ErrMalformedPayload = errors.New("webhook: malformed payload")

// Payload is the body of a Xero webhook delivery. The intent-to-receive check
// sends one with no events.
type Payload struct {
	Events             []Event `json:"events"`
	FirstEventSequence int64   `json:"firstEventSequence"`
	LastEventSequence  int64   `json:"lastEventSequence"`
	// Entropy is a random string that makes every signature different.
	Entropy string `json:"entropy"`
}

// Event says that one resource changed.
type Event struct {
	ResourceURL string `json:"resourceUrl"`
	// ResourceID is the changed resource's id; for an invoice, its InvoiceID
	// (billing.Invoice.ProviderID).
	ResourceID string `json:"resourceId"`
	// EventDateUTC is kept as Xero sends it ("2025-12-02T00:44:09.923", UTC
	// without a zone); Time parses it.
	EventDateUTC  string `json:"eventDateUtc"`
	EventType     string `json:"eventType"`     // CREATE or UPDATE
	EventCategory string `json:"eventCategory"` // INVOICE, CONTACT, CREDITNOTE, SUBSCRIPTION
	TenantID      string `json:"tenantId"`
	TenantType    string `json:"tenantType"` // ORGANISATION or APPLICATION
	// Data holds category-specific details (credit note type and status).
	Data json.RawMessage `json:"data,omitempty"`
}

// IsInvoiceUpdate reports whether the event says an invoice was updated.
func (e Event) IsInvoiceUpdate() bool {
	return strings.EqualFold(e.EventCategory, CategoryInvoice) && strings.EqualFold(e.EventType, TypeUpdate)
}

// CreditNoteData is the data of a CREDITNOTE event: the credit note's type
// and status when the event happened.
type CreditNoteData struct {
	Type   string `json:"Type"`   // CreditNoteTypeSales, or ACCPAYCREDIT for a supplier's
	Status string `json:"Status"` // AUTHORISED, PAID...
}

// CreditNote reads the event's data as a CREDITNOTE event's; ok is false
// when it has none or it cannot be read.
func (e Event) CreditNote() (data CreditNoteData, ok bool) {
	if len(e.Data) == 0 || json.Unmarshal(e.Data, &data) != nil {
		return CreditNoteData{}, false
	}
	return data, true
}

// IsSalesCreditNoteChange reports whether the event says a sales credit
// note was made or changed: a CREDITNOTE event whose data's Type is
// CreditNoteTypeSales (in any case). One whose data is missing, cannot be
// read or names no type counts too, as a refresh too many costs less than a
// change missed; one whose data names another type (ACCPAYCREDIT, a
// supplier's credit) does not.
func (e Event) IsSalesCreditNoteChange() bool {
	if !strings.EqualFold(e.EventCategory, CategoryCreditNote) {
		return false
	}
	data, ok := e.CreditNote()
	return !ok || data.Type == "" || strings.EqualFold(data.Type, CreditNoteTypeSales)
}

// Time parses EventDateUTC. Xero omits the zone; the time is UTC. A value
// with a zone (RFC 3339) is accepted too.
func (e Event) Time() (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, e.EventDateUTC); err == nil {
		return t.UTC(), nil
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", e.EventDateUTC, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: eventDateUtc %q is not a date and time", ErrMalformedPayload, e.EventDateUTC)
	}
	return t, nil
}

// ParsePayload decodes a webhook body. It fails with ErrMalformedPayload
// unless body is a JSON object whose fields have the expected types. It does
// not check the signature: call Verify first.
func ParsePayload(body []byte) (Payload, error) {
	var p Payload
	if !isObject(body) {
		return p, fmt.Errorf("%w: not a JSON object", ErrMalformedPayload)
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return Payload{}, fmt.Errorf("%w: %w", ErrMalformedPayload, err)
	}
	return p, nil
}

// isObject reports whether the first non-space byte opens an object, so that
// "null" or "[]" are refused rather than decoded as an empty payload.
func isObject(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c == '{'
	}
	return false
}
