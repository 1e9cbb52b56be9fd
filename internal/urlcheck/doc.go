// Package urlcheck holds the one rule for the endpoints the SDK is
// configured with: absolute http(s) URLs that carry no credentials.
package urlcheck
