package emulator

import (
	"testing"

	"github.com/amsbilling/sdk/billing"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseWhere(t *testing.T) {
	ann := &Contact{ContactID: "0b7e6a40-5b1c-4e0b-9a55-4a3c2f1d0e9f", Name: `Ann "Nan" Lee`, AccountNumber: "A-1", EmailAddress: "ann@example.com", ContactStatus: contactActive}
	tests := []struct {
		where string
		want  bool
	}{
		{`AccountNumber=="A-1"`, true},
		{`AccountNumber = "a-1"`, true},
		{`AccountNumber!="A-1"`, false},
		{`Name=="Ann \"Nan\" Lee"`, true},
		{`Name=="Ann ""Nan"" Lee"`, true},
		{`Name=="Ann"`, false},
		{`name=="ann \"nan\" lee"`, true},
		{`Name.StartsWith("ann") && EmailAddress.EndsWith(".com")`, true},
		{`Name.Contains("bob") OR AccountNumber=="A-1"`, true},
		{`Name.Contains("bob") or (AccountNumber=="A-1" and ContactStatus=="ARCHIVED")`, false},
		{`!(AccountNumber=="B")`, true},
		{`ContactID==Guid("0B7E6A40-5B1C-4E0B-9A55-4A3C2F1D0E9F")`, true},
		{`IsCustomer==false`, true},
		{`ContactNumber==null`, true},
		{`AccountNumber==""`, false},
	}
	for _, tt := range tests {
		t.Run(tt.where, func(t *testing.T) {
			pred, err := parseWhere(tt.where, "Contact", contactFields())
			require.NoError(t, err)
			assert.Equal(t, tt.want, pred(ann))
		})
	}
}

func TestParseWhereErrors(t *testing.T) {
	tests := []struct{ where, want string }{
		{`Colour=="red"`, "No property or field 'Colour' exists in type 'Contact'"},
		{`Name=="open`, "Unterminated string literal"},
		{`Name==`, "Syntax error: value expected"},
		{`Name=="a" AND`, "Syntax error: expression expected"},
		{`Name=="a" Name=="b"`, "Syntax error: ')' or operator expected"},
		{`Name.ToUpper("A")`, "No applicable method 'ToUpper' exists in type 'String'"},
		{`(Name=="a"`, "Syntax error: ')' expected"},
		{`Name # "a"`, "Syntax error '#'"},
	}
	for _, tt := range tests {
		t.Run(tt.where, func(t *testing.T) {
			_, err := parseWhere(tt.where, "Contact", contactFields())
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
			_, ok := asQueryError(err)
			assert.True(t, ok)
		})
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want billing.Date
		ok   bool
	}{
		{"2026-01-31", billing.NewDate(2026, 1, 31), true},
		{"2026-01-31T00:00:00", billing.NewDate(2026, 1, 31), true},
		{"2026-01-31T23:59:59.123", billing.NewDate(2026, 1, 31), true},
		{"/Date(1769817600000+0000)/", billing.NewDate(2026, 1, 31), true},
		{"/Date(1769817600000)/", billing.NewDate(2026, 1, 31), true},
		// 2026-01-30T12:00Z is already the 31st in New Zealand (+1300).
		{"/Date(1769774400000+1300)/", billing.NewDate(2026, 1, 31), true},
		{"/Date(-86400000+0000)/", billing.NewDate(1969, 12, 31), true},
		{"31/01/2026", billing.Date{}, false},
		{"2026-02-30", billing.Date{}, false},
		{"2026-01-31Tnoon", billing.Date{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseDate(tt.in)
			if !tt.ok {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDateFormats(t *testing.T) {
	d := billing.NewDate(2026, 1, 31)
	assert.Equal(t, "/Date(1769817600000+0000)/", dateMS(d))
	assert.Equal(t, "2026-01-31T00:00:00", dateString(d))
	assert.Empty(t, dateMS(billing.Date{}))
	assert.Empty(t, dateString(billing.Date{}))
}

func TestParseWhereComparisons(t *testing.T) {
	type rec struct{ total, date string }
	fields := map[string]func(rec) string{
		"Total": func(r rec) string { return r.total },
		"Date":  func(r rec) string { return r.date },
	}
	r := rec{total: "115.00", date: "2026-01-31T00:00:00"}
	tests := []struct {
		where string
		want  bool
	}{
		{`Total==115`, true},
		{`Total==115.001`, false},
		{`Total!=115`, false},
		{`Total>114.99 && Total<115.01`, true},
		{`Total>=115 AND Total<=115`, true},
		{`Total>115`, false},
		{`Date==DateTime(2026,01,31)`, true},
		{`Date==DateTime(2026, 1, 31, 0, 0, 0)`, true},
		{`Date>DateTime(2026,01,30) AND Date<DateTime(2026,02,01)`, true},
		{`Date<DateTime(2026,01,31)`, false},
		{`Date!=DateTime(2026,01,31)`, false},
		{`Date=="2026-01-31T00:00:00"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.where, func(t *testing.T) {
			pred, err := parseWhere(tt.where, "Invoice", fields)
			require.NoError(t, err)
			assert.Equal(t, tt.want, pred(r))
		})
	}
	empty := rec{}
	pred, err := parseWhere(`Date!=DateTime(2026,01,31)`, "Invoice", fields)
	require.NoError(t, err)
	assert.True(t, pred(empty), "no date is not that date")

	for where, msg := range map[string]string{
		`Total>"x"`:                  "Operator '>' incompatible with operand types 'String' and 'String'",
		`Date==DateTime(2026,02,30)`: "Year, Month, and Day parameters describe an un-representable DateTime.",
		`Date==DateTime(2026,02)`:    "No matching constructor in type 'DateTime'",
		`Date==DateTime(2026,"02")`:  "Syntax error: DateTime(year, month, day) expected",
	} {
		_, err := parseWhere(where, "Invoice", fields)
		require.Error(t, err, where)
		assert.Equal(t, msg, err.Error(), where)
	}
}

// The where parser takes whatever a client sends: it answers an error or a
// predicate, never a panic, and the predicate never panics either.
func FuzzParseWhere(f *testing.F) {
	for _, seed := range []string{
		`AccountNumber=="A-1"`, `Name.Contains("Ann") OR Name.StartsWith("B")`, `Total==115.00 AND Date==DateTime(2026,01,31)`,
		`Status!="VOIDED" AND (Total>10 OR Total<=2)`, `""`, `(`, `Name=="\"`, `DateTime(`, `1==1`, `Name==null`,
	} {
		f.Add(seed)
	}
	ann := &Contact{ContactID: "0b7e6a40-5b1c-4e0b-9a55-4a3c2f1d0e9f", Name: `Ann "Nan" Lee`, AccountNumber: "A-1", EmailAddress: "ann@example.com", ContactStatus: contactActive}
	f.Fuzz(func(t *testing.T, where string) {
		pred, err := parseWhere(where, "Contact", contactFields())
		if err != nil {
			return
		}
		_ = pred(ann)
	})
}
