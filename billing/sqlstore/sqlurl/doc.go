// Package sqlurl opens the [sqlstore.Store] a database URL names, the way
// the example programs read BILLING_DATABASE_URL: postgres:// and
// postgresql:// URLs and libpq keyword/value strings with [pgstore.Open],
// and sqlite: URLs, file: URIs and plain file paths with [sqlitestore.Open].
//
//	store, err := sqlurl.Open(ctx, cfg.DatabaseURL)
//	if errors.Is(err, billing.ErrInvalidConfig) {
//		// not a database URL this SDK supports, e.g. mysql://...
//	}
//
// Choosing at run time means linking both drivers, pgx and
// modernc.org/sqlite. An app that always uses one database imports [pgstore]
// or [sqlitestore] instead and links only that driver; those packages
// also take the options (a PostgreSQL schema, the pool size, skipping
// migrations) that Open leaves at their defaults.
package sqlurl
