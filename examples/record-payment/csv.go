package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/examples/internal/moneycmd"
)

// csvHeader is the header row a payments file starts with.
var csvHeader = []string{"invoice", "amount", "date", "reference"}

// Bounds of a payments file: a day's takings, not a load generator; a
// wrong file says so soon.
const (
	maxRows      = 100_000
	maxRowErrors = 20
)

// row is one payment of the file.
type row struct {
	N         int    // the row's number, from 1 (the header is row 0)
	Invoice   string // the invoice number or Xero's id, as given
	Amount    decimal.Decimal
	Date      billing.Date // zero: today
	Reference string
}

// RowError is a row of the file that cannot be read as a payment.
type RowError struct {
	Row     int // from 1; 0 is the header
	Problem string
}

func (e *RowError) Error() string {
	if e.Row == 0 {
		return "header: " + e.Problem
	}
	return fmt.Sprintf("row %d: %s", e.Row, e.Problem)
}

// readRows reads a payments file: the header invoice,amount,date,reference
// and a payment a row. Every problem is an error naming its row (*RowError,
// joined); no row is returned then.
func readRows(r io.Reader) ([]row, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked here, with the row number
	cr.TrimLeadingSpace = true
	var out []row
	var errs []error
	bad := func(n int, format string, args ...any) {
		errs = append(errs, &RowError{Row: n, Problem: fmt.Sprintf(format, args...)})
	}
	for n := 0; len(errs) < maxRowErrors; n++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			if n == 0 {
				bad(0, "the file is empty; it starts with the header %s", strings.Join(csvHeader, ","))
			}
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			bad(n, "not CSV (line %d): %v", pe.StartLine, pe.Err) // the rest cannot be read reliably
			break
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			if !isHeader(rec) {
				bad(0, "want %s, got %s", strings.Join(csvHeader, ","), strings.Join(rec, ","))
				break
			}
			continue
		}
		if n > maxRows {
			bad(n, "more than %d payments in one file; split it", maxRows)
			break
		}
		if len(rec) != len(csvHeader) {
			bad(n, "%d fields, want %d (%s)", len(rec), len(csvHeader), strings.Join(csvHeader, ","))
			continue
		}
		p := row{N: n, Invoice: strings.TrimSpace(rec[0]), Reference: strings.TrimSpace(rec[3])}
		var problems []string
		if p.Invoice == "" {
			problems = append(problems, "no invoice")
		}
		amount, err := moneycmd.ParseAmount(rec[1])
		if err != nil {
			problems = append(problems, "amount "+err.Error())
		}
		p.Amount = amount
		if s := strings.TrimSpace(rec[2]); s != "" {
			d, err := billing.ParseDate(s)
			if err == nil {
				err = d.Check()
			}
			if err != nil {
				problems = append(problems, fmt.Sprintf("date %q is not a date (YYYY-MM-DD, or empty for today)", s))
			}
			p.Date = d
		}
		if p.Reference == "" {
			problems = append(problems, "no reference")
		}
		if len(problems) == 0 {
			// billing's own rules (the reference's length and text).
			if err := checkParams(p); err != nil {
				problems = append(problems, err.Error())
			}
		}
		if len(problems) > 0 {
			bad(n, "%s", strings.Join(problems, "; "))
			continue
		}
		out = append(out, p)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

func isHeader(rec []string) bool {
	if len(rec) != len(csvHeader) {
		return false
	}
	for i, f := range rec {
		f = strings.TrimPrefix(f, "\ufeff") // a spreadsheet's byte order mark
		if !strings.EqualFold(strings.TrimSpace(f), csvHeader[i]) {
			return false
		}
	}
	return true
}

// checkParams checks a payment by billing's rules before the invoice is
// known (its id and the date stand in).
func checkParams(p row) error {
	d := p.Date
	if d.IsZero() {
		d = billing.NewDate(2000, 1, 1)
	}
	params := billing.PaymentParams{InvoiceID: "-", Amount: p.Amount, Date: d, Reference: p.Reference, AccountCode: "-"}
	return billing.MoneyParams{Payment: &params}.Validate()
}
