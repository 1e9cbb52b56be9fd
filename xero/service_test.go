package xero_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/xero"
)

const (
	userID  = "9b2f3c1e-4d5a-4e6f-8a7b-1c2d3e4f5a6b"
	orgID   = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
	otherID = "c0ffee00-0000-4000-8000-000000000002"
)

func newService(t *testing.T, h *harness, opts ...xero.ServiceOption) (*xero.Service, *mock.Store) {
	t.Helper()
	store := mock.NewStore()
	return xero.NewService(h.client, store, h.cfg, opts...), store
}

func dupName(name string) string {
	return fmt.Sprintf(validation400, "The contact name "+name+" is already assigned to another contact. The contact name must be unique across all active contacts.")
}

func TestSyncCreatesAndLinksContact(t *testing.T) {
	h := newHarness(t)
	svc, store := newService(t, h)
	h.handle(http.MethodPut, "/Contacts", respond(200, contactJSON(contactID, "Jane Doe ("+userID+")", userID, "jane@example.com")))

	require.NoError(t, svc.UpdateUserBillingDetails(context.Background(), billing.User{ID: userID, Name: " Jane Doe ", Email: "jane@example.com"}))

	calls := h.calls(http.MethodPut, "/Contacts")
	require.Len(t, calls, 1)
	assert.JSONEq(t, `{"Contacts":[{"Name":"Jane Doe (`+userID+`)","AccountNumber":"`+userID+`","EmailAddress":"jane@example.com"}]}`, calls[0].Body)
	link, err := store.ContactLink(context.Background(), billing.UserAccount(userID))
	require.NoError(t, err)
	assert.Equal(t, contactID, link.ContactID)
	assert.Equal(t, 1, h.apiCalls(), "a new contact needs no update")
}

func TestSyncUpdatesLinkedContact(t *testing.T) {
	h := newHarness(t)
	svc, store := newService(t, h)
	_, err := store.LinkContact(context.Background(), billing.OrganisationAccount(orgID), contactID)
	require.NoError(t, err)
	h.handle(http.MethodPost, "/Contacts/"+contactID, respond(200, contactJSON(contactID, "Acme Ltd ("+orgID+")", orgID, "billing@acme.test")))

	require.NoError(t, svc.UpdateOrganisationBillingDetails(context.Background(), billing.Organisation{ID: orgID, Name: "Acme Ltd", Email: "billing@acme.test"}))

	calls := h.calls(http.MethodPost, "/Contacts/"+contactID)
	require.Len(t, calls, 1)
	assert.JSONEq(t, `{"Contacts":[{"ContactID":"`+contactID+`","Name":"Acme Ltd (`+orgID+`)","AccountNumber":"`+orgID+`","EmailAddress":"billing@acme.test"}]}`, calls[0].Body)
	assert.Equal(t, 1, h.apiCalls())
}

func TestSyncRecoversFromDuplicates(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"name taken", dupName("Jane Doe (" + userID + ")")},
		{"account number taken", fmt.Sprintf(validation400, "Account Number already exists")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			svc, store := newService(t, h)
			h.handle(http.MethodPut, "/Contacts", respond(400, tt.body))
			h.handle(http.MethodGet, "/Contacts", respond(200, contactJSON(contactID, "Jane Doe ("+userID+")", userID, "old@example.com")))
			h.handle(http.MethodPost, "/Contacts/"+contactID, respond(200, contactJSON(contactID, "Jane Doe ("+userID+")", userID, "jane@example.com")))

			require.NoError(t, svc.UpdateUserBillingDetails(context.Background(), billing.User{ID: userID, Name: "Jane Doe", Email: "jane@example.com"}))

			link, err := store.ContactLink(context.Background(), billing.UserAccount(userID))
			require.NoError(t, err)
			assert.Equal(t, contactID, link.ContactID)
			gets := h.calls(http.MethodGet, "/Contacts")
			require.Len(t, gets, 1)
			assert.Contains(t, gets[0].URL, "where=AccountNumber%3D%3D%22"+userID+"%22")
			posts := h.calls(http.MethodPost, "/Contacts/"+contactID)
			require.Len(t, posts, 1, "the found contact gets the new details")
			assert.Contains(t, posts[0].Body, "jane@example.com")
		})
	}
}

