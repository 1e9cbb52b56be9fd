package xero

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// pageSize is how many records Xero returns per page, and how many ids one
// GET /Invoices?IDs= request may carry here.
const pageSize = 100

type contactsBody struct {
	Contacts []Contact `json:"Contacts"`
}

type invoicesBody struct {
	Invoices []Invoice `json:"Invoices"`
}

// recordsBody is a list answer with its records left undecoded, so each
// can be judged and decoded on its own.
type recordsBody struct {
	Contacts []json.RawMessage `json:"Contacts"`
	Invoices []json.RawMessage `json:"Invoices"`
}

// recordStatus is Xero's verdict on one record of a 2xx answer. With
// summarizeErrors=false (and in some answers regardless) Xero answers 200
// for a batch and flags each record: StatusAttributeString OK, WARNING or
// ERROR, with ValidationErrors and Warnings.
type recordStatus struct {
	StatusAttributeString string    `json:"StatusAttributeString"`
	ValidationErrors      []message `json:"ValidationErrors"`
}

// refused reports whether Xero did not save the record.
func (st recordStatus) refused() bool {
	return strings.EqualFold(st.StatusAttributeString, "ERROR") || len(st.ValidationErrors) > 0
}

// readRecord decodes raw, one record of res, into out. A record Xero
// flagged (recordStatus.refused) is not decoded: the error is an *APIError
// with the answer's status (200) and the record's messages. warnings are
// the record's warnings (nil for a record without), redacted, which the
// caller puts on the record and readRecord logs.
func (c *Client) readRecord(ctx context.Context, r request, res *response, raw json.RawMessage, out any, warnings *[]string) error {
	err := c.takeRecord(ctx, r, res, raw, out, warnings)
	var ae *APIError
	if err != nil && !errors.As(err, &ae) {
		return fmt.Errorf("xero: %s %s: decoding a record of the %d response: %w", r.method, r.path, res.status, err)
	}
	return err
}

// takeRecord is readRecord with a decoding failure left bare, for a
// RecordError, which names the record itself.
func (c *Client) takeRecord(ctx context.Context, r request, res *response, raw json.RawMessage, out any, warnings *[]string) error {
	var st recordStatus
	if err := json.Unmarshal(raw, &st); err != nil {
		return err
	}
	if st.refused() {
		e := &APIError{
			StatusCode:       res.status,
			Type:             "ValidationException",
			Message:          "Xero refused the record",
			ValidationErrors: messages(nil, st.ValidationErrors),
			Method:           r.method,
			Path:             r.path,
			CorrelationID:    cleanText(res.header.Get("Xero-Correlation-Id")),
		}
		if v := cleanText(st.StatusAttributeString); v != "" {
			e.Message += " (StatusAttributeString " + v + ")"
		}
		var w struct {
			Warnings []message `json:"Warnings"`
		}
		if json.Unmarshal(raw, &w) == nil {
			e.Warnings = messages(nil, w.Warnings)
		}
		c.redactError(e)
		return e
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return err
	}
	if warnings != nil && len(*warnings) > 0 {
		for i, w := range *warnings {
			(*warnings)[i] = c.redact.text(w)
		}
		c.log.WarnContext(ctx, "xero: Xero saved the record with warnings",
			slog.String("method", r.method), slog.String("path", r.path),
			slog.Any("warnings", *warnings))
	}
	return nil
}

// records sends r and returns the answer with its records undecoded.
func (c *Client) records(ctx context.Context, r request) (*response, recordsBody, error) {
	res, err := c.send(ctx, r)
	if err != nil {
		return nil, recordsBody{}, err
	}
	var body recordsBody
	if err := c.decode(r, res, &body); err != nil {
		return nil, recordsBody{}, err
	}
	return res, body, nil
}

// oneContact sends r and reads the answer's first contact.
func (c *Client) oneContact(ctx context.Context, r request, op string) (Contact, error) {
	res, body, err := c.records(ctx, r)
	if err != nil {
		return Contact{}, err
	}
	if len(body.Contacts) == 0 {
		return Contact{}, fmt.Errorf("xero: %s: the response holds no contact", op)
	}
	var ct Contact
	if err := c.readRecord(ctx, r, res, body.Contacts[0], &ct, &ct.Warnings); err != nil {
		return Contact{}, err
	}
	if ct.ContactID == "" {
		return Contact{}, fmt.Errorf("xero: %s: the response holds no contact", op)
	}
	return ct, nil
}

