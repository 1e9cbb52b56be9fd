package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/amsbilling/sdk/billing"
)

// timeArg is t as a query argument: NULL for the zero time, else t cut to
// the microsecond, as TIMESTAMPTZ (PostgreSQL) or unix microseconds (SQLite).
// Cutting it here rather than letting PostgreSQL round makes both dialects
// store the same value.
func (s *Store) timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	if s.dialect == SQLite {
		return t.UnixMicro()
	}
	return t.UTC().Truncate(time.Microsecond)
}

// nullTime scans a TIMESTAMPTZ or an INTEGER of unix microseconds, as UTC;
// NULL is the zero time.
type nullTime struct{ t *time.Time }

func (n nullTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*n.t = time.Time{}
	case time.Time:
		*n.t = v.UTC()
	case int64:
		*n.t = time.UnixMicro(v).UTC()
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a time", src)
	}
	return nil
}

// idsArg is a list of provider ids as the single parameter $1 of the
// dialect's {ids} condition: a text[] for PostgreSQL, a JSON array for
// SQLite. Empty ids are dropped; ok is false when none remain.
func (s *Store) idsArg(ids []string) (arg any, ok bool, err error) {
	kept := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" {
			kept = append(kept, id)
		}
	}
	if len(kept) == 0 {
		return nil, false, nil
	}
	if s.dialect == Postgres {
		return kept, true, nil
	}
	b, err := json.Marshal(kept)
	if err != nil {
		return nil, false, err
	}
	return string(b), true, nil
}

// nullString is s as a query argument, NULL when empty.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// moneyArg is d in an exact text form: NUMERIC parses it without loss and
// SQLite keeps it as TEXT.
func moneyArg(d decimal.Decimal) string { return d.String() }

// money scans an exact decimal from text (NUMERIC arrives as text too).
type money struct{ d *decimal.Decimal }

func (m money) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	case int64:
		// Only from a database written by something else: an INTEGER is exact.
		*m.d = decimal.NewFromInt(v)
		return nil
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into an amount", src)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return fmt.Errorf("sqlstore: invalid amount %q: %w", s, err)
	}
	*m.d = d
	return nil
}

func dateArg(d billing.Date) any {
	if d.IsZero() {
		return nil
	}
	return d.String()
}

type rowScanner interface{ Scan(dest ...any) error }

func scanInvoice(row rowScanner) (billing.Invoice, error) {
	var (
		inv           billing.Invoice
		userID, orgID sql.NullString
		providerID    sql.NullString
		attempts      int64
	)
	err := row.Scan(&userID, &orgID, &inv.Number, &providerID,
		&inv.Reference, &inv.Status, &inv.Currency, &inv.IssueDate, &inv.DueDate, &inv.PaidDate,
		money{&inv.Amount}, money{&inv.Paid}, money{&inv.Due}, money{&inv.Credited},
		&inv.UpdateNeeded, nullTime{&inv.UpdateRequestedAt}, &attempts, &inv.UpdateError, &inv.SetAside)
	if err != nil {
		return billing.Invoice{}, err
	}
	inv.Account = billing.Account{UserID: userID.String, OrganisationID: orgID.String}
	inv.ProviderID = providerID.String
	inv.UpdateAttempts = int(attempts)
	return inv, nil
}

// The driver errors isUniqueViolation recognises, by their methods, so this
// package imports neither driver: pgx's *pgconn.PgError has SQLState, and
// modernc.org/sqlite's *sqlite.Error has Code (an extended result code).
type (
	sqlStateError interface {
		error
		SQLState() string
	}
	sqliteCodeError interface {
		error
		Code() int
	}
)

// The codes of a unique constraint violation.
const (
	pgUniqueViolation          = "23505" // unique_violation
	sqliteConstraintPrimaryKey = 1555    // SQLITE_CONSTRAINT_PRIMARYKEY
	sqliteConstraintUnique     = 2067    // SQLITE_CONSTRAINT_UNIQUE
)

// isUniqueViolation reports whether err is a unique constraint violation
// reported by the driver of dialect d.
func (d Dialect) isUniqueViolation(err error) bool {
	switch d {
	case Postgres:
		if e, ok := errors.AsType[sqlStateError](err); ok {
			return e.SQLState() == pgUniqueViolation
		}
	case SQLite:
		if e, ok := errors.AsType[sqliteCodeError](err); ok {
			return e.Code() == sqliteConstraintUnique || e.Code() == sqliteConstraintPrimaryKey
		}
	}
	return false
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// inTx runs fn in a read-write transaction and commits it if fn succeeds.
// On SQLite (opened by sqlitestore.Open) the transaction begins with BEGIN
// IMMEDIATE.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, ignoreDone(tx.Rollback()))
	}
	return tx.Commit()
}

// ignoreDone drops the error of rolling back a transaction database/sql has
// already rolled back (its context ended).
func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}
