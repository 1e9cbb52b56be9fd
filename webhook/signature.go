package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"hash"
	"net/http"

	"github.com/amsbilling/sdk/billing"
)

// SignatureHeader carries the request signature: the base64 (standard, padded)
// HMAC-SHA256 of the raw request body, keyed with the webhook key. Xero sends
// it as "x-xero-signature"; header names are case-insensitive.
const SignatureHeader = "X-Xero-Signature"

var (
	// ErrMissingSignature: the request carries no signature.
	ErrMissingSignature = errors.New("webhook: missing signature")
	// ErrInvalidSignature: the signature is malformed or matches none of the
	// keys.
	ErrInvalidSignature = errors.New("webhook: invalid signature")
)

// sigLen is the length of a base64-encoded HMAC-SHA256.
var sigLen = base64.StdEncoding.EncodedLen(sha256.Size)

// Sign returns the signature of body under key, as Xero computes it for the
// x-xero-signature header. Use it to sign test payloads.
func Sign(key, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Verify reports whether signature is a valid signature of body under any of
// keys (several while a key is being rotated). Empty keys are skipped. The
// comparison takes the same time whichever key matches. It returns nil,
// ErrMissingSignature for an empty signature, or ErrInvalidSignature.
func Verify(keys []billing.Secret, body []byte, signature string) error {
	var s scratch
	return verify(&s, len(keys), func(i int) hash.Hash {
		if keys[i].IsZero() {
			return nil
		}
		return hmac.New(sha256.New, []byte(keys[i].Reveal()))
	}, nil, body, signature)
}

// scratch holds the fixed-size buffers one verification needs, so the
// handler can pool them.
type scratch struct {
	sigText [64]byte
	sig     [64]byte
	sum     [sha256.Size]byte
}

// verify decodes signature and compares it, in constant time, with the MAC of
// body under each of n keys. mac(i) returns a reset HMAC for key i, or nil to
// skip it; done, when not nil, gets every MAC back after use.
func verify(s *scratch, n int, mac func(i int) hash.Hash, done func(i int, h hash.Hash), body []byte, signature string) error {
	if signature == "" {
		return ErrMissingSignature
	}
	if len(signature) != sigLen {
		return ErrInvalidSignature
	}
	// Copying into a fixed buffer avoids allocating a []byte for the header.
	text := s.sigText[:copy(s.sigText[:], signature)]
	got, err := base64.StdEncoding.Decode(s.sig[:], text)
	if err != nil || got != sha256.Size {
		return ErrInvalidSignature
	}
	want := s.sig[:sha256.Size]
	match := false
	for i := range n {
		h := mac(i)
		if h == nil {
			continue
		}
		h.Write(body)
		sum := h.Sum(s.sum[:0])
		// Compare against every key, so timing does not tell which one matched.
		if hmac.Equal(sum, want) {
			match = true
		}
		if done != nil {
			done(i, h)
		}
	}
	clear(s.sum[:])
	if !match {
		return ErrInvalidSignature
	}
	return nil
}

// NewSignedRequest returns a POST request to url with body as a JSON payload,
// signed with key as Xero signs webhooks. Use it to test an integration,
// either against a server or by calling Handler.ServeHTTP directly.
func NewSignedRequest(ctx context.Context, key []byte, url string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(key, body))
	return req, nil
}
