package billing_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/amsbilling/sdk/billing"
)

func TestAccountValidate(t *testing.T) {
	assert.NoError(t, billing.UserAccount("u").Validate())
	assert.NoError(t, billing.OrganisationAccount("o").Validate())
	assert.ErrorIs(t, billing.Account{}.Validate(), billing.ErrInvalidAccount)
	assert.ErrorIs(t, billing.Account{UserID: "u", OrganisationID: "o"}.Validate(), billing.ErrInvalidAccount)
}

func TestIsTemporary(t *testing.T) {
	assert.False(t, billing.IsTemporary(nil))
	assert.False(t, billing.IsTemporary(errors.New("boom")))
	assert.True(t, billing.IsTemporary(fmt.Errorf("wrapped: %w", errTemp{})))
	assert.False(t, billing.IsTemporary(billing.ErrNotFound))
}

type errTemp struct{}

func (errTemp) Error() string   { return "temporary" }
func (errTemp) Temporary() bool { return true }