// jsonRequest is a request to the API carrying in as its JSON body.
func (c *Client) jsonRequest(method, u, key string, in any) (request, error) {
	r := request{method: method, url: u, path: pathOf(u), key: key, tenant: true}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return request{}, fmt.Errorf("xero: encoding %s request: %w", method, err)
		}
		r.body = b
	}
	return r, nil
}

type onlineInvoicesBody struct {
	OnlineInvoices []struct {
		OnlineInvoiceURL string `json:"OnlineInvoiceUrl"`
	} `json:"OnlineInvoices"`
}

// CreateContact creates a contact (PUT /Contacts). A name or account number
// already in use is a 400 *APIError whose ValidationErrors say so.
func (c *Client) CreateContact(ctx context.Context, ct Contact) (Contact, error) {
	if ct.ContactID != "" {
		return Contact{}, errors.New("xero: CreateContact: ContactID must be empty; use UpdateContact")
	}
	r, err := c.jsonRequest(http.MethodPut, c.endpoint("/Contacts", nil), "", contactsBody{[]Contact{ct}})
	if err != nil {
		return Contact{}, err
	}
	return c.oneContact(ctx, r, "PUT /Contacts")
}

// UpdateContact updates the contact ct.ContactID (POST /Contacts/{ContactID});
// empty fields are left as they are.
func (c *Client) UpdateContact(ctx context.Context, ct Contact) (Contact, error) {
	if ct.ContactID == "" {
		return Contact{}, errors.New("xero: UpdateContact: ContactID is required")
	}
	r, err := c.jsonRequest(http.MethodPost, c.endpoint("/Contacts/"+url.PathEscape(ct.ContactID), nil), "", contactsBody{[]Contact{ct}})
	if err != nil {
		return Contact{}, err
	}
	return c.oneContact(ctx, r, "POST /Contacts/{ContactID}")
}

// GetContact fetches one contact (GET /Contacts/{ContactID}).
func (c *Client) GetContact(ctx context.Context, contactID string) (Contact, error) {
	if contactID == "" {
		return Contact{}, errors.New("xero: GetContact: contact id is required")
	}
	r, err := c.jsonRequest(http.MethodGet, c.endpoint("/Contacts/"+url.PathEscape(contactID), nil), "", nil)
	if err != nil {
		return Contact{}, err
	}
	return c.oneContact(ctx, r, "GET /Contacts/{ContactID}")
}

// FindContactByAccountNumber returns the contact with this account number
// (GET /Contacts?where=AccountNumber=="..."&includeArchived=true), an active
// one if there is one, else an archived one: Xero keeps an archived
// contact's account number taken, so a create can fail on it while a search
// of active contacts finds nothing. When there is none the error matches
// ErrNotFound; any other failure, a rate limit included, is returned as it is.
// Each record is read on its own: one Xero flagged (StatusAttributeString
// ERROR, ValidationErrors) or that does not decode is never taken for a
// contact, and while one is there the search cannot say which contact is
// the one, so unless an active contact was read, it fails with the
// *RecordError (matching billing.ErrUnreadable, not ErrNotFound).
func (c *Client) FindContactByAccountNumber(ctx context.Context, accountNumber string) (Contact, error) {
	if accountNumber == "" {
		return Contact{}, errors.New("xero: FindContactByAccountNumber: account number is required")
	}
	q := url.Values{
		"where":           {`AccountNumber=="` + escapeWhere(accountNumber) + `"`},
		"includeArchived": {"true"},
	}
	r, err := c.jsonRequest(http.MethodGet, c.endpoint("/Contacts", q), "", nil)
	if err != nil {
		return Contact{}, err
	}
	a, err := c.list(ctx, r, contactRecords)
	if err != nil {
		return Contact{}, err
	}
	contacts, bad := readList(ctx, c, r, a.res, contactRecords, a.records, contactWarnings)
	var archived *Contact
	for i, ct := range contacts {
		if ct.AccountNumber != accountNumber {
			continue
		}
		if !strings.EqualFold(ct.ContactStatus, ContactStatusArchived) {
			return ct, nil
		}
		if archived == nil {
			archived = &contacts[i]
		}
	}
	if len(bad) > 0 {
		// The record that could not be read may be the active contact: no
		// answer here ("none", or an archived one) can be trusted.
		return Contact{}, fmt.Errorf("xero: FindContactByAccountNumber: %d of Xero's contacts with account number %q could not be read, and may be the one: %w",
			len(bad), clip(accountNumber, 64), errors.Join(recordErrs(bad)...))
	}
	if archived != nil {
		return *archived, nil
	}
	return Contact{}, fmt.Errorf("%w: no contact with account number %q", ErrNotFound, clip(accountNumber, 64))
}

