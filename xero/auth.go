package xero

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/internal/xerolimit"
	"github.com/amsbilling/sdk/ratelimit"
)

const (
	// tokenEarly refreshes a token this long before Xero says it expires
	// (tokens last 30 minutes), so a call never starts with a dying token.
	tokenEarly = time.Minute
	// tokenTimeout bounds one token request. The request runs on the
	// client's long-lived context, not the caller's, so it needs its own.
	tokenTimeout = 30 * time.Second
)

// AuthError is a failed token request: Xero's identity service refused the
// client credentials or the scopes, or answered with an error status (a 429
// is a *ratelimit.RateLimitError instead). It never holds the client secret
// or a token.
type AuthError struct {
	StatusCode  int    // the token endpoint's HTTP status
	Code        string // OAuth error code, e.g. "invalid_client", "invalid_scope"
	Description string // OAuth error_description, when given
}

// Error explains what to change, naming the environment variables involved.
func (e *AuthError) Error() string {
	switch e.Code {
	case "invalid_scope":
		return "xero: token request refused the requested scopes (invalid_scope): " +
			"Custom Connections created since April 2026 reject an explicit scope, so remove XERO_SCOPES; " +
			"for an older connection, tick the scopes listed in XERO_SCOPES on the connection in the Xero developer portal"
	case "invalid_client":
		return "xero: token request refused the client credentials (invalid_client): check XERO_CLIENT_ID and XERO_CLIENT_SECRET"
	case "unauthorized_client":
		return "xero: token request refused (unauthorized_client): the app behind XERO_CLIENT_ID must be an authorised Custom Connection"
	}
	msg := fmt.Sprintf("xero: token request failed with status %d", e.StatusCode)
	if e.Code != "" {
		msg += ": " + e.Code
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}

// Is matches ErrInvalidScope and ErrInvalidClient, and
// billing.ErrUnauthorized for every refusal that is not the identity
// service's own outage (Temporary): credentials, scopes or grant refused.
func (e *AuthError) Is(target error) bool {
	switch target {
	case ErrInvalidScope:
		return e.Code == "invalid_scope"
	case ErrInvalidClient:
		return e.Code == "invalid_client"
	case billing.ErrUnauthorized:
		return !e.temporary()
	}
	return false
}

// temporary reports whether trying again may help: a server-side failure,
// bare or with OAuth's own server_error or temporarily_unavailable code.
func (e *AuthError) temporary() bool {
	switch e.Code {
	case "server_error", "temporarily_unavailable":
		return true
	case "":
		return e.StatusCode >= 500
	}
	return false
}

// tokenCache hands out the Custom Connection's access token, fetching a new
// one when none is held or it is about to expire. Concurrent callers share
// one fetch. Each fetch runs on base, a long-lived context carrying the
// client's *http.Client: a caller's context only limits how long that caller
// waits, so one cancelled request cannot break the token for everyone else.
//
// A 429 from the identity service is passed to observe (the client's
// Limiter, so API calls pause too) and remembered: until its wait ends,
// token returns a local *ratelimit.RateLimitError without a request.
type tokenCache struct {
	conf    *clientcredentials.Config
	base    context.Context
	redact  *redactor
	tenant  string
	observe func(status int, h http.Header)
	fetched func(err error) // after every token request, for the metrics

	mu       sync.Mutex
	tok      *oauth2.Token
	inflight *tokenFetch
	// pausedUntil and paused hold the identity service's last 429.
	pausedUntil time.Time
	paused      *ratelimit.RateLimitError
}

type tokenFetch struct {
	done chan struct{}
	tok  *oauth2.Token
	err  error
}

func newTokenCache(conf *clientcredentials.Config, hc *http.Client, r *redactor, tenant string, observe func(int, http.Header), fetched func(error)) *tokenCache {
	return &tokenCache{
		conf:    conf,
		base:    context.WithValue(context.Background(), oauth2.HTTPClient, hc),
		redact:  r,
		tenant:  tenant,
		observe: observe,
		fetched: fetched,
	}
}

// token returns a usable token, waiting for a fetch at most as long as ctx
// allows.
func (tc *tokenCache) token(ctx context.Context) (*oauth2.Token, error) {
	tc.mu.Lock()
	if tc.tok != nil && (tc.tok.Expiry.IsZero() || time.Until(tc.tok.Expiry) > tokenEarly) {
		tok := tc.tok
		tc.mu.Unlock()
		return tok, nil
	}
	if now := time.Now(); now.Before(tc.pausedUntil) {
		refusal := *tc.paused
		refusal.RetryAfter, refusal.Local = tc.pausedUntil.Sub(now), true
		tc.mu.Unlock()
		return nil, &refusal
	}
	f := tc.inflight
	if f == nil {
		f = &tokenFetch{done: make(chan struct{})}
		tc.inflight = f
		go tc.fetch(f)
	}
	tc.mu.Unlock()

	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (tc *tokenCache) fetch(f *tokenFetch) {
	ctx, cancel := context.WithTimeout(tc.base, tokenTimeout)
	defer cancel()
	tok, err := tc.conf.Token(ctx)
	if tc.fetched != nil {
		tc.fetched(err)
	}
	var rl *ratelimit.RateLimitError
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode == http.StatusTooManyRequests && tc.observe != nil {
			tc.observe(re.Response.StatusCode, re.Response.Header)
		}
		err = tc.authError(err)
		errors.As(err, &rl)
	} else {
		tc.redact.addToken(tok.AccessToken)
	}
	tc.mu.Lock()
	if err == nil {
		tc.tok = tok
	}
	if rl != nil {
		// As long as a Limiter would pause after this 429 (Retry-After, or
		// the default minute, or an hour for the day's limit).
		unknown := xerolimit.Left{Minute: -1, Day: -1, AppMinute: -1}
		wait := xerolimit.Pauses(http.StatusTooManyRequests, string(rl.Problem), rl.RetryAfter, unknown, xerolimit.Minute)[0].For
		tc.pausedUntil, tc.paused = time.Now().Add(wait), rl
	}
	tc.inflight = nil
	f.tok, f.err = tok, err
	tc.mu.Unlock()
	close(f.done)
}

// drop forgets tok after Xero answered 401 to it, unless a newer token has
// replaced it already.
func (tc *tokenCache) drop(tok *oauth2.Token) {
	tc.mu.Lock()
	if tc.tok == tok {
		tc.tok = nil
	}
	tc.mu.Unlock()
}

// authError maps the oauth2 package's errors onto ours. Only the OAuth code,
// the status and Xero's description are kept: oauth2's own message can
// quote the whole response body.
func (tc *tokenCache) authError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.Response != nil && re.Response.StatusCode == http.StatusTooManyRequests {
			// The identity service's own limit: reported like the API's,
			// so callers see "try again in 30s" and nothing retries it.
			rl := ratelimit.FromResponse(re.Response.StatusCode, re.Response.Header, time.Now())
			rl.Tenant = tc.tenant
			return rl
		}
		ae := &AuthError{Code: cleanText(re.ErrorCode), Description: tc.redact.text(cleanText(re.ErrorDescription))}
		if re.Response != nil {
			ae.StatusCode = re.Response.StatusCode
		}
		return ae
	}
	return fmt.Errorf("xero: token request: %w", err)
}
