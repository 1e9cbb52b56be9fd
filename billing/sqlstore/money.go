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

// setCredited stores a new invoice's AmountCredited, which the insert
// statements leave at 0; nothing to do for an invoice without credit.
func (s *Store) setCredited(ctx context.Context, q querier, inv billing.Invoice) error {
	if inv.Credited.IsZero() {
		return nil
	}
	_, err := q.ExecContext(ctx, s.q.setCredited, inv.Number, moneyArg(inv.Credited))
	return err
}

// ---- money operations ----

// BeginOps implements billing.Store in one transaction, as BeginCreations:
// each operation is inserted unless its key or fingerprint is recorded (ON
// CONFLICT DO NOTHING, which on PostgreSQL waits for a racing insert to
// commit); the operation in force is then read by key, and else by
// fingerprint.
func (s *Store) BeginOps(ctx context.Context, ops []billing.MoneyOp) ([]billing.BegunOp, error) {
	params := make([]string, len(ops))
	for i, op := range ops {
		if op.Key == "" || op.Fingerprint == "" {
			return nil, errors.New("sqlstore: begin money operation: key and fingerprint are required")
		}
		if kind, err := op.Params.Kind(); err != nil || kind != op.Kind {
			return nil, fmt.Errorf("sqlstore: begin money operation %s: kind %q does not match its parameters", op.Key, op.Kind)
		}
		b, err := json.Marshal(op.Params)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: begin money operation %s: %w", op.Key, err)
		}
		params[i] = string(b)
	}
	if len(ops) == 0 {
		return nil, nil
	}
	out := make([]billing.BegunOp, len(ops))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for i, op := range ops {
			res, err := tx.ExecContext(ctx, s.q.insertOp, op.Key, op.Fingerprint, string(op.Kind), params[i],
				s.timeArg(op.CreatedAt), s.timeArg(op.LeaseUntil))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 1 {
				op.CreatedAt, op.LeaseUntil = normTime(op.CreatedAt), normTime(op.LeaseUntil)
				op.Done, op.ProviderID = false, ""
				out[i] = billing.BegunOp{Op: op, New: true}
				continue
			}
			// The key decides first, as for creations.
			found, err := scanOp(tx.QueryRowContext(ctx, s.q.opByKey, op.Key))
			if errors.Is(err, sql.ErrNoRows) {
				found, err = scanOp(tx.QueryRowContext(ctx, s.q.opByFingerprint, op.Fingerprint))
			}
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("money operation %s conflicted but is gone (abandoned meanwhile); try again", op.Key)
			}
			if err != nil {
				return err
			}
			out[i] = billing.BegunOp{Op: found}
			if found.Key == op.Key && found.Fingerprint != op.Fingerprint {
				out[i].Err = fmt.Errorf("%w: idempotency key %q is already used for another operation", billing.ErrConflict, op.Key)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: begin %d money operations: %w", len(ops), err)
	}
	return out, nil
}

func scanOp(row rowScanner) (billing.MoneyOp, error) {
	var (
		op                    billing.MoneyOp
		kind                  string
		params                []byte
		createdAt, leaseUntil time.Time
	)
	if err := row.Scan(&op.Key, &op.Fingerprint, &kind, &params, nullTime{&createdAt}, nullTime{&leaseUntil},
		&op.Done, &op.ProviderID); err != nil {
		return billing.MoneyOp{}, err
	}
	if err := json.Unmarshal(params, &op.Params); err != nil {
		return billing.MoneyOp{}, fmt.Errorf("money operation %s: invalid params: %w", op.Key, err)
	}
	op.Kind = billing.MoneyKind(kind)
	op.CreatedAt, op.LeaseUntil = createdAt, leaseUntil
	return op, nil
}

