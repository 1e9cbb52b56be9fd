package emulator

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// This file reads the subset of Xero's "where" filter (a .NET dynamic LINQ
// expression) that apps use to look records up:
//
//	AccountNumber=="abc"    Name!="x"    Name.Contains("ann")
//	Name.StartsWith("A")    Name.EndsWith("z")    ContactID==Guid("...")
//	Total==115.00    AmountDue>0    Date>=DateTime(2026, 01, 31)
//	a && b    a AND b    a || b    a OR b    !a    (a)
//
// Strings take \" and \\ escapes, and a doubled quote ("") as in .NET.
// String comparisons ignore case, like Xero's. Numbers and DateTime(y, m,
// d[, h, m, s]) compare with == != > >= < <=; strings and booleans with ==
// and != only. Anything else is a QueryParseException, as from Xero.

type errQueryParse struct{ msg string }

func (e *errQueryParse) Error() string { return e.msg }

func queryErr(msg string) error { return &errQueryParse{msg: msg} }

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tOp // == != = > >= < <= && || ! ( ) ,
)

type token struct {
	kind tokKind
	text string
}

func lexWhere(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"':
			var b strings.Builder
			i++
			for {
				if i >= len(s) {
					return nil, queryErr("Unterminated string literal")
				}
				ch := s[i]
				if ch == '\\' && i+1 < len(s) {
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				if ch == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(ch)
				i++
			}
			toks = append(toks, token{tString, b.String()})
		case isIdentStart(c):
			j := i
			for j < len(s) && (isIdentStart(s[j]) || isDigit(s[j]) || s[j] == '.') {
				j++
			}
			toks = append(toks, token{tIdent, s[i:j]})
			i = j
		case isDigit(c) || (c == '-' && i+1 < len(s) && isDigit(s[i+1])):
			j := i + 1
			for j < len(s) && (isDigit(s[j]) || s[j] == '.') {
				j++
			}
			toks = append(toks, token{tNumber, s[i:j]})
			i = j
		default:
			two := ""
			if i+1 < len(s) {
				two = s[i : i+2]
			}
			switch two {
			case "==", "!=", "&&", "||", ">=", "<=":
				toks = append(toks, token{tOp, two})
				i += 2
				continue
			}
			switch c {
			case '=', '!', '(', ')', ',', '>', '<':
				toks = append(toks, token{tOp, string(c)})
				i++
			default:
				return nil, queryErr("Syntax error '" + string(c) + "'")
			}
		}
	}
	return append(toks, token{kind: tEOF}), nil
}

func isIdentStart(c byte) bool { return c == '_' || (c|0x20) >= 'a' && (c|0x20) <= 'z' }
func isDigit(c byte) bool      { return c >= '0' && c <= '9' }

// whereParser builds a predicate over T from a where expression, resolving
// field names (case-insensitively) through fields.
type whereParser[T any] struct {
	toks     []token
	pos      int
	fields   map[string]func(T) string
	typeName string
}

func parseWhere[T any](src, typeName string, fields map[string]func(T) string) (func(T) bool, error) {
	toks, err := lexWhere(src)
	if err != nil {
		return nil, err
	}
	p := &whereParser[T]{toks: toks, fields: fields, typeName: typeName}
	pred, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tEOF {
		return nil, queryErr("Syntax error: ')' or operator expected")
	}
	return pred, nil
}

func (p *whereParser[T]) peek() token { return p.toks[p.pos] }
func (p *whereParser[T]) next() token { t := p.toks[p.pos]; p.pos++; return t }

func (p *whereParser[T]) isKeyword(words ...string) bool {
	t := p.peek()
	for _, w := range words {
		if (t.kind == tOp && t.text == w) || (t.kind == tIdent && strings.EqualFold(t.text, w)) {
			return true
		}
	}
	return false
}

func (p *whereParser[T]) or() (func(T) bool, error) {
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("||", "OR") {
		p.next()
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(v T) bool { return l(v) || right(v) }
	}
	return left, nil
}

