package billing_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
)

func TestDate(t *testing.T) {
	d := billing.NewDate(2026, time.January, 31)
	assert.Equal(t, "2026-01-31", d.String())
	assert.Equal(t, billing.NewDate(2026, time.February, 1), d.AddDays(1))
	assert.True(t, d.Before(d.AddDays(1)))
	assert.False(t, d.Before(d))
	assert.Equal(t, "", billing.Date{}.String())

	// A date never moves through a time zone.
	auckland := time.FixedZone("NZDT", 13*3600)
	assert.Equal(t, d, billing.DateOf(d.In(auckland)))

	got, err := billing.ParseDate("2026-02-28")
	require.NoError(t, err)
	assert.Equal(t, billing.NewDate(2026, 2, 28), got)
	_, err = billing.ParseDate("2026-02-30")
	assert.Error(t, err)
}

// The years a provider's date may fall in, one rule for what is sent and
// what is read.
func TestDateCheck(t *testing.T) {
	tests := []struct {
		d       billing.Date
		problem string
	}{
		{billing.NewDate(2026, 12, 1), ""},
		{billing.NewDate(1900, 1, 1), ""},
		{billing.NewDate(9999, 12, 31), ""},
		{billing.NewDate(1899, 12, 31), "year 1899 is outside 1900-9999"},
		{billing.NewDate(10000, 1, 1), "year 10000 is outside 1900-9999"},
		{billing.NewDate(226, 12, 1), "year 226 is outside 1900-9999"},
		{billing.Date{}, "year 0 is outside 1900-9999"},
		{billing.Date{Year: 2026, Month: 2, Day: 29}, "2026-02-29 is not a calendar date"},
		{billing.Date{Year: 2026, Month: 0, Day: 1}, "2026-00-01 is not a calendar date"},
		{billing.Date{Year: 2028, Month: 2, Day: 29}, ""},
	}
	for _, tt := range tests {
		err := tt.d.Check()
		if tt.problem == "" {
			assert.NoError(t, err, tt.d.String())
			continue
		}
		assert.EqualError(t, err, tt.problem)
	}
	assert.NoError(t, billing.CheckYear(billing.MinYear))
	assert.NoError(t, billing.CheckYear(billing.MaxYear))
	assert.Error(t, billing.CheckYear(billing.MinYear-1))
	assert.Error(t, billing.CheckYear(billing.MaxYear+1))
}

func TestDateJSONAndSQL(t *testing.T) {
	type doc struct {
		D billing.Date
		Z billing.Date
	}
	b, err := json.Marshal(doc{D: billing.NewDate(2026, 3, 4)})
	require.NoError(t, err)
	assert.JSONEq(t, `{"D":"2026-03-04","Z":""}`, string(b))
	var back doc
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, billing.NewDate(2026, 3, 4), back.D)
	assert.True(t, back.Z.IsZero())

	tests := []struct {
		src  any
		want billing.Date
	}{
		{nil, billing.Date{}},
		{"2026-05-06", billing.NewDate(2026, 5, 6)},
		{[]byte("2026-05-06"), billing.NewDate(2026, 5, 6)},
		{"2026-05-06T00:00:00Z", billing.NewDate(2026, 5, 6)},
		{time.Date(2026, 5, 6, 0, 0, 0, 0, time.UTC), billing.NewDate(2026, 5, 6)},
	}
	for _, tt := range tests {
		var d billing.Date
		require.NoError(t, d.Scan(tt.src))
		assert.Equal(t, tt.want, d)
	}
	var d billing.Date
	assert.Error(t, d.Scan(42))
	v, err := billing.NewDate(2026, 5, 6).Value()
	require.NoError(t, err)
	assert.Equal(t, "2026-05-06", v)
	v, err = billing.Date{}.Value()
	require.NoError(t, err)
	assert.Nil(t, v)
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2026-01-31", "", "2026-13-01", "0000-00-00", "9999-12-31"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := billing.ParseDate(s)
		if err != nil {
			return
		}
		again, err := billing.ParseDate(d.String())
		require.NoError(t, err)
		require.Equal(t, d, again)
	})
}

func TestWithProviderState(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	local := billing.Invoice{Account: billing.UserAccount("u"), Number: "INV-1", ProviderID: "p", Status: billing.StatusAuthorised,
		UpdateNeeded: true, UpdateRequestedAt: at, UpdateAttempts: 2, UpdateError: "x", SetAside: true}
	remote := billing.Invoice{Account: billing.OrganisationAccount("o"), Number: "other", ProviderID: "q", Reference: "ref",
		Status: billing.StatusPaid, Currency: "NZD", IssueDate: billing.NewDate(2026, 1, 1), DueDate: billing.NewDate(2026, 1, 15),
		PaidDate: billing.NewDate(2026, 1, 10), Amount: decimal.RequireFromString("10.50"), Paid: decimal.RequireFromString("10.50"), Due: decimal.Zero}
	got := local.WithProviderState(remote)
	want := remote
	want.Account, want.Number, want.ProviderID = local.Account, local.Number, local.ProviderID
	want.UpdateNeeded, want.UpdateRequestedAt, want.UpdateAttempts, want.UpdateError, want.SetAside = true, at, 2, "x", true
	assert.Equal(t, want, got)
}

func TestSameProviderState(t *testing.T) {
	a := billing.Invoice{Number: "INV-1", Status: billing.StatusAuthorised, Amount: decimal.RequireFromString("10.50"), UpdateNeeded: true}
	b := a
	b.Amount = decimal.RequireFromString("10.5000") // same value, other scale
	b.Number, b.UpdateNeeded = "INV-2", false       // not provider-owned
	assert.True(t, a.SameProviderState(b))
	b.Status = billing.StatusPaid
	assert.False(t, a.SameProviderState(b))
	c := a
	c.PaidDate = billing.NewDate(2026, 1, 2)
	assert.False(t, a.SameProviderState(c))
}
