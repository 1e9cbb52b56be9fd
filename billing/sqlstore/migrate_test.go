package sqlstore

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
)

// newestVersion is the version of the newest embedded migration.
const newestVersion = 1

func TestMigrateTwice(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := b.open(t)
			_, err := s.LinkContact(ctx, billing.UserAccount("u1"), "c1")
			require.NoError(t, err)

			require.NoError(t, s.Migrate(ctx))
			require.NoError(t, s.Migrate(ctx))
			again := b.reopen(t, s) // migrates on open
			require.NoError(t, again.Migrate(ctx))

			link, err := again.ContactLink(ctx, billing.UserAccount("u1"))
			require.NoError(t, err, "migrating again lost data")
			assert.Equal(t, "c1", link.ContactID)
			assert.Equal(t, newestVersion, scalar[int](t, s.DB(), "SELECT max(version_id) FROM "+versionTable))
		})
	}
}

func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			first := b.open(t, WithoutMigrate())
			const n = 4
			stores := []*Store{first}
			for range n - 1 {
				stores = append(stores, b.reopen(t, first, WithoutMigrate()))
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
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := b.open(t)
			// A newer release of this package migrated the database.
			_, err := s.DB().ExecContext(ctx, "INSERT INTO "+versionTable+" (version_id, is_applied) VALUES (42, TRUE)")
			require.NoError(t, err)

			err = s.Migrate(ctx)
			require.ErrorIs(t, err, ErrSchemaTooNew)
			assert.Contains(t, err.Error(), "database is at version 42")
			assert.Contains(t, err.Error(), "up to 1")

			w := b.where(t, s)
			s2, err := Open(ctx, w.url, w.opts...)
			require.ErrorIs(t, err, ErrSchemaTooNew, "Open migrates and must refuse too")
			assert.Nil(t, s2)
		})
	}
}

func TestWithoutMigrate(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := b.open(t, WithoutMigrate())
			_, err := s.LinkContact(ctx, billing.UserAccount("u1"), "c1")
			require.Error(t, err, "tables exist without migrating")

			require.NoError(t, s.Migrate(ctx))
			_, err = s.LinkContact(ctx, billing.UserAccount("u1"), "c1")
			require.NoError(t, err)
		})
	}
}