// recordErrs is bad as errors.
func recordErrs(bad []*RecordError) []error {
	out := make([]error, len(bad))
	for i, e := range bad {
		out[i] = e
	}
	return out
}

// escapeWhere quotes s for a string literal in Xero's where filter, a .NET
// dynamic-LINQ expression. A quote is doubled, the one escape every dialect
// of that parser reads (the classic one ends the literal at \"); a backslash
// is doubled for the dialects that treat it as an escape.
func escapeWhere(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `""`).Replace(s)
}

// CreateInvoice creates an invoice (PUT /Invoices). idempotencyKey, when
// not empty, is sent as the Idempotency-Key, so repeating the call with the
// same key cannot create a second invoice; an empty key is generated once
// and reused by this call's retries.
func (c *Client) CreateInvoice(ctx context.Context, inv Invoice, idempotencyKey string) (Invoice, error) {
	if inv.InvoiceID != "" {
		return Invoice{}, errors.New("xero: CreateInvoice: InvoiceID must be empty")
	}
	r, err := c.jsonRequest(http.MethodPut, c.endpoint("/Invoices", nil), idempotencyKey, invoicesBody{[]Invoice{inv}})
	if err != nil {
		return Invoice{}, err
	}
	res, body, err := c.records(ctx, r)
	if err != nil {
		return Invoice{}, err
	}
	if len(body.Invoices) == 0 {
		return Invoice{}, errors.New("xero: PUT /Invoices: the response holds no invoice")
	}
	var created Invoice
	if err := c.readRecord(ctx, r, res, body.Invoices[0], &created, &created.Warnings); err != nil {
		return Invoice{}, err
	}
	if created.InvoiceID == "" {
		return Invoice{}, errors.New("xero: PUT /Invoices: the response holds no invoice")
	}
	return created, nil
}

// EmailInvoice asks Xero to email the invoice to its contact
// (POST /Invoices/{InvoiceID}/Email; Xero answers 204).
func (c *Client) EmailInvoice(ctx context.Context, invoiceID string) error {
	if invoiceID == "" {
		return errors.New("xero: EmailInvoice: invoice id is required")
	}
	u := c.endpoint("/Invoices/"+url.PathEscape(invoiceID)+"/Email", nil)
	return c.doJSON(ctx, http.MethodPost, u, "", struct{}{}, nil)
}

// OnlineInvoiceURL returns the customer-facing URL of the invoice
// (GET /Invoices/{InvoiceID}/OnlineInvoice).
func (c *Client) OnlineInvoiceURL(ctx context.Context, invoiceID string) (string, error) {
	if invoiceID == "" {
		return "", errors.New("xero: OnlineInvoiceURL: invoice id is required")
	}
	var out onlineInvoicesBody
	u := c.endpoint("/Invoices/"+url.PathEscape(invoiceID)+"/OnlineInvoice", nil)
	if err := c.doJSON(ctx, http.MethodGet, u, "", nil, &out); err != nil {
		return "", err
	}
	if len(out.OnlineInvoices) == 0 || out.OnlineInvoices[0].OnlineInvoiceURL == "" {
		return "", errors.New("xero: GET /Invoices/{InvoiceID}/OnlineInvoice: the response holds no URL")
	}
	return out.OnlineInvoices[0].OnlineInvoiceURL, nil
}

