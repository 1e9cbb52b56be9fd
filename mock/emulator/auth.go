package emulator

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

// grantedScopes is what a Custom Connection created since 2026 gets when it
// asks for no scope: every scope ticked on the connection.
const grantedScopes = "accounting.contacts accounting.invoices accounting.payments accounting.settings.read"

// knownScope reports whether a legacy connection may name scope explicitly.
func knownScope(scope string) bool {
	switch strings.TrimSuffix(scope, ".read") {
	case "accounting.transactions", "accounting.contacts", "accounting.settings", "accounting.invoices",
		"accounting.payments", "accounting.attachments", "accounting.reports", "accounting.journals":
		return true
	}
	return false
}

func oauthError(code string) reply {
	rp := jsonReply(http.StatusBadRequest, map[string]string{"error": code})
	rp.header = http.Header{"Cache-Control": {"no-store"}, "Pragma": {"no-cache"}}
	return rp
}

// token answers POST /connect/token for the client credentials grant.
func (e *Emulator) token(r *http.Request, body []byte) reply {
	if r.Method != http.MethodPost {
		rp := textReply(http.StatusMethodNotAllowed, "Method not allowed")
		rp.header = http.Header{"Allow": {http.MethodPost}}
		return rp
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return oauthError("invalid_request")
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 form-encodes the credentials before Basic encoding them.
		if v, err := url.QueryUnescape(id); err == nil {
			id = v
		}
		if v, err := url.QueryUnescape(secret); err == nil {
			secret = v
		}
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(e.opts.ClientID)) == 1
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(e.opts.ClientSecret)) == 1
	if !idOK || !secretOK {
		return oauthError("invalid_client")
	}
	if gt := form.Get("grant_type"); gt != "client_credentials" {
		return oauthError("unsupported_grant_type")
	}
	scope := strings.Join(strings.Fields(form.Get("scope")), " ")
	if scope != "" {
		if !e.opts.LegacyScopes {
			return oauthError("invalid_scope")
		}
		for s := range strings.FieldsSeq(scope) {
			if !knownScope(s) {
				return oauthError("invalid_scope")
			}
		}
	} else {
		scope = grantedScopes
	}

	tok := randomToken()
	now := e.now()
	e.mu.Lock()
	e.issueToken(tok, now)
	e.mu.Unlock()

	rp := jsonReply(http.StatusOK, tokenOut{
		AccessToken: tok,
		ExpiresIn:   int64(e.opts.TokenTTL.Seconds()),
		TokenType:   "Bearer",
		Scope:       scope,
	})
	rp.header = http.Header{"Cache-Control": {"no-store"}, "Pragma": {"no-cache"}}
	return rp
}

// issueToken makes tok live for TokenTTL. Tokens expire in the order they
// are issued, so expired ones are dropped from the front of tokenOrder in
// constant time per token; at the limit the oldest live token gives way, so
// a client that asks for a token per call cannot grow memory without bound.
// e.mu must be held.
func (e *Emulator) issueToken(tok string, now time.Time) {
	for len(e.tokenOrder) > 0 {
		oldest := e.tokenOrder[0]
		if exp, ok := e.tokens[oldest]; ok && exp.After(now) && len(e.tokenOrder) < e.bounds.tokens {
			break
		}
		delete(e.tokens, oldest)
		e.tokenOrder = e.tokenOrder[1:]
	}
	e.tokens[tok] = now.Add(e.opts.TokenTTL)
	e.tokenOrder = append(e.tokenOrder, tok)
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// checkBearer accepts a request carrying a live access token, or returns
// Xero's 401.
func (e *Emulator) checkBearer(r *http.Request) (reply, bool) {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return authProblem(http.StatusUnauthorized, "AuthenticationUnsuccessful"), false
	}
	now := e.now()
	e.mu.Lock()
	exp, ok := e.tokens[strings.TrimSpace(tok)]
	e.mu.Unlock()
	if !ok {
		return authProblem(http.StatusUnauthorized, "AuthenticationUnsuccessful"), false
	}
	if !exp.After(now) {
		return authProblem(http.StatusUnauthorized, "TokenExpired: token expired at "+exp.Format("01/02/2006 15:04:05")), false
	}
	return reply{}, true
}

// connections answers GET /connections: the one organisation the Custom
// Connection is authorised for.
func (e *Emulator) connections(r *http.Request) reply {
	if r.Method != http.MethodGet {
		rp := textReply(http.StatusMethodNotAllowed, "Method not allowed")
		rp.header = http.Header{"Allow": {http.MethodGet}}
		return rp
	}
	if rp, ok := e.checkBearer(r); !ok {
		return rp
	}
	created := e.created.Format("2006-01-02T15:04:05.0000000")
	// Stable ids, derived from the tenant, so repeated calls agree.
	ns := uuid.NameSpaceURL
	return jsonReply(http.StatusOK, []connection{{
		ID:             uuid.NewSHA1(ns, []byte("connection:"+e.opts.TenantID)).String(),
		AuthEventID:    uuid.NewSHA1(ns, []byte("auth-event:"+e.opts.TenantID)).String(),
		TenantID:       e.opts.TenantID,
		TenantType:     "ORGANISATION",
		TenantName:     e.opts.TenantName,
		CreatedDateUTC: created,
		UpdatedDateUTC: created,
	}})
}
