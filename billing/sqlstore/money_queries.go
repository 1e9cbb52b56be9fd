package sqlstore

import "strings"

// moneyQueries holds the SQL of money operations, payments, credit notes
// and the invoice's AmountCredited, per dialect. Both dialects take $n
// parameters.
type moneyQueries struct {
	setCredited string

	insertOp        string
	opByKey         string
	opByFingerprint string
	lockOp          string
	claimOp         string
	finishOp        string
	abandonOp       string
	pendingOps      string

	upsertPayment     string
	paymentByID       string
	lockPayment       string
	paymentsOfInvoice string
	invoiceKnown      string

	upsertCredit      string
	creditByID        string
	lockCredit        string
	creditNumberOwner string
	creditsOfInvoice  string
	deleteAllocations string
	insertAllocation  string
	allocationsOf     string
}

// sqliteCredited is {credited} on SQLite: the invoice's row of
// billing_invoice_credits, or 0.
const sqliteCredited = `coalesce((SELECT ic.credited FROM billing_invoice_credits ic WHERE ic.invoice_id = i.id), '0')`

const (
	pgSetCredited     = `UPDATE billing_invoices SET credited = $2 WHERE invoice_number = $1`
	sqliteSetCredited = `INSERT INTO billing_invoice_credits (invoice_id, credited)
	SELECT id, $2 FROM billing_invoices WHERE invoice_number = $1
	ON CONFLICT (invoice_id) DO UPDATE SET credited = excluded.credited`
)

const opColumns = `idempotency_key, fingerprint, kind, params, created_at, lease_until,
	done_at IS NOT NULL, provider_id`

const (
	// ON CONFLICT DO NOTHING covers the key and the fingerprint; on
	// PostgreSQL it waits for a racing insert of either to commit.
	sqlInsertOp = `INSERT INTO billing_money_ops (idempotency_key, fingerprint, kind, params, created_at, lease_until)
	VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`
	sqlSelectOps = `SELECT ` + opColumns + ` FROM billing_money_ops`
	sqlLockOp    = `SELECT id, done_at IS NOT NULL FROM billing_money_ops WHERE idempotency_key = $1`
	sqlClaimOp   = `UPDATE billing_money_ops SET lease_until = $3
	WHERE idempotency_key = $1 AND done_at IS NULL AND (lease_until IS NULL OR lease_until <= $2)`
	sqlFinishOp  = `UPDATE billing_money_ops SET done_at = {now}, provider_id = $2, lease_until = NULL WHERE id = $1`
	sqlAbandonOp = `DELETE FROM billing_money_ops WHERE idempotency_key = $1 AND done_at IS NULL`
	sqlPendingOp = sqlSelectOps + ` WHERE done_at IS NULL ORDER BY created_at {nullsFirst}, id`
)

const paymentColumns = `provider_payment_id, invoice_id, credit_note_id, amount, payment_date,
	reference, account_code, status`

const (
	sqlUpsertPayment = `INSERT INTO billing_payments (` + paymentColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
	ON CONFLICT (provider_payment_id) DO UPDATE SET invoice_id = excluded.invoice_id,
		credit_note_id = excluded.credit_note_id, amount = excluded.amount,
		payment_date = excluded.payment_date, reference = excluded.reference,
		account_code = excluded.account_code, status = excluded.status, updated_at = {now}`
	sqlPaymentByID       = `SELECT ` + paymentColumns + ` FROM billing_payments WHERE provider_payment_id = $1`
	sqlPaymentsOfInvoice = `SELECT ` + paymentColumns + ` FROM billing_payments WHERE invoice_id = $1`
	sqlInvoiceKnown      = `SELECT count(*) FROM billing_invoices WHERE provider_invoice_id = $1`
)

const creditColumns = `c.id, c.provider_credit_note_id, coalesce(c.credit_note_number, ''),
	a.user_id, a.organisation_id, c.contact_id, c.invoice_id, c.reference, c.status,
	c.currency, c.credit_date, c.total, c.remaining`

const selectCredits = `SELECT ` + creditColumns + ` FROM billing_credit_notes c
	LEFT JOIN billing_accounts a ON a.id = c.account_id`

const (
	// A NULL account keeps the one stored.
	sqlUpsertCredit = `INSERT INTO billing_credit_notes (provider_credit_note_id, credit_note_number,
	account_id, contact_id, invoice_id, reference, status, currency, credit_date, total, remaining)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
	ON CONFLICT (provider_credit_note_id) DO UPDATE SET credit_note_number = excluded.credit_note_number,
		account_id = coalesce(excluded.account_id, billing_credit_notes.account_id),
		contact_id = excluded.contact_id, invoice_id = excluded.invoice_id,
		reference = excluded.reference, status = excluded.status, currency = excluded.currency,
		credit_date = excluded.credit_date, total = excluded.total, remaining = excluded.remaining,
		updated_at = {now}
	RETURNING id`
	sqlCreditByID        = selectCredits + ` WHERE c.provider_credit_note_id = $1`
	sqlLockCredit        = `SELECT id FROM billing_credit_notes WHERE provider_credit_note_id = $1`
	sqlCreditNumberOwner = `SELECT provider_credit_note_id FROM billing_credit_notes WHERE credit_note_number = $1`
	sqlCreditsOfInvoice  = selectCredits + ` WHERE c.invoice_id = $1
	OR c.id IN (SELECT credit_note_id FROM billing_credit_allocations WHERE invoice_id = $1)`
	sqlDeleteAllocations = `DELETE FROM billing_credit_allocations WHERE credit_note_id = $1`
	sqlInsertAllocation  = `INSERT INTO billing_credit_allocations (credit_note_id, position, invoice_id, amount, allocated_on)
	VALUES ($1, $2, $3, $4, $5)`
	sqlAllocationsOf = `SELECT invoice_id, amount, allocated_on FROM billing_credit_allocations
	WHERE credit_note_id = $1 ORDER BY position`
)

func moneyQueriesFor(d Dialect, r *strings.Replacer, lockRow string) moneyQueries {
	q := moneyQueries{setCredited: pgSetCredited}
	if d == SQLite {
		q.setCredited = sqliteSetCredited
	}
	q.insertOp = sqlInsertOp
	q.opByKey = sqlSelectOps + ` WHERE idempotency_key = $1`
	q.opByFingerprint = sqlSelectOps + ` WHERE fingerprint = $1`
	q.lockOp = sqlLockOp + lockRow
	q.claimOp = sqlClaimOp
	q.finishOp = r.Replace(sqlFinishOp)
	q.abandonOp = sqlAbandonOp
	q.pendingOps = r.Replace(sqlPendingOp)

	q.upsertPayment = r.Replace(sqlUpsertPayment)
	q.paymentByID = sqlPaymentByID
	q.lockPayment = sqlPaymentByID + lockRow
	q.paymentsOfInvoice = sqlPaymentsOfInvoice
	q.invoiceKnown = sqlInvoiceKnown

	q.upsertCredit = r.Replace(sqlUpsertCredit)
	q.creditByID = sqlCreditByID
	q.lockCredit = sqlLockCredit + lockRow
	q.creditNumberOwner = sqlCreditNumberOwner
	q.creditsOfInvoice = sqlCreditsOfInvoice
	q.deleteAllocations = sqlDeleteAllocations
	q.insertAllocation = sqlInsertAllocation
	q.allocationsOf = sqlAllocationsOf
	return q
}
