package emulator

import (
	"errors"
	"strings"

	"github.com/shopspring/decimal"
)

// This file reads the subset of Xero's "where" filter (a .NET dynamic LINQ
// expression) that apps use to look records up:
//
//	AccountNumber=="abc"    Name!="x"    Name.Contains("ann")
//	Name.StartsWith("A")    Name.EndsWith("z")    ContactID==Guid("...")
//	a && b    a AND b    a || b    a OR b    !a    (a)
//
// Strings take \" and \\ escapes, and a doubled quote ("") as in .NET.
// String comparisons ignore case, like Xero's. Anything else is a
// QueryParseException, as from Xero.

type errQueryParse struct{ msg string }

func (e *errQueryParse) Error() string { return e.msg }

func queryErr(msg string) error { return &errQueryParse{msg: msg} }

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tOp // == != = && || ! ( ) ,
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
			case "==", "!=", "&&", "||":
				toks = append(toks, token{tOp, two})
				i += 2
				continue
			}
			switch c {
			case '=', '!', '(', ')', ',':
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
	if op.kind != tOp || (op.text != "==" && op.text != "=" && op.text != "!=") {
		return nil, queryErr("Syntax error: operator expected")
	}
	want, isNum, err := p.value()
	if err != nil {
		return nil, err
	}
	eq := func(v T) bool { return strings.EqualFold(get(v), want) }
	if isNum {
		wantNum, _ := decimal.NewFromString(want)
		eq = func(v T) bool {
			got, err := decimal.NewFromString(get(v))
			return err == nil && got.Equal(wantNum)
		}
	}
	if op.text == "!=" {
		return func(v T) bool { return !eq(v) }, nil
	}
	return eq, nil
}

// value reads a literal: "text", Guid("..."), true, false, null, or a number.
func (p *whereParser[T]) value() (string, bool, error) {
	t := p.next()
	switch t.kind {
	case tString:
		return t.text, false, nil
	case tNumber:
		if _, err := decimal.NewFromString(t.text); err != nil {
			return "", false, queryErr("Invalid real literal '" + t.text + "'")
		}
		return t.text, true, nil
	case tIdent:
		switch strings.ToLower(t.text) {
		case "true", "false":
			return strings.ToLower(t.text), false, nil
		case "null":
			return "", false, nil
		case "guid":
			if !p.isKeyword("(") {
				break
			}
			p.next()
			arg := p.next()
			if arg.kind != tString || !p.isKeyword(")") {
				return "", false, queryErr("Syntax error: Guid(\"...\") expected")
			}
			p.next()
			return arg.text, false, nil
		}
	}
	return "", false, queryErr("Syntax error: value expected")
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