func (p *whereParser[T]) and() (func(T) bool, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("&&", "AND") {
		p.next()
		right, err := p.unary()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(v T) bool { return l(v) && right(v) }
	}
	return left, nil
}

func (p *whereParser[T]) unary() (func(T) bool, error) {
	switch {
	case p.isKeyword("!", "NOT"):
		p.next()
		inner, err := p.unary()
		if err != nil {
			return nil, err
		}
		return func(v T) bool { return !inner(v) }, nil
	case p.isKeyword("("):
		p.next()
		inner, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.isKeyword(")") {
			return nil, queryErr("Syntax error: ')' expected")
		}
		p.next()
		return inner, nil
	}
	return p.comparison()
}

func (p *whereParser[T]) comparison() (func(T) bool, error) {
	t := p.next()
	if t.kind != tIdent {
		return nil, queryErr("Syntax error: expression expected")
	}
	name, method := t.text, ""
	if p.isKeyword("(") {
		i := strings.LastIndexByte(t.text, '.')
		if i < 0 {
			return nil, queryErr("No applicable method '" + t.text + "' exists in type '" + p.typeName + "'")
		}
		name, method = t.text[:i], t.text[i+1:]
	}
	get, ok := p.field(name)
	if !ok {
		return nil, queryErr("No property or field '" + name + "' exists in type '" + p.typeName + "'")
	}

	if method != "" {
		p.next() // (
		arg := p.next()
		if arg.kind != tString || !p.isKeyword(")") {
			return nil, queryErr("Syntax error: string argument expected")
		}
		p.next()
		needle := strings.ToLower(arg.text)
		var test func(string, string) bool
		switch strings.ToLower(method) {
		case "contains":
			test = strings.Contains
		case "startswith":
			test = strings.HasPrefix
		case "endswith":
			test = strings.HasSuffix
		default:
			return nil, queryErr("No applicable method '" + method + "' exists in type 'String'")
		}
		return func(v T) bool { return test(strings.ToLower(get(v)), needle) }, nil
	}

	op := p.next()
	if op.kind != tOp || !slices.Contains([]string{"==", "=", "!=", ">", ">=", "<", "<="}, op.text) {
		return nil, queryErr("Syntax error: operator expected")
	}
	want, err := p.value()
	if err != nil {
		return nil, err
	}
	ordered := op.text != "==" && op.text != "=" && op.text != "!="
	if ordered && (want.kind == litString || want.kind == litBool || want.kind == litNull) {
		k := want.kind.String()
		return nil, queryErr("Operator '" + op.text + "' incompatible with operand types '" + k + "' and '" + k + "'")
	}
	// cmp3 compares a record's value with the literal: -1, 0, 1, or ok
	// false when the record's value is not of the literal's kind.
	var cmp3 func(v T) (int, bool)
	switch want.kind {
	case litNumber:
		cmp3 = func(v T) (int, bool) {
			got, err := decimal.NewFromString(get(v))
			if err != nil {
				return 0, false
			}
			return got.Cmp(want.num), true
		}
	case litDate:
		cmp3 = func(v T) (int, bool) {
			got, ok := parseWhereTime(get(v))
			if !ok {
				return 0, false
			}
			return got.Compare(want.time), true
		}
	default:
		cmp3 = func(v T) (int, bool) {
			if strings.EqualFold(get(v), want.text) {
				return 0, true
			}
			return 1, true
		}
	}
	test := map[string]func(int) bool{
		"==": func(c int) bool { return c == 0 }, "=": func(c int) bool { return c == 0 },
		">": func(c int) bool { return c > 0 }, ">=": func(c int) bool { return c >= 0 },
		"<": func(c int) bool { return c < 0 }, "<=": func(c int) bool { return c <= 0 },
	}[op.text]
	if op.text == "!=" {
		return func(v T) bool { c, ok := cmp3(v); return !ok || c != 0 }, nil
	}
	return func(v T) bool { c, ok := cmp3(v); return ok && test(c) }, nil
}

