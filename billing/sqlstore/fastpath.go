package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/amsbilling/sdk/billing"
)

// PostgreSQL fast paths for the one-invoice creation an app makes most: a
// single statement (atomic on its own) where the general path needs a
// transaction of several. When the statement cannot settle the case (the
// creation exists already, the invoice's number is taken...) it changes
// nothing and the general path runs.

// sqlBeginOne records a new creation for an account already stored (one
// with a contact link, as CreateInvoice needs) in one statement; it affects
// no row when the key or fingerprint is taken or the account is new, and
// the general path then runs. (It does not create the account itself: a
// concurrent insert of the same account would be invisible to the
// statement's snapshot.)
const sqlBeginOne = `INSERT INTO billing_creations (idempotency_key, fingerprint, account_id, contact_id, params, created_at, lease_until)
SELECT $3, $4, a.id, $5, $6::jsonb, $7::timestamptz, $8::timestamptz
FROM billing_accounts a WHERE a.user_id = $1 OR a.organisation_id = $2
ON CONFLICT DO NOTHING`

// beginOne tries sqlBeginOne; new reports whether it recorded c.
func (s *Store) beginOne(ctx context.Context, c billing.Creation) (begun billing.Begun, ok bool, err error) {
	params, err := json.Marshal(c.Params)
	if err != nil {
		return billing.Begun{}, false, err
	}
	res, err := s.db.ExecContext(ctx, sqlBeginOne, nullString(c.Account.UserID), nullString(c.Account.OrganisationID),
		c.Key, c.Fingerprint, c.ContactID, string(params), s.timeArg(c.CreatedAt), s.timeArg(c.LeaseUntil))
	if err != nil {
		return billing.Begun{}, false, err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return billing.Begun{}, false, err
	}
	c.CreatedAt, c.LeaseUntil = normTime(c.CreatedAt), normTime(c.LeaseUntil)
	c.InvoiceNumber, c.ProviderID = "", ""
	return billing.Begun{Creation: c, New: true}, true, nil
}

// sqlCompleteOne saves a new invoice for a pending creation and marks the
// creation done, in one statement; it affects nothing when the creation is
// not pending or the invoice's number or provider id is taken.
const sqlCompleteOne = `WITH c AS (
	SELECT id, account_id FROM billing_creations
	WHERE idempotency_key = $1 AND invoice_id IS NULL FOR UPDATE
), ins AS (
	INSERT INTO billing_invoices (account_id, invoice_number, provider_invoice_id,
		reference, status, currency, issue_date, due_date, paid_date, amount, paid, due,
		update_needed, update_requested_at, update_attempts, update_error, set_aside)
	SELECT c.account_id, $2, $3, $4, $5, $6, $7::date, $8::date, $9::date, $10::numeric, $11::numeric, $12::numeric,
		$13::boolean, $14::timestamptz, $15::integer, $16, $17::boolean
	FROM c
	ON CONFLICT DO NOTHING
	RETURNING id
), fin AS (
	UPDATE billing_creations SET invoice_id = ins.id, lease_until = NULL, done_at = now()
	FROM ins, c WHERE billing_creations.id = c.id
	RETURNING billing_creations.account_id
)
SELECT count(*), max(a.user_id), max(a.organisation_id) FROM fin JOIN billing_accounts a ON a.id = fin.account_id`

// completeCreationFast tries sqlCompleteOne for a completion whose states agree (no
// event to record) and that has no credit yet; ok reports whether it saved it.
func (s *Store) completeCreationFast(ctx context.Context, comp billing.Completion) (inv billing.Invoice, ok bool, err error) {
	created := comp.Created
	if created.ProviderID == "" || !created.SameProviderState(comp.Current) || !created.Credited.IsZero() {
		return billing.Invoice{}, false, nil
	}
	var (
		n         int
		user, org sql.NullString
	)
	err = s.db.QueryRowContext(ctx, sqlCompleteOne, comp.Key,
		created.Number, created.ProviderID, created.Reference, created.Status, created.Currency,
		dateArg(created.IssueDate), dateArg(created.DueDate), dateArg(created.PaidDate),
		moneyArg(created.Amount), moneyArg(created.Paid), moneyArg(created.Due),
		created.UpdateNeeded, s.timeArg(created.UpdateRequestedAt), created.UpdateAttempts,
		created.UpdateError, created.SetAside).Scan(&n, &user, &org)
	if err != nil || n != 1 {
		return billing.Invoice{}, false, err
	}
	// The row as stored: Created, under the creation's account.
	inv = created
	inv.Account = billing.Account{UserID: user.String, OrganisationID: org.String}
	inv.UpdateRequestedAt = normTime(inv.UpdateRequestedAt)
	return inv, true, nil
}
