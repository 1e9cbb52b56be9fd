package sqlstore

import "strings"

// queries holds the SQL of one dialect. Both dialects take $n parameters.
type queries struct {
	queueQueries
	bulkQueries
	moneyQueries
	creditMarkQueries

	insertAccount string
	accountIDUser string
	accountIDOrg  string
	insertLink    string
	linkByAccount string
	linkByUser    string
	linkByOrg     string
	insertInvoice string
	invoiceByNum  string
	invoiceByPID  string
	lockInvoice   string // invoiceByPID, locking the row until the transaction ends
	saveState     string
	mark          string
	claim         string
	complete      string
	endLease      string
	fail          string
	release       string
	setAsideList  string
}

const invoiceColumns = `a.user_id, a.organisation_id, i.invoice_number, i.provider_invoice_id,
	i.reference, i.status, i.currency, i.issue_date, i.due_date, i.paid_date,
	i.amount, i.paid, i.due, {credited},
	i.update_needed, i.update_requested_at, i.update_attempts, i.update_error, i.set_aside`

const selectInvoices = `SELECT ` + invoiceColumns + `
	FROM billing_invoices i JOIN billing_accounts a ON a.id = i.account_id`

// Shared SQL. {credited} is the invoice's AmountCredited (a column on
// PostgreSQL, a table of its own on SQLite: see its migration 00004), {now} is the dialect's current time, {ids} a condition on
// provider_invoice_id matching the list in parameter $1, {nullsFirst} the
// dialect's way to sort a missing mark time before all others.
const (
	sqlInsertAccount = `INSERT INTO billing_accounts (user_id, organisation_id) VALUES ($1, $2)
	ON CONFLICT DO NOTHING`
	sqlAccountIDUser = `SELECT id FROM billing_accounts WHERE user_id = $1`
	sqlAccountIDOrg  = `SELECT id FROM billing_accounts WHERE organisation_id = $1`
	sqlInsertLink    = `INSERT INTO billing_contact_links (account_id, contact_id) VALUES ($1, $2)
	ON CONFLICT (account_id) DO NOTHING`
	// {link} is the link's columns: contact id, sync fingerprint and email.
	// {syncs} joins where SQLite keeps the sync (PostgreSQL: nothing).
	sqlLinkByAccount = `SELECT {link} FROM billing_contact_links l {syncs} WHERE l.account_id = $1`
	sqlLinkByUser    = `SELECT {link} FROM billing_contact_links l {syncs}
	JOIN billing_accounts a ON a.id = l.account_id WHERE a.user_id = $1`
	sqlLinkByOrg = `SELECT {link} FROM billing_contact_links l {syncs}
	JOIN billing_accounts a ON a.id = l.account_id WHERE a.organisation_id = $1`

	sqlInsertInvoice = `INSERT INTO billing_invoices (account_id, invoice_number, provider_invoice_id,
	reference, status, currency, issue_date, due_date, paid_date, amount, paid, due,
	update_needed, update_requested_at, update_attempts, update_error, set_aside)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`

	sqlSaveState = `UPDATE billing_invoices SET reference = $2, status = $3, currency = $4,
	issue_date = $5, due_date = $6, paid_date = $7, amount = $8, paid = $9, due = $10,
	updated_at = {now}
	WHERE provider_invoice_id = $1`

	// The claim token is compared with IS NOT DISTINCT FROM so an invoice
	// created flagged but without a mark time can be completed too.
	sqlComplete = `UPDATE billing_invoices SET update_needed = FALSE, update_attempts = 0,
	update_error = '', set_aside = FALSE, claimed_until = NULL, updated_at = {now}
	WHERE provider_invoice_id = $1 AND update_needed
	AND update_requested_at IS NOT DISTINCT FROM $2`
	sqlEndLease = `UPDATE billing_invoices SET claimed_until = NULL WHERE provider_invoice_id = $1`

	// A failure counts only while the claim's mark is the latest one; a
	// newer mark has reset the counters and only the lease ends.
	sqlFail = `UPDATE billing_invoices SET
	update_attempts = CASE WHEN update_needed AND update_requested_at IS NOT DISTINCT FROM $2
		THEN update_attempts + 1 ELSE update_attempts END,
	update_error = CASE WHEN update_needed AND update_requested_at IS NOT DISTINCT FROM $2
		THEN $3 ELSE update_error END,
	set_aside = CASE WHEN update_needed AND update_requested_at IS NOT DISTINCT FROM $2
		AND $4 > 0 AND update_attempts + 1 >= $4 THEN TRUE ELSE set_aside END,
	claimed_until = NULL, updated_at = {now}
	WHERE provider_invoice_id = $1`

	sqlSetAsideList = selectInvoices + ` WHERE i.set_aside
	ORDER BY i.update_requested_at {nullsFirst}, i.invoice_number`
)

