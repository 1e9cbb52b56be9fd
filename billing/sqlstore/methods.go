package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/amsbilling/sdk/billing"
)

// LinkContact implements billing.Store. The account row and the link are
// each inserted only if absent (ON CONFLICT DO NOTHING), then the link in
// force is read back, so racing callers, in any process, all get the first
// committed link.
func (s *Store) LinkContact(ctx context.Context, account billing.Account, contactID string) (billing.ContactLink, error) {
	if err := account.Validate(); err != nil {
		return billing.ContactLink{}, err
	}
	if contactID == "" {
		return billing.ContactLink{}, errors.New("sqlstore: link contact: empty contact id")
	}
	inForce := billing.ContactLink{Account: account}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		accountID, err := s.ensureAccount(ctx, tx, account)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q.insertLink, accountID, contactID); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, s.q.linkByAccount, accountID).Scan(&inForce.ContactID, &inForce.Fingerprint, &inForce.Email)
	})
	if err != nil {
		return billing.ContactLink{}, fmt.Errorf("sqlstore: link contact of %s: %w", account, err)
	}
	return inForce, nil
}

// ensureAccount creates the account row unless it exists and returns its id.
func (s *Store) ensureAccount(ctx context.Context, q querier, a billing.Account) (int64, error) {
	if _, err := q.ExecContext(ctx, s.q.insertAccount, nullString(a.UserID), nullString(a.OrganisationID)); err != nil {
		return 0, err
	}
	query := s.q.accountIDUser
	if a.UserID == "" {
		query = s.q.accountIDOrg
	}
	var id int64
	err := q.QueryRowContext(ctx, query, a.OwnerID()).Scan(&id)
	return id, err
}

// ContactLink implements billing.Store.
func (s *Store) ContactLink(ctx context.Context, account billing.Account) (billing.ContactLink, error) {
	if err := account.Validate(); err != nil {
		return billing.ContactLink{}, err
	}
	query := s.q.linkByUser
	if account.UserID == "" {
		query = s.q.linkByOrg
	}
	link := billing.ContactLink{Account: account}
	err := s.db.QueryRowContext(ctx, query, account.OwnerID()).Scan(&link.ContactID, &link.Fingerprint, &link.Email)
	if errors.Is(err, sql.ErrNoRows) {
		return billing.ContactLink{}, fmt.Errorf("%w: no contact link for %s", billing.ErrNotFound, account)
	}
	if err != nil {
		return billing.ContactLink{}, fmt.Errorf("sqlstore: contact link of %s: %w", account, err)
	}
	return link, nil
}

// RecordContactSync implements billing.Store with one statement that writes
// only where the account has a link.
func (s *Store) RecordContactSync(ctx context.Context, account billing.Account, fingerprint, email string) error {
	if err := account.Validate(); err != nil {
		return err
	}
	query := s.q.recordSyncUser
	if account.UserID == "" {
		query = s.q.recordSyncOrg
	}
	res, err := s.db.ExecContext(ctx, query, account.OwnerID(), fingerprint, email)
	if err != nil {
		return fmt.Errorf("sqlstore: record contact sync of %s: %w", account, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: record contact sync of %s: %w", account, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: no contact link for %s", billing.ErrNotFound, account)
	}
	return nil
}

// CreateInvoice implements billing.Store. The account is created on demand,
// in the same transaction.
func (s *Store) CreateInvoice(ctx context.Context, inv billing.Invoice) error {
	if err := inv.Account.Validate(); err != nil {
		return err
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		accountID, err := s.ensureAccount(ctx, tx, inv.Account)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q.insertInvoice,
			accountID, inv.Number, nullString(inv.ProviderID),
			inv.Reference, inv.Status, inv.Currency,
			dateArg(inv.IssueDate), dateArg(inv.DueDate), dateArg(inv.PaidDate),
			moneyArg(inv.Amount), moneyArg(inv.Paid), moneyArg(inv.Due),
			inv.UpdateNeeded, s.timeArg(inv.UpdateRequestedAt), inv.UpdateAttempts, inv.UpdateError, inv.SetAside)
		if err != nil {
			return err
		}
		return s.setCredited(ctx, tx, inv)
	})
	if s.dialect.isUniqueViolation(err) {
		return fmt.Errorf("%w: invoice number %q or provider id %q is taken: %w", billing.ErrConflict, inv.Number, inv.ProviderID, err)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create invoice %q: %w", inv.Number, err)
	}
	return nil
}

