package billing_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
)

// failingProvider fails every invoice with err, in a call that works.
type failingProvider struct {
	mock.BillingService
	err error
}

func (*failingProvider) Simulated() bool { return false }

func (f *failingProvider) UpdateInvoices(_ context.Context, ids []string) (billing.UpdateResult, error) {
	res := billing.UpdateResult{Failed: map[string]error{}}
	for _, id := range ids {
		res.Failed[id] = f.err
	}
	return res, nil
}

// An invoice the provider sends but nobody can read is set aside alone,
// since the provider answered with it; an invoice failing for another
// reason in a run where the provider returned nothing is not, as before.
func TestFetchSetsAsideALoneUnreadableInvoice(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		setAway bool
	}{
		{"unreadable", fmt.Errorf("xero: invoice prov-000: %w: year 1 is outside 1900-9999", billing.ErrUnreadable), true},
		{"another failure", errors.New("xero: no such invoice"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := mock.NewStore()
			seed(t, store, 1)
			o := opts()
			o.MaxAttempts = 1
			res, err := billing.FetchInvoiceUpdates(context.Background(), &failingProvider{err: tt.err}, store, o)
			require.Error(t, err)
			require.Len(t, res.Failed, 1)
			assert.Equal(t, tt.setAway, res.Failed[0].SetAside)
			aside, err := store.SetAsideInvoices(context.Background())
			require.NoError(t, err)
			assert.Equal(t, tt.setAway, len(aside) == 1)
		})
	}
}
