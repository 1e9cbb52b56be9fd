package xero_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/internal/metrictest"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/xero"
)

// yearOne is an invoice as Xero answers for one whose date was sent as
// the year 226, a typo for 2026: it stores it and sends back the year 1,
// which no reader takes.
func yearOne(id, number, status string) string {
	return strings.NewReplacer(
		`"DateString":"2026-01-31T00:00:00"`, `"DateString":"0001-01-01T00:00:00"`,
		`"Date":"/Date(1769817600000+0000)/"`, `"Date":"/Date(-62135596800000+0000)/"`,
	).Replace(invoiceObject(id, number, status, "10.00", "0.00", "10.00"))
}

// noLines is an invoice whose lines do not read.
func noLines(id, number string) string {
	obj := invoiceObject(id, number, "AUTHORISED", "10.00", "0.00", "10.00")
	return obj[:strings.Index(obj, `"LineItems":`)] + `"LineItems":"garbled"}`
}

func list(field string, records ...string) string {
	return `{"` + field + `":[` + strings.Join(records, ",") + `]}`
}

// unreadableCount is xero.records.unreadable for op.
func unreadableCount(t *testing.T, r *metrictest.Reader, op string) float64 {
	t.Helper()
	return r.Collect(t).Sum("xero.records.unreadable", attribute.String("xero.operation", op))
}

// TestInvoiceListReadsTakeEachRecordAlone: a record dated the year 1, one
// that is not even an object and one Xero flagged each fail alone, by id
// when there is one; the good record of the same page is returned, and the
// bad ones are counted by operation.
func TestInvoiceListReadsTakeEachRecordAlone(t *testing.T) {
	answer := list("Invoices",
		yearOne(guid(2), "INV-2", "AUTHORISED"),
		`42`,
		flagged(invoiceObject(guid(3), "INV-3", "PAID", "10.00", "10.00", "0.00"), "ERROR", "Invoice # must be unique."),
		invoiceObject(guid(1), "INV-1", "PAID", "10.00", "10.00", "0.00"),
	)
	reads := []struct {
		name string
		read func(*xero.Client) ([]xero.Invoice, []*xero.RecordError, error)
	}{
		{"GetInvoices (refresh by ids)", func(c *xero.Client) ([]xero.Invoice, []*xero.RecordError, error) {
			return c.GetInvoices(context.Background(), []string{guid(1), guid(2), guid(3)})
		}},
		{"InvoicesModifiedSince (sweep page)", func(c *xero.Client) ([]xero.Invoice, []*xero.RecordError, error) {
			got, bad, more, err := c.InvoicesModifiedSince(context.Background(), time.Now().Add(-time.Hour), 1)
			assert.False(t, more)
			return got, bad, err
		}},
	}
	for _, rd := range reads {
		t.Run(rd.name, func(t *testing.T) {
			r := metrictest.New(t)
			h := newHarness(t, withClientOptions(xero.WithMeterProvider(r)))
			h.handle(http.MethodGet, "/Invoices", respond(200, answer))
			got, bad, err := rd.read(h.client)
			require.NoError(t, err, "one bad record never fails the read")
			require.Len(t, got, 1)
			assert.Equal(t, guid(1), got[0].InvoiceID)
			require.Len(t, bad, 3)
			assert.Equal(t, guid(2), bad[0].InvoiceID)
			assert.Equal(t, "invoice", bad[0].Kind)
			assert.ErrorContains(t, bad[0], "year 1 is outside 1900-9999")
			assert.Empty(t, bad[1].InvoiceID, "42 has no id")
			assert.ErrorContains(t, bad[1], "not a JSON object")
			assert.Equal(t, guid(3), bad[2].InvoiceID)
			var ae *xero.APIError
			assert.ErrorAs(t, bad[2], &ae)
			for _, b := range bad {
				assert.ErrorIs(t, b, billing.ErrUnreadable)
			}
			assert.Equal(t, 3.0, unreadableCount(t, r, "GET /Invoices"))
			assert.Contains(t, h.logs.String(), `"msg":"xero: a record of Xero's answer could not be read; the others were taken"`)
			assert.Equal(t, 1, h.apiCalls())
		})
	}
}

