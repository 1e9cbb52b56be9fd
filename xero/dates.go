package xero

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/amsbilling/sdk/billing"
)

// ISO forms Xero uses: DateString fields ("2026-01-31T00:00:00", no zone),
// UTC strings with a trailing Z, the identity API's fractional seconds, and
// plain dates.
var isoLayouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	time.DateOnly,
}

var errNotDate = errors.New("not a Xero date")

// ParseDate parses the date forms Xero sends:
//
//   - Microsoft JSON dates, "/Date(1518685950940+0000)/": milliseconds since
//     the Unix epoch (possibly negative) and an optional ±hhmm offset. The
//     result is that instant, in a fixed zone of that offset (UTC without one).
//   - ISO 8601, "2026-01-31T00:00:00", with optional fractional seconds and
//     an optional "Z" or ±hh:mm; without a zone the time is taken as UTC.
//   - A plain date, "2026-01-31", as midnight UTC.
//
// Other forms are refused rather than guessed at, among them
// "2020-02-28 11:02:54" (a space for the T), which xero-python's own parser
// accepts but Xero neither documents nor is recorded sending; an invoice
// carrying one fails alone (see RecordError). A value outside the years
// billing.MinYear-MaxYear, 1900-9999 (in UTC and in its own zone), is
// refused too, by billing.CheckYear, the rule CreateInvoiceParams.Validate
// applies before sending: Xero takes no other date, and
// /Date(9223372036854775807)/ would otherwise read as the year 292278994.
//
// For invoice, due and paid dates use ParseCalendarDate instead, which never
// moves a date through a time zone.
func ParseDate(s string) (time.Time, error) {
	t, err := parseDate(s)
	if err != nil {
		return time.Time{}, err
	}
	for _, y := range []int{t.Year(), t.UTC().Year()} {
		if err := billing.CheckYear(y); err != nil {
			return time.Time{}, fmt.Errorf("xero: %w %q: %w", errNotDate, clip(strings.TrimSpace(s), 64), err)
		}
	}
	return t, nil
}

func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "/Date(") && strings.HasSuffix(s, ")/") && len(s) >= len("/Date()/") {
		t, err := parseMSDate(s[len("/Date(") : len(s)-len(")/")])
		if err != nil {
			return time.Time{}, fmt.Errorf("xero: %w %q: %w", errNotDate, clip(s, 64), err)
		}
		return t, nil
	}
	for _, layout := range isoLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("xero: %w %q: want /Date(ms±hhmm)/ or 2006-01-02T15:04:05", errNotDate, clip(s, 64))
}

// parseMSDate reads "1518685950940+0000", "1518685950940" or "-86400000-0500".
func parseMSDate(s string) (time.Time, error) {
	num, offset := s, ""
	// The offset's sign comes after at least one digit; a leading '-' is the
	// number's own sign.
	if i := strings.LastIndexAny(s, "+-"); i > 0 {
		num, offset = s[:i], s[i:]
	}
	if num == "" || num == "-" || num == "+" || strings.HasPrefix(num, "+") {
		return time.Time{}, errors.New("missing milliseconds")
	}
	ms, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return time.Time{}, errors.New("bad milliseconds")
	}
	t := time.UnixMilli(ms)
	if offset == "" {
		return t.UTC(), nil
	}
	secs, err := parseOffset(offset)
	if err != nil {
		return time.Time{}, err
	}
	return t.In(time.FixedZone(offset, secs)), nil
}

// parseOffset reads "+hhmm" or "-hhmm" into seconds east of UTC.
func parseOffset(s string) (int, error) {
	if len(s) != 5 {
		return 0, errors.New("offset is not ±hhmm")
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return 0, errors.New("offset is not ±hhmm")
		}
	}
	hh := int(s[1]-'0')*10 + int(s[2]-'0')
	mm := int(s[3]-'0')*10 + int(s[4]-'0')
	if hh > 23 || mm > 59 {
		return 0, errors.New("offset out of range")
	}
	secs := hh*3600 + mm*60
	if s[0] == '-' {
		secs = -secs
	}
	return secs, nil
}

// ParseCalendarDate returns the calendar date a Xero date field names,
// without moving it through any time zone. An empty string is the zero Date.
//
//   - "/Date(ms±hhmm)/": the UTC date of the milliseconds. Xero sends Date,
//     DueDate and FullyPaidOnDate as midnight UTC of the date
//     (/Date(1511827200000+0000)/ is 2017-11-28T00:00:00Z), and the
//     milliseconds count from the epoch in UTC whatever the offset, which is
//     informational only: /Date(1476389616437+1300)/ is 20:13:36 UTC, shown
//     at +13:00 as 09:13:36 the next day (xero-python's datetime vectors).
//     Taking the date at the offset would move a date: with -0500, midnight
//     UTC on the 28th would read as the 27th. So the offset is ignored, as
//     xero-python's date vectors expect (/Date(1511827200000-0500)/ is
//     2017-11-28), and this matches tap-xero's vectors, all UTC.
//   - "2026-01-31T00:00:00" (DateString, DueDateString) and "2026-01-31":
//     the date as written; with a zone ("...T23:30:00-10:00") still the
//     date as written, in that zone.
func ParseCalendarDate(s string) (billing.Date, error) {
	if strings.TrimSpace(s) == "" {
		return billing.Date{}, nil
	}
	t, err := ParseDate(s)
	if err != nil {
		return billing.Date{}, err
	}
	if strings.HasPrefix(strings.TrimSpace(s), "/Date(") {
		return billing.DateOf(t.UTC()), nil
	}
	// An ISO value keeps its written zone, so the date in t's own location
	// is the date as written.
	return billing.DateOf(t), nil
}

// clip shortens s for an error message, keeping it printable.
func clip(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= n {
			b.WriteString("…")
			break
		}
		if r < 0x20 || r == 0x7f {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}
