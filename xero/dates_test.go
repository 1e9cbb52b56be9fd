package xero_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/xero"
)

func TestParseDate(t *testing.T) {
	tests := []struct {
		in     string
		want   time.Time
		offset int // seconds east of UTC of the result's zone
	}{
		{"/Date(1518685950940+0000)/", time.Date(2018, 2, 15, 9, 12, 30, 940e6, time.UTC), 0},
		{"/Date(1518685950940)/", time.Date(2018, 2, 15, 9, 12, 30, 940e6, time.UTC), 0},
		{"/Date(1518685950940+1300)/", time.Date(2018, 2, 15, 9, 12, 30, 940e6, time.UTC), 13 * 3600},
		{"/Date(1518685950940-0530)/", time.Date(2018, 2, 15, 9, 12, 30, 940e6, time.UTC), -(5*3600 + 30*60)},
		{"/Date(-86400000+0000)/", time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), 0},
		{"/Date(-86400000)/", time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), 0},
		{"2026-01-31T00:00:00", time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC), 0},
		{"2026-01-31T10:20:30.1234567", time.Date(2026, 1, 31, 10, 20, 30, 123456700, time.UTC), 0},
		{"2019-11-14T18:10:38Z", time.Date(2019, 11, 14, 18, 10, 38, 0, time.UTC), 0},
		{"2020-02-06T12:17:43.202-08:00", time.Date(2020, 2, 6, 20, 17, 43, 202e6, time.UTC), -8 * 3600},
		{"2026-01-31", time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC), 0},
		{" /Date(0+0000)/ ", time.Unix(0, 0).UTC(), 0},
		// The ends of the years 1900-9999 are kept.
		{"/Date(-2208988800000+0000)/", time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{"/Date(253402300799999+0000)/", time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC), 0},
		{"1900-01-01", time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := xero.ParseDate(tt.in)
			require.NoError(t, err)
			assert.True(t, tt.want.Equal(got), "got %v want %v", got, tt.want)
			_, off := got.Zone()
			assert.Equal(t, tt.offset, off)
		})
	}
}

func TestParseDateRejects(t *testing.T) {
	for _, in := range []string{
		"", "/Date()/", "/Date(abc)/", "/Date(12+00)/", "/Date(12+2500)/", "/Date(12+0060)/",
		"/Date(+12)/", "/Date(-)/", "/Date(1+0000", "Date(1)", "31/01/2026", "2026-13-01",
		"/Date(99999999999999999999)/", "/Date(12+00a0)/",
		// Outside the years 1900-9999: no date Xero holds for an invoice.
		"/Date(9223372036854775807)/", "/Date(-9223372036854775808+0000)/", "/Date(253402300800000+0000)/",
		"/Date(-2208988800001+0000)/", "1899-12-31T23:59:59", "1899-12-31", "0001-01-01T00:00:00",
	} {
		_, err := xero.ParseDate(in)
		assert.Error(t, err, "%q", in)
	}
}

func TestParseCalendarDateNeverShifts(t *testing.T) {
	tests := []struct {
		in   string
		want billing.Date
	}{
		{"/Date(1769817600000+0000)/", billing.NewDate(2026, time.January, 31)},
		// The milliseconds are UTC; the offset is informational and moves
		// nothing: 23:30 UTC on the 30th is the 30th, whatever the offset.
		{"/Date(1769815800000+1300)/", billing.NewDate(2026, time.January, 30)},
		{"/Date(1769819400000-0500)/", billing.NewDate(2026, time.January, 31)},
		// xero-python's vectors: midnight UTC on 2017-11-28, sent with
		// -0500, is the 28th (not the 27th, as the date at -0500 would be).
		{"/Date(1511827200000-0500)/", billing.NewDate(2017, time.November, 28)},
		{"/Date(1511827200000+0000)/", billing.NewDate(2017, time.November, 28)},
		{"/Date(1550899400362+1300)/", billing.NewDate(2019, time.February, 23)},
		{"/Date(-86400000+0000)/", billing.NewDate(1969, time.December, 31)},
		{"2026-01-31T00:00:00", billing.NewDate(2026, time.January, 31)},
		{"2026-01-31T23:59:59.999", billing.NewDate(2026, time.January, 31)},
		{"2026-01-31T23:30:00-10:00", billing.NewDate(2026, time.January, 31)},
		{"2026-01-31T00:30:00+14:00", billing.NewDate(2026, time.January, 31)},
		{"2026-01-31", billing.NewDate(2026, time.January, 31)},
		{"", billing.Date{}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := xero.ParseCalendarDate(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	_, err := xero.ParseCalendarDate("not a date")
	require.Error(t, err)
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{
		"/Date(1518685950940+0000)/", "/Date(1518685950940)/", "/Date(-1+2359)/", "/Date(9223372036854775807-2359)/",
		"/Date(-9223372036854775808+0000)/", "2026-01-31T00:00:00", "2019-11-14T18:10:38Z",
		"2026-01-31T10:20:30.1234567", "2020-02-06T12:17:43.202-08:00", "2026-01-31", "", "/Date(", ")/", "/Date()/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := xero.ParseDate(s)
		d, derr := xero.ParseCalendarDate(s)
		if err != nil {
			if derr == nil && !d.IsZero() {
				t.Fatalf("calendar date %v for %q that ParseDate rejects", d, s)
			}
			return
		}
		if derr != nil {
			t.Fatalf("ParseCalendarDate failed on %q that ParseDate accepts: %v", s, derr)
		}
		// The calendar date of a /Date(ms)/ value is its UTC date; of an
		// ISO value, the date as written (in the value's own zone).
		want := billing.DateOf(tm)
		if strings.HasPrefix(strings.TrimSpace(s), "/Date(") {
			want = billing.DateOf(tm.UTC())
		}
		if d != want {
			t.Fatalf("%q: calendar date %v, want %v", s, d, want)
		}
	})
}
