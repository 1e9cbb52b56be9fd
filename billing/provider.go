package billing

import (
	"fmt"
	"strings"
)

// Provider names the billing service an app uses.
type Provider string

const (
	// ProviderNone means no billing service is configured; the app decides
	// what that means (the seed's apps hide billing features).
	ProviderNone Provider = ""
	// ProviderXero is Xero's Accounting API through a Custom Connection.
	ProviderXero Provider = "xero"
	// ProviderMock is a generic in-memory service that calls nothing.
	ProviderMock Provider = "mock"
	// ProviderMockXero is the real Xero code path against the in-process
	// Xero emulator.
	ProviderMockXero Provider = "mock-xero"
)

// ParseProvider reads AMS_BILLING_SERVICE_CLASS: a short name (xero, mock,
// mock-xero) or one of the seed's dotted class names, such as
// "ams.billing.providers.xero.XeroBillingService". Empty means ProviderNone.
func ParseProvider(s string) (Provider, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "", "none":
		return ProviderNone, nil
	case "xero":
		return ProviderXero, nil
	case "mock":
		return ProviderMock, nil
	case "mock-xero", "mockxero", "mock_xero":
		return ProviderMockXero, nil
	}
	// Dotted class names: only the class matters, so a renamed module path
	// in an old deployment still works.
	if i := strings.LastIndexByte(s, '.'); i > 0 {
		switch s[i+1:] {
		case "XeroBillingService":
			return ProviderXero, nil
		case "MockXeroBillingService":
			return ProviderMockXero, nil
		case "MockBillingService":
			return ProviderMock, nil
		}
	}
	return ProviderNone, fmt.Errorf("unknown billing service %q: want xero, mock, mock-xero or a class name ending in XeroBillingService, MockXeroBillingService or MockBillingService", s)
}
