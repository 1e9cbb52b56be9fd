package sqlstore_test

import (
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/sqlstore"
	"github.com/amsbilling/sdk/billing/sqlstore/internal/sqltest"
)

// sqliteParams are the settings sqlitestore.Open gives a SQLite DSN.
const sqliteParams = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_txlock=immediate"

func openSQLiteDB(t *testing.T) *sql.DB {
	t.Helper()
	// The "sqlite" driver is registered by sqlitestore, which sqltest links.
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "billing.db")+"?"+sqliteParams)
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	return db
}

func TestNew(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openSQLiteDB(t)
	defer db.Close()

	s, err := sqlstore.New(db, sqlstore.SQLite)
	require.NoError(t, err)
	require.Same(t, db, s.DB())
	require.NoError(t, s.Migrate(ctx))
	_, err = s.LinkContact(ctx, billing.OrganisationAccount("o1"), "c1")
	require.NoError(t, err)

	require.NoError(t, s.Close())
	require.NoError(t, db.PingContext(ctx), "Close closed a *sql.DB the caller owns")

	_, err = sqlstore.New(nil, sqlstore.SQLite)
	require.Error(t, err)
	_, err = sqlstore.New(db, sqlstore.Dialect("mysql"))
	require.ErrorContains(t, err, `unknown dialect "mysql"`)
}

// TestNewOwnDB: with OwnDB the Store's Close closes the *sql.DB.
func TestNewOwnDB(t *testing.T) {
	t.Parallel()
	db := openSQLiteDB(t)
	s, err := sqlstore.New(db, sqlstore.SQLite, sqlstore.OwnDB())
	require.NoError(t, err)
	require.NoError(t, s.Migrate(t.Context()))
	require.NoError(t, s.Close())
	require.ErrorContains(t, db.PingContext(t.Context()), "database is closed")
}

// TestErrorsKeepDriverErrors checks that a store error still unwraps to the
// driver's error for callers that inspect it.
func TestErrorsKeepDriverErrors(t *testing.T) {
	t.Parallel()
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := b.Open(t)
			inv := billing.Invoice{Account: billing.UserAccount("u1"), Number: "INV-1", ProviderID: "p1"}
			require.NoError(t, s.CreateInvoice(t.Context(), inv))
			inv.ProviderID = "p2"
			err := s.CreateInvoice(t.Context(), inv)
			require.ErrorIs(t, err, billing.ErrConflict)
			if b.Name == "postgres" {
				var pgErr *pgconn.PgError
				require.True(t, errors.As(err, &pgErr))
				assert.Equal(t, "23505", pgErr.Code)
			}
		})
	}
}