// TestSweepPageWithUnreadableInvoices: the sweep's page keeps the
// unreadable sales invoices by id and leaves out bills, read or not; the
// page is full, so another follows, whatever could be read of it.
func TestSweepPageWithUnreadableInvoices(t *testing.T) {
	h := newHarness(t)
	svc, _ := newService(t, h)
	bill := strings.Replace(yearOne(guid(4), "BILL-4", "AUTHORISED"), `"Type":"ACCREC"`, `"Type":"ACCPAY"`, 1)
	records := []string{yearOne(guid(2), "INV-2", "AUTHORISED"), bill, invoiceObject(guid(1), "INV-1", "PAID", "10.00", "10.00", "0.00")}
	for len(records) < 1000 {
		records = append(records, `{"Type":"ACCPAY","InvoiceID":"`+guid(100+len(records))+`","Date":"not a date"}`)
	}
	h.handle(http.MethodGet, "/Invoices", respond(200, list("Invoices", records...)))
	p, err := svc.InvoicesModifiedSince(context.Background(), time.Now().Add(-time.Hour), 1)
	require.NoError(t, err)
	require.Len(t, p.Invoices, 1)
	assert.Equal(t, guid(1), p.Invoices[0].ProviderID)
	require.Len(t, p.Unreadable, 1, "the bills are not the app's")
	assert.Equal(t, guid(2), p.Unreadable[0].ProviderID)
	assert.ErrorIs(t, p.Unreadable[0].Err, billing.ErrUnreadable)
	assert.True(t, p.More, "a full page of 1,000 records, though only one read")
}

// TestFindInvoicesPassesOverNoRecord: the search behind a creation's
// resolution returns a record it cannot read whole with what it can read
// of it, and fails, naming it, when even that does not read: it never
// answers as if Xero held fewer invoices than it does.
func TestFindInvoicesPassesOverNoRecord(t *testing.T) {
	t.Run("read in part", func(t *testing.T) {
		r := metrictest.New(t)
		h := newHarness(t, withClientOptions(xero.WithMeterProvider(r)))
		h.handle(http.MethodGet, "/Invoices", respond(200, list("Invoices",
			invoiceObject(guid(1), "INV-1", "PAID", "10.00", "10.00", "0.00"), yearOne(guid(2), "INV-2", "AUTHORISED"))))
		got, err := h.client.FindInvoices(context.Background(), []string{contactID}, "Membership 2026")
		require.NoError(t, err)
		require.Len(t, got, 2)
		assert.Nil(t, got[0].Partial)
		x := got[1]
		require.Error(t, x.Partial)
		assert.ErrorIs(t, x.Partial, billing.ErrUnreadable)
		assert.ErrorContains(t, x.Partial, "year 1 is outside")
		assert.Equal(t, guid(2), x.InvoiceID)
		assert.Equal(t, "INV-2", x.InvoiceNumber)
		assert.Equal(t, xero.InvoiceTypeSales, x.Type)
		assert.Equal(t, billing.StatusAuthorised, x.Status)
		assert.Equal(t, "Membership 2026", x.Reference)
		assert.Equal(t, contactID, x.Contact.ContactID)
		assert.Equal(t, "NZD", x.CurrencyCode)
		assert.True(t, x.Total.Equal(decimal.RequireFromString("10.00")))
		assert.True(t, x.AmountDue.Equal(decimal.RequireFromString("10.00")))
		require.Len(t, x.LineItems, 1)
		assert.Equal(t, "200", x.LineItems[0].AccountCode)
		assert.True(t, x.Date.IsZero(), "the date that did not read")
		assert.Equal(t, billing.NewDate(2026, 2, 28), x.DueDate, "the due date did")
		assert.False(t, x.UpdatedDateUTC.IsZero())
		assert.Equal(t, 1.0, unreadableCount(t, r, "GET /Invoices"))
	})
	for name, record := range map[string]string{
		"lines that do not read": noLines(guid(2), "INV-2"),
		"not an object":          `"INV-2"`,
		"no id":                  `{"InvoiceNumber":"INV-2","Reference":"Membership 2026"}`,
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.handle(http.MethodGet, "/Invoices", respond(200, list("Invoices", invoiceObject(guid(1), "INV-1", "PAID", "10.00", "10.00", "0.00"), record)))
			_, err := h.client.FindInvoices(context.Background(), []string{contactID}, "Membership 2026")
			require.ErrorIs(t, err, billing.ErrUnreadable)
			var rerr *xero.RecordError
			require.ErrorAs(t, err, &rerr)
			assert.NotErrorIs(t, err, xero.ErrNotFound)
		})
	}
}