func TestSyncLookupFailurePassedUp(t *testing.T) {
	tests := []struct {
		name  string
		reply func(h *harness)
		check func(t *testing.T, err error)
	}{
		{
			name: "rate limited",
			reply: func(h *harness) {
				h.handle(http.MethodGet, "/Contacts", respond(429, "", "Retry-After", "12", "X-Rate-Limit-Problem", "minute"))
			},
			check: func(t *testing.T, err error) {
				rl, ok := err.(*ratelimit.RateLimitError)
				require.True(t, ok, "the rate-limit error itself, got %T %v", err, err)
				assert.Equal(t, 12*time.Second, rl.RetryAfter)
				assert.False(t, errors.Is(err, xero.ErrNotFound))
			},
		},
		{
			name:  "server error",
			reply: func(h *harness) { h.handle(http.MethodGet, "/Contacts", respond(503, "")) },
			check: func(t *testing.T, err error) {
				var ae *xero.APIError
				require.ErrorAs(t, err, &ae)
				assert.Equal(t, 503, ae.StatusCode, "the lookup's failure comes first")
				assert.False(t, errors.Is(err, xero.ErrNotFound))
				assert.True(t, billing.IsTemporary(err), "an outage of the lookup is temporary")
				assert.Contains(t, err.Error(), "is already assigned to another contact", "Xero's answer is kept")
			},
		},
		{
			// Xero says the contact exists, the lookup finds none: both
			// answers are kept, so the person sees what Xero said.
			name:  "not found",
			reply: func(h *harness) { h.handle(http.MethodGet, "/Contacts", respond(200, `{"Contacts":[]}`)) },
			check: func(t *testing.T, err error) {
				assert.True(t, errors.Is(err, xero.ErrNotFound))
				assert.Contains(t, err.Error(), "looking it up by account number failed")
				var ae *xero.APIError
				require.ErrorAs(t, err, &ae, "Xero's 400 is kept")
				assert.Equal(t, 400, ae.StatusCode)
				require.Len(t, ae.ValidationErrors, 1)
				assert.Contains(t, ae.ValidationErrors[0], "is already assigned to another contact")
				assert.Contains(t, err.Error(), "is already assigned to another contact")
				assert.False(t, billing.IsTemporary(err))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			svc, store := newService(t, h)
			h.handle(http.MethodPut, "/Contacts", respond(400, dupName("Jane ("+userID+")")))
			tt.reply(h)
			err := svc.UpdateUserBillingDetails(context.Background(), billing.User{ID: userID, Name: "Jane"})
			require.Error(t, err)
			tt.check(t, err)
			_, err = store.ContactLink(context.Background(), billing.UserAccount(userID))
			assert.ErrorIs(t, err, billing.ErrNotFound, "nothing linked")
		})
	}
}

func TestSyncOtherValidationErrorReturned(t *testing.T) {
	h := newHarness(t)
	svc, _ := newService(t, h)
	h.handle(http.MethodPut, "/Contacts", respond(400, fmt.Sprintf(validation400, "Email address must be valid.")))
	err := svc.UpdateUserBillingDetails(context.Background(), billing.User{ID: userID, Name: "Jane", Email: "nope"})
	var ae *xero.APIError
	require.ErrorAs(t, err, &ae)
	assert.Contains(t, err.Error(), "Email address must be valid.")
	assert.Equal(t, 1, h.apiCalls(), "no lookup for other validation errors")
}

func TestSyncRejectsBadAccount(t *testing.T) {
	h := newHarness(t)
	svc, _ := newService(t, h)
	require.ErrorIs(t, svc.UpdateUserBillingDetails(context.Background(), billing.User{Name: "no id"}), billing.ErrInvalidAccount)
	assert.Equal(t, 0, h.mt.GetTotalCallCount())
}

func TestConcurrentSyncInOneProcess(t *testing.T) {
	h := newHarness(t)
	svc, store := newService(t, h)
	var mu sync.Mutex
	puts := 0
	h.handle(http.MethodPut, "/Contacts", func(req *http.Request) (*http.Response, error) {
		mu.Lock()
		defer mu.Unlock()
		puts++
		if puts == 1 {
			return respond(200, contactJSON(contactID, "Jane ("+userID+")", userID, ""))(req)
		}
		return respond(400, dupName("Jane ("+userID+")"))(req)
	})
	h.handle(http.MethodGet, "/Contacts", respond(200, contactJSON(contactID, "Jane ("+userID+")", userID, "")))
	h.handle(http.MethodPost, "/Contacts/"+contactID, respond(200, contactJSON(contactID, "Jane ("+userID+")", userID, "")))

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			assert.NoError(t, svc.UpdateUserBillingDetails(context.Background(), billing.User{ID: userID, Name: "Jane"}))
		})
	}
	wg.Wait()
	assert.Len(t, h.calls(http.MethodPut, "/Contacts"), 1, "the others wait for the first")
	assert.Empty(t, h.calls(http.MethodPost, "/Contacts/"+contactID), "and find Xero holding exactly what they would send")
	assertLinkedOnce(t, store)
}

