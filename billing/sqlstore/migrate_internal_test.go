package sqlstore

import "testing"

func TestSingleSchema(t *testing.T) {
	t.Parallel()
	tests := []struct {
		searchPath string
		want       string
		ok         bool
	}{
		{`"billing_test_0123"`, "billing_test_0123", true},
		{`billing`, "billing", true},
		{`Billing`, "billing", true},
		{`"My""Schema"`, `My"Schema`, true},
		{` "x" `, "x", true},
		{`"$user", public`, "", false},
		{`"$user"`, "", false},
		{`$user`, "", false},
		{`a, b`, "", false},
		{`"a","b"`, "", false},
		{`""`, "", false},
		{``, "", false},
	}
	for _, tt := range tests {
		got, ok := singleSchema(tt.searchPath)
		if got != tt.want || ok != tt.ok {
			t.Errorf("singleSchema(%q) = %q, %t; want %q, %t", tt.searchPath, got, ok, tt.want, tt.ok)
		}
	}
}
