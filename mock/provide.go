package mock

import (
	"fmt"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/xero"
	"github.com/amsbilling/sdk/xero/setup"
)

var _ setup.Mocks = Provide

// Provide builds the test double p names: BillingService for
// setup.ProviderMock, XeroBillingService (with cfg's account code, amount
// type, currency, email settings and webhook key) for
// setup.ProviderMockXero. An app opts into environment-selected mocks with
// setup.Options{Mocks: mock.Provide}.
func Provide(p setup.Provider, cfg xero.Config, store billing.Store, svcOpts ...xero.ServiceOption) (billing.Service, error) {
	switch p {
	case setup.ProviderMock:
		return NewBillingService(store), nil
	case setup.ProviderMockXero:
		return NewXeroBillingService(store, WithXeroConfig(cfg), WithServiceOptions(svcOpts...))
	}
	return nil, fmt.Errorf("mock: %q is not a test double", p)
}