// Two processes share a database but not a lock: both create, one wins,
// the other recovers through the duplicate answer.
func TestConcurrentSyncAcrossProcesses(t *testing.T) {
	h := newHarness(t)
	store := mock.NewStore()
	a := xero.NewService(h.client, store, h.cfg)
	b := xero.NewService(h.client, store, h.cfg)

	arrived := make(chan struct{}, 2)
	release := make(chan struct{})
	var mu sync.Mutex
	puts := 0
	h.handle(http.MethodPut, "/Contacts", func(req *http.Request) (*http.Response, error) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-time.After(5 * time.Second):
			return nil, errors.New("the other sync never reached Xero")
		}
		mu.Lock()
		defer mu.Unlock()
		puts++
		if puts == 1 {
			return respond(200, contactJSON(contactID, "Jane ("+userID+")", userID, ""))(req)
		}
		return respond(400, dupName("Jane ("+userID+")"))(req)
	})
	h.handle(http.MethodGet, "/Contacts", respond(200, contactJSON(contactID, "Jane ("+userID+")", userID, "")))
	h.handle(http.MethodPost, "/Contacts/"+contactID, respond(200, contactJSON(contactID, "Jane ("+userID+")", userID, "")))

	go func() {
		<-arrived
		<-arrived
		close(release)
	}()
	var wg sync.WaitGroup
	for _, svc := range []*xero.Service{a, b} {
		wg.Go(func() {
			assert.NoError(t, svc.UpdateUserBillingDetails(context.Background(), billing.User{ID: userID, Name: "Jane"}))
		})
	}
	wg.Wait()
	assert.Len(t, h.calls(http.MethodPut, "/Contacts"), 2)
	assert.Len(t, h.calls(http.MethodGet, "/Contacts"), 1, "the loser looks the contact up")
	assertLinkedOnce(t, store)
}

// racingStore hides a link from ContactLink once, as if another process
// linked the account between the check and LinkContact.
type racingStore struct {
	*mock.Store
	once sync.Once
}

func (s *racingStore) ContactLink(ctx context.Context, a billing.Account) (billing.ContactLink, error) {
	hidden := false
	s.once.Do(func() { hidden = true })
	if hidden {
		return billing.ContactLink{}, billing.ErrNotFound
	}
	return s.Store.ContactLink(ctx, a)
}

func TestSyncUsesTheLinkInForce(t *testing.T) {
	h := newHarness(t)
	store := &racingStore{Store: mock.NewStore()}
	_, err := store.LinkContact(context.Background(), billing.UserAccount(userID), otherID)
	require.NoError(t, err)
	svc := xero.NewService(h.client, store, h.cfg)
	h.handle(http.MethodPut, "/Contacts", respond(400, fmt.Sprintf(validation400, "Account Number already exists")))
	h.handle(http.MethodGet, "/Contacts", respond(200, contactJSON(contactID, "Jane ("+userID+")", userID, "")))
	h.handle(http.MethodPost, "/Contacts/"+otherID, respond(200, contactJSON(otherID, "Jane ("+userID+")", userID, "")))

	require.NoError(t, svc.UpdateUserBillingDetails(context.Background(), billing.User{ID: userID, Name: "Jane"}))
	assert.Len(t, h.calls(http.MethodPost, "/Contacts/"+otherID), 1, "the stored link wins")
	assert.Empty(t, h.calls(http.MethodPost, "/Contacts/"+contactID))
}

func TestContactName(t *testing.T) {
	assert.Equal(t, "Jane Doe ("+userID+")", xero.ContactName("  Jane Doe ", userID))
	assert.Equal(t, "("+userID+")", xero.ContactName("", userID))
	long := xero.ContactName(strings.Repeat("é", 400), userID)
	assert.Equal(t, 255, len([]rune(long)))
	assert.True(t, strings.HasSuffix(long, " ("+userID+")"))
}

// utf16Units counts s the way Xero does.
func utf16Units(s string) int { return len(utf16.Encode([]rune(s))) }

