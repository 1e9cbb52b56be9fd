package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Event categories and types the handler acts on. Xero also sends CONTACT,
// CREDITNOTE and SUBSCRIPTION categories and CREATE events, which it ignores.
const (
	CategoryInvoice = "INVOICE"
	TypeUpdate      = "UPDATE"
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
