package xero

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
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
	more := len(out.Invoices) >= xerolimit.MaxPageSize
	if p := out.Pagination; p != nil && p.PageCount > 0 {
		more = page < p.PageCount
	}
	return out.Invoices, more && len(out.Invoices) > 0, nil
}

// FindInvoices returns the invoices of one contact with this reference
// (GET /Invoices?ContactIDs=...&where=Reference=="..."), every status
// included, following pages. It is how a creation whose answer was lost
// finds the invoice Xero made.
func (c *Client) FindInvoices(ctx context.Context, contactID, reference string) ([]Invoice, error) {
	if !isGUID(contactID) {
		return nil, fmt.Errorf("xero: FindInvoices: contact id %q is not a GUID", clip(contactID, 64))
	}
	var all []Invoice
	for page := 1; ; page++ {
		q := url.Values{
			"ContactIDs": {contactID},
			"where":      {`Reference=="` + escapeWhere(reference) + `"`},
			"page":       {strconv.Itoa(page)},
			"pageSize":   {strconv.Itoa(xerolimit.MaxPageSize)},
		}
		var out pagedInvoicesBody
		if err := c.doJSON(ctx, http.MethodGet, c.endpoint("/Invoices", q), "", nil, &out); err != nil {
			return nil, err
		}
		all = append(all, out.Invoices...)
		more := len(out.Invoices) >= xerolimit.MaxPageSize
		if p := out.Pagination; p != nil && p.PageCount > 0 {
			more = page < p.PageCount
		}
		if !more || len(out.Invoices) == 0 {
			return all, nil
		}
	}
}