// TestContactNameFitsXerosCount: Xero's 255 characters are UTF-16 code
// units, so an emoji counts two. The name is cut to fit by that count,
// never through the middle of a character.
func TestContactNameFitsXerosCount(t *testing.T) {
	suffix := " (" + userID + ")"
	room := 255 - utf16Units(suffix) // 216
	tests := []struct {
		name, in string
		want     string // the name part kept
	}{
		{"300 emoji", strings.Repeat("😀", 300), strings.Repeat("😀", room/2)},
		{"odd room: the pair that does not fit is dropped whole", "a" + strings.Repeat("😀", 300), "a" + strings.Repeat("😀", (room-1)/2)},
		{"BMP letters count one", strings.Repeat("é", 300), strings.Repeat("é", room)},
		{"short names are kept", "Ngā Hau 😀", "Ngā Hau 😀"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := xero.ContactName(tt.in, userID)
			assert.LessOrEqual(t, utf16Units(got), 255)
			assert.True(t, utf8.ValidString(got))
			assert.Equal(t, tt.want+suffix, got)
		})
	}
}

// TestSyncRefusesContactDetailsXeroWouldRefuse: control characters, or an
// account number or email over Xero's limits, fail before any call with an
// error matching xero.ErrInvalidContact.
func TestSyncRefusesContactDetailsXeroWouldRefuse(t *testing.T) {
	tests := []struct {
		name    string
		user    billing.User
		problem string
	}{
		{"control character in the name", billing.User{ID: userID, Name: "Jane\x00Doe"}, "name contains a control character"},
		{"line break in the name", billing.User{ID: userID, Name: "Jane\nDoe"}, "name contains a control character"},
		{"name not UTF-8", billing.User{ID: userID, Name: "Jane \xff"}, "name is not valid UTF-8"},
		{"control character in the email", billing.User{ID: userID, Name: "Jane", Email: "jane@example.com\r\nBcc: x@example.com"}, "email contains a control character"},
		{"email over 255", billing.User{ID: userID, Name: "Jane", Email: strings.Repeat("j", 250) + "@example.com"}, "email is 262 characters; at most 255"},
		{"account number over 50", billing.User{ID: strings.Repeat("u", 51), Name: "Jane"}, "account number is 51 characters; at most 50"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			svc, _ := newService(t, h)
			err := svc.UpdateUserBillingDetails(context.Background(), tt.user)
			require.ErrorIs(t, err, xero.ErrInvalidContact)
			assert.Contains(t, err.Error(), tt.problem)
			assert.Equal(t, 0, h.mt.GetTotalCallCount(), "nothing sent")
		})
	}
}

func linkedService(t *testing.T, h *harness, opts ...xero.ServiceOption) (*xero.Service, *mock.Store) {
	t.Helper()
	svc, store := newService(t, h, opts...)
	_, err := store.LinkContact(context.Background(), billing.UserAccount(userID), contactID)
	require.NoError(t, err)
	return svc, store
}

func invoiceParams() billing.CreateInvoiceParams {
	return billing.CreateInvoiceParams{
		Account:   billing.UserAccount(userID),
		Date:      billing.NewDate(2026, time.January, 31),
		DueDate:   billing.NewDate(2026, time.February, 28),
		Reference: "Membership 2026",
		LineItems: []billing.LineItem{
			{Description: "Annual membership", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.RequireFromString("100.50")},
			{Description: "Joining fee", Quantity: decimal.NewFromInt(1), UnitAmount: decimal.RequireFromString("15"), AccountCode: "400"},
		},
		IdempotencyKey: "order-42",
	}
}

const invoiceID = "0e4b2a4e-7d5b-4d8e-8a55-2c5d8f1b9f01"

