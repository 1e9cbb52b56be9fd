package webhook_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/webhook"
)

// FuzzHandler: whatever arrives, the handler never panics, answers only with
// the statuses it documents, and never answers 200 to a badly signed body.
// With sign set the body is correctly signed, so the payload path is fuzzed
// too: then 200 exactly when the payload parses.
func FuzzHandler(f *testing.F) {
	valid := []byte(`{"events":[{"resourceId":"55d84274-a3da-4829-a7c0-0cab601b95cc","eventCategory":"INVOICE","eventType":"UPDATE","tenantId":"aef86862-2015-4b6b-88bc-d89032cecc50"}],"firstEventSequence":1,"lastEventSequence":1,"entropy":"X"}`)
	f.Add(valid, webhook.Sign([]byte(testKey), valid), false)
	f.Add(valid, "", true)
	f.Add([]byte(`{"events":[]}`), "", true)
	f.Add([]byte(`{"events":[`), "", true)
	f.Add([]byte(`null`), "", true)
	f.Add(valid, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", false)
	f.Add([]byte{}, "", false)
	f.Add(valid, "\x00\xff", false)

	keys := []billing.Secret{billing.NewSecret(testKey), billing.NewSecret(otherKey)}
	store := newStore(f, invoiceIDs...)
	h, err := webhook.New(webhook.Config{Keys: keys, TenantID: testTenant, Store: store, MaxBodyBytes: 4096})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = h.Close() })

	f.Fuzz(func(t *testing.T, body []byte, sig string, sign bool) {
		if sign {
			sig = webhook.Sign([]byte(testKey), body)
		}
		r := post(body, "")
		if sig != "" {
			r.Header["X-Xero-Signature"] = []string{sig}
		}
		code := serve(h, r).Code
		switch code {
		case http.StatusOK, http.StatusUnauthorized, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("unexpected status %d", code)
		}
		verr := webhook.Verify(keys, body, sig)
		if code == http.StatusOK && verr != nil {
			t.Fatalf("200 for a body that does not verify: %v", verr)
		}
		if len(body) > 4096 {
			if code != http.StatusRequestEntityTooLarge {
				t.Fatalf("oversize body got %d", code)
			}
			return
		}
		if verr != nil {
			if code != http.StatusUnauthorized {
				t.Fatalf("bad signature got %d", code)
			}
			return
		}
		_, perr := webhook.ParsePayload(body)
		if (perr == nil) != (code == http.StatusOK) {
			t.Fatalf("signed body: status %d, parse error %v", code, perr)
		}
		if perr != nil && !errors.Is(perr, webhook.ErrMalformedPayload) {
			t.Fatalf("parse error not ErrMalformedPayload: %v", perr)
		}
	})
}

// FuzzParsePayload: ParsePayload never panics, fails only with
// ErrMalformedPayload, and what it accepts survives encoding and parsing
// again unchanged.
func FuzzParsePayload(f *testing.F) {
	f.Add([]byte(xeroExample))
	f.Add([]byte(`{"events":[]}`))
	f.Add([]byte(`{"events":[{"eventDateUtc":"2025-12-02T00:44:09.923"}]}`))
	f.Add([]byte(`{"events":null,"entropy":7}`))
	f.Add([]byte(` {}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := webhook.ParsePayload(b)
		if err != nil {
			if !errors.Is(err, webhook.ErrMalformedPayload) {
				t.Fatalf("error not ErrMalformedPayload: %v", err)
			}
			return
		}
		enc, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		p2, err := webhook.ParsePayload(enc)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", enc, err)
		}
		enc2, err := json.Marshal(p2)
		if err != nil {
			t.Fatalf("marshal again: %v", err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("round trip changed the payload:\n%s\n%s", enc, enc2)
		}
		for _, e := range p.Events {
			_ = e.IsInvoiceUpdate()
			if _, err := e.Time(); err != nil && !errors.Is(err, webhook.ErrMalformedPayload) {
				t.Fatalf("time error not ErrMalformedPayload: %v", err)
			}
		}
	})
}
