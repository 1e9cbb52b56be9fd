package emulator

import (
	"bytes"
	"context"
	"html/template"
	"net/http"
	"strings"

	"github.com/amsbilling/sdk/billing"
)

// The HTML pages: the online invoice a customer opens (with a button that
// pays it, so a quickstart can show the whole loop), and an index of what
// the emulator holds.
var pages = template.Must(template.New("invoice").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Invoice {{.Inv.InvoiceNumber}}</title>
<style>body{font-family:sans-serif;max-width:44em;margin:2em auto}table{border-collapse:collapse;width:100%}td,th{padding:.3em;border-bottom:1px solid #ddd;text-align:left}.n{text-align:right}</style></head>
<body><p><small>{{.Org}} — Xero API emulator</small></p>
<h1>Invoice {{.Inv.InvoiceNumber}}</h1>
<p>To: {{.ContactName}}<br>Date: {{.Inv.Date}}<br>Due: {{.Inv.DueDate}}{{if .Inv.Reference}}<br>Reference: {{.Inv.Reference}}{{end}}</p>
<table><tr><th>Description</th><th class="n">Qty</th><th class="n">Unit</th><th class="n">Amount</th></tr>
{{range .Inv.LineItems}}<tr><td>{{.Description}}</td><td class="n">{{.Quantity}}</td><td class="n">{{.UnitAmount.StringFixed 2}}</td><td class="n">{{.LineAmount.StringFixed 2}}</td></tr>
{{end}}</table>
<p class="n">Subtotal {{.Inv.SubTotal.StringFixed 2}}<br>Tax {{.Inv.TotalTax.StringFixed 2}}<br><b>Total {{.Inv.CurrencyCode}} {{.Inv.Total.StringFixed 2}}</b><br>Paid {{.Inv.AmountPaid.StringFixed 2}}<br><b>Due {{.Inv.AmountDue.StringFixed 2}}</b></p>
<p>Status: <b>{{.Inv.Status}}</b>{{if not .Inv.FullyPaidOnDate.IsZero}} on {{.Inv.FullyPaidOnDate}}{{end}}</p>
{{if eq .Inv.Status "AUTHORISED"}}<form method="post" action="{{.PayURL}}"><button type="submit">Pay {{.Inv.CurrencyCode}} {{.Inv.AmountDue.StringFixed 2}} now (simulated)</button></form>{{end}}
</body></html>
{{define "index"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Xero API emulator</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse;width:100%}td,th{padding:.3em;border-bottom:1px solid #ddd;text-align:left}.n{text-align:right}</style></head>
<body><h1>Xero API emulator — {{.Org}}</h1>
<p>Tenant {{.TenantID}}. Accounting API at <code>{{.Base}}/api.xro/2.0</code>, token endpoint <code>{{.Base}}/connect/token</code>.</p>
<h2>Invoices</h2>
<table><tr><th>Number</th><th>Contact</th><th>Status</th><th class="n">Total</th><th class="n">Due</th><th>Due date</th></tr>
{{range .Invoices}}<tr><td>{{if .URL}}<a href="{{.URL}}">{{.Number}}</a>{{else}}{{.Number}}{{end}}</td><td>{{.Contact}}</td><td>{{.Status}}</td><td class="n">{{.Total}}</td><td class="n">{{.Due}}</td><td>{{.DueDate}}</td></tr>
{{else}}<tr><td colspan="6">None yet.</td></tr>{{end}}</table>
<h2>Contacts</h2>
<table><tr><th>Name</th><th>Account number</th><th>Email</th><th>Status</th></tr>
{{range .Contacts}}<tr><td>{{.Name}}</td><td>{{.AccountNumber}}</td><td>{{.EmailAddress}}</td><td>{{.ContactStatus}}</td></tr>
{{else}}<tr><td colspan="4">None yet.</td></tr>{{end}}</table>
</body></html>{{end}}`))

func htmlReply(status int, tmpl string, data any) reply {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, tmpl, data); err != nil {
		return textReply(http.StatusInternalServerError, "emulator: cannot render the page")
	}
	return reply{status: status, contentType: "text/html; charset=utf-8", body: b.Bytes()}
}

func htmlNotFound() reply {
	return reply{status: http.StatusNotFound, contentType: "text/html; charset=utf-8",
		body: []byte("<!doctype html><title>Not found</title><p>This invoice link is not valid.</p>")}
}

// onlinePage serves GET /invoice/{token} and POST /invoice/{token}/pay.
func (e *Emulator) onlinePage(r *http.Request) reply {
	rest := strings.Trim(r.URL.Path[len(OnlineInvoicePath):], "/")
	token, action, _ := strings.Cut(rest, "/")
	e.mu.Lock()
	inv := e.onlineByTok[token]
	var snapshot Invoice
	var contactName string
	if inv != nil {
		snapshot = inv.clone()
		if c := e.contactByID[inv.ContactID]; c != nil {
			contactName = c.Name
		}
	}
	e.mu.Unlock()
	if inv == nil {
		return htmlNotFound()
	}
	page := e.baseURL(r) + OnlineInvoicePath + token
	switch {
	case action == "" && r.Method == http.MethodGet:
		return htmlReply(http.StatusOK, "invoice", map[string]any{
			"Org": e.opts.TenantName, "Inv": snapshot, "ContactName": contactName, "PayURL": page + "/pay",
		})
	case action == "pay" && r.Method == http.MethodPost:
		// The page's own button: pay what is due, today. Paying twice is
		// harmless: the second click finds nothing due and just shows it.
		if snapshot.Status == billing.StatusAuthorised {
			_ = e.PayInvoice(context.WithoutCancel(r.Context()), snapshot.InvoiceID, snapshot.AmountDue, billing.Date{})
		}
		rp := reply{status: http.StatusSeeOther}
		rp.header = http.Header{"Location": {page}}
		return rp
	}
	return htmlNotFound()
}

type indexRow struct {
	Number, Contact, Status, Total, Due, DueDate, URL string
}

// indexPage serves GET /: what the emulator holds, for a person.
func (e *Emulator) indexPage(r *http.Request) reply {
	if r.Method != http.MethodGet {
		return htmlNotFound()
	}
	base := e.baseURL(r)
	e.mu.Lock()
	rows := make([]indexRow, 0, len(e.invoices))
	for _, inv := range e.invoices {
		row := indexRow{Number: inv.InvoiceNumber, Status: inv.Status, Total: inv.CurrencyCode + " " + inv.Total.StringFixed(2),
			Due: inv.AmountDue.StringFixed(2), DueDate: inv.DueDate.String()}
		if c := e.contactByID[inv.ContactID]; c != nil {
			row.Contact = c.Name
		}
		if inv.Status == billing.StatusAuthorised || inv.Status == billing.StatusPaid || inv.Status == billing.StatusVoided {
			row.URL = base + OnlineInvoicePath + e.onlineToken(inv)
		}
		rows = append(rows, row)
	}
	contacts := make([]Contact, len(e.contacts))
	for i, c := range e.contacts {
		contacts[i] = *c
	}
	e.mu.Unlock()
	return htmlReply(http.StatusOK, "index", map[string]any{
		"Org": e.opts.TenantName, "TenantID": e.opts.TenantID, "Base": base, "Invoices": rows, "Contacts": contacts,
	})
}
