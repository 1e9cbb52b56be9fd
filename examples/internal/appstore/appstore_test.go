package appstore

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/sqlstore"
	"github.com/amsbilling/sdk/xero/setup"
)

func TestOpenDefault(t *testing.T) {
	// Not parallel: changes the working directory.
	t.Chdir(t.TempDir())
	s, err := Open(t.Context(), setup.Config{})
	require.NoError(t, err)
	defer s.Close()
	assert.Equal(t, sqlstore.SQLite, s.Dialect())
	assert.FileExists(t, DefaultURL)
}

// TestOpenUnsupported: a command exits 2 for an unsupported database URL,
// as for any other bad setting.
func TestOpenUnsupported(t *testing.T) {
	t.Parallel()
	s, err := Open(t.Context(), setup.Config{DatabaseURL: "mysql://app:s3cr3t@db/app"})
	require.Error(t, err)
	assert.Nil(t, s)
	assert.True(t, errors.Is(err, billing.ErrInvalidConfig), "%v", err)
	assert.Contains(t, err.Error(), setup.EnvDatabaseURL)
	assert.NotContains(t, err.Error(), "s3cr3t")
}