func TestCreateInvoiceSendsAndSaves(t *testing.T) {
	h := newHarness(t)
	svc, store := linkedService(t, h)
	h.handle(http.MethodPut, "/Invoices", respond(200, `{"Invoices":[`+invoiceObject(invoiceID, "INV-0042", "AUTHORISED", "115.50", "0.00", "115.50")+`]}`))

	inv, err := svc.CreateInvoice(context.Background(), invoiceParams())
	require.NoError(t, err)

	calls := h.calls(http.MethodPut, "/Invoices")
	require.Len(t, calls, 1)
	assert.Equal(t, "order-42", calls[0].Header.Get("Idempotency-Key"))
	assert.JSONEq(t, `{"Invoices":[{"Type":"ACCREC","Status":"AUTHORISED","Contact":{"ContactID":"`+contactID+`"},
		"Date":"2026-01-31","DueDate":"2026-02-28","LineAmountTypes":"Inclusive","CurrencyCode":"NZD","Reference":"Membership 2026",
		"LineItems":[{"Description":"Annual membership","Quantity":1,"UnitAmount":100.5,"AccountCode":"200"},
		             {"Description":"Joining fee","Quantity":1,"UnitAmount":15,"AccountCode":"400"}]}]}`, calls[0].Body)

	assert.Equal(t, billing.UserAccount(userID), inv.Account)
	assert.Equal(t, "INV-0042", inv.Number)
	assert.Equal(t, invoiceID, inv.ProviderID)
	assert.Equal(t, billing.StatusAuthorised, inv.Status)
	assert.Equal(t, "NZD", inv.Currency)
	assert.Equal(t, "Membership 2026", inv.Reference)
	assert.Equal(t, billing.NewDate(2026, time.January, 31), inv.IssueDate)
	assert.Equal(t, billing.NewDate(2026, time.February, 28), inv.DueDate)
	assert.True(t, inv.PaidDate.IsZero())
	assert.True(t, inv.Amount.Equal(decimal.RequireFromString("115.50")))
	assert.True(t, inv.Paid.IsZero())
	assert.True(t, inv.Due.Equal(decimal.RequireFromString("115.50")))

	saved, err := store.InvoiceByNumber(context.Background(), "INV-0042")
	require.NoError(t, err)
	assert.Equal(t, inv, saved)
}

func TestCreateInvoiceRepeatedKeyReturnsSavedInvoice(t *testing.T) {
	h := newHarness(t)
	svc, store := linkedService(t, h)
	h.handle(http.MethodPut, "/Invoices", respond(200, `{"Invoices":[`+invoiceObject(invoiceID, "INV-0042", "AUTHORISED", "115.50", "0.00", "115.50")+`]}`))
	first, err := svc.CreateInvoice(context.Background(), invoiceParams())
	require.NoError(t, err)
	second, err := svc.CreateInvoice(context.Background(), invoiceParams())
	require.NoError(t, err)
	assert.Equal(t, first, second)
	assert.Len(t, store.Invoices(), 1)
	assert.Len(t, h.calls(http.MethodPut, "/Invoices"), 1, "the second call finds the recorded creation: no call at all")
}

func TestCreateInvoiceGeneratesOneKey(t *testing.T) {
	h := newHarness(t)
	svc, _ := linkedService(t, h)
	h.handle(http.MethodPut, "/Invoices", sequence(respond(500, ""), respond(200, `{"Invoices":[`+invoiceObject(invoiceID, "INV-1", "AUTHORISED", "1", "0", "1")+`]}`)))
	p := invoiceParams()
	p.IdempotencyKey = ""
	_, err := svc.CreateInvoice(context.Background(), p)
	require.NoError(t, err)
	calls := h.calls(http.MethodPut, "/Invoices")
	require.Len(t, calls, 2)
	assert.NotEmpty(t, calls[0].Header.Get("Idempotency-Key"))
	assert.Equal(t, calls[0].Header.Get("Idempotency-Key"), calls[1].Header.Get("Idempotency-Key"))
}

func TestCreateInvoiceSaveFailureNamesTheKey(t *testing.T) {
	h := newHarness(t)
	svc, store := linkedService(t, h)
	// Another account already holds this number locally.
	require.NoError(t, store.CreateInvoice(context.Background(), billing.Invoice{Account: billing.OrganisationAccount(orgID), Number: "INV-0042"}))
	h.handle(http.MethodPut, "/Invoices", respond(200, `{"Invoices":[`+invoiceObject(invoiceID, "INV-0042", "AUTHORISED", "1", "0", "1")+`]}`))
	_, err := svc.CreateInvoice(context.Background(), invoiceParams())
	require.ErrorIs(t, err, billing.ErrConflict)
	require.ErrorIs(t, err, billing.ErrCreationPending, "Xero has it: the creation stays pending, to be resolved")
	assert.Contains(t, err.Error(), "key order-42")
}

func TestCreateInvoiceWithoutContactMakesNoCall(t *testing.T) {
	h := newHarness(t)
	svc, _ := newService(t, h)
	_, err := svc.CreateInvoice(context.Background(), invoiceParams())
	require.ErrorIs(t, err, billing.ErrNoContact)
	assert.Equal(t, 0, h.mt.GetTotalCallCount())
}