// ClaimOp implements billing.Store: one conditional UPDATE takes the lease,
// and the operation is read back in the same transaction.
func (s *Store) ClaimOp(ctx context.Context, key string, now time.Time, lease time.Duration) (billing.MoneyOp, bool, error) {
	var (
		op billing.MoneyOp
		ok bool
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q.claimOp, key, s.timeArg(now), s.timeArg(now.Add(lease)))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		ok = n == 1
		op, err = scanOp(tx.QueryRowContext(ctx, s.q.opByKey, key))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: money operation %q", billing.ErrNotFound, key)
		}
		return err
	})
	if errors.Is(err, billing.ErrNotFound) {
		return billing.MoneyOp{}, false, err
	}
	if err != nil {
		return billing.MoneyOp{}, false, fmt.Errorf("sqlstore: claim money operation %s: %w", key, err)
	}
	return op, ok, nil
}

// CompleteOps implements billing.Store: each completion in a transaction of
// its own, which locks the operation first, so one that fails leaves the
// others saved and two resolvers of one operation save it once.
func (s *Store) CompleteOps(ctx context.Context, cs []billing.OpCompletion) ([]billing.OpCompleted, error) {
	out := make([]billing.OpCompleted, len(cs))
	for i, comp := range cs {
		var done billing.OpCompleted
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			var err error
			done, err = s.completeOp(ctx, tx, comp)
			return err
		})
		var rec recordError
		switch {
		case errors.As(err, &rec):
			out[i].Err = rec.error
		case err != nil:
			return nil, fmt.Errorf("sqlstore: complete money operation %s: %w", comp.Key, err)
		default:
			out[i] = done
		}
	}
	return out, nil
}

func (s *Store) completeOp(ctx context.Context, tx *sql.Tx, comp billing.OpCompletion) (billing.OpCompleted, error) {
	var (
		id   int64
		done bool
	)
	err := tx.QueryRowContext(ctx, s.q.lockOp, comp.Key).Scan(&id, &done)
	if errors.Is(err, sql.ErrNoRows) {
		return billing.OpCompleted{}, recordError{fmt.Errorf("%w: money operation %q", billing.ErrNotFound, comp.Key)}
	}
	if err != nil {
		return billing.OpCompleted{}, err
	}
	var out billing.OpCompleted
	if !done {
		for _, p := range comp.Payments {
			if _, err := s.savePayment(ctx, tx, p, false); err != nil {
				return billing.OpCompleted{}, err
			}
		}
		for _, c := range comp.CreditNotes {
			if _, err := s.saveCredit(ctx, tx, c, false); err != nil {
				return billing.OpCompleted{}, err
			}
		}
		out.Invoices = []billing.Saved{}
		if len(comp.Invoices) > 0 {
			if out.Invoices, err = s.saveStates(ctx, tx, comp.Invoices); err != nil {
				return billing.OpCompleted{}, err
			}
		}
		if _, err := tx.ExecContext(ctx, s.q.finishOp, id, comp.ProviderID); err != nil {
			return billing.OpCompleted{}, err
		}
	}
	if out.Op, err = scanOp(tx.QueryRowContext(ctx, s.q.opByKey, comp.Key)); err != nil {
		return billing.OpCompleted{}, err
	}
	return out, nil
}

// AbandonOp implements billing.Store.
func (s *Store) AbandonOp(ctx context.Context, key string) error {
	if _, err := s.db.ExecContext(ctx, s.q.abandonOp, key); err != nil {
		return fmt.Errorf("sqlstore: abandon money operation %s: %w", key, err)
	}
	return nil
}

// PendingOps implements billing.Store.
func (s *Store) PendingOps(ctx context.Context) ([]billing.MoneyOp, error) {
	rows, err := s.db.QueryContext(ctx, s.q.pendingOps)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: pending money operations: %w", err)
	}
	defer rows.Close()
	var out []billing.MoneyOp
	for rows.Next() {
		op, err := scanOp(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: pending money operations: %w", err)
		}
		out = append(out, op)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: pending money operations: %w", err)
	}
	return out, nil
}

// ---- payments ----

func scanPayment(row rowScanner) (billing.Payment, error) {
	var p billing.Payment
	err := row.Scan(&p.ProviderID, &p.InvoiceID, &p.CreditNoteID, money{&p.Amount}, &p.Date,
		&p.Reference, &p.AccountCode, &p.Status)
	return p, err
}

