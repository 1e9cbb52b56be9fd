package urlcheck

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/var/lib/app/billing.db", "/var/lib/app/billing.db"},
		{"postgres://app:pw@db/billing?sslmode=require", "postgres://app:xxxxx@db/billing?sslmode=require"},
		{"postgres://db/billing?user=app&password=dbpassword&sslmode=require", "postgres://db/billing?user=app&password=[REDACTED]&sslmode=require"},
		{"host=db user=app password='db password' dbname=billing", "host=db user=app password=[REDACTED] dbname=billing"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Redact(tt.in), tt.in)
	}
}

func TestAbsolute(t *testing.T) {
	for s, ok := range map[string]bool{"https://api.xero.com/x": true, "http://127.0.0.1:1/": true, "ftp://x": false, "/path": false, "https://u:p@h/": false, "https://": false} {
		_, err := Absolute(s)
		assert.Equal(t, ok, err == nil, s)
	}
}
