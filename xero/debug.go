package xero

import (
	"bytes"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

const (
	redactedText = "[REDACTED]"
	// maxLoggedBody is how much of a body a debug line shows.
	maxLoggedBody = 64 << 10
	// logMargin is read beyond maxLoggedBody so a credential crossing the
	// cut is still whole when redacted.
	logMargin = 8 << 10
	// keptTokens is how many recent access tokens the redactor remembers.
	keptTokens = 4
	// minSubstring is the shortest known secret removed wherever it
	// appears, even inside a word. A shorter one (a test connection's
	// one-letter secret) is removed only where it stands as a value of its
	// own, so "request" never becomes "reque[REDACTED]t".
	minSubstring = 8
)

var (
	// JSON fields and form fields that hold credentials.
	secretJSONField = regexp.MustCompile(`"(access_token|refresh_token|id_token|client_secret|client_assertion)"(\s*:\s*)"(?:[^"\\]|\\.)*"`)
	secretFormField = regexp.MustCompile(`(?i)\b(access_token|refresh_token|id_token|client_secret|client_assertion)=[^&\s"]*`)
	// Credentials after an auth scheme, wherever they appear.
	authScheme = regexp.MustCompile(`(?i)\b(Bearer|Basic)\s+[A-Za-z0-9\-._~+/]+=*`)
)

// sensitiveHeaders are shown as [REDACTED] in debug logs.
var sensitiveHeaders = map[string]bool{
	"Authorization":       true,
	"Proxy-Authorization": true,
	"Cookie":              true,
	"Set-Cookie":          true,
}

// redactor removes credentials from text bound for logs and errors: the
// client secret and its Basic-auth encodings, recent access tokens, and
// anything shaped like a credential field or an Authorization value. A known
// secret of at least minSubstring bytes is removed wherever it appears; a
// shorter one only where it stands alone (see replaceWhole).
type redactor struct {
	static []string

	mu     sync.Mutex
	tokens []string
}

func newRedactor(clientID, clientSecret string) *redactor {
	r := &redactor{}
	if clientSecret != "" {
		r.static = append(r.static,
			clientSecret,
			url.QueryEscape(clientSecret),
			base64.StdEncoding.EncodeToString([]byte(clientID+":"+clientSecret)),
			base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(clientID)+":"+url.QueryEscape(clientSecret))),
		)
	}
	return r
}

func (r *redactor) addToken(tok string) {
	if tok == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tokens = append(r.tokens, tok)
	if len(r.tokens) > keptTokens {
		r.tokens = r.tokens[len(r.tokens)-keptTokens:]
	}
}

// text returns s with every known secret and credential-shaped value replaced.
func (r *redactor) text(s string) string {
	if s == "" {
		return s
	}
	r.mu.Lock()
	literals := append(append([]string(nil), r.static...), r.tokens...)
	r.mu.Unlock()
	for _, lit := range literals {
		switch {
		case lit == "":
		case len(lit) >= minSubstring:
			s = strings.ReplaceAll(s, lit, redactedText)
		default:
			s = replaceWhole(s, lit)
		}
	}
	s = secretJSONField.ReplaceAllString(s, `"$1"$2"`+redactedText+`"`)
	s = secretFormField.ReplaceAllString(s, "$1="+redactedText)
	s = authScheme.ReplaceAllString(s, "$1 "+redactedText)
	return s
}

// replaceWhole replaces each occurrence of lit in s that is a value of its
// own: not preceded or followed by a letter or digit. So a short secret is
// removed from "client_secret=s", `"s"` or "Bearer s", and left inside words.
func replaceWhole(s, lit string) string {
	var b strings.Builder
	done := 0 // s[:done] is written to b
	for from := 0; ; {
		i := strings.Index(s[from:], lit)
		if i < 0 {
			b.WriteString(s[done:])
			return b.String()
		}
		start, end := from+i, from+i+len(lit)
		before, _ := utf8.DecodeLastRuneInString(s[:start])
		after, _ := utf8.DecodeRuneInString(s[end:])
		if start > 0 && isWordRune(before) || end < len(s) && isWordRune(after) {
			// Inside a word: look again from the next character.
			_, n := utf8.DecodeRuneInString(s[start:])
			from = start + n
			continue
		}
		b.WriteString(s[done:start])
		b.WriteString(redactedText)
		done, from = end, end
	}
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func (r *redactor) headers(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		if sensitiveHeaders[http.CanonicalHeaderKey(k)] {
			out[k] = redactedText
			continue
		}
		out[k] = r.text(strings.Join(vs, ", "))
	}
	return out
}

// transport sets the User-Agent on every request, the token endpoint's
// included, and in debug mode logs each exchange with credentials redacted.
type transport struct {
	next      http.RoundTripper
	userAgent string
	debug     bool
	log       *slog.Logger
	redact    *redactor
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("User-Agent") == "" {
		// A RoundTripper must not modify the caller's request.
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", t.userAgent)
	}
	if !t.debug {
		return t.next.RoundTrip(req)
	}

	reqBody := ""
	if req.GetBody != nil {
		if rc, err := req.GetBody(); err == nil {
			b, _ := io.ReadAll(io.LimitReader(rc, maxLoggedBody+logMargin))
			rc.Close()
			reqBody = string(b)
		}
	}
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	elapsed := time.Since(start)
	attrs := []any{
		slog.String("method", req.Method),
		slog.String("url", t.redact.text(req.URL.String())),
		slog.Duration("duration", elapsed),
		slog.Any("request_headers", t.redact.headers(req.Header)),
		slog.String("request_body", t.loggable(reqBody)),
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", t.redact.text(err.Error())))
		t.log.DebugContext(req.Context(), "xero: http request failed", attrs...)
		return nil, err
	}
	// Read the start of the body to log it, and hand the reader the same
	// bytes followed by the rest.
	head, readErr := io.ReadAll(io.LimitReader(resp.Body, maxLoggedBody+logMargin))
	var rest io.Reader = resp.Body
	if readErr != nil {
		rest = errReader{readErr}
	}
	resp.Body = bodyReader{io.MultiReader(bytes.NewReader(head), rest), resp.Body}
	attrs = append(attrs,
		slog.Int("status", resp.StatusCode),
		slog.Any("response_headers", t.redact.headers(resp.Header)),
		slog.String("response_body", t.loggable(string(head))),
	)
	t.log.DebugContext(req.Context(), "xero: http exchange", attrs...)
	return resp, nil
}

// loggable redacts before cutting, so a cut cannot split a secret out of
// reach of the patterns.
func (t *transport) loggable(body string) string {
	body = t.redact.text(body)
	if len(body) > maxLoggedBody {
		body = body[:maxLoggedBody] + "…(truncated)"
	}
	return body
}

type bodyReader struct {
	io.Reader
	io.Closer
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
