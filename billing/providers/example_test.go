package providers_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/providers"
	"github.com/amsbilling/sdk/mock"
)

// An app builds its billing service once at start-up from the environment.
func ExampleNew() {
	cfg, err := billing.LoadConfig(func(k string) (string, bool) {
		// An app passes os.LookupEnv; this example selects the mock.
		if k == billing.EnvServiceClass {
			return "mock", true
		}
		return "", false
	})
	if err != nil {
		log.Fatal(err) // names every bad variable, never a secret
	}
	svc, err := providers.New(cfg, mock.NewStore(), providers.Options{})
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
