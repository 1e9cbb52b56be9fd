package pgstore_test

import (
	"testing"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/sqlstore/internal/sqltest"
	"github.com/amsbilling/sdk/billing/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	sqltest.PostgresURL(t)
	b := sqltest.Postgres()
	storetest.Run(t, func(t *testing.T) billing.Store { return b.Open(t) })
}
