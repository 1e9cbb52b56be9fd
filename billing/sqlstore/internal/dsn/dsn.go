package dsn

import "strings"

// HasScheme reports whether s starts with scheme followed by "://", in any
// letter case.
func HasScheme(s, scheme string) bool {
	prefix := scheme + "://"
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// IsPostgresURL reports whether s is a postgres:// or postgresql:// URL.
func IsPostgresURL(s string) bool { return HasScheme(s, "postgres") || HasScheme(s, "postgresql") }

// IsSQLiteURL reports whether s starts with "sqlite:" (any letter case):
// sqlite:///abs, sqlite://rel, sqlite:rel or sqlite::memory:.
func IsSQLiteURL(s string) bool {
	const prefix = "sqlite:"
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// libpqKeywords are the connection parameters that open a PostgreSQL
// keyword/value string ("host=db user=app password=... dbname=billing").
var libpqKeywords = []string{
	"host", "hostaddr", "port", "dbname", "user", "password", "passfile",
	"sslmode", "service", "connect_timeout", "application_name",
}

// IsKeywordValue reports whether s starts like a libpq keyword/value
// connection string. Such a string is never to be taken for a SQLite file
// name, which would put its password in a file name on disk.
func IsKeywordValue(s string) bool {
	key, _, ok := strings.Cut(strings.TrimSpace(s), "=")
	if !ok {
		return false
	}
	key = strings.ToLower(strings.TrimSpace(key))
	for _, k := range libpqKeywords {
		if key == k {
			return true
		}
	}
	return false
}

// Scheme returns what comes before "://" in s, and whether there is such a
// part that is a well-formed URL scheme (a letter, then letters, digits, '+',
// '-' or '.'). Only a well-formed scheme is safe to quote in an error: any
// other text before "://" may hold credentials.
func Scheme(s string) (scheme string, ok bool) {
	scheme, _, found := strings.Cut(s, "://")
	if !found || scheme == "" {
		return "", false
	}
	for i, r := range scheme {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
		case i > 0 && ('0' <= r && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return "", false
		}
	}
	return scheme, true
}