// savePayment writes p on q, a transaction, and says what it did. With
// kept, a payment not stored is saved only when its invoice or credit note
// is (else a recordError of ErrNotFound).
func (s *Store) savePayment(ctx context.Context, q querier, p billing.Payment, kept bool) (billing.SavedPayment, error) {
	if p.ProviderID == "" {
		return billing.SavedPayment{}, recordError{fmt.Errorf("%w: a payment without a provider id", billing.ErrNotFound)}
	}
	before, err := scanPayment(q.QueryRowContext(ctx, s.q.lockPayment, p.ProviderID))
	stored := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return billing.SavedPayment{}, err
	}
	if !stored && kept {
		known, err := s.known(ctx, q, p.InvoiceID, p.CreditNoteID)
		if err != nil {
			return billing.SavedPayment{}, err
		}
		if !known {
			return billing.SavedPayment{}, recordError{fmt.Errorf("%w: payment %q: neither its invoice nor its credit note is stored", billing.ErrNotFound, p.ProviderID)}
		}
	}
	out := billing.SavedPayment{Before: before, After: p, New: !stored, Changed: !stored || !before.Same(p)}
	if !out.Changed {
		out.After = before
		return out, nil
	}
	_, err = q.ExecContext(ctx, s.q.upsertPayment, p.ProviderID, p.InvoiceID, p.CreditNoteID, moneyArg(p.Amount),
		dateArg(p.Date), p.Reference, p.AccountCode, p.Status)
	return out, err
}

// known reports whether the invoice or the credit note with these provider
// ids is stored.
func (s *Store) known(ctx context.Context, q querier, invoiceID, creditNoteID string) (bool, error) {
	if invoiceID != "" {
		var n int64
		if err := q.QueryRowContext(ctx, s.q.invoiceKnown, invoiceID).Scan(&n); err != nil {
			return false, err
		}
		if n > 0 {
			return true, nil
		}
	}
	if creditNoteID != "" {
		var id int64
		err := q.QueryRowContext(ctx, s.q.lockCredit, creditNoteID).Scan(&id)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return false, err
		}
	}
	return false, nil
}

// SavePaymentStates implements billing.Store in one transaction.
func (s *Store) SavePaymentStates(ctx context.Context, ps []billing.Payment) ([]billing.SavedPayment, error) {
	if len(ps) == 0 {
		return nil, nil
	}
	out := make([]billing.SavedPayment, len(ps))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for i, p := range ps {
			saved, err := s.savePayment(ctx, tx, p, true)
			var rec recordError
			switch {
			case errors.As(err, &rec):
				out[i].Err = rec.error
			case err != nil:
				return err
			default:
				out[i] = saved
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: save states of %d payments: %w", len(ps), err)
	}
	return out, nil
}

// PaymentByProviderID implements billing.Store.
func (s *Store) PaymentByProviderID(ctx context.Context, providerID string) (billing.Payment, error) {
	p, err := scanPayment(s.db.QueryRowContext(ctx, s.q.paymentByID, providerID))
	if errors.Is(err, sql.ErrNoRows) || providerID == "" {
		return billing.Payment{}, fmt.Errorf("%w: payment %q", billing.ErrNotFound, providerID)
	}
	if err != nil {
		return billing.Payment{}, fmt.Errorf("sqlstore: payment %q: %w", providerID, err)
	}
	return p, nil
}

// PaymentsOfInvoice implements billing.Store. The order is made here, so it
// is Go's byte order whatever the database's collation.
func (s *Store) PaymentsOfInvoice(ctx context.Context, invoiceID string) ([]billing.Payment, error) {
	if invoiceID == "" {
		return nil, nil
	}
	rows, err := s.db.QueryContext(ctx, s.q.paymentsOfInvoice, invoiceID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: payments of invoice %q: %w", invoiceID, err)
	}
	defer rows.Close()
	var out []billing.Payment
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: payments of invoice %q: %w", invoiceID, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: payments of invoice %q: %w", invoiceID, err)
	}
	slices.SortFunc(out, func(a, b billing.Payment) int {
		return cmp.Or(compareDates(a.Date, b.Date), cmp.Compare(a.ProviderID, b.ProviderID))
	})
	return out, nil
}

