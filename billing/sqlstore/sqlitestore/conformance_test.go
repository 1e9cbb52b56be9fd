package sqlitestore_test

import (
	"testing"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/sqlstore/internal/sqltest"
	"github.com/amsbilling/sdk/billing/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	b := sqltest.SQLite()
	storetest.Run(t, func(t *testing.T) billing.Store { return b.Open(t) })
}
