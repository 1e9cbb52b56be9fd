package xero

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/amsbilling/sdk/internal/xerolimit"
)

// pagination is the paging summary Xero adds to a paged list.
type pagination struct {
	Page      int `json:"page"`
	PageSize  int `json:"pageSize"`
	PageCount int `json:"pageCount"`
	ItemCount int `json:"itemCount"`
}

// InvoicesModifiedSince returns page (from 1) of the organisation's sales
// and purchase invoices modified at or after since (GET /Invoices with
// If-Modified-Since, which Xero reads in UTC to the second), in pages of
// Xero's largest size (1,000), and whether another page follows.
//
// Each record is read on its own: one that cannot be taken (see
// RecordError) is returned in failed, and the others in invoices, so one
// bad record never hides the rest of its page. A failed request fails the
// call.
func (c *Client) InvoicesModifiedSince(ctx context.Context, since time.Time, page int) (invoices []Invoice, failed []*RecordError, more bool, err error) {
	if page < 1 {
		return nil, nil, false, errors.New("xero: InvoicesModifiedSince: page starts at 1")
	}
	q := url.Values{"page": {strconv.Itoa(page)}, "pageSize": {strconv.Itoa(xerolimit.MaxPageSize)}}
	u := c.endpoint("/Invoices", q)
	r := request{method: http.MethodGet, url: u, path: pathOf(u), tenant: true, ifModifiedSince: since.Truncate(time.Second)}
	a, err := c.list(ctx, r, invoiceRecords)
	if err != nil {
		return nil, nil, false, err
	}
	invoices, failed = readList(ctx, c, r, a.res, invoiceRecords, a.records, invoiceWarnings)
	return invoices, failed, a.more(page), nil
}

// FindInvoices returns the invoices with this reference of any of the
// contacts (GET /Invoices?ContactIDs=...&where=Reference=="..."), every
// status included, asking for as many contacts a request as Xero's URL limit
// allows and following pages. It is how a creation whose answer was lost
// finds the invoice Xero made, so it never passes over an invoice:
//
//   - A record read whole is returned as it is.
//   - A record that cannot be read whole (see RecordError) is returned with
//     what can be read of it, and Partial set, when its ids, number, type,
//     status, reference, contact, currency, lines and amounts read; its
//     dates and other amounts are read each on its own and left zero when
//     they do not.
//   - Any other record might be the invoice searched for: the call fails
//     with its *RecordError (billing.ErrUnreadable), never answering
//     without it.
func (c *Client) FindInvoices(ctx context.Context, contactIDs []string, reference string) ([]Invoice, error) {
	for _, id := range contactIDs {
		if !isGUID(id) {
			return nil, fmt.Errorf("xero: FindInvoices: contact id %q is not a GUID", clip(id, 64))
		}
	}
	where := `Reference=="` + escapeWhere(reference) + `"`
	query := func(page int) url.Values {
		return url.Values{"where": {where}, "page": {strconv.Itoa(page)}, "pageSize": {strconv.Itoa(xerolimit.MaxPageSize)}}
	}
	var all []Invoice
	// The longest page number a request may carry, for the URL's length.
	for _, chunk := range idChunks(c.endpoint("/Invoices", query(99999))+"&ContactIDs=", contactIDs) {
		for page := 1; ; page++ {
			// GUIDs need no escaping, and Xero refuses some encoded commas.
			u := c.endpoint("/Invoices", query(page)) + "&ContactIDs=" + strings.Join(chunk, ",")
			r, err := c.jsonRequest(http.MethodGet, u, "", nil)
			if err != nil {
				return nil, err
			}
			a, err := c.list(ctx, r, invoiceRecords)
			if err != nil {
				return nil, err
			}
			good, bad := readList(ctx, c, r, a.res, invoiceRecords, a.records, invoiceWarnings)
			all = append(all, good...)
			for _, rerr := range bad {
				inv, ok := partialInvoice(rerr)
				if !ok {
					return nil, fmt.Errorf("xero: FindInvoices: a record of the answer cannot be read enough to tell whether it is the invoice searched for: %w", rerr)
				}
				all = append(all, inv)
			}
			if !a.more(page) {
				break
			}
		}
	}
	return all, nil
}
