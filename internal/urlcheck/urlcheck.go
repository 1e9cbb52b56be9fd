package urlcheck

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// Absolute parses s and checks that it is an absolute http or https URL
// with a host and no user info (a password in a URL ends up in logs).
func Absolute(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("not an absolute http(s) URL")
	}
	if u.User != nil {
		return nil, errors.New("must not carry credentials")
	}
	return u, nil
}

// redacted replaces a hidden credential.
const redacted = "[REDACTED]"

// dsnSecret matches a credential given as key=value, in a URL's query
// (postgres://db/x?password=...) or a keyword DSN (host=db password='...').
var dsnSecret = regexp.MustCompile(`(?i)([\w.-]*(?:password|passwd|pwd|secret|token)[\w.-]*)(\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&;]*)`)

// Redact hides the passwords of a URL or database DSN: the one in the user
// info, and any password, secret or token parameter, whether in the query
// or written as a keyword DSN's key=value.
func Redact(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil && strings.Contains(s, "@"):
		return redacted
	case err == nil && u.User != nil:
		s = u.Redacted()
	}
	return dsnSecret.ReplaceAllString(s, "${1}${2}"+redacted)
}
