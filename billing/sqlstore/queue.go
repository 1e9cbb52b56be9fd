package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/amsbilling/sdk/billing"
)

// ---- events ----

// ClaimEvents implements billing.Store with one statement that selects and
// leases the events (sqlClaimableEvents). On PostgreSQL the selection is
// FOR UPDATE SKIP LOCKED and commits on its own, so no lock outlives the
// call; on SQLite the statement runs under the single write lock.
func (s *Store) ClaimEvents(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]billing.InvoiceEvent, error) {
	if limit <= 0 {
		return nil, nil
	}
	if lease <= 0 {
		return nil, fmt.Errorf("sqlstore: claim events: lease %s is not positive", lease)
	}
	evs, err := s.queryEvents(ctx, s.q.claimEvents, s.timeArg(now), limit, s.timeArg(now.Add(lease)))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim events: %w", err)
	}
	return evs, nil
}

// EventDelivered implements billing.Store.
func (s *Store) EventDelivered(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	arg, ok, err := s.idsArg(ids)
	if err != nil || !ok {
		return err
	}
	if _, err := s.db.ExecContext(ctx, s.q.eventDelivered, arg); err != nil {
		return fmt.Errorf("sqlstore: %d events delivered: %w", len(ids), err)
	}
	return nil
}

// EventFailed implements billing.Store. ErrNotFound for an unknown id.
func (s *Store) EventFailed(ctx context.Context, id, reason string, retryAt time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q.eventFailed, id, reason, s.timeArg(retryAt))
	if err != nil {
		return fmt.Errorf("sqlstore: event %s failed: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: event %s failed: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: event %q", billing.ErrNotFound, id)
	}
	return nil
}

// PendingEvents implements billing.Store.
func (s *Store) PendingEvents(ctx context.Context, limit int) ([]billing.InvoiceEvent, error) {
	query, args := s.q.pendingEvents, []any(nil)
	if limit > 0 {
		query, args = s.q.pendingLimited, []any{limit}
	}
	evs, err := s.queryEvents(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: pending events: %w", err)
	}
	return evs, nil
}

// queryEvents runs a query of eventColumns and returns the events oldest
// first (RETURNING has no order).
func (s *Store) queryEvents(ctx context.Context, query string, args ...any) ([]billing.InvoiceEvent, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type seqEvent struct {
		seq int64
		ev  billing.InvoiceEvent
	}
	var out []seqEvent
	for rows.Next() {
		var (
			e             seqEvent
			before, after []byte
			attempts      int64
		)
		err := rows.Scan(&e.seq, &e.ev.ID, &before, &after, nullTime{&e.ev.CreatedAt},
			&attempts, &e.ev.LastError, nullTime{&e.ev.NextAttemptAt}, &e.ev.NextWaiting)
		if err != nil {
			return nil, err
		}
		if e.ev.Change.Before, err = decodeInvoice(before); err != nil {
			return nil, err
		}
		if e.ev.Change.After, err = decodeInvoice(after); err != nil {
			return nil, err
		}
		e.ev.Change.EventID = e.ev.ID
		e.ev.Attempts = int(attempts)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b seqEvent) int { return cmp.Compare(a.seq, b.seq) })
	evs := make([]billing.InvoiceEvent, len(out))
	for i, e := range out {
		evs[i] = e.ev
	}
	return evs, nil
}

// ---- creations ----

// BeginCreations implements billing.Store in one transaction. Each creation
// is inserted unless its key or fingerprint is recorded (ON CONFLICT DO
// NOTHING, which on PostgreSQL waits for a racing insert to commit); the
// creation in force is then read by key, and else by fingerprint. On
// PostgreSQL, a batch whose accounts are all stored (as a bulk run's are:
// each has a contact link) is one statement instead (pgBeginCreations).
func (s *Store) BeginCreations(ctx context.Context, cs []billing.Creation) ([]billing.Begun, error) {
	params := make([]string, len(cs))
	for i, c := range cs {
		if err := c.Account.Validate(); err != nil {
			return nil, err
		}
		if c.Key == "" || c.Fingerprint == "" {
			return nil, errors.New("sqlstore: begin creation: key and fingerprint are required")
		}
		b, err := json.Marshal(c.Params)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: begin creation %s: %w", c.Key, err)
		}
		params[i] = string(b)
	}
	if len(cs) == 0 {
		return nil, nil
	}
	if s.dialect == Postgres && len(cs) == 1 {
		b, ok, err := s.beginOne(ctx, cs[0])
		if err != nil {
			return nil, fmt.Errorf("sqlstore: begin creation %s: %w", cs[0].Key, err)
		}
		if ok {
			return []billing.Begun{b}, nil
		}
	}
	if s.dialect == Postgres && len(cs) > 1 {
		out, ok, err := s.pgBeginMany(ctx, cs, params)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: begin %d creations: %w", len(cs), err)
		}
		if ok {
			return out, nil
		}
	}
	out := make([]billing.Begun, len(cs))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for i, c := range cs {
			accountID, err := s.ensureAccount(ctx, tx, c.Account)
			if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, s.q.insertCreation, c.Key, c.Fingerprint, accountID,
				c.ContactID, params[i], s.timeArg(c.CreatedAt), s.timeArg(c.LeaseUntil))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 1 {
				c.CreatedAt, c.LeaseUntil = normTime(c.CreatedAt), normTime(c.LeaseUntil)
				c.InvoiceNumber, c.ProviderID = "", ""
				out[i] = billing.Begun{Creation: c, New: true}
				continue
			}
			// The key decides first: reused for another fingerprint, it is a
			// conflict whatever holds the fingerprint.
			found, err := s.creationBy(ctx, tx, s.q.creationByKey, c.Key)
			if errors.Is(err, sql.ErrNoRows) {
				found, err = s.creationBy(ctx, tx, s.q.creationByFingerprint, c.Fingerprint)
			}
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("creation %s conflicted but is gone (abandoned meanwhile); try again", c.Key)
			}
			if err != nil {
				return err
			}
			out[i] = billing.Begun{Creation: found}
			if found.Key == c.Key && found.Fingerprint != c.Fingerprint {
				out[i].Err = fmt.Errorf("%w: idempotency key %q is already used for another invoice", billing.ErrConflict, c.Key)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: begin %d creations: %w", len(cs), err)
	}
	return out, nil
}

