package xero

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/amsbilling/sdk/billing"
)

var (
	// ErrNotFound matches a 404 from Xero, and a lookup that found nothing
	// (FindContactByAccountNumber). It matches billing.ErrNotFound too, so
	// a caller of a billing.Service needs only that one.
	ErrNotFound = fmt.Errorf("xero: %w", billing.ErrNotFound)
	// ErrUnauthorized matches a 401 that persisted after a fresh token.
	ErrUnauthorized = errors.New("xero: unauthorized")
	// ErrForbidden matches a 403: the connection lacks a scope, or the
	// tenant is not connected.
	ErrForbidden = errors.New("xero: forbidden")
	// ErrInvalidScope matches an *AuthError for Xero's invalid_scope answer.
	ErrInvalidScope = errors.New("xero: invalid scope")
	// ErrInvalidClient matches an *AuthError for Xero's invalid_client answer.
	ErrInvalidClient = errors.New("xero: invalid client credentials")
	// ErrInvalidContact matches a contact the service refuses to send
	// because Xero would refuse it: a name, email or account number with a
	// control character, not valid UTF-8, or over Xero's length limits.
	ErrInvalidContact = errors.New("xero: invalid contact")
	// ErrTenantNotConnected: XERO_TENANT_ID is not among the tenants the
	// connection may use (CheckConnection).
	ErrTenantNotConnected = errors.New("xero: tenant not connected")
)

// Limits on what an error keeps from a response.
const (
	maxErrorBody        = 64 << 10
	maxErrorText        = 500
	maxValidationErrors = 50
)

// APIError is a non-2xx answer from the Xero API (429 excepted: that is a
// *ratelimit.RateLimitError), or a record Xero refused within a 2xx answer:
// StatusAttributeString ERROR or ValidationErrors on the record (the shape
// of summarizeErrors=false); StatusCode is then the answer's 200, Type
// "ValidationException" and ValidationErrors the record's. It never holds a
// token, a header set or a request body.
type APIError struct {
	StatusCode  int
	ErrorNumber int    // Xero's ErrorNumber, e.g. 10 for a validation error
	Type        string // e.g. "ValidationException"; Title for 401/403 bodies
	Message     string // e.g. "A validation exception occurred"
	// ValidationErrors holds each Elements[].ValidationErrors[].Message.
	ValidationErrors []string
	// Warnings holds Xero's warnings: the answer's Warnings[].Message, then
	// each Elements[].Warnings[].Message. Xero gives them beside validation
	// errors ("Account code '600' has been removed as it does not match a
	// recognised account."): they say what Xero would have changed.
	Warnings []string
	Method   string // the request's method
	Path     string // the request's path, without the query
	// CorrelationID is Xero's Xero-Correlation-Id, for Xero support.
	CorrelationID string
}

// Error reads like "xero: 400 ValidationException: A validation exception
// occurred: The contact name X is already assigned to another contact.",
// followed by " (warnings: ...)" when Xero gave warnings.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("xero: ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if e.Type != "" {
		b.WriteString(" " + e.Type)
	}
	msg := e.Message
	if msg == "" && e.Type == "" {
		msg = http.StatusText(e.StatusCode)
	}
	if msg != "" {
		b.WriteString(": " + msg)
	}
	if len(e.ValidationErrors) > 0 {
		b.WriteString(": " + strings.Join(e.ValidationErrors, "; "))
	}
	if len(e.Warnings) > 0 {
		b.WriteString(" (warnings: " + strings.Join(e.Warnings, "; ") + ")")
	}
	return b.String()
}

// Is matches ErrNotFound and billing.ErrNotFound (404), ErrUnauthorized
// (401) and ErrForbidden (403); billing.ErrUnauthorized matches both 401
// (which the client returns only after a fresh token got it again) and 403.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound, billing.ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case billing.ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden
	}
	return false
}

// hasValidation reports whether any message of e contains one of the
// fragments, case-insensitively.
func (e *APIError) hasValidation(fragments ...string) bool {
	return mentionsAny(append([]string{e.Message}, e.ValidationErrors...), fragments)
}

