package emulator_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/xero"
)

// The contract test checks requests and answers against Xero's own OpenAPI
// description, read from outside the repository (never copied into it):
// every request the SDK's Xero client makes, driving the real client
// through the emulator, and every operation the emulator serves, its
// successes and refusals, driven by hand. The checks are wired in as
// Options.RequestValidator and Options.ResponseValidator. Where Xero's
// answers and its description disagree, the description is relaxed at that
// one place, with the evidence (see relax). Without the description (next
// to the repository, in ../shared, or at BILLING_XERO_OPENAPI) the tests
// skip, saying where they looked.

// defaultAccountingSpec is relative to this package's directory.
const defaultAccountingSpec = "../../../shared/xero-openapi/xero_accounting.yaml"

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// operation is one method of one path template of a spec.
type operation struct {
	doc      *openapi3.T
	template string
	segs     []string
	item     *openapi3.PathItem
	method   string
	op       *openapi3.Operation
}

// contract finds and validates operations. The spec cannot be validated as
// a whole (doc.Validate fails on Xero's file), so kin-openapi's routers,
// which need that, are not used: operations are found here, literal
// segments before variables and a "format: uuid" variable only matching a
// GUID, which tells /Contacts/{ContactID} from /Contacts/{ContactNumber}.
type contract struct {
	accounting []operation
	identity   []operation // nil when the identity spec is absent
}

func loadSpec(t *testing.T, path string) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromFile(path)
	require.NoError(t, err, "loading %s", path)
	// Document-scoped, so no package-level registry is changed.
	doc.SetStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC4122))
	return doc
}

func operations(doc *openapi3.T) []operation {
	var ops []operation
	for template, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops = append(ops, operation{
				doc: doc, template: template, segs: strings.Split(strings.Trim(template, "/"), "/"),
				item: item, method: strings.ToUpper(method), op: op,
			})
		}
	}
	return ops
}

// newContract loads the specs, or skips the test when they are absent.
func newContract(t *testing.T) *contract {
	t.Helper()
	path := os.Getenv("BILLING_XERO_OPENAPI")
	if path == "" {
		path = defaultAccountingSpec
	}
	if _, err := os.Stat(path); err != nil {
		t.Skipf("Xero's OpenAPI description is not at %s (set BILLING_XERO_OPENAPI to its xero_accounting.yaml): %v", path, err)
	}
	c := &contract{accounting: operations(loadSpec(t, path))}
	identity := filepath.Join(filepath.Dir(path), "xero-identity.yaml")
	if _, err := os.Stat(identity); err == nil {
		doc := loadSpec(t, identity)
		// Xero's connections carry createdDateUtc and updatedDateUtc
		// without a zone ("2020-03-18T21:20:07.7179250", recorded in
		// xero-python's cassettes, and the spec's own example), where the
		// spec says format date-time: checked as what Xero sends instead.
		localTime := `^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$`
		relax(t, doc, "Connection", localTime, "createdDateUtc", "updatedDateUtc")
		c.identity = operations(doc)
	} else {
		t.Logf("no %s: GET /connections is not checked", identity)
	}
	return c
}

// relax replaces the format of properties of a schema of doc by pattern:
// for the few places where Xero's answers and its own description
// disagree, each explained where relax is called.
func relax(t *testing.T, doc *openapi3.T, schema, pattern string, props ...string) {
	t.Helper()
	ref := doc.Components.Schemas[schema]
	require.NotNil(t, ref, "schema %s", schema)
	for _, name := range props {
		p := ref.Value.Properties[name]
		require.NotNil(t, p, "%s.%s", schema, name)
		p.Value.Format = ""
		p.Value.Pattern = pattern
	}
}

// isUUIDParam reports whether the path parameter name is a GUID.
func (o *operation) isUUIDParam(name string) bool {
	for _, params := range []openapi3.Parameters{o.op.Parameters, o.item.Parameters} {
		if p := params.GetByInAndName(openapi3.ParameterInPath, name); p != nil {
			return p.Schema != nil && p.Schema.Value != nil && p.Schema.Value.Format == "uuid"
		}
	}
	return false
}