// InvoiceByNumber implements billing.Store.
func (s *Store) InvoiceByNumber(ctx context.Context, number string) (billing.Invoice, error) {
	inv, err := scanInvoice(s.db.QueryRowContext(ctx, s.q.invoiceByNum, number))
	if errors.Is(err, sql.ErrNoRows) {
		return billing.Invoice{}, fmt.Errorf("%w: invoice number %q", billing.ErrNotFound, number)
	}
	if err != nil {
		return billing.Invoice{}, fmt.Errorf("sqlstore: invoice %q: %w", number, err)
	}
	return inv, nil
}

// InvoiceByProviderID implements billing.Store.
func (s *Store) InvoiceByProviderID(ctx context.Context, providerID string) (billing.Invoice, error) {
	if providerID == "" {
		return billing.Invoice{}, fmt.Errorf("%w: empty provider invoice id", billing.ErrNotFound)
	}
	return s.invoiceByPID(ctx, s.db, s.q.invoiceByPID, providerID)
}

func (s *Store) invoiceByPID(ctx context.Context, q querier, query, providerID string) (billing.Invoice, error) {
	inv, err := scanInvoice(q.QueryRowContext(ctx, query, providerID))
	if errors.Is(err, sql.ErrNoRows) {
		return billing.Invoice{}, fmt.Errorf("%w: provider invoice id %q", billing.ErrNotFound, providerID)
	}
	if err != nil {
		return billing.Invoice{}, fmt.Errorf("sqlstore: invoice with provider id %q: %w", providerID, err)
	}
	return inv, nil
}

// SaveInvoiceState implements billing.Store: SaveInvoiceStates of one
// invoice, so one statement on PostgreSQL.
func (s *Store) SaveInvoiceState(ctx context.Context, inv billing.Invoice) (before, after billing.Invoice, err error) {
	saved, err := s.SaveInvoiceStates(ctx, []billing.Invoice{inv})
	if err != nil {
		return billing.Invoice{}, billing.Invoice{}, err
	}
	if saved[0].Err != nil {
		return billing.Invoice{}, billing.Invoice{}, saved[0].Err
	}
	return saved[0].Before, saved[0].After, nil
}

// MarkUpdateNeeded implements billing.Store with one statement, so all the
// invoices are marked or none. The token rule (a mark never reuses or goes
// below the stored time) is computed by the database, atomically with the
// write: GREATEST(at, stored + 1µs) on PostgreSQL, the same with integer
// microseconds on SQLite. On PostgreSQL concurrent calls share that
// statement and its commit (markGroup): each returns once the statement
// holding its ids committed, or with the statement's error.
func (s *Store) MarkUpdateNeeded(ctx context.Context, providerIDs []string, at time.Time) (int, error) {
	if at.IsZero() {
		return 0, errors.New("sqlstore: mark update needed: zero time")
	}
	if s.dialect == Postgres {
		if !pgTimeInRange(at) {
			return 0, fmt.Errorf("sqlstore: mark update needed: time %s is outside PostgreSQL's range", at.Format(time.RFC3339Nano))
		}
		return s.markGrouped(ctx, providerIDs, at)
	}
	ids, ok, err := s.idsArg(providerIDs)
	if err != nil || !ok {
		return 0, err
	}
	res, err := s.db.ExecContext(ctx, s.q.mark, ids, s.timeArg(at))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: mark %d invoices: %w", len(providerIDs), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: mark %d invoices: %w", len(providerIDs), err)
	}
	return int(n), nil
}

// ClaimUpdates implements billing.Store with one statement that selects and
// leases the invoices. On PostgreSQL the selection is FOR UPDATE SKIP LOCKED
// and the statement commits before ClaimUpdates returns, so no lock is held
// while the caller talks to the provider; on SQLite the statement runs under
// the database's single write lock.
func (s *Store) ClaimUpdates(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]billing.Claim, error) {
	if limit <= 0 {
		return nil, nil
	}
	if lease <= 0 {
		return nil, fmt.Errorf("sqlstore: claim updates: lease %s is not positive", lease)
	}
	rows, err := s.db.QueryContext(ctx, s.q.claim, s.timeArg(now), limit, s.timeArg(now.Add(lease)))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim updates: %w", err)
	}
	defer rows.Close()
	var claims []billing.Claim
	for rows.Next() {
		var (
			c        billing.Claim
			attempts int64
		)
		if err := rows.Scan(&c.ProviderID, &c.Number, nullTime{&c.RequestedAt}, &attempts); err != nil {
			return nil, fmt.Errorf("sqlstore: claim updates: %w", err)
		}
		c.Attempts = int(attempts)
		claims = append(claims, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: claim updates: %w", err)
	}
	// RETURNING has no order; restore the claim order.
	slices.SortFunc(claims, func(a, b billing.Claim) int {
		return cmp.Or(a.RequestedAt.Compare(b.RequestedAt), cmp.Compare(a.Number, b.Number))
	})
	return claims, nil
}

