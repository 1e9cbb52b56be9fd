package billing

import (
	"database/sql/driver"
	"fmt"
	"strings"
	"time"
)

// Date is a calendar date with no time of day and no time zone. Xero's
// invoice, due and paid dates are the organisation's calendar dates; holding
// them as a time.Time invites off-by-one-day bugs when a zone is applied.
// The zero Date means "no date".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// NewDate returns the Date for year, month and day. It normalises values out
// of range the way time.Date does (month 13 is January of the next year).
func NewDate(year int, month time.Month, day int) Date {
	return DateOf(time.Date(year, month, day, 0, 0, 0, 0, time.UTC))
}

// DateOf returns the calendar date of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// MinYear and MaxYear bound the years of a date a provider accepts: Xero
// refuses a date outside them ("The Due Date is not valid") or stores one it
// then sends back in a form no reader takes, so CreateInvoiceParams.Validate
// refuses them before any call and package xero's reader refuses them in
// answers (CheckYear is that one rule).
const (
	MinYear = 1900
	MaxYear = 9999
)

// CheckYear reports an error unless year is within MinYear-MaxYear:
// "year 20000 is outside 1900-9999".
func CheckYear(year int) error {
	if year < MinYear || year > MaxYear {
		return fmt.Errorf("year %d is outside %d-%d", year, MinYear, MaxYear)
	}
	return nil
}

// Check reports why d cannot be sent as a provider's date: a year outside
// MinYear-MaxYear (CheckYear), or a day the calendar lacks (a Date literal
// such as {2026, 2, 30}, which NewDate would have moved to March); nil
// when it can. The zero Date fails: callers test IsZero first when a date
// is optional.
func (d Date) Check() error {
	if err := CheckYear(d.Year); err != nil {
		return err
	}
	if d.Month < time.January || d.Month > time.December || NewDate(d.Year, d.Month, d.Day) != d {
		return fmt.Errorf("%04d-%02d-%02d is not a calendar date", d.Year, int(d.Month), d.Day)
	}
	return nil
}

// ParseDate parses a date in ISO 8601 form, "2006-01-02".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("billing: invalid date %q: want YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// IsZero reports whether d is the zero Date ("no date").
func (d Date) IsZero() bool { return d == Date{} }

// String returns d as "2006-01-02", or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// In returns midnight of d in loc.
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// Before reports whether d is before e.
func (d Date) Before(e Date) bool {
	if d.Year != e.Year {
		return d.Year < e.Year
	}
	if d.Month != e.Month {
		return d.Month < e.Month
	}
	return d.Day < e.Day
}

// AddDays returns d plus n days.
func (d Date) AddDays(n int) Date { return NewDate(d.Year, d.Month, d.Day+n) }

// MarshalText implements encoding.TextMarshaler; the zero Date is "".
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler; "" is the zero Date.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Value implements driver.Valuer: "YYYY-MM-DD", or NULL for the zero Date.
func (d Date) Value() (driver.Value, error) {
	if d.IsZero() {
		return nil, nil
	}
	return d.String(), nil
}

// Scan implements sql.Scanner for DATE columns (time.Time), text and NULL.
func (d *Date) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d = Date{}
		return nil
	case time.Time:
		*d = DateOf(v)
		return nil
	case string:
		return d.scanText(v)
	case []byte:
		return d.scanText(string(v))
	default:
		return fmt.Errorf("billing: cannot scan %T into Date", src)
	}
}

func (d *Date) scanText(s string) error {
	if len(s) > len(time.DateOnly) {
		// Some drivers hand back "2026-01-31T00:00:00Z" for DATE columns.
		s, _, _ = strings.Cut(s, "T")
		s, _, _ = strings.Cut(s, " ")
	}
	return d.UnmarshalText([]byte(s))
}