// TestFindContactByAccountNumberTakesNoBadRecord: a record Xero flagged,
// or one that does not decode, is never taken for the contact; while one
// is there, only an active contact that did read is an answer, since the
// bad one may be the active contact.
func TestFindContactByAccountNumberTakesNoBadRecord(t *testing.T) {
	contact := func(id, status string) string {
		return `{"ContactID":"` + id + `","ContactStatus":"` + status + `","Name":"Jane (u-1)","AccountNumber":"u-1"}`
	}
	flaggedOne := flagged(contact(guid(7), "ACTIVE"), "ERROR", "The contact is invalid.")
	undecodable := `{"ContactID":"` + guid(8) + `","ContactStatus":"ACTIVE","Name":"Jane (u-1)","AccountNumber":"u-1","Warnings":"garbled"}`
	tests := []struct {
		name    string
		records []string
		want    string // the contact returned; "" when the call fails
	}{
		{"a flagged record alone", []string{flaggedOne}, ""},
		{"an undecodable record alone", []string{undecodable}, ""},
		{"a flagged record and an archived contact", []string{flaggedOne, contact(guid(5), "ARCHIVED")}, ""},
		{"a flagged record and the active contact", []string{flaggedOne, contact(guid(6), "ACTIVE")}, guid(6)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := metrictest.New(t)
			h := newHarness(t, withClientOptions(xero.WithMeterProvider(r)))
			h.handle(http.MethodGet, "/Contacts", respond(200, list("Contacts", tt.records...)))
			got, err := h.client.FindContactByAccountNumber(context.Background(), "u-1")
			assert.Equal(t, 1.0, unreadableCount(t, r, "GET /Contacts"))
			if tt.want != "" {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got.ContactID)
				return
			}
			require.ErrorIs(t, err, billing.ErrUnreadable)
			assert.NotErrorIs(t, err, xero.ErrNotFound, "not \"none\": the bad record may be it")
			var rerr *xero.RecordError
			require.ErrorAs(t, err, &rerr)
			assert.Equal(t, "contact", rerr.Kind)
			assert.Contains(t, []string{guid(7), guid(8)}, rerr.ID)
			assert.Empty(t, got.ContactID)
		})
	}
}

// madeAt is when the invoices of invoiceObject were last modified in Xero.
var madeAt = time.Date(2026, 1, 31, 9, 0, 0, 0, time.UTC)

