package mock_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

const (
	userID = "7d3c1f0e-5b6a-4c2d-9e8f-0a1b2c3d4e5f"
	orgID  = "0f9e8d7c-6b5a-4433-8221-1a2b3c4d5e6f"
)

func invoiceParams(account billing.Account, items ...billing.LineItem) billing.CreateInvoiceParams {
	if len(items) == 0 {
		items = []billing.LineItem{{Description: "Membership", Quantity: dec("1"), UnitAmount: dec("115.00")}}
	}
	return billing.CreateInvoiceParams{
		Account:   account,
		Date:      billing.NewDate(2026, time.January, 2),
		DueDate:   billing.NewDate(2026, time.February, 1),
		LineItems: items,
		Reference: "Membership 2026",
	}
}

// linkedService returns a service whose user account has a contact.
func linkedService(t *testing.T) (*mock.BillingService, *mock.Store) {
	t.Helper()
	store := mock.NewStore()
	svc := mock.NewBillingService(store)
	require.NoError(t, svc.UpdateUserBillingDetails(t.Context(), billing.User{ID: userID, Name: "Ada Lovelace", Email: "ada@example.com"}))
	return svc, store
}

func TestBillingServiceIsSimulated(t *testing.T) {
	var svc billing.Service = mock.NewBillingService(mock.NewStore())
	sim, ok := svc.(billing.Simulated)
	require.True(t, ok)
	require.True(t, sim.Simulated())
}

func TestBillingServiceLinksContacts(t *testing.T) {
	ctx := t.Context()
	store := mock.NewStore()
	svc := mock.NewBillingService(store)

	require.NoError(t, svc.UpdateUserBillingDetails(ctx, billing.User{ID: userID, Name: "Ada"}))
	require.NoError(t, svc.UpdateOrganisationBillingDetails(ctx, billing.Organisation{ID: orgID, Name: "Analytical Engines"}))
	// Updating a linked account keeps its contact.
	require.NoError(t, svc.UpdateUserBillingDetails(ctx, billing.User{ID: userID, Name: "Ada Lovelace"}))

	require.Equal(t, []billing.ContactLink{
		{Account: billing.UserAccount(userID), ContactID: "00000000-0000-4000-8000-000000000001"},
		{Account: billing.OrganisationAccount(orgID), ContactID: "00000000-0000-4000-8000-000000000002"},
	}, store.ContactLinks())
}

func TestBillingServiceInvalidAccount(t *testing.T) {
	ctx := t.Context()
	store := mock.NewStore()
	svc := mock.NewBillingService(store)
	require.ErrorIs(t, svc.UpdateUserBillingDetails(ctx, billing.User{Name: "No ID"}), billing.ErrInvalidAccount)
	require.ErrorIs(t, svc.UpdateOrganisationBillingDetails(ctx, billing.Organisation{Name: "No ID"}), billing.ErrInvalidAccount)
	require.Empty(t, store.ContactLinks())
}

func TestBillingServiceCreateInvoice(t *testing.T) {
	ctx := t.Context()
	svc, store := linkedService(t)
	account := billing.UserAccount(userID)

	first, err := svc.CreateInvoice(ctx, invoiceParams(account))
	require.NoError(t, err)
	second, err := svc.CreateInvoice(ctx, invoiceParams(account))
	require.NoError(t, err)

	require.Equal(t, "INV-0001", first.Number)
	require.Equal(t, "00000000-0000-4000-9000-000000000001", first.ProviderID)
	require.Equal(t, "INV-0002", second.Number)
	require.Equal(t, "00000000-0000-4000-9000-000000000002", second.ProviderID)

	require.Equal(t, account, first.Account)
	require.Equal(t, billing.StatusAuthorised, first.Status)
	require.Equal(t, mock.DefaultCurrency, first.Currency)
	require.Equal(t, "Membership 2026", first.Reference)
	require.Equal(t, billing.NewDate(2026, time.January, 2), first.IssueDate)
	require.Equal(t, billing.NewDate(2026, time.February, 1), first.DueDate)
	require.True(t, first.PaidDate.IsZero())
	require.True(t, dec("115").Equal(first.Amount), "Amount %s", first.Amount)
	require.True(t, first.Paid.IsZero(), "Paid %s", first.Paid)
	require.True(t, dec("115").Equal(first.Due), "Due %s", first.Due)
	require.False(t, first.UpdateNeeded)

	require.Equal(t, []billing.Invoice{first, second}, store.Invoices())
}

