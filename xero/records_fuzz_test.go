package xero

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amsbilling/sdk/billing"
)

// The fuzz targets feed one random JSON record, before or after a good one,
// to each list read: the good one is always taken, the random one never
// fails the read (the search alone may fail, and only with its
// *RecordError), and nothing panics.

const (
	fuzzGoodID  = "0f0f0f0f-1111-4222-8333-444444444444"
	fuzzContact = "c0ffee00-0000-4000-8000-000000000001"
)

// fuzzInvoice is a good invoice, as Xero sends it in a page.
const fuzzInvoice = `{"Type":"ACCREC","InvoiceID":"` + fuzzGoodID + `","InvoiceNumber":"INV-1","Reference":"Membership 2026","Contact":{"ContactID":"` + fuzzContact + `"},` +
	`"DateString":"2026-01-31T00:00:00","Date":"/Date(1769817600000+0000)/","DueDateString":"2026-02-28T00:00:00","DueDate":"/Date(1772236800000+0000)/",` +
	`"Status":"AUTHORISED","LineAmountTypes":"Inclusive","SubTotal":10.00,"TotalTax":0.00,"Total":10.00,"AmountPaid":0.00,"AmountDue":10.00,"CurrencyCode":"NZD",` +
	`"UpdatedDateUTC":"/Date(1769850000000+0000)/","LineItems":[{"Description":"Annual membership","Quantity":1.0,"UnitAmount":10.00,"AccountCode":"200"}]}`

// fuzzContactRecord is a good active contact with account number u-1.
const fuzzContactRecord = `{"ContactID":"` + fuzzGoodID + `","ContactStatus":"ACTIVE","Name":"Jane (u-1)","AccountNumber":"u-1"}`

// fuzzSeeds are records worth starting from.
var fuzzSeeds = []string{
	strings.Replace(fuzzInvoice, "2026-01-31T00:00:00", "0001-01-01T00:00:00", 1),
	strings.Replace(fuzzInvoice, `"LineItems":[`, `"LineItems":"x","L":[`, 1),
	strings.Replace(fuzzInvoice, fuzzGoodID, "0f0f0f0f-1111-4222-8333-555555555555", 1),
	`{"StatusAttributeString":"ERROR","ValidationErrors":[{"Message":"Invoice # must be unique."}],"InvoiceID":"00000000-0000-0000-0000-000000000000"}`,
	`{"InvoiceID":"x","ContactID":"y","Total":"1e999999","UpdatedDateUTC":"/Date(9223372036854775807)/"}`,
	`{"InvoiceID":"` + fuzzGoodID + `","Date":"/Date(-62135596800000-2359)/"}`,
	fuzzContactRecord, strings.Replace(fuzzContactRecord, "ACTIVE", "ARCHIVED", 1),
	`{"ContactID":"a","AccountNumber":"u-1","Warnings":[{"Message":7}]}`,
	`42`, `null`, `[]`, `{}`, `"text"`, `{"Invoices":[{}]}`,
}

// fuzzTransport answers every request: a token, or body.
type fuzzTransport struct {
	mu   sync.Mutex
	body string
}

func (f *fuzzTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	body := f.body
	f.mu.Unlock()
	if strings.HasSuffix(req.URL.Path, "/token") {
		body = `{"access_token":"tok","expires_in":1800,"token_type":"Bearer"}`
	}
	if req.Body != nil {
		_ = req.Body.Close()
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
}

// unlimited is a limiter that never refuses: the fuzz makes thousands of
// calls a second to no one.
type unlimited struct{}

func (unlimited) Acquire(context.Context, string) (func(), error) { return func() {}, nil }
func (unlimited) Observe(string, int, http.Header)                {}

func fuzzClient(f *testing.F) (*Client, *fuzzTransport) {
	tr := &fuzzTransport{}
	c, err := NewClient(Config{
		ClientID: "CLIENT", ClientSecret: billing.NewSecret("secret"), TenantID: "6f1a7a0e-0d3c-4a6e-9a39-1f1c0b0e7c11",
		AccountCode: "200", Currency: "NZD", APIURL: "https://xero.test/api.xro/2.0", TokenURL: "https://identity.test/connect/token",
	}, WithHTTPClient(&http.Client{Transport: tr}), WithLimiter(unlimited{}), WithRetries(1, 0))
	if err != nil {
		f.Fatal(err)
	}
	return c, tr
}

// answer sets the body of the next calls: list holding the good record
// and rec (as a JSON string when it is not JSON), rec first if first.
func (f *fuzzTransport) answer(list, good, rec string, first bool) string {
	if !json.Valid([]byte(rec)) {
		b, _ := json.Marshal(rec)
		rec = string(b)
	}
	records := good + "," + rec
	if first {
		records = rec + "," + good
	}
	f.mu.Lock()
	f.body = `{"` + list + `":[` + records + `]}`
	f.mu.Unlock()
	return rec
}

// claims reports whether rec is itself a record with the good one's id
// (InvoiceID or ContactID), which may then come first and be taken for it.
func claims(rec string) bool {
	var head struct{ InvoiceID, ContactID string }
	_ = json.Unmarshal([]byte(rec), &head)
	return strings.EqualFold(strings.TrimSpace(head.InvoiceID), fuzzGoodID) || strings.EqualFold(strings.TrimSpace(head.ContactID), fuzzGoodID)
}

func addSeeds(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, false)
		f.Add(s, true)
	}
}