// normTime is t as the store returns it: UTC, to the microsecond.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

func (s *Store) creationBy(ctx context.Context, q querier, query, arg string) (billing.Creation, error) {
	return scanCreation(q.QueryRowContext(ctx, query, arg))
}

func scanCreation(row rowScanner) (billing.Creation, error) {
	var (
		c                     billing.Creation
		userID, orgID         sql.NullString
		number, providerID    sql.NullString
		params                []byte
		createdAt, leaseUntil time.Time
	)
	err := row.Scan(&c.Key, &c.Fingerprint, &userID, &orgID, &c.ContactID, &params,
		nullTime{&createdAt}, nullTime{&leaseUntil}, &number, &providerID)
	if err != nil {
		return billing.Creation{}, err
	}
	if err := json.Unmarshal(params, &c.Params); err != nil {
		return billing.Creation{}, fmt.Errorf("creation %s: invalid params: %w", c.Key, err)
	}
	c.Account = billing.Account{UserID: userID.String, OrganisationID: orgID.String}
	c.CreatedAt, c.LeaseUntil = createdAt, leaseUntil
	c.InvoiceNumber, c.ProviderID = number.String, providerID.String
	return c, nil
}

// ClaimCreation implements billing.Store: one conditional UPDATE takes the
// lease, and the creation is read back in the same transaction.
func (s *Store) ClaimCreation(ctx context.Context, key string, now time.Time, lease time.Duration) (billing.Creation, bool, error) {
	var (
		c  billing.Creation
		ok bool
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q.claimCreation, key, s.timeArg(now), s.timeArg(now.Add(lease)))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		ok = n == 1
		c, err = s.creationBy(ctx, tx, s.q.creationByKey, key)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: creation %q", billing.ErrNotFound, key)
		}
		return err
	})
	if errors.Is(err, billing.ErrNotFound) {
		return billing.Creation{}, false, err
	}
	if err != nil {
		return billing.Creation{}, false, fmt.Errorf("sqlstore: claim creation %s: %w", key, err)
	}
	return c, ok, nil
}

// CompleteCreations implements billing.Store: each completion in a
// transaction of its own, so one that fails leaves the others saved. On
// PostgreSQL the completions with nothing to record but the invoice (the
// usual case) are saved first, all in one statement (pgCompleteMany).
func (s *Store) CompleteCreations(ctx context.Context, cs []billing.Completion) ([]billing.Completed, error) {
	out := make([]billing.Completed, len(cs))
	done := make([]bool, len(cs))  // saved by the batch statement
	tried := make([]bool, len(cs)) // the batch statement took it
	if idx := batchable(cs); s.dialect == Postgres && len(idx) > 1 {
		if err := s.pgCompleteMany(ctx, cs, idx, out, done); err != nil {
			return nil, fmt.Errorf("sqlstore: complete %d creations: %w", len(idx), err)
		}
		for _, i := range idx {
			tried[i] = true
		}
	}
	for i, comp := range cs {
		if done[i] {
			continue
		}
		if s.dialect == Postgres && !tried[i] {
			inv, ok, err := s.completeCreationFast(ctx, comp)
			if err != nil {
				return nil, fmt.Errorf("sqlstore: complete creation %s: %w", comp.Key, err)
			}
			if ok {
				out[i].Invoice = inv
				continue
			}
		}
		inv, err := s.completeCreation(ctx, comp)
		var rec recordError
		switch {
		case errors.As(err, &rec):
			out[i].Err = rec.error
		case err != nil:
			return nil, fmt.Errorf("sqlstore: complete creation %s: %w", comp.Key, err)
		default:
			out[i].Invoice = inv
		}
	}
	return out, nil
}