func TestBillingServiceAmounts(t *testing.T) {
	tests := []struct {
		name  string
		items []billing.LineItem
		want  string
	}{
		{"one line", []billing.LineItem{{Description: "a", Quantity: dec("2"), UnitAmount: dec("57.50")}}, "115.00"},
		{"several lines", []billing.LineItem{
			{Description: "a", Quantity: dec("1"), UnitAmount: dec("0.10")},
			{Description: "b", Quantity: dec("1"), UnitAmount: dec("0.20")},
		}, "0.30"},
		{"credit line", []billing.LineItem{
			{Description: "fee", Quantity: dec("1"), UnitAmount: dec("100")},
			{Description: "discount", Quantity: dec("1"), UnitAmount: dec("-25.50")},
		}, "74.50"},
		{"lines rounded to cents", []billing.LineItem{
			{Description: "a", Quantity: dec("3"), UnitAmount: dec("0.3333")},   // 0.9999
			{Description: "b", Quantity: dec("1.5"), UnitAmount: dec("10.005")}, // 15.0075
		}, "16.01"},
		{"large", []billing.LineItem{{Description: "a", Quantity: dec("1000"), UnitAmount: dec("12345678901234.56")}}, "12345678901234560.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, _ := linkedService(t)
			inv, err := svc.CreateInvoice(t.Context(), invoiceParams(billing.UserAccount(userID), tt.items...))
			require.NoError(t, err)
			require.True(t, dec(tt.want).Equal(inv.Amount), "Amount: want %s, got %s", tt.want, inv.Amount)
			require.True(t, dec(tt.want).Equal(inv.Due), "Due: want %s, got %s", tt.want, inv.Due)
		})
	}
}

func TestBillingServiceCreateInvoiceErrors(t *testing.T) {
	ctx := t.Context()
	svc, store := linkedService(t)

	_, err := svc.CreateInvoice(ctx, invoiceParams(billing.OrganisationAccount(orgID)))
	require.ErrorIs(t, err, billing.ErrNoContact)

	bad := invoiceParams(billing.UserAccount(userID))
	bad.LineItems = nil
	_, err = svc.CreateInvoice(ctx, bad)
	require.ErrorIs(t, err, billing.ErrInvalidInvoice)

	_, err = svc.CreateInvoice(ctx, invoiceParams(billing.Account{}))
	require.ErrorIs(t, err, billing.ErrInvalidInvoice)

	require.Empty(t, store.Invoices())
}

// The store may already hold invoices, from another service or an earlier
// run against the same database.
func TestBillingServiceSkipsTakenNumbers(t *testing.T) {
	ctx := t.Context()
	svc, store := linkedService(t)
	require.NoError(t, store.CreateInvoice(ctx, billing.Invoice{
		Account: billing.UserAccount(userID), Number: "INV-0001", ProviderID: "00000000-0000-4000-9000-000000000001",
	}))
	require.NoError(t, store.CreateInvoice(ctx, billing.Invoice{
		Account: billing.UserAccount(userID), Number: "INV-0007", ProviderID: "00000000-0000-4000-9000-000000000002",
	}))

	inv, err := svc.CreateInvoice(ctx, invoiceParams(billing.UserAccount(userID)))
	require.NoError(t, err)
	require.Equal(t, "INV-0003", inv.Number)
	require.Equal(t, "00000000-0000-4000-9000-000000000003", inv.ProviderID)
}

