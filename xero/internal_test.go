package xero

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeError(t *testing.T) {
	tests := []struct {
		name string
		body string
		want APIError
	}{
		{
			name: "validation",
			body: `{"ErrorNumber":10,"Type":"ValidationException","Message":"A validation exception occurred","Elements":[{"ValidationErrors":[{"Message":"The contact name Buzz Lightyear is already assigned to another contact. The contact name must be unique across all active contacts."}]}]}`,
			want: APIError{StatusCode: 400, ErrorNumber: 10, Type: "ValidationException", Message: "A validation exception occurred",
				ValidationErrors: []string{"The contact name Buzz Lightyear is already assigned to another contact. The contact name must be unique across all active contacts."}},
		},
		{
			// xero-ruby's test of Xero's answer: a warning beside the error.
			name: "validation with a warning",
			body: `{"ErrorNumber":10,"Type":"ValidationException","Message":"A validation exception occurred","Elements":[{"ValidationErrors":[{"Message":"The TaxType code NONE does not exist or cannot be used for this type of transaction."}],"Warnings":[{"Message":"Account code '600' has been removed as it does not match a recognised account."}]}],"Warnings":[{"Message":"A list-level warning."}]}`,
			want: APIError{StatusCode: 400, ErrorNumber: 10, Type: "ValidationException", Message: "A validation exception occurred",
				ValidationErrors: []string{"The TaxType code NONE does not exist or cannot be used for this type of transaction."},
				Warnings:         []string{"A list-level warning.", "Account code '600' has been removed as it does not match a recognised account."}},
		},
		{
			name: "problem details",
			body: `{"Type":null,"Title":"Unauthorized","Status":401,"Detail":"AuthenticationUnsuccessful"}`,
			want: APIError{StatusCode: 400, Type: "Unauthorized", Message: "AuthenticationUnsuccessful"},
		},
		{
			name: "oauth",
			body: `{"error":"invalid_request"}`,
			want: APIError{StatusCode: 400, Message: "invalid_request"},
		},
		{
			name: "plain text with control characters",
			body: "  Bad\r\n\trequest\x00 here  ",
			want: APIError{StatusCode: 400, Message: "Bad request here"},
		},
		{
			name: "JSON array",
			body: `[1,2]`,
			want: APIError{StatusCode: 400, Message: "[1,2]"},
		},
		{
			name: "wrong types",
			body: `{"ErrorNumber":"ten","Type":5}`,
			want: APIError{StatusCode: 400, Message: `{"ErrorNumber":"ten","Type":5}`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeError(400, []byte(tt.body))
			assert.Equal(t, &tt.want, got)
		})
	}
}

// TestAPIErrorShowsWarnings: Xero's warnings are part of the message, after
// the validation errors.
func TestAPIErrorShowsWarnings(t *testing.T) {
	e := &APIError{StatusCode: 400, Type: "ValidationException", Message: "A validation exception occurred",
		ValidationErrors: []string{"The TaxType code NONE does not exist."}, Warnings: []string{"Account code '600' has been removed.", "Another."}}
	assert.Equal(t, "xero: 400 ValidationException: A validation exception occurred: The TaxType code NONE does not exist. (warnings: Account code '600' has been removed.; Another.)", e.Error())
}