// PostgreSQL: statements that change several rows lock them in id order
// first, so two of them never wait for each other in a cycle (deadlock).
const (
	pgIDs = `provider_invoice_id = ANY($1::text[])`

	// pgMark is one round of grouped marks (see markGroup): parallel
	// arrays of provider id, mark time and caller, each caller's ids
	// distinct, callers in arrival order. For an invoice that k marks of
	// the round name, the token is the one those marks leave applied one
	// after another: GREATEST(stored + k µs, each mark's time + 1 µs per
	// later mark). GREATEST ignores NULL, so on a first mark the stored
	// time counts for nothing. It returns how many invoices each caller
	// marked; a caller that marked none is absent.
	pgMark = `WITH u AS (
		SELECT u.pid, u.at, u.caller, u.ord
		FROM unnest($1::text[], $2::timestamptz[], $3::int[]) WITH ORDINALITY AS u(pid, at, caller, ord)
	),
	m AS (
		SELECT w.pid, count(*) AS marks, max(w.at + w.later * interval '1 microsecond') AS at
		FROM (SELECT u.pid, u.at, row_number() OVER (PARTITION BY u.pid ORDER BY u.ord DESC) - 1 AS later FROM u) w
		GROUP BY w.pid
	),
	target AS (
		SELECT i.id, m.marks, m.at FROM billing_invoices i JOIN m ON m.pid = i.provider_invoice_id
		ORDER BY i.id
		FOR UPDATE OF i
	),
	marked AS (
		UPDATE billing_invoices i SET update_needed = TRUE,
			update_requested_at = GREATEST(target.at, i.update_requested_at + target.marks * interval '1 microsecond'),
			update_attempts = 0, update_error = '', set_aside = FALSE, updated_at = now()
		FROM target WHERE i.id = target.id
		RETURNING i.provider_invoice_id AS pid
	)
	SELECT u.caller, count(*) FROM u JOIN marked ON marked.pid = u.pid GROUP BY u.caller`

	// SKIP LOCKED: concurrent claimers pass over each other's rows instead of
	// waiting, and the statement commits on its own before ClaimUpdates
	// returns, so no row lock is held while the provider is called.
	pgClaim = `WITH c AS (
		SELECT id FROM billing_invoices
		WHERE update_needed AND NOT set_aside AND provider_invoice_id IS NOT NULL
			AND (claimed_until IS NULL OR claimed_until <= $1)
		ORDER BY update_requested_at NULLS FIRST, invoice_number
		LIMIT $2
		FOR UPDATE SKIP LOCKED
	)
	UPDATE billing_invoices i SET claimed_until = $3 FROM c WHERE i.id = c.id
	RETURNING i.provider_invoice_id, i.invoice_number, i.update_requested_at, i.update_attempts`

	pgRelease = `WITH target AS (
		SELECT id FROM billing_invoices WHERE ` + pgIDs + ` ORDER BY id FOR UPDATE
	)
	UPDATE billing_invoices i SET claimed_until = NULL FROM target WHERE i.id = target.id`
)