// find returns the operation for method and path (relative to the spec's
// server), with its path parameters. Literal segments rank above GUID
// variables, which rank above other variables. fold matches literals
// without regard to case (the identity spec spells /Connections).
func find(ops []operation, method, path string, fold bool) (*operation, map[string]string, error) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var best *operation
	var bestParams map[string]string
	var bestScore []int
	for i := range ops {
		o := &ops[i]
		if o.method != method || len(o.segs) != len(segs) {
			continue
		}
		score := make([]int, len(segs))
		params := map[string]string{}
		ok := true
		for j, t := range o.segs {
			s := segs[j]
			switch {
			case strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}"):
				name := t[1 : len(t)-1]
				if o.isUUIDParam(name) {
					ok = guidPattern.MatchString(s)
					score[j] = 1
				} else {
					ok = s != ""
				}
				params[name] = s
			case fold && strings.EqualFold(t, s), t == s:
				score[j] = 2
			default:
				ok = false
			}
			if !ok {
				break
			}
		}
		if ok && (best == nil || slices.Compare(score, bestScore) > 0) {
			best, bestParams, bestScore = o, params, score
		}
	}
	if best == nil {
		return nil, nil, fmt.Errorf("no operation in Xero's OpenAPI description matches %s %s", method, path)
	}
	return best, bestParams, nil
}

// route finds the operation an emulator request is for. ok is false for
// requests no spec file describes (the token endpoint).
func (c *contract) route(r *http.Request) (*operation, map[string]string, bool, error) {
	path := r.URL.Path
	switch {
	case path == emulator.TokenPath:
		return nil, nil, false, nil
	case strings.EqualFold(path, emulator.ConnectionsPath):
		if c.identity == nil {
			return nil, nil, false, nil
		}
		o, params, err := find(c.identity, r.Method, path, true)
		return o, params, true, err
	case strings.HasPrefix(path, emulator.APIPath+"/"):
		o, params, err := find(c.accounting, r.Method, strings.TrimPrefix(path, emulator.APIPath), false)
		return o, params, true, err
	}
	return nil, nil, true, fmt.Errorf("no OpenAPI description covers %s %s", r.Method, path)
}

// validate is the emulator's RequestValidator.
func (c *contract) validate(r *http.Request, _ []byte) error {
	o, params, described, err := c.route(r)
	if err != nil || !described {
		return err
	}
	opts := &openapi3filter.Options{
		SkipSettingDefaults:     true,
		MultiError:              true,
		AuthenticationFunc:      openapi3filter.NoopAuthenticationFunc,
		SchemaValidationOptions: o.doc.GetSchemaValidationOptions(),
	}
	// Name the field and the reason; the default message dumps the schema.
	opts.WithCustomSchemaErrorFunc(func(e *openapi3.SchemaError) string {
		return fmt.Sprintf("at %q: %s", "/"+strings.Join(e.JSONPointer(), "/"), e.Reason)
	})
	return openapi3filter.ValidateRequest(r.Context(), &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: params,
		Route:      &routers.Route{Spec: o.doc, Path: o.template, PathItem: o.item, Method: o.method, Operation: o.op},
		Options:    opts,
	})
}

// validateResponse is the emulator's ResponseValidator: the answer must
// match the operation's response for its status. Statuses the spec does
// not document for an operation (Xero's plain-text 404, 401, 429...) are
// not checked: kin-openapi lets them through unless told otherwise.
func (c *contract) validateResponse(r *http.Request, status int, header http.Header, body []byte) error {
	o, params, described, err := c.route(r)
	if err != nil || !described {
		return err
	}
	opts := &openapi3filter.Options{
		MultiError:              true,
		SchemaValidationOptions: o.doc.GetSchemaValidationOptions(),
	}
	opts.WithCustomSchemaErrorFunc(func(e *openapi3.SchemaError) string {
		return fmt.Sprintf("at %q: %s", "/"+strings.Join(e.JSONPointer(), "/"), e.Reason)
	})
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    r,
			PathParams: params,
			Route:      &routers.Route{Spec: o.doc, Path: o.template, PathItem: o.item, Method: o.method, Operation: o.op},
		},
		Status:  status,
		Header:  header,
		Options: opts,
	}
	in.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(r.Context(), in)
}

// checkRequests fails t for every request or answer that did not match
// Xero's OpenAPI description, and returns the operations (method and
// template) answered with a 2xx.
func checkRequests(t *testing.T, c *contract, reqs []emulator.Request) map[string]bool {
	t.Helper()
	answered := map[string]bool{}
	for _, r := range reqs {
		if r.ValidationError != "" {
			t.Errorf("%s %s does not match Xero's OpenAPI description: %s", r.Method, r.Path, r.ValidationError)
		}
		if r.ResponseValidationError != "" {
			t.Errorf("the %d answer to %s %s does not match Xero's OpenAPI description: %s", r.Status, r.Method, r.Path, r.ResponseValidationError)
		}
		req, err := http.NewRequest(r.Method, r.Path, nil)
		require.NoError(t, err)
		if o, _, described, err := c.route(req); described && err == nil && r.Status >= 200 && r.Status < 300 {
			answered[o.method+" "+o.template] = true
		}
	}
	return answered
}