func TestBillingServiceIdempotencyKey(t *testing.T) {
	ctx := t.Context()
	svc, store := linkedService(t)
	p := invoiceParams(billing.UserAccount(userID))
	p.IdempotencyKey = "order-42"

	first, err := svc.CreateInvoice(ctx, p)
	require.NoError(t, err)
	again, err := svc.CreateInvoice(ctx, p)
	require.NoError(t, err)
	require.Equal(t, first, again)

	p.IdempotencyKey = "order-43"
	other, err := svc.CreateInvoice(ctx, p)
	require.NoError(t, err)
	require.NotEqual(t, first.Number, other.Number)
	require.Len(t, store.Invoices(), 2)
}

func TestBillingServiceCurrency(t *testing.T) {
	svc, _ := linkedService(t)
	svc.SetCurrency("AUD")
	inv, err := svc.CreateInvoice(t.Context(), invoiceParams(billing.UserAccount(userID)))
	require.NoError(t, err)
	require.Equal(t, "AUD", inv.Currency)
}

func TestBillingServiceUpdateInvoices(t *testing.T) {
	svc, _ := linkedService(t)
	res, err := svc.UpdateInvoices(t.Context(), []string{"00000000-0000-4000-9000-000000000001"})
	require.NoError(t, err)
	require.Empty(t, res.Updated)
	require.Empty(t, res.Missing)
	require.Empty(t, res.Failed)
}

func TestBillingServiceGetInvoiceURL(t *testing.T) {
	ctx := t.Context()
	svc, _ := linkedService(t)
	inv, err := svc.CreateInvoice(ctx, invoiceParams(billing.UserAccount(userID)))
	require.NoError(t, err)

	u, err := svc.GetInvoiceURL(ctx, inv)
	require.NoError(t, err)
	require.Equal(t, "https://invoicing.example.invalid/INV-0001", u)

	inv.ProviderID = ""
	u, err = svc.GetInvoiceURL(ctx, inv)
	require.NoError(t, err)
	require.Empty(t, u)
}

func TestBillingServiceRecordsCalls(t *testing.T) {
	ctx := t.Context()
	svc, _ := linkedService(t)
	user := billing.User{ID: userID, Name: "Ada Lovelace", Email: "ada@example.com"}
	p := invoiceParams(billing.UserAccount(userID))
	inv, err := svc.CreateInvoice(ctx, p)
	require.NoError(t, err)
	require.NoError(t, svc.EmailInvoice(ctx, inv))
	ids := []string{inv.ProviderID}
	_, err = svc.UpdateInvoices(ctx, ids)
	require.NoError(t, err)
	_, err = svc.GetInvoiceURL(ctx, inv)
	require.NoError(t, err)
	_, err = svc.CreateInvoice(ctx, invoiceParams(billing.OrganisationAccount(orgID)))
	require.ErrorIs(t, err, billing.ErrNoContact)

	// Later changes to the caller's values do not rewrite history.
	p.LineItems[0].Description = "changed"
	ids[0] = "changed"

	require.Equal(t, []mock.Call{
		{Method: mock.MethodUpdateUserBillingDetails, Args: []any{user}},
		{Method: mock.MethodCreateInvoice, Args: []any{invoiceParams(billing.UserAccount(userID))}},
		{Method: mock.MethodEmailInvoice, Args: []any{inv}},
		{Method: mock.MethodUpdateInvoices, Args: []any{[]string{inv.ProviderID}}},
		{Method: mock.MethodGetInvoiceURL, Args: []any{inv}},
		{Method: mock.MethodCreateInvoice, Args: []any{invoiceParams(billing.OrganisationAccount(orgID))}},
	}, svc.Calls())

	calls := svc.Calls()
	calls[0].Method = "changed"
	calls[1].Args[0] = nil
	require.Equal(t, mock.MethodUpdateUserBillingDetails, svc.Calls()[0].Method)
	require.NotNil(t, svc.Calls()[1].Args[0])
}

