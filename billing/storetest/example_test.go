package storetest_test

import (
	"testing"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/storetest"
	"github.com/amsbilling/sdk/mock"
)

// conformance is what a store's own test calls; name it TestXxx there.
func conformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) billing.Store {
		// Return a new, empty store; register cleanup with t.Cleanup.
		return mock.NewStore()
	})
}

// Run from a test in the store's package. The whole file is the example.
func ExampleRun() {
	_ = conformance
}
