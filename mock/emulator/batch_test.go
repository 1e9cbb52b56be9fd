package emulator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// batchElement is one record of a write's answer, as the tests check it.
type batchElement struct {
	StatusAttributeString string
	ValidationErrors      *[]struct{ Message string } // nil when absent
	Warnings              []struct{ Message string }
	HasErrors             bool
	HasValidationErrors   bool
	InvoiceID, ContactID  string
}

func decodeElements(t *testing.T, body []byte, key string) []batchElement {
	t.Helper()
	var out map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &out), string(body))
	var els []batchElement
	require.NoError(t, json.Unmarshal(out[key], &els), string(body))
	return els
}

func statuses(els []batchElement) []string {
	out := make([]string, len(els))
	for i, el := range els {
		out[i] = el.StatusAttributeString
	}
	return out
}

// With summarizeErrors=false a batch is answered 200, every record with
// its StatusAttributeString and ValidationErrors; the valid ones are saved.
func TestBatchWithoutSummarizedErrors(t *testing.T) {
	badLine := []map[string]any{{"Description": "x", "Quantity": 1, "UnitAmount": 5, "AccountCode": "999"}}
	tests := []struct {
		name, method, path, key string
		records                 func(a *api) []map[string]any
		saved                   func(a *api) int
		want                    []string
		wantSaved               int
	}{
		{"PUT /Invoices", http.MethodPut, "/Invoices", "Invoices", func(a *api) []map[string]any {
			c := a.createContact("Ann", "", "")
			bad := invoice(c)
			bad["LineItems"] = badLine
			return []map[string]any{invoice(c), bad, invoice(c)}
		}, func(a *api) int { return len(a.e.Invoices()) }, []string{"OK", "ERROR", "OK"}, 2},
		{"POST /Invoices", http.MethodPost, "/Invoices", "Invoices", func(a *api) []map[string]any {
			existing := a.createInvoice(a.createContact("Ann", "", ""))
			bad := invoice(existing.Contact.ContactID)
			bad["LineItems"] = badLine
			return []map[string]any{{"InvoiceID": existing.InvoiceID, "Reference": "Changed"}, bad}
		}, func(a *api) int { return len(a.e.Invoices()) }, []string{"OK", "ERROR"}, 1},
		{"PUT /Contacts", http.MethodPut, "/Contacts", "Contacts", func(*api) []map[string]any {
			return []map[string]any{{"Name": "Ann"}, {"Name": "Ann"}, {"Name": "Bob"}, {"Name": ""}}
		}, func(a *api) int { return len(a.e.Contacts()) }, []string{"OK", "ERROR", "OK", "ERROR"}, 2},
		{"POST /Contacts", http.MethodPost, "/Contacts", "Contacts", func(a *api) []map[string]any {
			id := a.createContact("Ann", "acc-1", "")
			return []map[string]any{{"ContactID": id, "EmailAddress": "ann@example.com"}, {"Name": "Cat", "AccountNumber": "acc-1"}, {"Name": "Bob"}}
		}, func(a *api) int { return len(a.e.Contacts()) }, []string{"OK", "ERROR", "OK"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t, emulator.Options{})
			records := tt.records(a)
			resp, body := a.raw(tt.method, tt.path+"?summarizeErrors=false", map[string]any{tt.key: records})
			require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
			els := decodeElements(t, body, tt.key)
			assert.Equal(t, tt.want, statuses(els))
			for i, el := range els {
				require.NotNil(t, el.ValidationErrors, "record %d carries ValidationErrors", i)
				assert.Equal(t, el.StatusAttributeString == "ERROR", len(*el.ValidationErrors) > 0, "record %d", i)
				assert.Equal(t, el.StatusAttributeString == "ERROR", el.HasErrors || el.HasValidationErrors, "record %d", i)
			}
			assert.Equal(t, tt.wantSaved, tt.saved(a))

			// The same batch, all or nothing: 400 with the invalid records.
			b := newAPI(t, emulator.Options{})
			records = tt.records(b)
			before := tt.saved(b)
			var bad errorJSON
			require.Equal(t, http.StatusBadRequest, b.call(tt.method, tt.path, map[string]any{tt.key: records}, &bad).StatusCode)
			assert.Equal(t, "ValidationException", bad.Type)
			assert.Len(t, bad.Elements, strings.Count(strings.Join(tt.want, " "), "ERROR"))
			assert.Equal(t, before, tt.saved(b), "nothing saved")
		})
	}
}