func TestOpenAPIContract(t *testing.T) {
	c := newContract(t)
	// The request bodies differ with the amount type; each is checked.
	for _, amounts := range []xero.AmountType{xero.AmountInclusive, xero.AmountExclusive, xero.AmountNoTax} {
		t.Run(string(amounts), func(t *testing.T) { contractScenario(t, c, amounts) })
	}
}

// contractScenario makes every call the SDK makes, including its recovery
// paths, and checks that each request validated.
func contractScenario(t *testing.T, c *contract, amounts xero.AmountType) {
	ctx := t.Context()
	const (
		userID    = "5d1c7a9e-2b3f-4e6a-8c0d-9f1e2a3b4c5d"
		orgID     = "8a7b6c5d-4e3f-4a1b-9c2d-0e1f2a3b4c5d"
		newOrgID  = "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f"
		unknownID = "0e5a1b2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c"
	)
	store := mock.NewStore()
	svc, err := mock.NewXeroBillingService(store,
		mock.WithEmulatorOptions(emulator.Options{RequestValidator: c.validate, ResponseValidator: c.validateResponse}),
		mock.WithXeroConfig(xero.Config{
			AccountCode:    "200",
			AmountType:     amounts,
			Currency:       "NZD",
			EmailInvoices:  true,
			EmailWhitelist: regexp.MustCompile(`@example\.com$`), // checked against the synced address
		}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = svc.Close() })
	emu, client := svc.Emulator(), svc.Client()

	require.NoError(t, client.CheckConnection(ctx))
	require.NoError(t, svc.UpdateUserBillingDetails(ctx, billing.User{ID: userID, Name: "Ann Lee", Email: "ann@example.com"}))
	require.NoError(t, svc.UpdateUserBillingDetails(ctx, billing.User{ID: userID, Name: "Ann Lee-Ray", Email: "ann@example.com"}))
	_, err = client.CreateContact(ctx, xero.Contact{Name: xero.ContactName("Acme Club", orgID), AccountNumber: orgID})
	require.NoError(t, err)
	require.NoError(t, svc.UpdateOrganisationBillingDetails(ctx, billing.Organisation{ID: orgID, Name: "Acme Club", Email: "club@example.com"}),
		"a contact already in Xero is found by account number and adopted")
	require.NoError(t, svc.UpdateOrganisationBillingDetails(ctx, billing.Organisation{ID: newOrgID, Name: "Beta Society", Email: "beta@example.com"}))
	_, err = client.FindContactByAccountNumber(ctx, `quote " and backslash \ `)
	require.ErrorIs(t, err, xero.ErrNotFound)

	var invoices []billing.Invoice
	for _, account := range []billing.Account{billing.UserAccount(userID), billing.OrganisationAccount(newOrgID)} {
		inv, err := svc.CreateInvoice(ctx, billing.CreateInvoiceParams{
			Account:   account,
			Date:      billing.NewDate(2026, 1, 31),
			DueDate:   billing.NewDate(2026, 2, 28),
			Reference: "Membership 2026",
			LineItems: []billing.LineItem{
				{Description: "Annual membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.RequireFromString("115.00")},
				{Description: "Badge", Quantity: decimal.RequireFromString("2.5"), UnitAmount: decimal.RequireFromString("2.50")},
			},
			IdempotencyKey: "contract-" + account.String(),
		})
		require.NoError(t, err)
		require.NoError(t, svc.EmailInvoice(ctx, inv))
		url, err := svc.GetInvoiceURL(ctx, inv)
		require.NoError(t, err)
		assert.NotEmpty(t, url)
		invoices = append(invoices, inv)
	}
	require.NoError(t, emu.PayInvoice(ctx, invoices[0].ProviderID, invoices[0].Due, billing.NewDate(2026, 2, 2)))
	res, err := svc.UpdateInvoices(ctx, []string{invoices[0].ProviderID, invoices[1].ProviderID, unknownID})
	require.NoError(t, err)
	require.Len(t, res.Updated, 2)

	// A link made before syncs were recorded reads the contact from Xero.
	link, err := store.ContactLink(ctx, billing.UserAccount(userID))
	require.NoError(t, err)
	_, err = client.GetContact(ctx, link.ContactID)
	require.NoError(t, err)
	// The bulk paths: batched contacts and invoices, deltas and the search
	// that resolves a pending creation.
	batch := []billing.BillingDetails{
		{Account: billing.UserAccount("6e2d8b1a-3c4f-4a5b-9d6e-7f8a9b0c1d2e"), Name: "Bo Diaz", Email: "bo@example.com"},
		{Account: billing.UserAccount("7f3e9c2b-4d5a-4b6c-8e7f-8a9b0c1d2e3f"), Name: "Cy Eng", Email: "cy@example.com"},
	}
	_, err = svc.SyncContacts(ctx, batch, billing.BulkOptions{})
	require.NoError(t, err)
	batch[1].Email = "cy.eng@example.com"
	_, err = svc.SyncContacts(ctx, batch, billing.BulkOptions{})
	require.NoError(t, err)
	var params []billing.CreateInvoiceParams
	for _, d := range batch {
		params = append(params, billing.CreateInvoiceParams{Account: d.Account, Date: billing.NewDate(2026, 3, 1), DueDate: billing.NewDate(2026, 3, 31),
			Reference: "Renewal 2027", LineItems: []billing.LineItem{{Description: "Annual membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.RequireFromString("115.00")}}})
	}
	created, err := svc.CreateInvoices(ctx, params, billing.BulkOptions{})
	require.NoError(t, err)
	for _, r := range created {
		require.NoError(t, r.Err)
	}
	_, err = svc.InvoicesModifiedSince(ctx, time.Now().Add(-time.Hour), 1)
	require.NoError(t, err)
	_, err = client.FindInvoices(ctx, []string{link.ContactID}, "Membership 2026")
	require.NoError(t, err)

	// Every request and answer matched an operation and validated.
	seen := checkRequests(t, c, emu.Requests())
	want := []string{
		"PUT /Contacts", "POST /Contacts", "POST /Contacts/{ContactID}", "GET /Contacts", "GET /Contacts/{ContactID}",
		"PUT /Invoices", "GET /Invoices", "POST /Invoices/{InvoiceID}/Email", "GET /Invoices/{InvoiceID}/OnlineInvoice",
	}
	if c.identity != nil {
		want = append(want, "GET /Connections")
	}
	for _, op := range want {
		assert.True(t, seen[op], "the SDK's calls cover %s", op)
	}
}

// TestOpenAPIContractCatchesViolations makes sure the check can fail.
func TestOpenAPIContractCatchesViolations(t *testing.T) {
	c := newContract(t)
	good := func(method, path, body string) *http.Request {
		r, err := http.NewRequestWithContext(context.Background(), method, path, strings.NewReader(body))
		require.NoError(t, err)
		r.Header.Set("Xero-Tenant-Id", emulator.DefaultTenantID)
		r.Header.Set("Accept", "application/json")
		r.Header.Set("Content-Type", "application/json")
		return r
	}
	invoicePath := emulator.APIPath + "/Invoices"
	require.NoError(t, c.validate(good(http.MethodPut, invoicePath, `{"Invoices":[{"Type":"ACCREC","LineAmountTypes":"Exclusive"}]}`), nil))

	tests := []struct {
		name string
		req  *http.Request
	}{
		{"value outside an enum", good(http.MethodPut, invoicePath, `{"Invoices":[{"Type":"ACCREC","LineAmountTypes":"Gross"}]}`)},
		{"string for a number", good(http.MethodPut, invoicePath, `{"Invoices":[{"LineItems":[{"Quantity":"one"}]}]}`)},
		{"no tenant header", func() *http.Request {
			r := good(http.MethodGet, invoicePath, "")
			r.Header.Del("Xero-Tenant-Id")
			return r
		}()},
		{"id that is not a GUID", good(http.MethodGet, invoicePath+"?IDs=INV-0001", "")},
		{"operation Xero does not have", good(http.MethodDelete, invoicePath, "")},
		{"path Xero does not have", good(http.MethodGet, emulator.APIPath+"/Invoices/"+emulator.DefaultTenantID+"/Pay", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.validate(tt.req, nil)
			assert.Error(t, err)
		})
	}
}

// TestOpenAPIContractCatchesBadAnswers makes sure the answers' check can
// fail too.
func TestOpenAPIContractCatchesBadAnswers(t *testing.T) {
	c := newContract(t)
	req := func(method, path string) *http.Request {
		r, err := http.NewRequestWithContext(context.Background(), method, path, nil)
		require.NoError(t, err)
		return r
	}
	jsonHeader := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	invoices := emulator.APIPath + "/Invoices"
	require.NoError(t, c.validateResponse(req(http.MethodGet, invoices), 200, jsonHeader, []byte(`{"Invoices":[{"Status":"PAID"}]}`)))
	require.NoError(t, c.validateResponse(req(http.MethodGet, invoices), 404, http.Header{"Content-Type": {"text/plain"}}, []byte("The resource you're looking for cannot be found")),
		"a status the spec does not document is not checked")

	tests := []struct {
		name   string
		req    *http.Request
		status int
		body   string
	}{
		{"id that is not a GUID", req(http.MethodGet, invoices), 200, `{"Invoices":[{"InvoiceID":"INV-0001"}]}`},
		{"value outside an enum", req(http.MethodGet, invoices), 200, `{"Invoices":[{"Status":"LOST"}]}`},
		{"string for a number", req(http.MethodGet, invoices), 200, `{"Invoices":[{"Total":"115.00"}]}`},
		{"bad element of a 400", req(http.MethodPut, invoices), 400, `{"ErrorNumber":10,"Elements":[{"InvoiceID":""}]}`},
		{"string for a boolean", req(http.MethodGet, emulator.APIPath+"/Organisation"), 200, `{"Organisations":[{"IsDemoCompany":"yes"}]}`},
		{"not JSON", req(http.MethodGet, emulator.APIPath+"/Accounts"), 200, `{"Accounts":[`},
		{"payment type outside the enum", req(http.MethodGet, emulator.APIPath+"/Payments"), 200, `{"Payments":[{"PaymentType":"CASH"}]}`},
		{"payment amount as a string", req(http.MethodPut, emulator.APIPath+"/Payments"), 200, `{"Payments":[{"Amount":"10.00"}]}`},
		{"payment id that is not a GUID", req(http.MethodGet, emulator.APIPath+"/Payments/"+emulator.DefaultTenantID), 200, `{"Payments":[{"PaymentID":"p-1"}]}`},
		{"credit note id that is not a GUID", req(http.MethodGet, emulator.APIPath+"/CreditNotes"), 200, `{"CreditNotes":[{"CreditNoteID":"CN-0001"}]}`},
		{"remaining credit as a string", req(http.MethodGet, emulator.APIPath+"/CreditNotes/"+emulator.DefaultTenantID), 200, `{"CreditNotes":[{"RemainingCredit":"5.00"}]}`},
		{"allocation without its invoice", req(http.MethodPut, emulator.APIPath+"/CreditNotes/"+emulator.DefaultTenantID+"/Allocations"), 200, `{"Allocations":[{"Amount":1.00,"Date":"/Date(0+0000)/"}]}`},
	}
	if c.identity != nil {
		tests = append(tests, struct {
			name   string
			req    *http.Request
			status int
			body   string
		}{"connection date that is no date", req(http.MethodGet, emulator.ConnectionsPath), 200, `[{"createdDateUtc":"yesterday"}]`})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Error(t, c.validateResponse(tt.req, tt.status, jsonHeader, []byte(tt.body)))
		})
	}
}

// TestOpenAPIContractRouting checks the operation finder on the paths the
// gorillamux router confuses.
func TestOpenAPIContractRouting(t *testing.T) {
	c := newContract(t)
	tests := []struct {
		method, path, want string
	}{
		{http.MethodGet, "/Contacts/" + emulator.DefaultTenantID, "/Contacts/{ContactID}"},
		{http.MethodGet, "/Contacts/CUST-001", "/Contacts/{ContactNumber}"},
		{http.MethodPost, "/Contacts/" + emulator.DefaultTenantID, "/Contacts/{ContactID}"},
		{http.MethodGet, "/Contacts/" + emulator.DefaultTenantID + "/Attachments", "/Contacts/{ContactID}/Attachments"},
		{http.MethodGet, "/Invoices/" + emulator.DefaultTenantID + "/OnlineInvoice", "/Invoices/{InvoiceID}/OnlineInvoice"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			o, _, err := find(c.accounting, tt.method, tt.path, false)
			require.NoError(t, err)
			assert.Equal(t, tt.want, o.template)
		})
	}
	_, _, err := find(c.accounting, http.MethodPost, "/Contacts/CUST-001", false)
	assert.Error(t, err, "POST needs a ContactID")
}

// servedOperations are every operation the emulator serves, as named in
// Xero's OpenAPI descriptions.
var servedOperations = []string{
	"GET /Contacts", "PUT /Contacts", "POST /Contacts",
	"GET /Contacts/{ContactID}", "POST /Contacts/{ContactID}", "GET /Contacts/{ContactNumber}",
	"GET /Invoices", "PUT /Invoices", "POST /Invoices",
	"GET /Invoices/{InvoiceID}", "POST /Invoices/{InvoiceID}",
	"POST /Invoices/{InvoiceID}/Email", "GET /Invoices/{InvoiceID}/OnlineInvoice",
	"GET /Payments", "PUT /Payments", "POST /Payments", "GET /Payments/{PaymentID}", "POST /Payments/{PaymentID}",
	"GET /CreditNotes", "PUT /CreditNotes", "GET /CreditNotes/{CreditNoteID}", "PUT /CreditNotes/{CreditNoteID}/Allocations",
	"GET /Accounts", "GET /Accounts/{AccountID}", "GET /Currencies", "GET /Organisation",
}

// TestOpenAPIContractEveryOperation drives every operation the emulator
// serves, its successes and its refusals, and checks every request and
// every answer against Xero's OpenAPI description.
func TestOpenAPIContractEveryOperation(t *testing.T) {
	c := newContract(t)
	clk := newClock()
	a := newAPI(t, emulator.Options{
		RequestValidator: c.validate, ResponseValidator: c.validateResponse,
		Now: clk.Now, TokenTTL: 24 * time.Hour, Currencies: []string{"AUD"}, ArchivedAccountCodes: []string{"260"}, DemoCompany: true,
	})
	ok := func(resp *http.Response, body []byte) {
		t.Helper()
		require.Less(t, resp.StatusCode, 300, string(body))
	}
	refused := func(resp *http.Response, body []byte) {
		t.Helper()
		require.GreaterOrEqual(t, resp.StatusCode, 400, string(body))
	}
	get := func(path string) (*http.Response, []byte) { return a.raw(http.MethodGet, path, nil) }

	req, err := http.NewRequest(http.MethodGet, base+emulator.ConnectionsPath, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+a.token)
	ok(a.send(req))

	// Contacts.
	annID := a.createContact("Ann Lee", "acc-1", "ann@example.com")
	ok(a.raw(http.MethodPut, "/Contacts", contactsBody(map[string]any{
		"Name": "Bob Ray", "ContactNumber": "CUST-001", "FirstName": "Bob", "LastName": "Ray",
		"Addresses": []map[string]any{{"AddressType": "POBOX", "City": "Wellington"}},
		"Phones":    []map[string]any{{"PhoneType": "MOBILE", "PhoneNumber": "021 555 0101"}},
	})))
	refused(a.raw(http.MethodPut, "/Contacts", contactsBody(map[string]any{"Name": "Ann Lee"})))
	ok(a.raw(http.MethodPut, "/Contacts?summarizeErrors=false", contactsBody(map[string]any{"Name": "Cat Moe"}, map[string]any{"Name": "Ann Lee"})))
	ok(a.raw(http.MethodPost, "/Contacts", contactsBody(map[string]any{"ContactID": annID, "EmailAddress": "ann@example.org"}, map[string]any{"Name": "Dan Wu"})))
	refused(a.raw(http.MethodPost, "/Contacts", contactsBody(map[string]any{"ContactID": annID, "Name": "Bob Ray"})))
	ok(a.raw(http.MethodPost, "/Contacts/"+annID, contactsBody(map[string]any{"EmailAddress": "ann@example.com"})))
	refused(a.raw(http.MethodPost, "/Contacts/"+annID, contactsBody(map[string]any{"EmailAddress": "not an email"})))
	ok(get("/Contacts"))
	ok(get("/Contacts?page=1&pageSize=2&" + url.Values{"where": {`Name.StartsWith("A")`}}.Encode()))
	ok(get("/Contacts?includeArchived=true&order=Name%20DESC&searchTerm=ra"))
	ok(get("/Contacts/" + annID))
	ok(get("/Contacts/CUST-001"))
	refused(get("/Contacts/" + uuid.NewString()))
	refused(get("/Contacts?" + url.Values{"where": {`Colour=="red"`}}.Encode()))

	// Invoices: created, refused, paid, voided, emailed, listed.
	inv := a.createInvoice(annID)
	byName := invoice("")
	byName["Contact"] = map[string]any{"Name": "Eve Tan"}
	byName["LineAmountTypes"] = "Inclusive"
	byName["CurrencyCode"] = "AUD"
	ok(a.raw(http.MethodPut, "/Invoices?unitdp=4", invoicesBody(byName)))
	draft := invoice(annID)
	draft["Status"] = "DRAFT"
	var drafts invoicesJSON
	require.Equal(t, http.StatusOK, a.call(http.MethodPut, "/Invoices", invoicesBody(draft), &drafts).StatusCode)
	bad := invoice(annID)
	bad["LineItems"] = []map[string]any{{"Description": "x", "Quantity": 1, "UnitAmount": 5, "AccountCode": "260"}}
	refused(a.raw(http.MethodPut, "/Invoices", invoicesBody(bad)))
	a.e.InjectFault(emulator.Fault{Path: emulator.APIPath + "/Invoices", Warnings: []string{"A warning from the emulator."}})
	ok(a.raw(http.MethodPut, "/Invoices?summarizeErrors=false", invoicesBody(invoice(annID), bad)))
	ok(a.raw(http.MethodPost, "/Invoices", invoicesBody(map[string]any{"InvoiceID": inv.InvoiceID, "Reference": "Renewal"}, invoice(annID))))
	refused(a.raw(http.MethodPost, "/Invoices", invoicesBody(map[string]any{"InvoiceID": inv.InvoiceID, "Status": "PAID"})))
	ok(a.raw(http.MethodPost, "/Invoices/"+inv.InvoiceID, invoicesBody(map[string]any{"DueDate": "2026-03-01"})))
	ok(a.raw(http.MethodPost, "/Invoices/"+inv.InvoiceID+"/Email", map[string]any{}))
	refused(a.raw(http.MethodPost, "/Invoices/"+drafts.Invoices[0].InvoiceID+"/Email", map[string]any{}))
	ok(get("/Invoices/" + inv.InvoiceID + "/OnlineInvoice"))
	refused(get("/Invoices/" + drafts.Invoices[0].InvoiceID + "/OnlineInvoice"))
	clk.Add(time.Hour)
	require.NoError(t, a.e.PayInvoice(t.Context(), inv.InvoiceID, decimal.RequireFromString("23"), billing.NewDate(2026, 2, 2)))
	voided := a.createInvoice(annID)
	require.NoError(t, a.e.VoidInvoice(t.Context(), voided.InvoiceID))
	refused(a.raw(http.MethodPost, "/Invoices/"+voided.InvoiceID, invoicesBody(map[string]any{"Reference": "Again"})))
	ok(get("/Invoices/" + inv.InvoiceID))
	refused(get("/Invoices/" + uuid.NewString()))
	ok(get("/Invoices"))
	ok(get("/Invoices?page=1&pageSize=2&summaryOnly=false"))
	ok(get("/Invoices?" + url.Values{
		"IDs": {inv.InvoiceID + "," + voided.InvoiceID}, "Statuses": {"PAID,VOIDED"}, "ContactIDs": {annID}, "InvoiceNumbers": {inv.InvoiceNumber},
	}.Encode()))
	ok(get("/Invoices?" + url.Values{"where": {`Reference=="Renewal" AND Date==DateTime(2026,01,31) AND Total==23.00`}, "order": {"Total DESC"}}.Encode()))
	delta := a.request(t.Context(), http.MethodGet, "/Invoices", nil)
	delta.Header.Set("If-Modified-Since", clk.Now().Format(time.RFC3339))
	ok(a.send(delta))
	refused(get("/Invoices?" + url.Values{"where": {`Reference>"x"`}}.Encode()))

	// Payments: made, refused, listed, deleted.
	payable := a.createInvoice(annID)
	ok(a.raw(http.MethodPut, "/Payments", paymentsBody(payment(payable.InvoiceID, "10"))))
	ok(a.raw(http.MethodPost, "/Payments", payment(payable.InvoiceID, "1")))
	refused(a.raw(http.MethodPut, "/Payments", paymentsBody(payment(payable.InvoiceID, "100"))))
	notPayable := payment(payable.InvoiceID, "1")
	notPayable["Account"] = map[string]any{"Code": "200"}
	refused(a.raw(http.MethodPut, "/Payments", paymentsBody(notPayable)))
	ok(a.raw(http.MethodPut, "/Payments?summarizeErrors=false", paymentsBody(payment(payable.InvoiceID, "1"), payment(payable.InvoiceID, "100"), notPayable)))
	var made paymentsJSON
	require.Equal(t, http.StatusOK, a.call(http.MethodPut, "/Payments", paymentsBody(payment(payable.InvoiceID, "2")), &made).StatusCode)
	madeID := made.Payments[0].PaymentID
	ok(get("/Payments"))
	ok(get("/Payments?page=1&pageSize=2&order=Amount%20DESC&" + url.Values{
		"where": {`Reference=="Stripe ch_1" AND Invoice.InvoiceID==Guid("` + payable.InvoiceID + `")`},
	}.Encode()))
	ok(get("/Payments/" + madeID))
	refused(get("/Payments/" + uuid.NewString()))
	refused(get("/Payments?" + url.Values{"where": {`Colour=="red"`}}.Encode()))
	ok(a.raw(http.MethodPost, "/Payments/"+madeID, map[string]any{"Status": "DELETED"}))
	refused(a.raw(http.MethodPost, "/Payments/"+madeID, map[string]any{"Status": "DELETED"}))
	paymentDelta := a.request(t.Context(), http.MethodGet, "/Payments", nil)
	paymentDelta.Header.Set("If-Modified-Since", clk.Now().Format(time.RFC3339))
	ok(a.send(paymentDelta))
	// A void refused with money applied, and one without.
	refused(a.raw(http.MethodPost, "/Invoices/"+payable.InvoiceID, invoicesBody(map[string]any{"InvoiceID": payable.InvoiceID, "Status": "VOIDED"})))
	toVoid := a.createInvoice(annID)
	ok(a.raw(http.MethodPost, "/Invoices/"+toVoid.InvoiceID, invoicesBody(map[string]any{"InvoiceID": toVoid.InvoiceID, "Status": "VOIDED"})))

	// Credit notes: created, refused, listed, allocated, refunded.
	cn := a.createCreditNote(creditNote(annID, "5"))
	badNote := creditNote(annID, "5")
	badNote["Status"] = "PAID"
	refused(a.raw(http.MethodPut, "/CreditNotes", creditNotesBody(badNote)))
	taxedNote := creditNote(annID, "4")
	taxedNote["LineAmountTypes"] = "Inclusive"
	ok(a.raw(http.MethodPut, "/CreditNotes?summarizeErrors=false&unitdp=4", creditNotesBody(taxedNote, badNote)))
	ok(get("/CreditNotes"))
	ok(get("/CreditNotes?page=1&pageSize=1&order=Total&" + url.Values{"where": {`Status=="AUTHORISED" AND Contact.ContactID==Guid("` + annID + `")`}}.Encode()))
	ok(get("/CreditNotes/" + cn.CreditNoteID))
	refused(get("/CreditNotes/" + uuid.NewString()))
	refused(get("/CreditNotes?" + url.Values{"where": {`Colour=="red"`}}.Encode()))
	creditDelta := a.request(t.Context(), http.MethodGet, "/CreditNotes", nil)
	creditDelta.Header.Set("If-Modified-Since", clk.Now().Format(time.RFC3339))
	ok(a.send(creditDelta))
	allocations := "/CreditNotes/" + cn.CreditNoteID + "/Allocations"
	ok(a.raw(http.MethodPut, allocations, allocationsBody(payable.InvoiceID, "1")))
	refused(a.raw(http.MethodPut, allocations, allocationsBody(payable.InvoiceID, "1000")))
	ok(a.raw(http.MethodPut, allocations+"?summarizeErrors=false", map[string]any{"Allocations": []map[string]any{
		{"Invoice": map[string]any{"InvoiceID": payable.InvoiceID}, "Amount": 1, "Date": "2026-02-04"},
		{"Invoice": map[string]any{"InvoiceID": voided.InvoiceID}, "Amount": 1, "Date": "2026-02-04"},
	}}))
	ok(a.raw(http.MethodPut, "/Payments", paymentsBody(refund(cn.CreditNoteID, "1"))))
	ok(get("/CreditNotes/" + cn.CreditNoteID))
	ok(get("/Invoices/" + payable.InvoiceID))
	ok(get("/Payments"))

	// Settings.
	ok(get("/Accounts"))
	var accounts struct{ Accounts []struct{ AccountID string } }
	require.Equal(t, http.StatusOK, a.call(http.MethodGet, "/Accounts?"+url.Values{"where": {`Type=="REVENUE" AND Status=="ACTIVE"`}}.Encode(), nil, &accounts).StatusCode)
	require.NotEmpty(t, accounts.Accounts)
	ok(get("/Accounts/" + accounts.Accounts[0].AccountID))
	ok(get("/Accounts?order=Name"))
	ok(get("/Currencies"))
	ok(get("/Currencies?" + url.Values{"where": {`Code=="AUD"`}}.Encode()))
	ok(get("/Organisation"))

	answered := checkRequests(t, c, a.e.Requests())
	want := slices.Clone(servedOperations)
	if c.identity != nil {
		want = append(want, "GET /Connections")
	}
	for _, op := range want {
		assert.True(t, answered[op], "%s was answered and checked", op)
	}
}