func compareDates(a, b billing.Date) int {
	switch {
	case a.Before(b):
		return -1
	case b.Before(a):
		return 1
	}
	return 0
}

// ---- credit notes ----

// scanCredit reads a credit note's row; its allocations are read apart.
func scanCredit(row rowScanner) (int64, billing.CreditNote, error) {
	var (
		id            int64
		c             billing.CreditNote
		userID, orgID sql.NullString
	)
	err := row.Scan(&id, &c.ProviderID, &c.Number, &userID, &orgID, &c.ContactID, &c.InvoiceID,
		&c.Reference, &c.Status, &c.Currency, &c.Date, money{&c.Total}, money{&c.Remaining})
	c.Account = billing.Account{UserID: userID.String, OrganisationID: orgID.String}
	return id, c, err
}

func (s *Store) allocations(ctx context.Context, q querier, id int64) ([]billing.Allocation, error) {
	rows, err := q.QueryContext(ctx, s.q.allocationsOf, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []billing.Allocation
	for rows.Next() {
		var a billing.Allocation
		if err := rows.Scan(&a.InvoiceID, money{&a.Amount}, &a.Date); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// creditBy reads one credit note with its allocations; sql.ErrNoRows when
// there is none.
func (s *Store) creditBy(ctx context.Context, q querier, providerID string) (billing.CreditNote, error) {
	id, c, err := scanCredit(q.QueryRowContext(ctx, s.q.creditByID, providerID))
	if err != nil {
		return billing.CreditNote{}, err
	}
	c.Allocations, err = s.allocations(ctx, q, id)
	return c, err
}

// saveCredit writes c on q, a transaction, with its allocations, and says
// what it did. With kept, a credit note not stored is saved only when an
// invoice it names is. A number another credit note holds is a recordError
// of ErrConflict.
func (s *Store) saveCredit(ctx context.Context, q querier, c billing.CreditNote, kept bool) (billing.SavedCreditNote, error) {
	if c.ProviderID == "" {
		return billing.SavedCreditNote{}, recordError{fmt.Errorf("%w: a credit note without a provider id", billing.ErrNotFound)}
	}
	var lockedID int64
	err := q.QueryRowContext(ctx, s.q.lockCredit, c.ProviderID).Scan(&lockedID)
	stored := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return billing.SavedCreditNote{}, err
	}
	var before billing.CreditNote
	if stored {
		if before, err = s.creditBy(ctx, q, c.ProviderID); err != nil {
			return billing.SavedCreditNote{}, err
		}
	} else if kept {
		known := false
		for _, id := range append([]string{c.InvoiceID}, invoiceIDs(c.Allocations)...) {
			if known, err = s.known(ctx, q, id, ""); err != nil {
				return billing.SavedCreditNote{}, err
			} else if known {
				break
			}
		}
		if !known {
			return billing.SavedCreditNote{}, recordError{fmt.Errorf("%w: credit note %q: none of its invoices is stored", billing.ErrNotFound, c.ProviderID)}
		}
	}
	if c.Number != "" {
		var owner string
		err := q.QueryRowContext(ctx, s.q.creditNumberOwner, c.Number).Scan(&owner)
		if err == nil && owner != c.ProviderID {
			return billing.SavedCreditNote{}, recordError{fmt.Errorf("%w: credit note number %q is taken", billing.ErrConflict, c.Number)}
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return billing.SavedCreditNote{}, err
		}
	}
	// A zero Account and an empty InvoiceID keep the stored ones.
	after := c
	if after.Account == (billing.Account{}) {
		after.Account = before.Account
	}
	if after.InvoiceID == "" {
		after.InvoiceID = before.InvoiceID
	}
	out := billing.SavedCreditNote{Before: before, After: after, New: !stored, Changed: !stored || !before.Same(after) || before.Account != after.Account}
	if !out.Changed {
		return out, nil
	}
	var accountID any
	if c.Account != (billing.Account{}) {
		if err := c.Account.Validate(); err != nil {
			return billing.SavedCreditNote{}, recordError{err}
		}
		if accountID, err = s.ensureAccount(ctx, q, c.Account); err != nil {
			return billing.SavedCreditNote{}, err
		}
	}
	var id int64
	err = q.QueryRowContext(ctx, s.q.upsertCredit, c.ProviderID, nullString(c.Number), accountID, c.ContactID,
		after.InvoiceID, c.Reference, c.Status, c.Currency, dateArg(c.Date), moneyArg(c.Total), moneyArg(c.Remaining)).Scan(&id)
	if s.dialect.isUniqueViolation(err) {
		return billing.SavedCreditNote{}, recordError{fmt.Errorf("%w: credit note number %q is taken: %w", billing.ErrConflict, c.Number, err)}
	}
	if err != nil {
		return billing.SavedCreditNote{}, err
	}
	if _, err := q.ExecContext(ctx, s.q.deleteAllocations, id); err != nil {
		return billing.SavedCreditNote{}, err
	}
	for k, a := range c.Allocations {
		if _, err := q.ExecContext(ctx, s.q.insertAllocation, id, k, a.InvoiceID, moneyArg(a.Amount), dateArg(a.Date)); err != nil {
			return billing.SavedCreditNote{}, err
		}
	}
	return out, nil
}

func invoiceIDs(as []billing.Allocation) []string {
	ids := make([]string, len(as))
	for i, a := range as {
		ids[i] = a.InvoiceID
	}
	return ids
}

// SaveCreditNoteStates implements billing.Store in one transaction.
func (s *Store) SaveCreditNoteStates(ctx context.Context, cs []billing.CreditNote) ([]billing.SavedCreditNote, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	out := make([]billing.SavedCreditNote, len(cs))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for i, c := range cs {
			saved, err := s.saveCredit(ctx, tx, c, true)
			var rec recordError
			switch {
			case errors.As(err, &rec):
				out[i].Err = rec.error
			case err != nil:
				return err
			default:
				out[i] = saved
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: save states of %d credit notes: %w", len(cs), err)
	}
	return out, nil
}

// CreditNoteByProviderID implements billing.Store.
func (s *Store) CreditNoteByProviderID(ctx context.Context, providerID string) (billing.CreditNote, error) {
	if providerID == "" {
		return billing.CreditNote{}, fmt.Errorf("%w: empty credit note id", billing.ErrNotFound)
	}
	c, err := s.creditBy(ctx, s.db, providerID)
	if errors.Is(err, sql.ErrNoRows) {
		return billing.CreditNote{}, fmt.Errorf("%w: credit note %q", billing.ErrNotFound, providerID)
	}
	if err != nil {
		return billing.CreditNote{}, fmt.Errorf("sqlstore: credit note %q: %w", providerID, err)
	}
	return c, nil
}

// CreditNotesOfInvoice implements billing.Store.
func (s *Store) CreditNotesOfInvoice(ctx context.Context, invoiceID string) ([]billing.CreditNote, error) {
	if invoiceID == "" {
		return nil, nil
	}
	out, err := s.creditsOfInvoice(ctx, invoiceID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: credit notes of invoice %q: %w", invoiceID, err)
	}
	slices.SortFunc(out, func(a, b billing.CreditNote) int {
		return cmp.Or(compareDates(a.Date, b.Date), cmp.Compare(a.ProviderID, b.ProviderID))
	})
	return out, nil
}

func (s *Store) creditsOfInvoice(ctx context.Context, invoiceID string) ([]billing.CreditNote, error) {
	rows, err := s.db.QueryContext(ctx, s.q.creditsOfInvoice, invoiceID)
	if err != nil {
		return nil, err
	}
	var (
		ids []int64
		out []billing.CreditNote
	)
	for rows.Next() {
		id, c, err := scanCredit(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		ids, out = append(ids, id), append(out, c)
	}
	// Closed before the allocations are read: a SQLite store has one
	// connection.
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	for i, id := range ids {
		if out[i].Allocations, err = s.allocations(ctx, s.db, id); err != nil {
			return nil, err
		}
	}
	return out, nil
}
