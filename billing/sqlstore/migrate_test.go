package sqlstore_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/sqlstore"
	"github.com/amsbilling/sdk/billing/sqlstore/internal/sqltest"
)

// newestVersion is the version of the newest embedded migration.
const newestVersion = 5

func TestMigrateTwice(t *testing.T) {
	t.Parallel()
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := b.Open(t)
			_, err := s.LinkContact(ctx, billing.UserAccount("u1"), "c1")
			require.NoError(t, err)

			require.NoError(t, s.Migrate(ctx))
			require.NoError(t, s.Migrate(ctx))
			again := b.Reopen(t, s) // migrates on open
			require.NoError(t, again.Migrate(ctx))

			link, err := again.ContactLink(ctx, billing.UserAccount("u1"))
			require.NoError(t, err, "migrating again lost data")
			assert.Equal(t, "c1", link.ContactID)
			assert.Equal(t, newestVersion, sqltest.Scalar[int](t, s.DB(), "SELECT max(version_id) FROM "+sqlstore.VersionTable))
		})
	}
}

func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			first := b.Open(t, sqltest.WithoutMigrate)
			const n = 4
			stores := []*sqlstore.Store{first}
			for range n - 1 {
				stores = append(stores, b.Reopen(t, first, sqltest.WithoutMigrate))
			}
			errs := make([]error, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i, s := range stores {
				wg.Go(func() {
					<-start
					errs[i] = s.Migrate(ctx)
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				require.NoError(t, err, "store %d", i)
			}
			for _, s := range stores {
				_, err := s.LinkContact(ctx, billing.UserAccount("u1"), "c1")
				require.NoError(t, err)
			}
		})
	}
}

func TestMigrateSchemaTooNew(t *testing.T) {
	t.Parallel()
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := b.Open(t)
			// A newer release of this package migrated the database.
			_, err := s.DB().ExecContext(ctx, "INSERT INTO "+sqlstore.VersionTable+" (version_id, is_applied) VALUES (42, TRUE)")
			require.NoError(t, err)

			err = s.Migrate(ctx)
			require.ErrorIs(t, err, sqlstore.ErrSchemaTooNew)
			assert.Contains(t, err.Error(), "database is at version 42")
			assert.Contains(t, err.Error(), fmt.Sprintf("up to %d", newestVersion))

			s2, err := b.OpenAgain(t, s)
			require.ErrorIs(t, err, sqlstore.ErrSchemaTooNew, "Open migrates and must refuse too")
			assert.Nil(t, s2)
		})
	}
}

func TestWithoutMigrate(t *testing.T) {
	t.Parallel()
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := b.Open(t, sqltest.WithoutMigrate)
			_, err := s.LinkContact(ctx, billing.UserAccount("u1"), "c1")
			require.Error(t, err, "tables exist without migrating")

			require.NoError(t, s.Migrate(ctx))
			_, err = s.LinkContact(ctx, billing.UserAccount("u1"), "c1")
			require.NoError(t, err)
		})
	}
}