// SQLite: times are INTEGER unix microseconds, and the id list is a JSON
// array. A single write statement is atomic and, with one writer at a time,
// needs no row locks.
const (
	sqliteNow = `CAST(unixepoch('subsec') * 1000000 AS INTEGER)`
	sqliteIDs = `provider_invoice_id IN (SELECT value FROM json_each($1))`

	sqliteMark = `UPDATE billing_invoices SET update_needed = TRUE,
		update_requested_at = CASE WHEN update_requested_at IS NULL OR update_requested_at < $2
			THEN $2 ELSE update_requested_at + 1 END,
		update_attempts = 0, update_error = '', set_aside = FALSE, updated_at = {now}
	WHERE ` + sqliteIDs

	sqliteClaim = `UPDATE billing_invoices SET claimed_until = $3
	WHERE id IN (
		SELECT id FROM billing_invoices
		WHERE update_needed AND NOT set_aside AND provider_invoice_id IS NOT NULL
			AND (claimed_until IS NULL OR claimed_until <= $1)
		ORDER BY update_requested_at, invoice_number
		LIMIT $2
	)
	RETURNING provider_invoice_id, invoice_number, update_requested_at, update_attempts`

	sqliteRelease = `UPDATE billing_invoices SET claimed_until = NULL WHERE ` + sqliteIDs
)

func queriesFor(d Dialect) *queries {
	now, nullsFirst := "now()", "NULLS FIRST"
	credited := "i.credited"
	link, syncs := "l.contact_id, l.fingerprint, l.email", ""
	q := &queries{
		mark:    pgMark,
		claim:   pgClaim,
		release: pgRelease,
	}
	lockSuffix, lockRow := " FOR UPDATE OF i", " FOR UPDATE"
	if d == SQLite {
		// SQLite sorts NULL first in ascending order already.
		now, nullsFirst = sqliteNow, ""
		credited = sqliteCredited
		link = "l.contact_id, coalesce(s.fingerprint, ''), coalesce(s.email, '')"
		syncs = "LEFT JOIN billing_contact_syncs s ON s.account_id = l.account_id"
		q.mark, q.claim, q.release = sqliteMark, sqliteClaim, sqliteRelease
		// A write transaction on SQLite excludes every other writer.
		lockSuffix, lockRow = "", ""
	}
	r := strings.NewReplacer("{credited}", credited, "{now}", now, "{nullsFirst}", nullsFirst, "{link}", link, "{syncs}", syncs)
	q.queueQueries = queueQueriesFor(d, r, lockRow)
	q.bulkQueries = bulkQueriesFor(d, r)
	q.moneyQueries = moneyQueriesFor(d, r, lockRow)
	q.creditMarkQueries = creditMarkQueriesFor(d, r)
	q.insertAccount = sqlInsertAccount
	q.accountIDUser = sqlAccountIDUser
	q.accountIDOrg = sqlAccountIDOrg
	q.insertLink = sqlInsertLink
	q.linkByAccount = r.Replace(sqlLinkByAccount)
	q.linkByUser = r.Replace(sqlLinkByUser)
	q.linkByOrg = r.Replace(sqlLinkByOrg)
	q.insertInvoice = sqlInsertInvoice
	q.invoiceByNum = r.Replace(selectInvoices + ` WHERE i.invoice_number = $1`)
	q.invoiceByPID = r.Replace(selectInvoices + ` WHERE i.provider_invoice_id = $1`)
	q.lockInvoice = q.invoiceByPID + lockSuffix
	q.saveState = r.Replace(sqlSaveState)
	q.mark = r.Replace(q.mark)
	q.complete = r.Replace(sqlComplete)
	q.endLease = sqlEndLease
	q.fail = r.Replace(sqlFail)
	q.setAsideList = r.Replace(sqlSetAsideList)
	return q
}