func TestBillingServiceFailNext(t *testing.T) {
	ctx := t.Context()
	store := mock.NewStore()
	svc := mock.NewBillingService(store)
	errDown := errors.New("provider down")
	errLimited := errors.New("rate limited")
	user := billing.User{ID: userID, Name: "Ada"}

	svc.FailNext(mock.MethodUpdateUserBillingDetails, errDown)
	svc.FailNext(mock.MethodUpdateUserBillingDetails, errLimited)
	require.ErrorIs(t, svc.UpdateUserBillingDetails(ctx, user), errDown)
	require.Empty(t, store.ContactLinks(), "a failed call had an effect")
	require.ErrorIs(t, svc.UpdateUserBillingDetails(ctx, user), errLimited)
	require.NoError(t, svc.UpdateUserBillingDetails(ctx, user))
	require.Len(t, store.ContactLinks(), 1)

	// Failures are per method.
	svc.FailNext(mock.MethodCreateInvoice, errDown)
	require.NoError(t, svc.EmailInvoice(ctx, billing.Invoice{}))
	_, err := svc.CreateInvoice(ctx, invoiceParams(billing.UserAccount(userID)))
	require.ErrorIs(t, err, errDown)
	require.Empty(t, store.Invoices())
	inv, err := svc.CreateInvoice(ctx, invoiceParams(billing.UserAccount(userID)))
	require.NoError(t, err)
	require.Equal(t, "INV-0001", inv.Number, "a failed create used up a number")

	for _, method := range []string{mock.MethodUpdateOrganisationBillingDetails, mock.MethodEmailInvoice, mock.MethodUpdateInvoices, mock.MethodGetInvoiceURL} {
		svc.FailNext(method, errDown)
	}
	require.ErrorIs(t, svc.UpdateOrganisationBillingDetails(ctx, billing.Organisation{ID: orgID}), errDown)
	require.ErrorIs(t, svc.EmailInvoice(ctx, inv), errDown)
	_, err = svc.UpdateInvoices(ctx, []string{inv.ProviderID})
	require.ErrorIs(t, err, errDown)
	_, err = svc.GetInvoiceURL(ctx, inv)
	require.ErrorIs(t, err, errDown)

	require.Len(t, svc.Calls(), 10, "failed calls are recorded too")
}

func TestBillingServiceCancelledContext(t *testing.T) {
	svc, store := linkedService(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := svc.CreateInvoice(ctx, invoiceParams(billing.UserAccount(userID)))
	require.ErrorIs(t, err, context.Canceled)
	require.Empty(t, store.Invoices())
}

// brokenStore fails every contact lookup.
type brokenStore struct {
	billing.Store
	err error
}

func (s brokenStore) ContactLink(context.Context, billing.Account) (billing.ContactLink, error) {
	return billing.ContactLink{}, s.err
}

func TestBillingServiceStoreErrors(t *testing.T) {
	ctx := t.Context()
	errDB := errors.New("database is locked")
	svc := mock.NewBillingService(brokenStore{Store: mock.NewStore(), err: errDB})

	err := svc.UpdateUserBillingDetails(ctx, billing.User{ID: userID})
	require.ErrorIs(t, err, errDB)
	_, err = svc.CreateInvoice(ctx, invoiceParams(billing.UserAccount(userID)))
	require.ErrorIs(t, err, errDB)
	require.NotErrorIs(t, err, billing.ErrNoContact, "a store failure is not a missing contact")
}

func TestBillingServiceConcurrent(t *testing.T) {
	ctx := t.Context()
	svc, store := linkedService(t)
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			p := invoiceParams(billing.UserAccount(userID))
			p.IdempotencyKey = fmt.Sprint("key-", i%4) // pairs race on one key
			_, err := svc.CreateInvoice(ctx, p)
			assert.NoError(t, err)
			assert.NoError(t, svc.EmailInvoice(ctx, billing.Invoice{}))
			_ = svc.Calls()
		})
	}
	wg.Wait()

	var numbers []string
	for _, inv := range store.Invoices() {
		numbers = append(numbers, inv.Number)
	}
	require.Equal(t, []string{"INV-0001", "INV-0002", "INV-0003", "INV-0004"}, numbers)
	require.Len(t, svc.Calls(), 1+2*n)
}