// CompleteUpdate implements billing.Store. The flag is cleared only
// WHERE provider_invoice_id = $1 AND update_requested_at = the claim's token;
// otherwise only the lease ends.
func (s *Store) CompleteUpdate(ctx context.Context, c billing.Claim) (bool, error) {
	if c.ProviderID == "" {
		return false, fmt.Errorf("%w: empty provider invoice id", billing.ErrNotFound)
	}
	cleared, err := s.completeOne(ctx, s.db, c)
	if err != nil && !errors.Is(err, billing.ErrNotFound) {
		return false, fmt.Errorf("sqlstore: complete update of %q: %w", c.ProviderID, err)
	}
	return cleared, err
}

// completeOne ends one claim on q: at most two statements.
func (s *Store) completeOne(ctx context.Context, q querier, c billing.Claim) (bool, error) {
	res, err := q.ExecContext(ctx, s.q.complete, c.ProviderID, s.timeArg(c.RequestedAt))
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, err
	} else if n > 0 {
		return true, nil
	}
	// Marked again since the claim (or cleared already): end the lease only.
	res, err = q.ExecContext(ctx, s.q.endLease, c.ProviderID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	if n == 0 {
		return false, fmt.Errorf("%w: provider invoice id %q", billing.ErrNotFound, c.ProviderID)
	}
	return false, nil
}

// FailUpdate implements billing.Store: one UPDATE records the failure if the
// claim's token is still current and always ends the lease; the invoice is
// read back in the same transaction.
func (s *Store) FailUpdate(ctx context.Context, c billing.Claim, reason string, maxAttempts int) (billing.Invoice, error) {
	if c.ProviderID == "" {
		return billing.Invoice{}, fmt.Errorf("%w: empty provider invoice id", billing.ErrNotFound)
	}
	var saved billing.Invoice
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q.fail, c.ProviderID, s.timeArg(c.RequestedAt), reason, maxAttempts)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("%w: provider invoice id %q", billing.ErrNotFound, c.ProviderID)
		}
		saved, err = s.invoiceByPID(ctx, tx, s.q.invoiceByPID, c.ProviderID)
		return err
	})
	if errors.Is(err, billing.ErrNotFound) {
		return billing.Invoice{}, err
	}
	if err != nil {
		return billing.Invoice{}, fmt.Errorf("sqlstore: fail update of %q: %w", c.ProviderID, err)
	}
	return saved, nil
}

// ReleaseClaims implements billing.Store with one UPDATE.
func (s *Store) ReleaseClaims(ctx context.Context, claims []billing.Claim) error {
	ids := make([]string, len(claims))
	for i, c := range claims {
		ids[i] = c.ProviderID
	}
	arg, ok, err := s.idsArg(ids)
	if err != nil || !ok {
		return err
	}
	if _, err := s.db.ExecContext(ctx, s.q.release, arg); err != nil {
		return fmt.Errorf("sqlstore: release %d claims: %w", len(claims), err)
	}
	return nil
}

// SetAsideInvoices implements billing.Store.
func (s *Store) SetAsideInvoices(ctx context.Context) ([]billing.Invoice, error) {
	rows, err := s.db.QueryContext(ctx, s.q.setAsideList)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: set-aside invoices: %w", err)
	}
	defer rows.Close()
	var invs []billing.Invoice
	for rows.Next() {
		inv, err := scanInvoice(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: set-aside invoices: %w", err)
		}
		invs = append(invs, inv)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: set-aside invoices: %w", err)
	}
	return invs, nil
}

var _ billing.MarkCounter = (*Store)(nil)

// CountMarked implements billing.MarkCounter.
func (s *Store) CountMarked(ctx context.Context) (int, time.Time, error) {
	var (
		n      int64
		oldest time.Time
	)
	err := s.db.QueryRowContext(ctx, `SELECT count(*), min(update_requested_at) FROM billing_invoices
		WHERE update_needed AND NOT set_aside`).Scan(&n, nullTime{&oldest})
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("sqlstore: counting marked invoices: %w", err)
	}
	return int(n), oldest, nil
}
