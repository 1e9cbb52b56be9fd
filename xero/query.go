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

type pagedInvoicesBody struct {
	Invoices   []Invoice   `json:"Invoices"`
	Pagination *pagination `json:"pagination"`
}

// more reports whether another page follows page: Xero's pagination says
// so when it is there, else a full page does. An empty page ends it.
func (b pagedInvoicesBody) more(page int) bool {
	if len(b.Invoices) == 0 {
		return false
	}
	if p := b.Pagination; p != nil && p.PageCount > 0 {
		return page < p.PageCount
	}
	return len(b.Invoices) >= xerolimit.MaxPageSize
}

// InvoicesModifiedSince returns page (from 1) of the organisation's sales
// and purchase invoices modified at or after since (GET /Invoices with
// If-Modified-Since, which Xero reads in UTC to the second), in pages of
// Xero's largest size (1,000), and whether another page follows.
func (c *Client) InvoicesModifiedSince(ctx context.Context, since time.Time, page int) ([]Invoice, bool, error) {
	if page < 1 {
		return nil, false, errors.New("xero: InvoicesModifiedSince: page starts at 1")
	}
	q := url.Values{"page": {strconv.Itoa(page)}, "pageSize": {strconv.Itoa(xerolimit.MaxPageSize)}}
	r := request{method: http.MethodGet, url: c.endpoint("/Invoices", q), tenant: true, ifModifiedSince: since.Truncate(time.Second)}
	res, err := c.send(ctx, r)
	if err != nil {
		return nil, false, err
	}
	var out pagedInvoicesBody
	if err := c.decode(r, res, &out); err != nil {
		return nil, false, err
	}
	return out.Invoices, out.more(page), nil
}

// FindInvoices returns the invoices with this reference of any of the
// contacts (GET /Invoices?ContactIDs=...&where=Reference=="..."), every
// status included, asking for as many contacts a request as Xero's URL limit
// allows and following pages. It is how a creation whose answer was lost
// finds the invoice Xero made.
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
			var out pagedInvoicesBody
			if err := c.doJSON(ctx, http.MethodGet, u, "", nil, &out); err != nil {
				return nil, err
			}
			all = append(all, out.Invoices...)
			if !out.more(page) {
				break
			}
		}
	}
	return all, nil
}