func TestCreateInvoiceValidatesFirst(t *testing.T) {
	h := newHarness(t)
	svc, _ := linkedService(t, h)
	p := invoiceParams()
	p.LineItems = nil
	_, err := svc.CreateInvoice(context.Background(), p)
	require.ErrorIs(t, err, billing.ErrInvalidInvoice)
	assert.Equal(t, 0, h.mt.GetTotalCallCount())
}

func TestCreateInvoiceErrorsPassedUp(t *testing.T) {
	h := newHarness(t)
	svc, store := linkedService(t, h)
	h.handle(http.MethodPut, "/Invoices", respond(400, fmt.Sprintf(validation400, "Account code '200' is not a valid code for this document.")))
	_, err := svc.CreateInvoice(context.Background(), invoiceParams())
	var ae *xero.APIError
	require.ErrorAs(t, err, &ae)
	assert.Contains(t, err.Error(), "Account code '200' is not a valid code")
	assert.Empty(t, store.Invoices())
}

func TestServiceEmailInvoice(t *testing.T) {
	localInv := billing.Invoice{Account: billing.UserAccount(userID), Number: "INV-1", ProviderID: invoiceID}
	tests := []struct {
		name      string
		cfg       func(*xero.Config)
		email     string
		inv       billing.Invoice
		wantErr   error
		wantGets  int
		wantPosts int
	}{
		{name: "sends", inv: localInv, wantPosts: 1},
		{name: "disabled", cfg: func(c *xero.Config) { c.EmailInvoices = false }, inv: localInv},
		{name: "whitelisted", cfg: func(c *xero.Config) { c.EmailWhitelist = regexp.MustCompile(`@example\.com$`) }, email: "jane@example.com", inv: localInv, wantGets: 1, wantPosts: 1},
		{name: "not whitelisted", cfg: func(c *xero.Config) { c.EmailWhitelist = regexp.MustCompile(`@example\.com$`) }, email: "jane@real.org", inv: localInv, wantGets: 1},
		{name: "no address", cfg: func(c *xero.Config) { c.EmailWhitelist = regexp.MustCompile(`.*`) }, inv: localInv, wantGets: 1},
		{name: "no provider id", inv: billing.Invoice{Account: billing.UserAccount(userID), Number: "INV-1"}, wantErr: billing.ErrInvalidInvoice},
		{name: "whitelist without contact", cfg: func(c *xero.Config) { c.EmailWhitelist = regexp.MustCompile(`.*`) },
			inv: billing.Invoice{Account: billing.UserAccount(orgID), Number: "INV-2", ProviderID: invoiceID}, wantErr: billing.ErrNoContact},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hopts := []harnessOption{}
			if tt.cfg != nil {
				hopts = append(hopts, withConfig(tt.cfg))
			}
			h := newHarness(t, hopts...)
			svc, _ := linkedService(t, h)
			h.handle(http.MethodGet, "/Contacts/"+contactID, respond(200, contactJSON(contactID, "Jane", userID, tt.email)))
			h.handle(http.MethodPost, "/Invoices/"+invoiceID+"/Email", respond(204, ""))

			err := svc.EmailInvoice(context.Background(), tt.inv)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			assert.Len(t, h.calls(http.MethodGet, "/Contacts/"+contactID), tt.wantGets)
			assert.Len(t, h.calls(http.MethodPost, "/Invoices/"+invoiceID+"/Email"), tt.wantPosts)
			assert.Equal(t, tt.wantGets+tt.wantPosts, h.apiCalls())
		})
	}
}

func TestServiceGetInvoiceURL(t *testing.T) {
	h := newHarness(t)
	svc, _ := newService(t, h)
	u, err := svc.GetInvoiceURL(context.Background(), billing.Invoice{Number: "INV-1"})
	require.NoError(t, err)
	assert.Empty(t, u)
	assert.Equal(t, 0, h.mt.GetTotalCallCount())

	h.handle(http.MethodGet, "/Invoices/"+invoiceID+"/OnlineInvoice", respond(200, `{"OnlineInvoices":[{"OnlineInvoiceUrl":"https://in.xero.com/xyz"}]}`))
	u, err = svc.GetInvoiceURL(context.Background(), billing.Invoice{Number: "INV-1", ProviderID: invoiceID})
	require.NoError(t, err)
	assert.Equal(t, "https://in.xero.com/xyz", u)
}