// pendingCreation is a service whose store holds one pending creation of
// invoiceObject's invoice (contact, reference, dates, one line of 10.00),
// begun when Xero made it, with lines as given.
func pendingCreation(t *testing.T, h *harness, lines ...billing.LineItem) (*xero.Service, *mock.Store, billing.Creation) {
	t.Helper()
	svc, store := newService(t, h, xero.WithCreationTiming(func() time.Time { return madeAt }, time.Minute, time.Minute))
	if len(lines) == 0 {
		lines = []billing.LineItem{{Description: "Annual membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.RequireFromString("10.00")}}
	}
	p := billing.CreateInvoiceParams{
		Account: billing.UserAccount(userID), Date: billing.NewDate(2026, 1, 31), DueDate: billing.NewDate(2026, 2, 28),
		Reference: "Membership 2026", LineItems: lines, IdempotencyKey: "key-1",
	}
	c := billing.Creation{Key: "key-1", Fingerprint: p.Fingerprint(), Account: p.Account, ContactID: contactID, Params: p, CreatedAt: madeAt}
	_, err := store.LinkContact(context.Background(), p.Account, contactID)
	require.NoError(t, err)
	_, err = store.BeginCreations(context.Background(), []billing.Creation{c})
	require.NoError(t, err)
	return svc, store, c
}

// TestResolutionOfAnInvoiceReadInPart: a pending creation whose invoice
// Xero holds but the SDK cannot read whole is adopted with what could be
// read, and marked for the fetch job; one that cannot be read enough to
// match is named to the operator and never sent again; one whose readable
// fields differ is another invoice, and the creation is sent.
func TestResolutionOfAnInvoiceReadInPart(t *testing.T) {
	tests := []struct {
		name    string
		found   string
		adopted bool // resolved by adopting guid(2)
		sent    int  // PUT /Invoices made
	}{
		{"its date is the year 1", yearOne(guid(2), "INV-2", "AUTHORISED"), true, 0},
		{"its date is the year 1, and it was paid meanwhile", strings.Replace(yearOne(guid(2), "INV-2", "PAID"),
			`"AmountPaid":0.00,"AmountDue":10.00`, `"AmountPaid":10.00,"AmountDue":0.00`, 1), true, 0},
		{"its lines do not read", noLines(guid(2), "INV-2"), false, 0},
		{"its lines are another invoice's", strings.Replace(yearOne(guid(2), "INV-2", "AUTHORISED"), "Annual membership", "Conference", 1), false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			svc, store, c := pendingCreation(t, h)
			h.handle(http.MethodGet, "/Invoices", respond(200, list("Invoices", tt.found)))
			h.handle(http.MethodPut, "/Invoices", respond(200, list("Invoices", invoiceObject(guid(9), "INV-9", "AUTHORISED", "10.00", "0.00", "10.00"))))
			res, err := svc.ResolveCreations(context.Background())
			require.NoError(t, err)
			assert.Len(t, h.calls(http.MethodPut, "/Invoices"), tt.sent)
			switch {
			case tt.adopted:
				require.Len(t, res.Resolved, 1)
				inv := res.Resolved[0]
				assert.Equal(t, guid(2), inv.ProviderID)
				assert.Equal(t, "INV-2", inv.Number)
				assert.Equal(t, c.Params.Date, inv.IssueDate, "the date that did not read is the creation's")
				assert.True(t, inv.Amount.Equal(decimal.RequireFromString("10.00")))
				stored, err := store.InvoiceByProviderID(context.Background(), guid(2))
				require.NoError(t, err)
				assert.True(t, stored.UpdateNeeded, "marked: its row cannot equal Xero's")
				assert.Contains(t, h.logs.String(), `"level":"ERROR","msg":"xero: adopted the invoice of a pending creation that Xero holds but the SDK cannot read in full`)
			case tt.sent == 0:
				require.Empty(t, res.Resolved)
				err := res.Pending[c.Key]
				require.ErrorIs(t, err, billing.ErrCreationPending)
				require.ErrorIs(t, err, billing.ErrUnreadable)
				assert.ErrorContains(t, err, "invoice INV-2 ("+guid(2)+")", "named by number and id")
				assert.Contains(t, h.logs.String(), `"level":"ERROR","msg":"xero: a pending creation cannot be resolved`)
				pending, err := store.PendingCreations(context.Background())
				require.NoError(t, err)
				assert.Len(t, pending, 1, "still pending, never dropped")
				assert.Empty(t, store.Invoices())
			default:
				require.Len(t, res.Resolved, 1)
				assert.Equal(t, guid(9), res.Resolved[0].ProviderID, "Xero had none of it: sent")
			}
		})
	}
}

// TestResolutionComparesAccountCodes: an invoice of the same contact,
// reference, dates and lines on another account is another invoice; the
// line's own code counts, else the configured one (200), whatever the
// letter case Xero echoes, and a line Xero stripped of its code (with a
// warning) is no reason to bill again.
func TestResolutionComparesAccountCodes(t *testing.T) {
	line := func(code string) billing.LineItem {
		return billing.LineItem{Description: "Annual membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.RequireFromString("10.00"), AccountCode: code}
	}
	tests := []struct {
		name      string
		sentCode  string // the creation's line code; "" for the configured 200
		xeroCode  string
		wantMatch bool
	}{
		{"the configured code", "", "200", true},
		{"another code than the configured one", "", "260", false},
		{"the line's own code", "260", "260", true},
		{"the line's own code against the configured one", "260", "200", false},
		{"the line's code in another case", "Sales-1", "SALES-1", true},
		{"a line Xero stripped of its code", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			svc, _, _ := pendingCreation(t, h, line(tt.sentCode))
			found := strings.Replace(invoiceObject(guid(2), "INV-2", "AUTHORISED", "10.00", "0.00", "10.00"), `"AccountCode":"200"`, `"AccountCode":"`+tt.xeroCode+`"`, 1)
			h.handle(http.MethodGet, "/Invoices", respond(200, list("Invoices", found)))
			h.handle(http.MethodPut, "/Invoices", respond(200, list("Invoices", invoiceObject(guid(9), "INV-9", "AUTHORISED", "10.00", "0.00", "10.00"))))
			res, err := svc.ResolveCreations(context.Background())
			require.NoError(t, err)
			require.Len(t, res.Resolved, 1)
			if tt.wantMatch {
				assert.Equal(t, guid(2), res.Resolved[0].ProviderID, "adopted")
				assert.Empty(t, h.calls(http.MethodPut, "/Invoices"))
				return
			}
			assert.Equal(t, guid(9), res.Resolved[0].ProviderID, "sent: Xero's is another invoice")
			assert.Len(t, h.calls(http.MethodPut, "/Invoices"), 1)
		})
	}
}
