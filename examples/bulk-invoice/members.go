package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// member is one person of the renewal run.
type member struct {
	ID     string // the app's user id, a UUID
	Name   string
	Email  string
	Amount decimal.Decimal
}

// memberNamespace names the demo members' ids: member n is
// uuid.NewSHA1(memberNamespace, "member-<n>"), so a rerun with -members is
// the same members.
var memberNamespace = uuid.MustParse("a8ac6971-321d-4fb3-b479-65437d0f28e3")

// demoMemberID is the user id of demo member n (from 1).
func demoMemberID(n int) string {
	return uuid.NewSHA1(memberNamespace, []byte("member-"+strconv.Itoa(n))).String()
}

// demoMembers are members 1 to n, each billed amount.
func demoMembers(n int, amount decimal.Decimal) []member {
	out := make([]member, n)
	for i := range out {
		out[i] = member{ID: demoMemberID(i + 1), Name: fmt.Sprintf("Member %d", i+1),
			Email: fmt.Sprintf("member%d@example.com", i+1), Amount: amount}
	}
	return out
}

// RowError is a CSV row that cannot be billed.
type RowError struct {
	Line    int // of the file, from 1
	Problem string
}

func (e *RowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Problem) }

// maxRowErrors bounds the bad rows reported; a wrong file says so soon.
const maxRowErrors = 20

// readMembers reads id,name,email,amount rows, with or without a header
// row (one whose first field is "id"). Every bad row is an error naming its
// line (*RowError, joined); nothing is returned then.
func readMembers(r io.Reader) ([]member, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked here, with the line number
	cr.TrimLeadingSpace = true
	var out []member
	var errs []error
	firstLine := map[string]int{}
	bad := func(line int, format string, args ...any) {
		errs = append(errs, &RowError{Line: line, Problem: fmt.Sprintf(format, args...)})
	}
	for first := true; len(errs) < maxRowErrors; first = false {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			bad(pe.StartLine, "%v", pe.Err) // the rest of the file cannot be read reliably
			break
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		if first && len(rec) > 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "id") {
			continue // the header
		}
		if len(rec) != 4 {
			bad(line, "want 4 fields (id,name,email,amount), got %d", len(rec))
			continue
		}
		m, problems := parseMember(rec)
		if prev, ok := firstLine[m.ID]; ok && m.ID != "" {
			problems = append(problems, fmt.Sprintf("id %s is already on line %d", m.ID, prev))
		}
		if len(problems) > 0 {
			bad(line, "%s", strings.Join(problems, "; "))
			continue
		}
		firstLine[m.ID] = line
		out = append(out, m)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(out) == 0 {
		return nil, errors.New("no members: the file holds no row")
	}
	return out, nil
}

// parseMember reads one row's fields, saying what is wrong with them.
func parseMember(rec []string) (member, []string) {
	var m member
	var problems []string
	id := strings.TrimSpace(rec[0])
	if u, err := uuid.Parse(id); err != nil || len(id) != 36 {
		problems = append(problems, fmt.Sprintf("id %q is not a UUID", clip(id)))
	} else {
		m.ID = u.String()
	}
	m.Name = strings.TrimSpace(rec[1])
	if m.Name == "" {
		problems = append(problems, "the name is empty")
	}
	m.Email = strings.TrimSpace(rec[2])
	if m.Email != "" {
		if a, err := mail.ParseAddress(m.Email); err != nil || a.Address != m.Email {
			problems = append(problems, fmt.Sprintf("email %q is not an address", clip(m.Email)))
		}
	}
	amount, err := decimal.NewFromString(strings.TrimSpace(rec[3]))
	if err != nil || !amount.IsPositive() {
		problems = append(problems, fmt.Sprintf("amount %q is not a positive decimal", clip(rec[3])))
	}
	m.Amount = amount
	return m, problems
}

// clip shortens a field for a message.
func clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "..."
	}
	return s
}