func TestUpdateInvoices(t *testing.T) {
	var changes []billing.InvoiceChange
	hook := func(_ context.Context, c billing.InvoiceChange) error {
		changes = append(changes, c)
		return errors.New("membership service down") // logged, not returned
	}
	h := newHarness(t)
	svc, store := newService(t, h, xero.WithInvoiceHook(hook))
	ctx := context.Background()
	idA, idB, idMissing, idUnknown := guid(1), guid(2), guid(3), guid(4)
	for i, id := range []string{idA, idB} {
		require.NoError(t, store.CreateInvoice(ctx, billing.Invoice{
			Account: billing.UserAccount(userID), Number: fmt.Sprintf("INV-%d", i+1), ProviderID: id,
			Reference: "Membership 2026", Status: billing.StatusAuthorised, Currency: "NZD",
			IssueDate: billing.NewDate(2026, time.January, 31), DueDate: billing.NewDate(2026, time.February, 28),
			Amount: decimal.RequireFromString("10"), Paid: decimal.Zero, Due: decimal.RequireFromString("10"),
		}))
	}
	paidA := strings.Replace(invoiceObject(idA, "INV-1", "PAID", "10.00", "10.00", "0.00"),
		`"Status":"PAID"`, `"Status":"PAID","FullyPaidOnDate":"/Date(1773532800000+0000)/"`, 1)
	h.handle(http.MethodGet, "/Invoices", respond(200, `{"Invoices":[`+paidA+`,`+
		invoiceObject(idB, "INV-2", "AUTHORISED", "10.00", "0.00", "10.00")+`,`+
		invoiceObject(idUnknown, "INV-9", "AUTHORISED", "1", "0", "1")+`]}`))

	res, err := svc.UpdateInvoices(ctx, []string{idA, idB, idMissing, "INV-0001", idUnknown, idA})
	require.NoError(t, err)

	calls := h.calls(http.MethodGet, "/Invoices")
	require.Len(t, calls, 1)
	assert.Contains(t, calls[0].URL, "IDs="+strings.Join([]string{idA, idB, idMissing, idUnknown}, ","))

	require.Len(t, res.Updated, 2)
	a := res.Updated[0]
	assert.Equal(t, "INV-1", a.Number)
	assert.Equal(t, billing.StatusPaid, a.Status)
	assert.Equal(t, billing.NewDate(2026, time.March, 15), a.PaidDate)
	assert.True(t, a.Paid.Equal(decimal.RequireFromString("10")))
	assert.True(t, a.Due.IsZero())
	assert.Equal(t, []string{idMissing}, res.Missing)
	require.Len(t, res.Failed, 2)
	assert.ErrorIs(t, res.Failed[idUnknown], billing.ErrNotFound)
	assert.ErrorContains(t, res.Failed["INV-0001"], "not a Xero invoice id")

	require.Len(t, changes, 1, "only the invoice that changed")
	assert.True(t, changes[0].BecamePaid())
	assert.Equal(t, "INV-1", changes[0].Before.Number)
	assert.Equal(t, billing.StatusAuthorised, changes[0].Before.Status)
	assert.Equal(t, a, changes[0].After)
	assert.Contains(t, h.logs.String(), "membership service down")

	saved, err := store.InvoiceByProviderID(ctx, idA)
	require.NoError(t, err)
	assert.Equal(t, billing.StatusPaid, saved.Status)
}

func TestUpdateInvoicesWholeCallFailures(t *testing.T) {
	h := newHarness(t)
	svc, _ := newService(t, h)
	h.handle(http.MethodGet, "/Invoices", respond(429, "", "Retry-After", "45", "X-Rate-Limit-Problem", "day"))
	_, err := svc.UpdateInvoices(context.Background(), []string{guid(1)})
	rl, ok := err.(*ratelimit.RateLimitError)
	require.True(t, ok, "got %T", err)
	assert.Equal(t, 45*time.Second, rl.RetryAfter)
	assert.Equal(t, ratelimit.ProblemDay, rl.Problem)

	before := h.mt.GetTotalCallCount()
	_, err = svc.UpdateInvoices(context.Background(), []string{guid(1)})
	var local *ratelimit.RateLimitError
	require.ErrorAs(t, err, &local)
	assert.True(t, local.Local)
	assert.Equal(t, before, h.mt.GetTotalCallCount())
}

func TestUpdateInvoicesNothingToDo(t *testing.T) {
	h := newHarness(t)
	svc, _ := newService(t, h)
	res, err := svc.UpdateInvoices(context.Background(), nil)
	require.NoError(t, err)
	assert.Empty(t, res.Updated)
	assert.Equal(t, 0, h.mt.GetTotalCallCount())
}

