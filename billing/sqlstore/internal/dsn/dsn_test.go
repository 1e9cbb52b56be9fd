package dsn

import "testing"

func TestForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s                          string
		postgres, sqlite, keywords bool
	}{
		{"postgres://u@h/db", true, false, false},
		{"PostgreSQL://u@h/db", true, false, false},
		{"postgres://", true, false, false},
		{"postgres:/x", false, false, false},
		{"sqlite:///abs.db", false, true, false},
		{"SQLite:rel.db", false, true, false},
		{"sqlite::memory:", false, true, false},
		{"host=db password=x", false, false, true},
		{" Password = x", false, false, true},
		{"dbname=billing", false, false, true},
		{"billing.db", false, false, false},
		{"dir/a=b.db", false, false, false},
		{"", false, false, false},
	}
	for _, tt := range tests {
		if got := IsPostgresURL(tt.s); got != tt.postgres {
			t.Errorf("IsPostgresURL(%q) = %t", tt.s, got)
		}
		if got := IsSQLiteURL(tt.s); got != tt.sqlite {
			t.Errorf("IsSQLiteURL(%q) = %t", tt.s, got)
		}
		if got := IsKeywordValue(tt.s); got != tt.keywords {
			t.Errorf("IsKeywordValue(%q) = %t", tt.s, got)
		}
	}
}

func TestScheme(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s, scheme string
		ok        bool
	}{
		{"mysql://u:p@h/db", "mysql", true},
		{"mongodb+srv://c/db", "mongodb+srv", true},
		{"a.b-c://x", "a.b-c", true},
		{"u:secret@h://db", "", false},
		{"1abc://x", "", false},
		{"://x", "", false},
		{"billing.db", "", false},
	}
	for _, tt := range tests {
		scheme, ok := Scheme(tt.s)
		if scheme != tt.scheme || ok != tt.ok {
			t.Errorf("Scheme(%q) = %q, %t; want %q, %t", tt.s, scheme, ok, tt.scheme, tt.ok)
		}
	}
}