type litKind int

const (
	litString litKind = iota
	litNumber
	litDate
	litBool
	litNull
)

func (k litKind) String() string {
	return [...]string{"String", "Decimal", "DateTime", "Boolean", "Object"}[k]
}

// literal is a value in a where filter.
type literal struct {
	kind litKind
	text string // as compared with a string field
	num  decimal.Decimal
	time time.Time
}

// value reads a literal: "text", Guid("..."), DateTime(y, m, d[, h, m, s]),
// true, false, null, or a number.
func (p *whereParser[T]) value() (literal, error) {
	t := p.next()
	switch t.kind {
	case tString:
		return literal{kind: litString, text: t.text}, nil
	case tNumber:
		n, err := decimal.NewFromString(t.text)
		if err != nil {
			return literal{}, queryErr("Invalid real literal '" + t.text + "'")
		}
		return literal{kind: litNumber, text: t.text, num: n}, nil
	case tIdent:
		switch strings.ToLower(t.text) {
		case "true", "false":
			return literal{kind: litBool, text: strings.ToLower(t.text)}, nil
		case "null":
			return literal{kind: litNull}, nil
		case "guid":
			if !p.isKeyword("(") {
				break
			}
			p.next()
			arg := p.next()
			if arg.kind != tString || !p.isKeyword(")") {
				return literal{}, queryErr("Syntax error: Guid(\"...\") expected")
			}
			p.next()
			return literal{kind: litString, text: arg.text}, nil
		case "datetime":
			if !p.isKeyword("(") {
				break
			}
			return p.dateTime()
		}
	}
	return literal{}, queryErr("Syntax error: value expected")
}

// dateTime reads the arguments of DateTime(y, m, d[, h, m, s]), the opening
// parenthesis next.
func (p *whereParser[T]) dateTime() (literal, error) {
	p.next() // (
	var parts []int
	for {
		arg := p.next()
		n, err := strconv.Atoi(arg.text)
		if arg.kind != tNumber || err != nil {
			return literal{}, queryErr("Syntax error: DateTime(year, month, day) expected")
		}
		parts = append(parts, n)
		if p.isKeyword(")") {
			p.next()
			break
		}
		if !p.isKeyword(",") {
			return literal{}, queryErr("Syntax error: ',' or ')' expected")
		}
		p.next()
	}
	if len(parts) != 3 && len(parts) != 6 {
		return literal{}, queryErr("No matching constructor in type 'DateTime'")
	}
	parts = append(parts, 0, 0, 0)
	tm := time.Date(parts[0], time.Month(parts[1]), parts[2], parts[3], parts[4], parts[5], 0, time.UTC)
	if tm.Year() != parts[0] || int(tm.Month()) != parts[1] || tm.Day() != parts[2] || tm.Hour() != parts[3] || tm.Minute() != parts[4] || tm.Second() != parts[5] {
		return literal{}, queryErr("Year, Month, and Day parameters describe an un-representable DateTime.")
	}
	return literal{kind: litDate, text: tm.Format(whereTimeLayout), time: tm}, nil
}

// whereTimeLayout is how date fields read in a where filter: Xero's
// DateString form.
const whereTimeLayout = "2006-01-02T15:04:05"

func parseWhereTime(s string) (time.Time, bool) {
	t, err := time.ParseInLocation(whereTimeLayout, s, time.UTC)
	return t, err == nil
}

func (p *whereParser[T]) field(name string) (func(T) string, bool) {
	for k, f := range p.fields {
		if strings.EqualFold(k, name) {
			return f, true
		}
	}
	return nil, false
}

// asQueryError turns a parse failure into Xero's 400.
func asQueryError(err error) (reply, bool) {
	var qe *errQueryParse
	if errors.As(err, &qe) {
		return queryParseError(qe.msg), true
	}
	return reply{}, false
}
