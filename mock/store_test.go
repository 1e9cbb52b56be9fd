package mock_test

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/storetest"
	"github.com/amsbilling/sdk/mock"
)

func TestStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) billing.Store { return mock.NewStore() })
}

func testInvoice(number, providerID string) billing.Invoice {
	return billing.Invoice{
		Account:    billing.UserAccount("user-" + number),
		Number:     number,
		ProviderID: providerID,
		Status:     billing.StatusAuthorised,
		Amount:     decimal.RequireFromString("10.00"),
	}
}

func TestStoreInvoicesSortedByNumber(t *testing.T) {
	ctx := t.Context()
	s := mock.NewStore()
	require.Empty(t, s.Invoices())
	for _, n := range []string{"INV-0003", "INV-0001", "INV-0002"} {
		require.NoError(t, s.CreateInvoice(ctx, testInvoice(n, "")))
	}
	var numbers []string
	for _, inv := range s.Invoices() {
		numbers = append(numbers, inv.Number)
	}
	require.Equal(t, []string{"INV-0001", "INV-0002", "INV-0003"}, numbers)
}

func TestStoreContactLinksSorted(t *testing.T) {
	ctx := t.Context()
	s := mock.NewStore()
	require.Empty(t, s.ContactLinks())
	for _, a := range []billing.Account{
		billing.OrganisationAccount("o1"),
		billing.UserAccount("u2"),
		billing.UserAccount("u1"),
	} {
		_, err := s.LinkContact(ctx, a, "contact-"+a.OwnerID())
		require.NoError(t, err)
	}
	require.Equal(t, []billing.ContactLink{
		{Account: billing.UserAccount("u1"), ContactID: "contact-u1"},
		{Account: billing.UserAccount("u2"), ContactID: "contact-u2"},
		{Account: billing.OrganisationAccount("o1"), ContactID: "contact-o1"},
	}, s.ContactLinks())
}

// Values handed out must not alias store state.
func TestStoreReturnsCopies(t *testing.T) {
	ctx := t.Context()
	s := mock.NewStore()
	require.NoError(t, s.CreateInvoice(ctx, testInvoice("INV-0001", "p1")))

	all := s.Invoices()
	all[0].Status = billing.StatusVoided
	got, err := s.InvoiceByNumber(ctx, "INV-0001")
	require.NoError(t, err)
	require.Equal(t, billing.StatusAuthorised, got.Status)

	got.Status = billing.StatusPaid
	again, err := s.InvoiceByProviderID(ctx, "p1")
	require.NoError(t, err)
	require.Equal(t, billing.StatusAuthorised, again.Status)

	_, err = s.LinkContact(ctx, billing.UserAccount("u1"), "c1")
	require.NoError(t, err)
	links := s.ContactLinks()
	links[0].ContactID = "changed"
	link, err := s.ContactLink(ctx, billing.UserAccount("u1"))
	require.NoError(t, err)
	require.Equal(t, "c1", link.ContactID)
}

// The mock returns times as a SQL store would: UTC, microseconds.
func TestStoreNormalisesTimes(t *testing.T) {
	ctx := t.Context()
	s := mock.NewStore()
	inv := testInvoice("INV-0001", "p1")
	inv.UpdateRequestedAt = time.Date(2026, 1, 2, 16, 4, 5, 123456789, time.FixedZone("NZDT", 13*60*60))
	require.NoError(t, s.CreateInvoice(ctx, inv))
	got, err := s.InvoiceByNumber(ctx, "INV-0001")
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC), got.UpdateRequestedAt)
}
