package emulator_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/xero"
)

// The contract test checks every request the SDK's Xero client makes
// against Xero's own OpenAPI description, read from outside the repository
// (never copied into it). It drives the real client through the emulator,
// with the check wired in as Options.RequestValidator.

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
		c.identity = operations(loadSpec(t, identity))
	} else {
		t.Logf("no %s: GET /connections is not checked", identity)
	}
	return c
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
	svc, err := mock.NewXeroBillingService(mock.NewStore(),
		mock.WithEmulatorOptions(emulator.Options{RequestValidator: c.validate}),
		mock.WithXeroConfig(xero.Config{
			AccountCode:    "200",
			AmountType:     amounts,
			Currency:       "NZD",
			EmailInvoices:  true,
			EmailWhitelist: regexp.MustCompile(`@example\.com$`), // makes EmailInvoice read the contact first
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

	// Every request matched an operation and validated.
	seen := map[string]bool{}
	for _, r := range emu.Requests() {
		if r.ValidationError != "" {
			t.Errorf("%s %s does not match Xero's OpenAPI description: %s", r.Method, r.Path, r.ValidationError)
		}
		req, err := http.NewRequest(r.Method, r.Path, nil)
		require.NoError(t, err)
		if o, _, described, err := c.route(req); described && err == nil {
			seen[o.method+" "+o.template] = true
		}
	}
	want := []string{
		"PUT /Contacts", "POST /Contacts/{ContactID}", "GET /Contacts", "GET /Contacts/{ContactID}",
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