// recordError is a completion's own failure, reported in Completed.Err.
type recordError struct{ error }

// completeCreation locks the creation, then: a done creation yields its
// invoice; otherwise the invoice with Created's provider id is adopted, or
// Created is inserted, Current's state is saved over it (with its event when
// they differ), and the creation is marked done.
func (s *Store) completeCreation(ctx context.Context, comp billing.Completion) (billing.Invoice, error) {
	var inv billing.Invoice
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var (
			id, accountID int64
			invoiceID     sql.NullInt64
		)
		err := tx.QueryRowContext(ctx, s.q.lockCreation, comp.Key).Scan(&id, &accountID, &invoiceID)
		if errors.Is(err, sql.ErrNoRows) {
			return recordError{fmt.Errorf("%w: creation %q", billing.ErrNotFound, comp.Key)}
		}
		if err != nil {
			return err
		}
		if invoiceID.Valid {
			inv, err = scanInvoice(tx.QueryRowContext(ctx, s.q.invoiceByID, invoiceID.Int64))
			return err
		}
		created := comp.Created
		if created.ProviderID == "" {
			return recordError{fmt.Errorf("sqlstore: complete creation %s: the created invoice has no provider id", comp.Key)}
		}
		var rowID int64
		err = tx.QueryRowContext(ctx, s.q.lockInvoiceID, created.ProviderID).Scan(&rowID)
		if errors.Is(err, sql.ErrNoRows) {
			err = tx.QueryRowContext(ctx, s.q.insertInvoiceID,
				accountID, created.Number, created.ProviderID,
				created.Reference, created.Status, created.Currency,
				dateArg(created.IssueDate), dateArg(created.DueDate), dateArg(created.PaidDate),
				moneyArg(created.Amount), moneyArg(created.Paid), moneyArg(created.Due),
				created.UpdateNeeded, s.timeArg(created.UpdateRequestedAt), created.UpdateAttempts,
				created.UpdateError, created.SetAside).Scan(&rowID)
			if s.dialect.isUniqueViolation(err) {
				return recordError{fmt.Errorf("%w: invoice number %q or provider id %q is taken: %w",
					billing.ErrConflict, created.Number, created.ProviderID, err)}
			}
			if err == nil {
				err = s.setCredited(ctx, tx, created)
			}
		}
		if err != nil {
			return err
		}
		current := created.WithProviderState(comp.Current)
		saved, err := s.saveStates(ctx, tx, []billing.Invoice{current})
		if err != nil {
			return err
		}
		if saved[0].Err != nil {
			return saved[0].Err
		}
		if _, err := tx.ExecContext(ctx, s.q.finishCreation, id, rowID); err != nil {
			return err
		}
		inv = saved[0].After
		return nil
	})
	return inv, err
}

// AbandonCreation implements billing.Store.
func (s *Store) AbandonCreation(ctx context.Context, key string) error {
	if _, err := s.db.ExecContext(ctx, s.q.abandonCreation, key); err != nil {
		return fmt.Errorf("sqlstore: abandon creation %s: %w", key, err)
	}
	return nil
}

// PendingCreations implements billing.Store.
func (s *Store) PendingCreations(ctx context.Context) ([]billing.Creation, error) {
	rows, err := s.db.QueryContext(ctx, s.q.pendingCreations)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: pending creations: %w", err)
	}
	defer rows.Close()
	var out []billing.Creation
	for rows.Next() {
		c, err := scanCreation(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: pending creations: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: pending creations: %w", err)
	}
	return out, nil
}

// ---- sweep ----

// SweepMark implements billing.Store.
func (s *Store) SweepMark(ctx context.Context, name string) (time.Time, error) {
	var t time.Time
	err := s.db.QueryRowContext(ctx, s.q.sweepMark, name).Scan(nullTime{&t})
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("sqlstore: sweep mark %q: %w", name, err)
	}
	return t, nil
}

// SetSweepMark implements billing.Store.
func (s *Store) SetSweepMark(ctx context.Context, name string, t time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.q.setSweepMark, name, s.timeArg(t)); err != nil {
		return fmt.Errorf("sqlstore: set sweep mark %q: %w", name, err)
	}
	return nil
}

// OpenInvoices implements billing.Store. The ids are sorted here, in Go's
// byte order, whatever the database's collation.
func (s *Store) OpenInvoices(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q.openInvoices)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open invoices: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlstore: open invoices: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: open invoices: %w", err)
	}
	slices.Sort(ids)
	return ids, nil
}

// EarliestIssueDate implements billing.Store.
func (s *Store) EarliestIssueDate(ctx context.Context) (billing.Date, error) {
	var d billing.Date
	if err := s.db.QueryRowContext(ctx, s.q.earliestIssueDate).Scan(&d); err != nil {
		return billing.Date{}, fmt.Errorf("sqlstore: earliest issue date: %w", err)
	}
	return d, nil
}
