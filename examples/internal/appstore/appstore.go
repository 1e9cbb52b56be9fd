package appstore

import (
	"context"

	"github.com/amsbilling/sdk/billing/sqlstore"
	"github.com/amsbilling/sdk/xero/setup"
)

// DefaultURL is the SQLite file in the working directory used when
// BILLING_DATABASE_URL is unset.
const DefaultURL = "billing.db"

// Open opens cfg.DatabaseURL, or DefaultURL when it is empty, and migrates it.
func Open(ctx context.Context, cfg setup.Config) (*sqlstore.Store, error) {
	url := cfg.DatabaseURL
	if url == "" {
		url = DefaultURL
	}
	return sqlstore.Open(ctx, url)
}
