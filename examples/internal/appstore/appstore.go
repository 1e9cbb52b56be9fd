package appstore

import (
	"context"

	"github.com/amsbilling/sdk/billing/sqlstore"
	"github.com/amsbilling/sdk/billing/sqlstore/sqlurl"
	"github.com/amsbilling/sdk/xero/setup"
)

// DefaultURL is the SQLite file in the working directory used when
// BILLING_DATABASE_URL is unset.
const DefaultURL = "billing.db"

// Open opens cfg.DatabaseURL, or DefaultURL when it is empty, and migrates it.
// The URL picks PostgreSQL or SQLite (see sqlurl.Open), so the examples link
// both drivers. A URL of an unsupported kind (mysql://...) is an error
// wrapping billing.ErrInvalidConfig.
func Open(ctx context.Context, cfg setup.Config) (*sqlstore.Store, error) {
	url := cfg.DatabaseURL
	if url == "" {
		url = DefaultURL
	}
	return sqlurl.Open(ctx, url)
}
