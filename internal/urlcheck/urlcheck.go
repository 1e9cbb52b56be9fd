// Package urlcheck holds the one rule for the endpoints the SDK is
// configured with: absolute http(s) URLs that carry no credentials.
package urlcheck

import (
	"errors"
	"net/url"
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
