package redislimit

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTenantTag(t *testing.T) {
	long := strings.Repeat("a", maxTagLen+1)
	tests := []struct {
		tenant, want string
	}{
		{"6f9a1c2e-3b4d-4e5f-8a7b-9c0d1e2f3a4b", "6f9a1c2e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"},
		{"org_1.A", "org_1.A"},
		{"a{b}:c", "a%7Bb%7D%3Ac"},
		{"a%41", "a%2541"},
		{"~", "%7E"},
		{"", "~e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{strings.Repeat("a", maxTagLen), strings.Repeat("a", maxTagLen)},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tenantTag(tt.tenant), "tenant %q", tt.tenant)
	}

	hashed := tenantTag(long)
	assert.True(t, strings.HasPrefix(hashed, "~"))
	assert.Len(t, hashed, 65)
	assert.NotEqual(t, hashed, tenantTag(long+"a"))

	seen := map[string]string{}
	for _, tn := range []string{"", "{", "}", "{}", ":", "%", "%25", "%7B", "~", "~x", "a b", "a+b", long, long + "b", "日本"} {
		tag := tenantTag(tn)
		assert.NotContains(t, tag, "{")
		assert.NotContains(t, tag, "}")
		assert.NotContains(t, tag, ":")
		if prev, dup := seen[tag]; dup {
			t.Errorf("tenants %q and %q share the tag %q", prev, tn, tag)
		}
		seen[tag] = tn
	}
}

func TestPauseValueRoundTrip(t *testing.T) {
	rem := unknownRemaining()
	rem.Minute, rem.Day = 0, 4000
	p, got := decodePause(encodePause("some odd problem", rem))
	assert.Equal(t, "some odd problem", string(p))
	assert.Equal(t, rem, got)

	p, got = decodePause("garbage")
	assert.Empty(t, p)
	assert.Equal(t, unknownRemaining(), got)
}