func hasGood(invs []Invoice) bool {
	for _, inv := range invs {
		if inv.InvoiceID == fuzzGoodID && inv.InvoiceNumber == "INV-1" && inv.Partial == nil {
			return true
		}
	}
	return false
}

func FuzzGetInvoices(f *testing.F) {
	addSeeds(f)
	c, tr := fuzzClient(f)
	f.Fuzz(func(t *testing.T, rec string, first bool) {
		rec = tr.answer("Invoices", fuzzInvoice, rec, first)
		got, bad, err := c.GetInvoices(context.Background(), []string{fuzzGoodID})
		if err != nil {
			t.Fatalf("a record failed its neighbours: %v", err)
		}
		if !hasGood(got) && !(first && claims(rec)) {
			t.Fatalf("the good invoice is missing: got %d, bad %v", len(got), bad)
		}
		checkBad(t, bad)
	})
}

func FuzzInvoicesModifiedSince(f *testing.F) {
	addSeeds(f)
	c, tr := fuzzClient(f)
	f.Fuzz(func(t *testing.T, rec string, first bool) {
		tr.answer("Invoices", fuzzInvoice, rec, first)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		got, bad, more, err := c.InvoicesModifiedSince(ctx, time.Unix(0, 0), 1)
		if err != nil {
			t.Fatalf("a record failed its neighbours: %v", err)
		}
		if !hasGood(got) {
			t.Fatalf("the good invoice is missing: got %d, bad %v", len(got), bad)
		}
		if len(got)+len(bad) != 2 || more {
			t.Fatalf("2 records, one page: got %d, bad %d, more %v", len(got), len(bad), more)
		}
		checkBad(t, bad)
	})
}

func FuzzFindInvoices(f *testing.F) {
	addSeeds(f)
	c, tr := fuzzClient(f)
	f.Fuzz(func(t *testing.T, rec string, first bool) {
		tr.answer("Invoices", fuzzInvoice, rec, first)
		got, err := c.FindInvoices(context.Background(), []string{fuzzContact}, "Membership 2026")
		if err != nil {
			// Only a record that might be the one searched for fails the
			// search, and then by its own error.
			var rerr *RecordError
			if !errors.As(err, &rerr) || !errors.Is(err, billing.ErrUnreadable) {
				t.Fatalf("the search failed for another reason: %v", err)
			}
			return
		}
		if !hasGood(got) || len(got) != 2 {
			t.Fatalf("the good invoice and the other, whole or partial: got %d", len(got))
		}
		for _, inv := range got {
			if inv.Partial != nil && !isGUID(inv.InvoiceID) {
				t.Fatalf("a partial invoice without an id: %+v", inv)
			}
		}
	})
}

func FuzzFindContactByAccountNumber(f *testing.F) {
	addSeeds(f)
	c, tr := fuzzClient(f)
	f.Fuzz(func(t *testing.T, rec string, first bool) {
		tr.answer("Contacts", fuzzContactRecord, rec, first)
		got, err := c.FindContactByAccountNumber(context.Background(), "u-1")
		if err != nil {
			t.Fatalf("the active contact is there and readable: %v", err)
		}
		if got.AccountNumber != "u-1" || strings.EqualFold(got.ContactStatus, ContactStatusArchived) || got.ContactID == "" {
			t.Fatalf("not an active contact with the account number: %+v", got)
		}
	})
}

// checkBad: every bad record matches billing.ErrUnreadable.
func checkBad(t *testing.T, bad []*RecordError) {
	t.Helper()
	for _, b := range bad {
		if !errors.Is(b, billing.ErrUnreadable) || b.Error() == "" {
			t.Fatalf("a bad record's error: %v", b)
		}
	}
}
