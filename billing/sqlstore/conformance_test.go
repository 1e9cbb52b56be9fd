package sqlstore

import (
	"testing"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/storetest"
)

func TestConformanceSQLite(t *testing.T) {
	t.Parallel()
	b := sqliteBackend()
	storetest.Run(t, func(t *testing.T) billing.Store { return b.open(t) })
}

func TestConformancePostgres(t *testing.T) {
	t.Parallel()
	postgresURL(t)
	b := postgresBackend()
	storetest.Run(t, func(t *testing.T) billing.Store { return b.open(t) })
}
