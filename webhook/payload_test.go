package webhook_test

import (
	"testing"
	"time"

	"github.com/amsbilling/sdk/webhook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A delivery shaped like Xero's documented example.
const xeroExample = `{
  "events": [
    {
      "resourceUrl": "https://api.xero.com/api.xro/2.0/CreditNotes/55d84274-a3da-4829-a7c0-0cab601b95cc",
      "resourceId": "55d84274-a3da-4829-a7c0-0cab601b95cc",
      "tenantId": "aef86862-2015-4b6b-88bc-d89032cecc50",
      "tenantType": "ORGANISATION",
      "eventCategory": "CREDITNOTE",
      "eventType": "CREATE",
      "eventDateUtc": "2025-12-02T00:44:09.923",
      "data": {"Type": "ACCPAYCREDIT", "Status": "DRAFT"}
    }
  ],
  "firstEventSequence": 76,
  "lastEventSequence": 76,
  "entropy": "FXNGWLCCGVANWHKILRUB"
}`

func TestParsePayload(t *testing.T) {
	p, err := webhook.ParsePayload([]byte(xeroExample))
	require.NoError(t, err)
	assert.Equal(t, int64(76), p.FirstEventSequence)
	assert.Equal(t, int64(76), p.LastEventSequence)
	assert.Equal(t, "FXNGWLCCGVANWHKILRUB", p.Entropy)
	require.Len(t, p.Events, 1)
	e := p.Events[0]
	assert.Equal(t, "55d84274-a3da-4829-a7c0-0cab601b95cc", e.ResourceID)
	assert.Equal(t, "CREDITNOTE", e.EventCategory)
	assert.Equal(t, "CREATE", e.EventType)
	assert.Equal(t, "ORGANISATION", e.TenantType)
	assert.JSONEq(t, `{"Type":"ACCPAYCREDIT","Status":"DRAFT"}`, string(e.Data))
	assert.False(t, e.IsInvoiceUpdate())

	when, err := e.Time()
	require.NoError(t, err)
	assert.Equal(t, time.Date(2025, 12, 2, 0, 44, 9, 923e6, time.UTC), when)
}

func TestParsePayloadErrors(t *testing.T) {
	for _, b := range []string{"", "  ", "null", "[]", `"x"`, "{", `{"events":"no"}`, `{"lastEventSequence":1.5}`, "{}x"} {
		_, err := webhook.ParsePayload([]byte(b))
		assert.ErrorIs(t, err, webhook.ErrMalformedPayload, "%q", b)
	}
}

func TestEventTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2025-12-02T00:44:09.923", time.Date(2025, 12, 2, 0, 44, 9, 923e6, time.UTC), true},
		{"2025-12-02T00:44:09", time.Date(2025, 12, 2, 0, 44, 9, 0, time.UTC), true},
		{"2025-12-02T13:44:09+13:00", time.Date(2025, 12, 2, 0, 44, 9, 0, time.UTC), true},
		{"", time.Time{}, false},
		{"yesterday", time.Time{}, false},
	}
	for _, tt := range tests {
		got, err := webhook.Event{EventDateUTC: tt.in}.Time()
		if !tt.ok {
			assert.ErrorIs(t, err, webhook.ErrMalformedPayload, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.True(t, tt.want.Equal(got), tt.in)
		assert.Equal(t, time.UTC, got.Location())
	}
}

func TestIsInvoiceUpdate(t *testing.T) {
	assert.True(t, webhook.Event{EventCategory: "INVOICE", EventType: "UPDATE"}.IsInvoiceUpdate())
	assert.True(t, webhook.Event{EventCategory: "invoice", EventType: "update"}.IsInvoiceUpdate())
	assert.False(t, webhook.Event{EventCategory: "INVOICE", EventType: "CREATE"}.IsInvoiceUpdate())
	assert.False(t, webhook.Event{EventCategory: "CONTACT", EventType: "UPDATE"}.IsInvoiceUpdate())
}
