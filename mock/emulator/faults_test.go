package emulator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A lost answer: Xero applied the write, the client does not know. Each
// loss, on each write endpoint; the retry with the same Idempotency-Key
// gets the first answer and changes nothing more.
func TestLostAnswers(t *testing.T) {
	type write struct {
		name, method, path string
		body               func(a *api, contactID, invoiceID string) any
		// applied reports whether the write happened.
		applied func(a *api, contactID, invoiceID string) bool
		count   func(a *api) int // records that a duplicate would add to
	}
	writes := []write{
		{"PUT /Invoices", http.MethodPut, "/Invoices",
			func(_ *api, contactID, _ string) any { return invoicesBody(invoice(contactID)) },
			func(a *api, _, _ string) bool { return len(a.e.Invoices()) == 2 },
			func(a *api) int { return len(a.e.Invoices()) }},
		{"POST /Invoices", http.MethodPost, "/Invoices",
			func(_ *api, _, invoiceID string) any {
				return invoicesBody(map[string]any{"InvoiceID": invoiceID, "Reference": "Changed"})
			},
			func(a *api, _, invoiceID string) bool {
				inv, _ := a.e.Invoice(invoiceID)
				return inv.Reference == "Changed"
			},
			func(a *api) int { return len(a.e.Invoices()) }},
		{"PUT /Contacts", http.MethodPut, "/Contacts",
			func(*api, string, string) any { return contactsBody(map[string]any{"Name": "Bob"}) },
			func(a *api, _, _ string) bool { return len(a.e.Contacts()) == 2 },
			func(a *api) int { return len(a.e.Contacts()) }},
		{"POST /Contacts", http.MethodPost, "/Contacts",
			func(_ *api, contactID, _ string) any {
				return contactsBody(map[string]any{"ContactID": contactID, "EmailAddress": "new@example.com"})
			},
			func(a *api, _, _ string) bool { return a.e.Contacts()[0].EmailAddress == "new@example.com" },
			func(a *api) int { return len(a.e.Contacts()) }},
	}
	losses := []struct {
		name string
		loss emulator.AnswerLoss
		// seen checks what the client got.
		seen func(t *testing.T, resp *http.Response, err error)
	}{
		{"dropped", emulator.AnswerDropped, func(t *testing.T, _ *http.Response, err error) {
			require.ErrorIs(t, err, emulator.ErrDropped)
		}},
		{"504", emulator.AnswerTimedOut, func(t *testing.T, resp *http.Response, err error) {
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			assert.Equal(t, http.StatusGatewayTimeout, resp.StatusCode)
			assert.Equal(t, "504 Gateway Timeout", string(body))
		}},
		{"unreadable 200", emulator.AnswerGarbled, func(t *testing.T, resp *http.Response, err error) {
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err, "the whole body arrives")
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
			var v any
			assert.Error(t, json.Unmarshal(body, &v), "but cannot be read")
		}},
	}
	for _, w := range writes {
		for _, l := range losses {
			t.Run(w.name+" "+l.name, func(t *testing.T) {
				a := newAPI(t, emulator.Options{})
				contactID := a.createContact("Ann", "", "ann@example.com")
				invoiceID := a.createInvoice(contactID).InvoiceID
				a.e.InjectFault(emulator.Fault{Path: emulator.APIPath + w.path, LoseAnswer: l.loss})
				send := func() (*http.Response, error) {
					req := a.request(t.Context(), w.method, w.path, w.body(a, contactID, invoiceID))
					req.Header.Set("Idempotency-Key", "lost-answer")
					return a.hc.Do(req)
				}
				resp, err := send()
				l.seen(t, resp, err)
				if resp != nil {
					resp.Body.Close()
				}
				require.True(t, w.applied(a, contactID, invoiceID), "Xero has the change")
				n := w.count(a)

				resp, err = send()
				require.NoError(t, err)
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				assert.Equal(t, http.StatusOK, resp.StatusCode)
				assert.True(t, json.Valid(body), "the retry gets the first answer, whole")
				assert.Equal(t, n, w.count(a), "and changes nothing more")
				reqs := a.e.Requests()
				assert.True(t, reqs[len(reqs)-2].Fault)
				assert.False(t, reqs[len(reqs)-1].Fault)
			})
		}
	}
}

// Over a real connection the unreadable body is whole, by Content-Length.
func TestGarbledAnswerOnServer(t *testing.T) {
	s := emulator.NewServer(emulator.Options{})
	t.Cleanup(func() { _ = s.Close() })
	a := &api{t: t, e: s.Emulator, hc: &http.Client{}, base: s.URL}
	a.token = a.fetchToken()
	a.e.InjectFault(emulator.Fault{LoseAnswer: emulator.AnswerGarbled})
	resp, body := a.raw(http.MethodPut, "/Contacts", contactsBody(map[string]any{"Name": "Ann"}))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, int64(len(body)), resp.ContentLength)
	assert.True(t, strings.HasPrefix(string(body), "{"))
	assert.False(t, json.Valid(body))
	assert.Len(t, a.e.Contacts(), 1)
}

// A ResponseValidator wraps the answer; a dropped answer still drops, in
// process and over a real connection, and is not validated.
func TestDropWithResponseValidator(t *testing.T) {
	var validated atomic.Int32
	opts := emulator.Options{ResponseValidator: func(*http.Request, int, http.Header, []byte) error {
		validated.Add(1)
		return nil
	}}
	a := newAPI(t, opts) // one token request, validated
	a.e.InjectFault(emulator.Fault{LoseAnswer: emulator.AnswerDropped})
	_, err := a.hc.Do(a.request(t.Context(), http.MethodGet, "/Contacts", nil))
	require.ErrorIs(t, err, emulator.ErrDropped)
	assert.Equal(t, int32(1), validated.Load())

	s := emulator.NewServer(opts)
	t.Cleanup(func() { _ = s.Close() })
	b := &api{t: t, e: s.Emulator, hc: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}, base: s.URL}
	b.token = b.fetchToken()
	b.e.InjectFault(emulator.Fault{Drop: true})
	_, err = b.hc.Do(b.request(t.Context(), http.MethodGet, "/Contacts", nil))
	require.Error(t, err)
	resp, _ := b.raw(http.MethodGet, "/Contacts", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}