func TestNewService(t *testing.T) {
	cfg := testConfig()
	cfg.WebhookKeys = []billing.Secret{billing.NewSecret("whk")}
	svc, err := xero.New(cfg, mock.NewStore())
	require.NoError(t, err)
	require.NotNil(t, svc.Client())
	assert.Equal(t, tenantID, svc.Client().TenantID())

	cfg.ClientID = ""
	_, err = xero.New(cfg, mock.NewStore())
	require.ErrorIs(t, err, billing.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "XERO_CLIENT_ID")
	assert.NotContains(t, err.Error(), clientSecret)

	_, err = xero.New(testConfig(), nil)
	require.Error(t, err)

	var zero xero.Service
	require.Error(t, zero.UpdateUserBillingDetails(context.Background(), billing.User{ID: userID}))
}

// A Service holds its configuration in an unexported field, where fmt
// cannot call billing.Secret's redacting methods: printing the service
// must still show no credential.
func TestServiceNeverPrintsSecrets(t *testing.T) {
	h := newHarness(t)
	cfg := h.cfg
	cfg.WebhookKeys = []billing.Secret{billing.NewSecret("webhook-key-0123456789abcdef")}
	svc := xero.NewService(h.client, mock.NewStore(), cfg)

	var text strings.Builder
	slog.New(slog.NewTextHandler(&text, nil)).Info("service", "svc", svc, "client", h.client)
	outputs := []string{
		fmt.Sprintf("%v %+v %#v", svc, svc, svc),
		fmt.Sprintf("%+v %#v", h.client, *h.client),
		text.String(),
	}
	for _, out := range outputs {
		assert.NotContains(t, out, clientSecret)
		assert.NotContains(t, out, "webhook-key-0123456789abcdef")
	}
}

// Xero keeps an archived contact's account number taken: the create fails,
// the lookup finds the archived contact, and the sync restores it.
func TestSyncRestoresAnArchivedContact(t *testing.T) {
	h := newHarness(t)
	svc, store := newService(t, h)
	h.handle(http.MethodPut, "/Contacts", respond(400, fmt.Sprintf(validation400, "Account Number already exists")))
	h.handle(http.MethodGet, "/Contacts", respond(200, fmt.Sprintf(`{"Contacts":[{"ContactID":%q,"ContactStatus":"ARCHIVED","Name":"Jane Doe (%s)","AccountNumber":%q}]}`, contactID, userID, userID)))
	h.handle(http.MethodPost, "/Contacts/"+contactID, respond(200, contactJSON(contactID, "Jane Doe ("+userID+")", userID, "jane@example.com")))

	require.NoError(t, svc.UpdateUserBillingDetails(context.Background(), billing.User{ID: userID, Name: "Jane Doe", Email: "jane@example.com"}))
	link, err := store.ContactLink(context.Background(), billing.UserAccount(userID))
	require.NoError(t, err)
	assert.Equal(t, contactID, link.ContactID)
	posts := h.calls(http.MethodPost, "/Contacts/"+contactID)
	require.Len(t, posts, 1)
	assert.Contains(t, posts[0].Body, `"ContactStatus":"ACTIVE"`)
}

// A 2xx whose body cannot be read: Xero has the invoice, the client does not
// know it. The creation stays pending under its key, and the error says
// "try again", never "this request is wrong".
func TestCreateInvoiceUnreadableAnswerStaysPending(t *testing.T) {
	h := newHarness(t)
	svc, store := linkedService(t, h)
	h.handle(http.MethodPut, "/Invoices", respond(200, `{"Invoices":[{"InvoiceID":`))
	_, err := svc.CreateInvoice(context.Background(), invoiceParams())
	require.ErrorIs(t, err, billing.ErrCreationPending)
	assert.True(t, billing.IsTemporary(err))
	pending, err := store.PendingCreations(context.Background())
	require.NoError(t, err)
	require.Len(t, pending, 1)
	assert.Equal(t, "order-42", pending[0].Key)
	assert.Empty(t, store.Invoices())
}

// assertLinkedOnce checks the user is linked to the contact, with what was
// synced recorded.
func assertLinkedOnce(t *testing.T, store *mock.Store) {
	t.Helper()
	links := store.ContactLinks()
	require.Len(t, links, 1)
	assert.Equal(t, billing.UserAccount(userID), links[0].Account)
	assert.Equal(t, contactID, links[0].ContactID)
	assert.NotEmpty(t, links[0].Fingerprint, "the sync is recorded")
}