// errorBody covers Xero's error shapes: the Accounting API's
// {"ErrorNumber","Type","Message","Elements"}, the problem-details form of
// 401/403 {"Type":null,"Title","Status","Detail"}, and OAuth's {"error"}.
type errorBody struct {
	ErrorNumber json.Number `json:"ErrorNumber"`
	Type        *string     `json:"Type"`
	Message     string      `json:"Message"`
	Title       string      `json:"Title"`
	Detail      string      `json:"Detail"`
	Error       string      `json:"error"`
	Warnings    []message   `json:"Warnings"`
	Elements    []struct {
		ValidationErrors []message `json:"ValidationErrors"`
		Warnings         []message `json:"Warnings"`
	} `json:"Elements"`
}

// message is Xero's {"Message": "..."}, the shape of its validation errors
// and warnings.
type message struct {
	Message string `json:"Message"`
}

// messages returns the cleaned, distinct, non-empty texts of ms after
// those already in dst, at most maxValidationErrors in all.
func messages(dst []string, ms []message) []string {
	for _, m := range ms {
		text := cleanText(m.Message)
		if text == "" || len(dst) >= maxValidationErrors || slices.Contains(dst, text) {
			continue
		}
		dst = append(dst, text)
	}
	return dst
}

// decodeError turns a response body (already cut to maxErrorBody) into an
// APIError. It never fails: a body that is not Xero's JSON becomes the
// message, cleaned and shortened.
func decodeError(status int, body []byte) *APIError {
	e := &APIError{StatusCode: status}
	trimmed := bytes.TrimSpace(body)
	var eb errorBody
	if len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(trimmed, &eb) == nil {
		if n, err := eb.ErrorNumber.Int64(); err == nil && n >= 0 && n <= 1<<31-1 {
			e.ErrorNumber = int(n)
		}
		if eb.Type != nil {
			e.Type = cleanText(*eb.Type)
		}
		if e.Type == "" {
			e.Type = cleanText(eb.Title)
		}
		e.Message = cleanText(eb.Message)
		if e.Message == "" {
			e.Message = cleanText(eb.Detail)
		}
		if e.Type == "" && e.Message == "" {
			e.Message = cleanText(eb.Error)
		}
		e.Warnings = messages(nil, eb.Warnings)
		for _, el := range eb.Elements {
			e.ValidationErrors = messages(e.ValidationErrors, el.ValidationErrors)
			e.Warnings = messages(e.Warnings, el.Warnings)
		}
		return e
	}
	e.Message = cleanText(string(trimmed))
	return e
}

// cleanText makes server text safe for a one-line message: valid UTF-8, no
// control characters, collapsed spaces, at most maxErrorText bytes.
func cleanText(s string) string {
	var b strings.Builder
	space := false
	for i, r := range s {
		if i >= 4*maxErrorText {
			break
		}
		if r == utf8.RuneError || unicode.IsSpace(r) || unicode.IsControl(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		if b.Len()+utf8.RuneLen(r) > maxErrorText {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Temporary reports whether the answer means "try again later": a 5xx.
// billing.IsTemporary uses it, so an outage keeps invoices marked instead of
// blaming them.
func (e *APIError) Temporary() bool { return e.StatusCode >= 500 }

// Temporary reports whether the token endpoint failed on its side: a 5xx,
// or OAuth's server_error or temporarily_unavailable.
func (e *AuthError) Temporary() bool { return e.temporary() }

// TransportError is a request that got no usable answer after every
// attempt: a network failure or a timeout. It is always temporary.
type TransportError struct {
	Method, Path string
	Err          error
}

func (e *TransportError) Error() string {
	return "xero: " + e.Method + " " + e.Path + ": " + e.Err.Error()
}

// Unwrap returns the network error.
func (e *TransportError) Unwrap() error { return e.Err }

// Temporary reports true: the request may succeed later.
func (e *TransportError) Temporary() bool { return true }

// transportError wraps a temporary failure that is not already a typed
// answer from Xero, so callers can tell an outage from a bad request.
func transportError(r request, err error, temporary bool) error {
	var api *APIError
	var auth *AuthError
	if !temporary || errors.As(err, &api) || errors.As(err, &auth) {
		return err
	}
	return &TransportError{Method: r.method, Path: r.path, Err: err}
}
