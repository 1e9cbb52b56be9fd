package xero

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/amsbilling/sdk/ratelimit"
)

// Operations are path templates: the API's own words, every id or number a
// placeholder, and no query.
func TestOperation(t *testing.T) {
	const api = "https://api.xero.com/api.xro/2.0"
	const conn = "https://api.xero.com/connections"
	m := newClientMetrics(nil, api, conn, "")
	id := "4f9c1a3e-2b7d-4c1e-9a8f-0e6d5c4b3a21"
	tests := []struct {
		method, url string
		want        string
	}{
		{"GET", api + "/Invoices/" + id, "GET /Invoices/{InvoiceID}"},
		{"GET", api + "/Invoices/INV-0042", "GET /Invoices/{InvoiceID}"},
		{"POST", api + "/Invoices/" + id + "/Email", "POST /Invoices/{InvoiceID}/Email"},
		{"GET", api + "/Invoices/" + id + "/OnlineInvoice", "GET /Invoices/{InvoiceID}/OnlineInvoice"},
		{"GET", api + "/Invoices?page=1&IDs=" + id + "," + id, "GET /Invoices"},
		{"PUT", api + "/Invoices?summarizeErrors=false", "PUT /Invoices"},
		{"GET", api + "/Contacts/" + id, "GET /Contacts/{ContactID}"},
		{"POST", api + "/Contacts/" + id, "POST /Contacts/{ContactID}"},
		{"GET", api + "/Contacts?where=Name%3D%3D%22Ada%22", "GET /Contacts"},
		{"GET", api + "/Accounts", "GET /Accounts"},
		{"GET", api + "/Accounts/" + id, "GET /Accounts/{AccountID}"},
		{"GET", api + "/Organisation", "GET /Organisation"},
		{"GET", api + "/Currencies", "GET /Currencies"},
		{"GET", api + "/Journals/" + id, "GET /{id}/{id}"},
		{"POST", api + "/Payments/" + id, "POST /Payments/{PaymentID}"},
		{"PUT", api + "/Payments?summarizeErrors=false", "PUT /Payments"},
		{"PUT", api + "/CreditNotes/" + id + "/Allocations", "PUT /CreditNotes/{CreditNoteID}/Allocations"},
		{"GET", api + "/CreditNotes?page=1", "GET /CreditNotes"},
		{"GET", api + "/", "GET /"},
		{"GET", conn, "GET /connections"},
		{"GET", "https://elsewhere.test/Invoices/" + id, "GET other"},
	}
	for _, tt := range tests {
		t.Run(tt.want+" "+tt.url, func(t *testing.T) {
			op, server := m.operation(request{method: tt.method, url: tt.url})
			assert.Equal(t, tt.want, op)
			assert.NotContains(t, op, id)
			if tt.want != "GET other" {
				assert.Len(t, server, 2, "server.address and server.port")
			}
		})
	}
}

func TestServerAttrs(t *testing.T) {
	tests := []struct {
		url  string
		host string
		port int64
	}{
		{"https://api.xero.com/api.xro/2.0", "api.xero.com", 443},
		{"http://127.0.0.1:8080/api.xro/2.0", "127.0.0.1", 8080},
		{"http://xero.emulator/api.xro/2.0", "xero.emulator", 80},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			m := newClientMetrics(nil, tt.url, "", "")
			assert.Equal(t, tt.host, m.apiServer[0].Value.AsString())
			assert.Equal(t, tt.port, m.apiServer[1].Value.AsInt64())
		})
	}
}

// error.type is a word from a short list, never an error's text.
func TestErrorType(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{context.Canceled, "canceled"},
		{fmt.Errorf("xero: GET /Invoices: %w", context.DeadlineExceeded), "timeout"},
		{&permanentError{errors.New("response larger than 32 MiB")}, "response_too_large"},
		{errors.New("dial tcp: connection refused to /Invoices/INV-0001"), "_OTHER"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, errorType(tt.err))
		})
	}
}

// xero.rate_limit.problem takes Xero's four limits, and nothing else
// Xero's header might say.
func TestProblemValue(t *testing.T) {
	tests := []struct {
		p    ratelimit.Problem
		want string
	}{
		{ratelimit.ProblemMinute, "minute"},
		{ratelimit.ProblemDay, "day"},
		{ratelimit.ProblemConcurrent, "concurrent"},
		{ratelimit.ProblemAppMinute, "appminute"},
		{"", "unknown"},
		{"tenant 4f9c1a3e over its quota", "other"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, problemValue(tt.p))
		})
	}
}
