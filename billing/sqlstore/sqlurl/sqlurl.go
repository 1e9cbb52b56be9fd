package sqlurl

import (
	"context"
	"fmt"
	"strings"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/sqlstore"
	"github.com/amsbilling/sdk/billing/sqlstore/internal/dsn"
	"github.com/amsbilling/sdk/billing/sqlstore/pgstore"
	"github.com/amsbilling/sdk/billing/sqlstore/sqlitestore"
)

// envDatabaseURL is the variable apps read the URL from (xero/setup).
const envDatabaseURL = "BILLING_DATABASE_URL"

// want lists the forms Open accepts, for its errors.
const want = "want postgres://, postgresql://, a libpq keyword/value string, sqlite: or a file path"

// Open opens the database rawURL names with pgstore.Open or
// sqlitestore.Open, with their defaults (migrations applied, the default
// connection pool), and returns a Store that owns its connections; Close it
// when done.
//
// rawURL selects the database:
//
//	postgres://user:pass@host:5432/db?sslmode=disable  PostgreSQL (also postgresql://)
//	host=db user=app password=... dbname=billing       PostgreSQL, libpq keyword/value form
//	sqlite:///var/lib/app/billing.db                   SQLite file, absolute path
//	sqlite://billing.db or sqlite:billing.db           SQLite file, relative path
//	sqlite::memory: or :memory:                        SQLite in memory, gone on Close
//	file:billing.db?mode=rwc                           SQLite URI filename
//	/var/lib/app/billing.db or billing.db              SQLite file (any other string without "://")
//
// An empty rawURL or one with another scheme (mysql://...) is an error that
// wraps billing.ErrInvalidConfig and names BILLING_DATABASE_URL, the
// variable the URL usually comes from. Errors never contain the URL's
// password.
func Open(ctx context.Context, rawURL string) (*sqlstore.Store, error) {
	switch {
	case strings.TrimSpace(rawURL) == "":
		return nil, fmt.Errorf("%w: %s: empty database URL: %s", billing.ErrInvalidConfig, envDatabaseURL, want)
	case dsn.IsPostgresURL(rawURL) || dsn.IsKeywordValue(rawURL):
		return pgstore.Open(ctx, rawURL)
	case dsn.IsSQLiteURL(rawURL) || strings.HasPrefix(rawURL, "file:") || !strings.Contains(rawURL, "://"):
		return sqlitestore.Open(ctx, rawURL)
	}
	if scheme, ok := dsn.Scheme(rawURL); ok {
		return nil, fmt.Errorf("%w: %s: unsupported database URL scheme %q: %s", billing.ErrInvalidConfig, envDatabaseURL, scheme, want)
	}
	// What precedes "://" is no scheme and may hold credentials: quote none of it.
	return nil, fmt.Errorf("%w: %s: unsupported database URL: %s", billing.ErrInvalidConfig, envDatabaseURL, want)
}
