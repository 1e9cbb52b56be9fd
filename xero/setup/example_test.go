package setup_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/xero/setup"
)

// An app builds its billing service once at start-up from the environment.
// This one lets the environment select the test doubles, so it opts in with
// Mocks; a production app leaves Mocks nil and links none of them.
func ExampleNew() {
	cfg, err := setup.LoadConfig(func(k string) (string, bool) {
		// An app passes os.LookupEnv; this example selects the mock.
		if k == setup.EnvServiceClass {
			return "mock", true
		}
		return "", false
	})
	if err != nil {
		log.Fatal(err) // names every bad variable, never a secret
	}
	svc, err := setup.New(cfg, mock.NewStore(), setup.Options{Mocks: mock.Provide})
	switch {
	case errors.Is(err, billing.ErrNoService):
		fmt.Println("billing is switched off")
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Printf("billing with %s: %T\n", cfg.Provider, svc)
	}
	// Output: billing with mock: *mock.BillingService
}

// An app loads the configuration once at start-up, from the same variables
// AMS documents. A bad configuration names every variable at fault.
func ExampleLoadConfig() {
	env := map[string]string{
		"AMS_BILLING_SERVICE_CLASS": "xero",
		"XERO_CLIENT_ID":            "91E5715B1199038080D6D0296EBC1648",
		"XERO_CLIENT_SECRET":        "not-printed",
		"XERO_AMOUNT_TYPE":          "GROSS",
	}
	_, err := setup.LoadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	fmt.Println(errors.Is(err, billing.ErrInvalidConfig))
	fmt.Println(err)
	// Output:
	// true
	// billing: invalid configuration:
	// XERO_TENANT_ID: required when AMS_BILLING_SERVICE_CLASS selects Xero
	// XERO_ACCOUNT_CODE: required when AMS_BILLING_SERVICE_CLASS selects Xero
	// XERO_CURRENCY_CODE: required when AMS_BILLING_SERVICE_CLASS selects Xero
	// XERO_WEBHOOK_KEY: required when AMS_BILLING_SERVICE_CLASS selects Xero
	// XERO_AMOUNT_TYPE: "GROSS" is not INCLUSIVE, EXCLUSIVE or NOTAX
}

func ExampleParseProvider() {
	for _, s := range []string{"ams.billing.providers.xero.XeroBillingService", "mock-xero", ""} {
		p, err := setup.ParseProvider(s)
		fmt.Printf("%q -> %q %v\n", s, p, err)
	}
	// Output:
	// "ams.billing.providers.xero.XeroBillingService" -> "xero" <nil>
	// "mock-xero" -> "mock-xero" <nil>
	// "" -> "" <nil>
}