// Xero has been reported to save a batch's valid records even when it
// answers 400; PartialBatchOnError plays that.
func TestPartialBatchOnError(t *testing.T) {
	a := newAPI(t, emulator.Options{PartialBatchOnError: true})
	var bad errorJSON
	resp := a.call(http.MethodPut, "/Contacts", contactsBody(map[string]any{"Name": "Ann"}, map[string]any{"Name": ""}, map[string]any{"Name": "Bob"}), &bad)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, []string{"Contact Name cannot be empty."}, bad.messages())
	assert.Len(t, a.e.Contacts(), 2, "the valid ones were saved all the same")
}

// Warnings a fault attaches show on every record: WARNING with
// summarizeErrors=false, and in a 400's Elements as in Xero's answers.
func TestWriteWarnings(t *testing.T) {
	const warning = "Account code '600' has been removed as it does not match a recognised account."
	a := newAPI(t, emulator.Options{})
	contactID := a.createContact("Ann", "", "")
	path := emulator.APIPath + "/Invoices"

	a.e.InjectFault(emulator.Fault{Path: path, Warnings: []string{warning}})
	bad := invoice(contactID)
	bad["Status"] = "PAID"
	resp, body := a.raw(http.MethodPut, "/Invoices?summarizeErrors=false", invoicesBody(invoice(contactID), bad))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	els := decodeElements(t, body, "Invoices")
	assert.Equal(t, []string{"WARNING", "ERROR"}, statuses(els))
	for _, el := range els {
		require.Len(t, el.Warnings, 1)
		assert.Equal(t, warning, el.Warnings[0].Message)
	}

	a.e.InjectFault(emulator.Fault{Path: path, Warnings: []string{warning}})
	resp, body = a.raw(http.MethodPut, "/Invoices", invoicesBody(invoice(contactID)))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	els = decodeElements(t, body, "Invoices")
	require.Len(t, els[0].Warnings, 1)
	assert.Empty(t, els[0].StatusAttributeString)

	a.e.InjectFault(emulator.Fault{Path: path, Warnings: []string{warning}})
	resp, body = a.raw(http.MethodPut, "/Invoices", invoicesBody(bad))
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	els = decodeElements(t, body, "Elements")
	require.Len(t, els[0].Warnings, 1)
	assert.Equal(t, warning, els[0].Warnings[0].Message)

	resp, body = a.raw(http.MethodPut, "/Invoices", invoicesBody(invoice(contactID)))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.NotContains(t, string(body), "Warnings", "the fault is used up")
}

// Xero sets no count on a write's records, only 3.5 MB on its body (413,
// Xero's problem body); MaxBatch holds a client to a batch size.
func TestBatchLimits(t *testing.T) {
	contacts := func(n int) map[string]any {
		list := make([]map[string]any, n)
		for i := range list {
			list[i] = map[string]any{"Name": fmt.Sprintf("Member %03d", i)}
		}
		return map[string]any{"Contacts": list}
	}
	t.Run("any number by default", func(t *testing.T) {
		a := newAPI(t, emulator.Options{})
		resp, _ := a.raw(http.MethodPut, "/Contacts", contacts(51))
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Len(t, a.e.Contacts(), 51)
	})
	t.Run("MaxBatch", func(t *testing.T) {
		a := newAPI(t, emulator.Options{MaxBatch: 50})
		resp, _ := a.raw(http.MethodPut, "/Contacts", contacts(50))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var bad errorJSON
		resp = a.call(http.MethodPost, "/Contacts?summarizeErrors=false", contacts(51), &bad)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		assert.Equal(t, "ValidationException", bad.Type)
		assert.Equal(t, []string{"The emulator accepts at most 50 records in one request (Options.MaxBatch); this one has 51."}, bad.messages())
		assert.Len(t, a.e.Contacts(), 50)
	})
	t.Run("3.5 MB", func(t *testing.T) {
		a := newAPI(t, emulator.Options{})
		huge := []byte(`{"Contacts":[{"Name":"` + strings.Repeat("a", 3_500_000) + `"}]}`)
		resp, body := a.raw(http.MethodPut, "/Contacts", huge)
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
		var p struct{ Title, Detail string }
		require.NoError(t, json.Unmarshal(body, &p))
		assert.Equal(t, "RequestEntityTooLarge", p.Title)
		assert.Equal(t, "PayloadTooLarge", p.Detail)
		assert.Empty(t, a.e.Contacts())
		reqs := a.e.Requests()
		last := reqs[len(reqs)-1]
		assert.Equal(t, http.StatusRequestEntityTooLarge, last.Status)
		assert.Empty(t, last.Body, "not kept")

		resp, _ = a.raw(http.MethodGet, "/Contacts", nil)
		assert.Equal(t, "59", resp.Header.Get("X-MinLimit-Remaining"), "refused before it was counted")
	})
}