func TestDecodeErrorBounds(t *testing.T) {
	long := strings.Repeat("x", 10_000)
	got := decodeError(500, []byte(long))
	assert.LessOrEqual(t, len(got.Message), maxErrorText+len("…"))

	var b strings.Builder
	b.WriteString(`{"Type":"ValidationException","Elements":[`)
	for i := range 200 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"ValidationErrors":[{"Message":"m` + strings.Repeat("y", i) + `"}]}`)
	}
	b.WriteString("]}")
	got = decodeError(400, []byte(b.String()))
	assert.Len(t, got.ValidationErrors, maxValidationErrors)
}

func FuzzDecodeError(f *testing.F) {
	for _, s := range []string{
		`{"ErrorNumber":10,"Type":"ValidationException","Message":"A validation exception occurred","Elements":[{"ValidationErrors":[{"Message":"x"}]}]}`,
		`{"Type":null,"Title":"Unauthorized","Status":401,"Detail":"AuthenticationUnsuccessful"}`,
		`{"error":"invalid_client"}`, `plain text`, ``, `{`, `{"Elements":null}`, `{"ErrorNumber":1e400}`,
		"\xff\xfe", `{"Elements":[{"ValidationErrors":[{"Message":null}]}]}`,
	} {
		f.Add(400, []byte(s))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := decodeError(status, body)
		msg := e.Error()
		if !strings.HasPrefix(msg, "xero: ") {
			t.Fatalf("message %q lacks the prefix", msg)
		}
		if !utf8.ValidString(msg) {
			t.Fatalf("message is not valid UTF-8: %q", msg)
		}
		if strings.ContainsAny(msg, "\r\n\x00") {
			t.Fatalf("message has control characters: %q", msg)
		}
		if len(e.ValidationErrors) > maxValidationErrors {
			t.Fatalf("%d validation errors kept", len(e.ValidationErrors))
		}
	})
}

func TestAmountJSON(t *testing.T) {
	b, err := json.Marshal(amount(decimal.RequireFromString("115.50")))
	require.NoError(t, err)
	assert.Equal(t, "115.5", string(b))
	b, err = json.Marshal(amount(decimal.RequireFromString("-0.0001")))
	require.NoError(t, err)
	assert.Equal(t, "-0.0001", string(b))

	for in, want := range map[string]string{`12.34`: "12.34", `"12.34"`: "12.34", `null`: "0", `1e3`: "1000", `0.1`: "0.1"} {
		var a amount
		require.NoError(t, json.Unmarshal([]byte(in), &a), in)
		assert.True(t, a.dec().Equal(decimal.RequireFromString(want)), "%s -> %s", in, a.dec())
	}
	for _, in := range []string{`"abc"`, `true`, `{}`, `""`} {
		var a amount
		assert.Error(t, json.Unmarshal([]byte(in), &a), in)
	}
}

func TestKeyedLockReleasesMemory(t *testing.T) {
	var l keyedLock[string]
	var wg sync.WaitGroup
	var counters [3]int
	for i := range 50 {
		k := i % 3
		wg.Go(func() {
			unlock, err := l.lock(context.Background(), []string{"a", "b", "c"}[k])
			if !assert.NoError(t, err) {
				return
			}
			counters[k]++ // the key's lock makes this safe; -race would say otherwise
			unlock()
		})
	}
	wg.Wait()
	assert.Equal(t, [3]int{17, 17, 16}, counters)
	assert.Equal(t, 0, l.size(), "no entry outlives its users")

	unlock, err := l.lock(context.Background(), "x")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = l.lock(ctx, "x")
	require.ErrorIs(t, err, context.Canceled)
	unlock()
	assert.Equal(t, 0, l.size())
}

func TestRedactor(t *testing.T) {
	r := newRedactor("client-id", "the-secret")
	r.addToken("eyJtoken.value.sig")
	in := `secret the-secret; basic Basic Y2xpZW50LWlkOnRoZS1zZWNyZXQ=; {"access_token": "abc\"def", "token_type":"Bearer"} ` +
		`Authorization: Bearer eyJtoken.value.sig client_secret=xyz&grant_type=client_credentials token eyJtoken.value.sig`
	out := r.text(in)
	for _, leak := range []string{"the-secret", "Y2xpZW50LWlkOnRoZS1zZWNyZXQ=", `abc\"def`, "eyJtoken", "xyz"} {
		assert.NotContains(t, out, leak)
	}
	assert.Contains(t, out, `"token_type":"Bearer"`)
	assert.Contains(t, out, "grant_type=client_credentials")
}

// TestRedactorShortSecret: a one-letter secret is redacted where it stands
// as a value of its own, never inside ordinary words.
func TestRedactorShortSecret(t *testing.T) {
	r := newRedactor("client-id", "s")
	tests := []struct{ in, want string }{
		{"request failed: status 400 (unsupported_grant_type)", "request failed: status 400 (unsupported_grant_type)"},
		{"https://identity.test/connect/token", "https://identity.test/connect/token"},
		{`{"error":"invalid_client","error_description":"client s rejected"}`, `{"error":"invalid_client","error_description":"client [REDACTED] rejected"}`},
		{`{"client_secret":"s"}`, `{"client_secret":"[REDACTED]"}`},
		{"grant_type=client_credentials&client_secret=s", "grant_type=client_credentials&client_secret=[REDACTED]"},
		{"secret=s; id=client-id", "secret=[REDACTED]; id=client-id"},
		{"s", "[REDACTED]"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, r.text(tt.in), tt.in)
	}
	double := newRedactor("client-id", "ss")
	assert.Equal(t, "sss [REDACTED] class", double.text("sss ss class"))

	// Long secrets are still removed wherever they appear, even inside a
	// word.
	long := newRedactor("client-id", "the-secret-value")
	assert.Equal(t, "x[REDACTED]y", long.text("xthe-secret-valuey"))
}
