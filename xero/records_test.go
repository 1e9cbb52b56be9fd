package xero_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/xero"
)

const invID = "0e4b2a4e-7d5b-4d8e-8a55-2c5d8f1b9f01"

// flagged adds Xero's per-record verdict to a record's JSON object.
func flagged(obj, status, validation string) string {
	extra := ""
	if status != "" {
		extra += `"StatusAttributeString":"` + status + `",`
	}
	if validation != "" {
		extra += `"ValidationErrors":[{"Message":"` + validation + `"}],`
	}
	return "{" + extra + strings.TrimPrefix(obj, "{")
}

// TestFlaggedRecordIsAFailure: in a 2xx answer (the summarizeErrors=false
// shape), a record with StatusAttributeString ERROR or ValidationErrors was
// not saved: the write fails with an *APIError holding Xero's messages,
// never passes for a success, and is not retried.
func TestFlaggedRecordIsAFailure(t *testing.T) {
	contact := strings.TrimSuffix(strings.TrimPrefix(contactJSON(contactID, "A (u-1)", "u-1", ""), `{"Contacts":[`), `]}`)
	invoice := invoiceObject(invID, "INV-1", "AUTHORISED", "10.00", "0.00", "10.00")
	calls := []struct {
		name, method, path, list, record string
		call                             func(*xero.Client) error
	}{
		{"CreateInvoice", http.MethodPut, "/Invoices", "Invoices", invoice, func(c *xero.Client) error {
			_, err := c.CreateInvoice(context.Background(), xero.Invoice{Type: xero.InvoiceTypeSales}, "key-1")
			return err
		}},
		{"CreateContact", http.MethodPut, "/Contacts", "Contacts", contact, func(c *xero.Client) error {
			_, err := c.CreateContact(context.Background(), xero.Contact{Name: "A (u-1)"})
			return err
		}},
		{"UpdateContact", http.MethodPost, "/Contacts/" + contactID, "Contacts", contact, func(c *xero.Client) error {
			_, err := c.UpdateContact(context.Background(), xero.Contact{ContactID: contactID, Name: "A (u-1)"})
			return err
		}},
		{"GetContact", http.MethodGet, "/Contacts/" + contactID, "Contacts", contact, func(c *xero.Client) error {
			_, err := c.GetContact(context.Background(), contactID)
			return err
		}},
	}
	verdicts := []struct {
		name, status, validation string
	}{
		{"ERROR with a message", "ERROR", "Invoice # must be unique."},
		{"ERROR alone", "ERROR", ""},
		{"a message alone", "", "Email address must be valid."},
	}
	for _, c := range calls {
		for _, v := range verdicts {
			t.Run(c.name+"/"+v.name, func(t *testing.T) {
				h := newHarness(t)
				h.handle(c.method, c.path, respond(200, `{"`+c.list+`":[`+flagged(c.record, v.status, v.validation)+`]}`, "Xero-Correlation-Id", "corr-9"))
				err := c.call(h.client)
				var ae *xero.APIError
				require.ErrorAs(t, err, &ae, "a flagged record is not a success")
				assert.Equal(t, 200, ae.StatusCode)
				assert.Equal(t, "corr-9", ae.CorrelationID)
				if v.validation != "" {
					assert.Equal(t, []string{v.validation}, ae.ValidationErrors)
				}
				assert.Contains(t, err.Error(), "refused")
				assert.False(t, billing.IsTemporary(err))
				assert.Equal(t, 1, h.apiCalls(), "not retried")
			})
		}
	}
	t.Run("OK and WARNING are successes", func(t *testing.T) {
		for _, status := range []string{"OK", "WARNING"} {
			h := newHarness(t)
			h.handle(http.MethodPut, "/Invoices", respond(200, `{"Invoices":[`+flagged(invoice, status, "")+`]}`))
			got, err := h.client.CreateInvoice(context.Background(), xero.Invoice{Type: xero.InvoiceTypeSales}, "key-1")
			require.NoError(t, err, status)
			assert.Equal(t, invID, got.InvoiceID)
		}
	})
}

// TestWarningsOfASuccess: Xero's warnings on a record it saved come back
// on the record (Warnings) and are logged at Warn level.
func TestWarningsOfASuccess(t *testing.T) {
	warned := `"StatusAttributeString":"WARNING","Warnings":[{"Message":"Account code '600' has been removed as it does not match a recognised account."}],`
	h := newHarness(t)
	h.handle(http.MethodPut, "/Invoices", respond(200, `{"Invoices":[{`+warned+strings.TrimPrefix(invoiceObject(invID, "INV-1", "AUTHORISED", "10.00", "0.00", "10.00"), "{")+`]}`))
	h.handle(http.MethodPut, "/Contacts", respond(200, `{"Contacts":[{`+warned+`"ContactID":"`+contactID+`","Name":"A"}]}`))

	inv, err := h.client.CreateInvoice(context.Background(), xero.Invoice{Type: xero.InvoiceTypeSales}, "key-1")
	require.NoError(t, err)
	assert.Equal(t, []string{"Account code '600' has been removed as it does not match a recognised account."}, inv.Warnings)
	ct, err := h.client.CreateContact(context.Background(), xero.Contact{Name: "A"})
	require.NoError(t, err)
	assert.Equal(t, []string{"Account code '600' has been removed as it does not match a recognised account."}, ct.Warnings)

	logs := h.logs.String()
	assert.Equal(t, 2, strings.Count(logs, `"level":"WARN","msg":"xero: Xero saved the record with warnings"`), logs)
	assert.Contains(t, logs, "Account code '600' has been removed")

	// Warnings are read, never sent.
	h.handle(http.MethodPut, "/Contacts", respond(200, contactJSON(contactID, "A", "a", "")))
	_, err = h.client.CreateContact(context.Background(), xero.Contact{Name: "A", Warnings: []string{"x"}})
	require.NoError(t, err)
	calls := h.calls(http.MethodPut, "/Contacts")
	assert.NotContains(t, calls[len(calls)-1].Body, "Warnings")
}

// TestSyncRecoversFromAFlaggedDuplicate: the duplicate-name answer in the
// summarizeErrors=false shape starts the same recovery as the 400.
func TestSyncRecoversFromAFlaggedDuplicate(t *testing.T) {
	h := newHarness(t)
	svc, store := newService(t, h)
	name := "Jane (" + userID + ")"
	contact := `{"ContactID":"00000000-0000-0000-0000-000000000000","Name":"` + name + `","AccountNumber":"` + userID + `"}`
	h.handle(http.MethodPut, "/Contacts", respond(200, `{"Contacts":[`+flagged(contact, "ERROR", "The contact name "+name+" is already assigned to another contact. The contact name must be unique across all active contacts.")+`]}`))
	h.handle(http.MethodGet, "/Contacts", respond(200, contactJSON(contactID, name, userID, "")))
	h.handle(http.MethodPost, "/Contacts/"+contactID, respond(200, contactJSON(contactID, name, userID, "")))
	require.NoError(t, svc.UpdateUserBillingDetails(context.Background(), billing.User{ID: userID, Name: "Jane"}))
	link, err := store.ContactLink(context.Background(), billing.UserAccount(userID))
	require.NoError(t, err)
	assert.Equal(t, contactID, link.ContactID, "not the all-zero id of the flagged record")
}