// GetInvoices fetches the invoices with these ids (GET /Invoices?IDs=...),
// as many ids a request as stay within Xero's URL limit (xerolimit.MaxURLLength:
// 53 GUIDs), following pages while a page is full and ids of the request are
// still unseen. Ids must be GUIDs; duplicates are asked
// once. Ids Xero does not know are simply absent from the result.
//
// Each record is read on its own: one that cannot be taken (see
// RecordError) is returned in failed, and the others in invoices. A failed
// request fails the call (err), and then nothing is returned, even if some
// requests succeeded.
func (c *Client) GetInvoices(ctx context.Context, ids []string) (invoices []Invoice, failed []*RecordError, err error) {
	unique := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if !isGUID(id) {
			return nil, nil, fmt.Errorf("xero: GetInvoices: invoice id %q is not a GUID", clip(id, 64))
		}
		key := strings.ToLower(id)
		if !seen[key] {
			seen[key] = true
			unique = append(unique, id)
		}
	}
	// As many ids a request as Xero's gateway serves (it answers 404 to a
	// longer URL), with room for a page number.
	prefix := c.endpoint("/Invoices", url.Values{"page": {"99999"}}) + "&IDs="
	for _, chunk := range idChunks(prefix, unique) {
		got, bad, err := c.invoicesByIDs(ctx, chunk)
		if err != nil {
			return nil, nil, err
		}
		invoices = append(invoices, got...)
		failed = append(failed, bad...)
	}
	return invoices, failed, nil
}

func (c *Client) invoicesByIDs(ctx context.Context, ids []string) ([]Invoice, []*RecordError, error) {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[strings.ToLower(id)] = true
	}
	var all []Invoice
	var failed []*RecordError
	got := make(map[string]bool)
	for page := 1; ; page++ {
		// GUIDs need no escaping; commas stay readable in logs.
		u := c.endpoint("/Invoices", url.Values{"page": {strconv.Itoa(page)}}) + "&IDs=" + strings.Join(ids, ",")
		r, err := c.jsonRequest(http.MethodGet, u, "", nil)
		if err != nil {
			return nil, nil, err
		}
		a, err := c.list(ctx, r, invoiceRecords)
		if err != nil {
			return nil, nil, err
		}
		good, bad := readList(ctx, c, r, a.res, invoiceRecords, a.records, invoiceWarnings)
		fresh := false
		// first reports whether id is new to this call, and notes it.
		first := func(id string) bool {
			id = strings.ToLower(id)
			if got[id] {
				return false
			}
			got[id], fresh = true, true
			delete(want, id)
			return true
		}
		for _, inv := range good {
			if first(inv.InvoiceID) {
				all = append(all, inv)
			}
		}
		for _, rerr := range bad {
			if rerr.InvoiceID == "" || first(rerr.InvoiceID) {
				failed = append(failed, rerr)
			}
		}
		// A page with nothing new means the server ignores paging: asking
		// again would only repeat it, until the rate limit stops us.
		if len(a.records) < pageSize || len(want) == 0 || !fresh {
			return all, failed, nil
		}
	}
}

// Connections lists the tenants the Custom Connection may use
// (GET https://api.xero.com/connections). It needs no tenant id, which makes
// it the call to check credentials with.
func (c *Client) Connections(ctx context.Context) ([]Connection, error) {
	r := request{method: http.MethodGet, url: c.connectionsURL}
	res, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	var out []Connection
	if err := c.decode(r, res, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// CheckConnection verifies the configuration end to end: the credentials
// get a token and the configured tenant is among the connection's tenants.
// The error for a missing tenant matches ErrTenantNotConnected.
func (c *Client) CheckConnection(ctx context.Context) error {
	conns, err := c.Connections(ctx)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(conns))
	for _, conn := range conns {
		if strings.EqualFold(conn.TenantID, c.tenantID) {
			return nil
		}
		names = append(names, fmt.Sprintf("%q (%s)", clip(conn.TenantName, 80), clip(conn.TenantID, 40)))
	}
	if len(names) == 0 {
		return fmt.Errorf("%w: XERO_TENANT_ID %q: the connection has no tenants; authorise it in the Xero developer portal", ErrTenantNotConnected, c.tenantID)
	}
	return fmt.Errorf("%w: XERO_TENANT_ID %q is not among the connection's tenants: %s", ErrTenantNotConnected, c.tenantID, strings.Join(names, ", "))
}
