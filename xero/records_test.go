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

// badRecords is an answer to GET /Invoices?IDs= holding a good invoice
// (guid 1), one whose UpdatedDateUTC is in no form Xero documents (guid 2)
// and one Xero flagged (guid 3).
func badRecords() string {
	unreadable := strings.Replace(invoiceObject(guid(2), "INV-2", "PAID", "10.00", "10.00", "0.00"),
		`"UpdatedDateUTC":"/Date(1769850000000+0000)/"`, `"UpdatedDateUTC":"2020-02-28 11:02:54"`, 1)
	return `{"Invoices":[` + invoiceObject(guid(1), "INV-1", "PAID", "10.00", "10.00", "0.00") + `,` + unreadable + `,` +
		flagged(invoiceObject(guid(3), "INV-3", "PAID", "10.00", "10.00", "0.00"), "ERROR", "Invoice # must be unique.") + `]}`
}

// TestGetInvoicesPerRecordFailures: one record that cannot be taken fails
// alone; the others are returned.
func TestGetInvoicesPerRecordFailures(t *testing.T) {
	h := newHarness(t)
	h.handle(http.MethodGet, "/Invoices", respond(200, badRecords()))
	got, failed, err := h.client.GetInvoices(context.Background(), []string{guid(1), guid(2), guid(3)})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, guid(1), got[0].InvoiceID)
	require.Len(t, failed, 2)
	assert.Equal(t, guid(2), failed[0].InvoiceID)
	assert.ErrorContains(t, failed[0], "2020-02-28 11:02:54")
	assert.Equal(t, guid(3), failed[1].InvoiceID)
	var ae *xero.APIError
	require.ErrorAs(t, failed[1], &ae)
	assert.Equal(t, []string{"Invoice # must be unique."}, ae.ValidationErrors)
	assert.Equal(t, 1, h.apiCalls())
}

// TestUpdateInvoicesSavesAroundABadRecord: UpdateInvoices saves every
// invoice it could read and puts the others in Failed.
func TestUpdateInvoicesSavesAroundABadRecord(t *testing.T) {
	h := newHarness(t)
	h.handle(http.MethodGet, "/Invoices", respond(200, badRecords()))
	svc, store := newService(t, h)
	for i := 1; i <= 3; i++ {
		require.NoError(t, store.CreateInvoice(context.Background(), billing.Invoice{
			Account: billing.UserAccount(userID), Number: "INV-" + string(rune('0'+i)), ProviderID: guid(i), Status: billing.StatusAuthorised,
		}))
	}
	res, err := svc.UpdateInvoices(context.Background(), []string{guid(1), guid(2), guid(3)})
	require.NoError(t, err)
	require.Len(t, res.Updated, 1)
	assert.Equal(t, guid(1), res.Updated[0].ProviderID)
	assert.Equal(t, billing.StatusPaid, res.Updated[0].Status)
	require.Len(t, res.Failed, 2)
	assert.ErrorContains(t, res.Failed[guid(2)], "2020-02-28 11:02:54")
	assert.ErrorContains(t, res.Failed[guid(3)], "Invoice # must be unique.")
	assert.Empty(t, res.Missing)
	for _, id := range []string{guid(2), guid(3)} {
		inv, err := store.InvoiceByProviderID(context.Background(), id)
		require.NoError(t, err)
		assert.Equal(t, billing.StatusAuthorised, inv.Status, "%s not overwritten", id)
	}
}
