package sqlstore

import "strings"

// queueQueries holds the SQL of contact syncs, batches, events, creations
// and sweep marks, per dialect. Both dialects take $n parameters.
type queueQueries struct {
	recordSyncUser string
	recordSyncOrg  string

	// PostgreSQL only: one statement each for a whole batch.
	saveStates      string
	completeUpdates string

	insertEvent    string // SQLite: one event, its states encoded in Go
	claimEvents    string
	eventDelivered string
	eventFailed    string
	pendingEvents  string
	pendingLimited string

	insertCreation        string
	creationByKey         string
	creationByFingerprint string
	lockCreation          string
	claimCreation         string
	finishCreation        string
	abandonCreation       string
	pendingCreations      string
	lockInvoiceID         string
	insertInvoiceID       string
	invoiceByID           string

	sweepMark         string
	setSweepMark      string
	openInvoices      string
	earliestIssueDate string
}

// pgInvoiceJSON is the invoice row i (with its account a) as the JSON
// encoding/json makes of a billing.Invoice: the same keys, dates as
// "YYYY-MM-DD" or "", exact decimal strings, the mark time in UTC to the
// microsecond or null. Events keep their Before and After in this form.
const pgInvoiceJSON = `jsonb_build_object(
		'Account', jsonb_build_object('UserID', coalesce(a.user_id, ''), 'OrganisationID', coalesce(a.organisation_id, '')),
		'Number', i.invoice_number,
		'ProviderID', coalesce(i.provider_invoice_id, ''),
		'Reference', i.reference, 'Status', i.status, 'Currency', i.currency,
		'IssueDate', coalesce(to_char(i.issue_date, 'YYYY-MM-DD'), ''),
		'DueDate', coalesce(to_char(i.due_date, 'YYYY-MM-DD'), ''),
		'PaidDate', coalesce(to_char(i.paid_date, 'YYYY-MM-DD'), ''),
		'Amount', i.amount::text, 'Paid', i.paid::text, 'Due', i.due::text, 'Credited', i.credited::text,
		'UpdateNeeded', i.update_needed,
		'UpdateRequestedAt', to_char(i.update_requested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'UpdateAttempts', i.update_attempts,
		'UpdateError', i.update_error,
		'SetAside', i.set_aside)`

// pgProviderState and pgInputState are the provider-owned fields of the row
// and of the input, compared with IS DISTINCT FROM: NUMERIC compares by
// value (1.0 = 1.00) and NULL dates equal each other, as
// billing.Invoice.SameProviderState does.
const (
	pgProviderState = `(i.reference, i.status, i.currency, i.issue_date, i.due_date, i.paid_date, i.amount, i.paid, i.due, i.credited)`
	pgInputState    = `(u.reference, u.status, u.currency, u.issue_date, u.due_date, u.paid_date, u.amount, u.paid, u.due, u.credited)`
)

// pgSaveStates saves a batch of provider states and records an event for
// each invoice whose state changed, in one statement (so atomically, and in
// one round trip). The parameters are parallel text arrays: provider id,
// the ten provider-owned fields (an empty string for no date), and an
// event id for each.
// prior locks the invoices in id order (no deadlock with another batch) and
// reads them as they are once locked, which is the state before; the
// UPDATE joins prior, so it runs on rows prior has locked. No provider id
// may appear twice in one call (an UPDATE changes a row once).
const pgSaveStates = `WITH u AS (
		SELECT u.ord, u.pid, u.reference, u.status, u.currency,
			NULLIF(u.issue_date, '')::date AS issue_date,
			NULLIF(u.due_date, '')::date AS due_date,
			NULLIF(u.paid_date, '')::date AS paid_date,
			u.amount::numeric AS amount, u.paid::numeric AS paid, u.due::numeric AS due,
			u.credited::numeric AS credited, u.event_id
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
			$7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])
			WITH ORDINALITY AS u(pid, reference, status, currency, issue_date, due_date,
				paid_date, amount, paid, due, credited, event_id, ord)
	),
	prior AS (
		SELECT i.id, u.ord, u.event_id, ` + pgInvoiceJSON + ` AS state,
			` + pgProviderState + ` IS DISTINCT FROM ` + pgInputState + ` AS changed
		FROM billing_invoices i
		JOIN billing_accounts a ON a.id = i.account_id
		JOIN u ON u.pid = i.provider_invoice_id
		ORDER BY i.id
		FOR UPDATE OF i
	),
	saved AS (
		UPDATE billing_invoices i SET reference = u.reference, status = u.status, currency = u.currency,
			issue_date = u.issue_date, due_date = u.due_date, paid_date = u.paid_date,
			amount = u.amount, paid = u.paid, due = u.due, credited = u.credited, updated_at = now()
		FROM prior, u, billing_accounts a
		WHERE i.id = prior.id AND u.ord = prior.ord AND a.id = i.account_id
		RETURNING i.id, ` + pgInvoiceJSON + ` AS state
	),
	events AS (
		INSERT INTO billing_invoice_events (event_id, invoice_id, before_state, after_state)
		SELECT prior.event_id, prior.id, prior.state, saved.state
		FROM prior JOIN saved ON saved.id = prior.id
		WHERE prior.changed
		ORDER BY prior.ord
		RETURNING id
	)
	SELECT u.ord, prior.state, saved.state, coalesce(prior.changed, FALSE)
	FROM u LEFT JOIN prior ON prior.ord = u.ord LEFT JOIN saved ON saved.id = prior.id
	ORDER BY u.ord`

// pgCompleteUpdates ends a batch of claims in one statement: each claim's
// flag is cleared if its token is still the invoice's (judged on the row as
// locked), and every lease ends. It returns, for each claim in order,
// whether its flag was cleared; claims of unknown invoices report false. No
// provider id may appear twice in one call.
const pgCompleteUpdates = `WITH u AS (
		SELECT u.ord, u.pid, NULLIF(u.requested_at, '')::timestamptz AS requested_at
		FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(pid, requested_at, ord)
	),
	target AS (
		SELECT i.id, u.ord,
			(i.update_needed AND i.update_requested_at IS NOT DISTINCT FROM u.requested_at) AS clear
		FROM billing_invoices i JOIN u ON u.pid = i.provider_invoice_id
		ORDER BY i.id
		FOR UPDATE OF i
	),
	done AS (
		UPDATE billing_invoices i SET
			update_needed = CASE WHEN target.clear THEN FALSE ELSE i.update_needed END,
			update_attempts = CASE WHEN target.clear THEN 0 ELSE i.update_attempts END,
			update_error = CASE WHEN target.clear THEN '' ELSE i.update_error END,
			set_aside = CASE WHEN target.clear THEN FALSE ELSE i.set_aside END,
			updated_at = CASE WHEN target.clear THEN now() ELSE i.updated_at END,
			claimed_until = NULL
		FROM target WHERE i.id = target.id
		RETURNING i.id
	)
	SELECT u.ord, coalesce(target.clear, FALSE)
	FROM u LEFT JOIN target ON target.ord = u.ord
	ORDER BY u.ord`

// The event columns, last whether a later undelivered event of the same
// invoice waits behind (InvoiceEvent.NextWaiting).
const (
	eventColumns = `e.id, e.event_id, e.before_state, e.after_state, e.created_at,
	e.attempts, e.last_error, e.next_attempt_at,
	EXISTS (SELECT 1 FROM billing_invoice_events n
		WHERE n.invoice_id = e.invoice_id AND n.delivered_at IS NULL AND n.id > e.id)`
	// SQLite's RETURNING names the columns of the table it changes unqualified.
	eventColumnsUnqualified = `id, event_id, before_state, after_state, created_at,
	attempts, last_error, next_attempt_at,
	EXISTS (SELECT 1 FROM billing_invoice_events n
		WHERE n.invoice_id = billing_invoice_events.invoice_id AND n.delivered_at IS NULL
			AND n.id > billing_invoice_events.id)`
)

// sqlClaimableEvents selects the events ClaimEvents may lease: undelivered,
// due, unleased, and the oldest undelivered event of their invoice.
// {lock} is FOR UPDATE SKIP LOCKED on PostgreSQL: concurrent claimers pass
// over each other's rows, and after the lock the conditions on e are checked
// again on the row as it is then (a lease just taken, an event just
// delivered). An invoice whose oldest event another caller holds has
// nothing to claim: its later events wait behind that one.
const sqlClaimableEvents = `SELECT e.id FROM billing_invoice_events e
		WHERE e.delivered_at IS NULL
			AND (e.next_attempt_at IS NULL OR e.next_attempt_at <= $1)
			AND (e.leased_until IS NULL OR e.leased_until <= $1)
			AND NOT EXISTS (
				SELECT 1 FROM billing_invoice_events o
				WHERE o.invoice_id = e.invoice_id AND o.delivered_at IS NULL AND o.id < e.id
			)
		ORDER BY e.id
		LIMIT $2`

const (
	pgClaimEvents = `WITH c AS (
		` + sqlClaimableEvents + `
		FOR UPDATE OF e SKIP LOCKED
	)
	UPDATE billing_invoice_events e SET leased_until = $3 FROM c WHERE e.id = c.id
	RETURNING ` + eventColumns

	sqliteClaimEvents = `UPDATE billing_invoice_events SET leased_until = $3
	WHERE id IN (` + sqlClaimableEvents + `)
	RETURNING ` + eventColumnsUnqualified
)

const (
	sqlInsertEvent = `INSERT INTO billing_invoice_events (event_id, invoice_id, before_state, after_state)
	SELECT $1, id, $3, $4 FROM billing_invoices WHERE provider_invoice_id = $2`
	sqlEventDelivered = `UPDATE billing_invoice_events SET delivered_at = {now}, leased_until = NULL
	WHERE event_id {in} AND delivered_at IS NULL`
	sqlEventFailed = `UPDATE billing_invoice_events SET attempts = attempts + 1, last_error = $2,
	next_attempt_at = $3, leased_until = NULL
	WHERE event_id = $1`
	sqlPendingEvents = `SELECT ` + eventColumns + ` FROM billing_invoice_events e
	WHERE e.delivered_at IS NULL ORDER BY e.id`
)

// Contact syncs: columns of billing_contact_links on PostgreSQL, a table of
// their own on SQLite (see its migration 00002). {owner} is user_id or
// organisation_id.
const (
	pgRecordSync = `UPDATE billing_contact_links l SET fingerprint = $2, email = $3, synced_at = now()
	FROM billing_accounts a WHERE a.id = l.account_id AND a.{owner} = $1`
	sqliteRecordSync = `INSERT INTO billing_contact_syncs (account_id, fingerprint, email)
	SELECT l.account_id, $2, $3 FROM billing_contact_links l
	JOIN billing_accounts a ON a.id = l.account_id WHERE a.{owner} = $1
	ON CONFLICT (account_id) DO UPDATE SET fingerprint = excluded.fingerprint,
		email = excluded.email, synced_at = {now}`
)

const creationColumns = `c.idempotency_key, c.fingerprint, a.user_id, a.organisation_id, c.contact_id,
	c.params, c.created_at, c.lease_until, i.invoice_number, i.provider_invoice_id`

const selectCreations = `SELECT ` + creationColumns + ` FROM billing_creations c
	JOIN billing_accounts a ON a.id = c.account_id
	LEFT JOIN billing_invoices i ON i.id = c.invoice_id`

const (
	// ON CONFLICT DO NOTHING covers the key and the fingerprint; on
	// PostgreSQL it waits for a racing insert of either to commit, and the
	// caller then reads the creation in force.
	sqlInsertCreation = `INSERT INTO billing_creations (idempotency_key, fingerprint, account_id,
	contact_id, params, created_at, lease_until) VALUES ($1, $2, $3, $4, $5, $6, $7)
	ON CONFLICT DO NOTHING`
	sqlLockCreation  = `SELECT id, account_id, invoice_id FROM billing_creations WHERE idempotency_key = $1`
	sqlClaimCreation = `UPDATE billing_creations SET lease_until = $3
	WHERE idempotency_key = $1 AND invoice_id IS NULL AND (lease_until IS NULL OR lease_until <= $2)`
	sqlFinishCreation  = `UPDATE billing_creations SET invoice_id = $2, lease_until = NULL, done_at = {now} WHERE id = $1`
	sqlAbandonCreation = `DELETE FROM billing_creations WHERE idempotency_key = $1 AND invoice_id IS NULL`
	sqlPendingCreation = selectCreations + ` WHERE c.invoice_id IS NULL
	ORDER BY c.created_at {nullsFirst}, c.id`
	sqlLockInvoiceID = `SELECT id FROM billing_invoices WHERE provider_invoice_id = $1`
)

const (
	sqlSweepMark    = `SELECT mark FROM billing_sweep_marks WHERE name = $1`
	sqlSetSweepMark = `INSERT INTO billing_sweep_marks (name, mark) VALUES ($1, $2)
	ON CONFLICT (name) DO UPDATE SET mark = excluded.mark, updated_at = {now}`
	// The statuses of billing.Invoice.IsOpen; the same condition as the
	// partial index billing_invoices_open_idx.
	sqlOpenInvoices = `SELECT provider_invoice_id FROM billing_invoices
	WHERE provider_invoice_id IS NOT NULL AND status NOT IN ('PAID', 'VOIDED', 'DELETED')`
	sqlEarliestIssueDate = `SELECT min(issue_date) FROM billing_invoices`
)

func queueQueriesFor(d Dialect, r *strings.Replacer, lockSuffix string) queueQueries {
	q := queueQueries{
		saveStates:      pgSaveStates,
		completeUpdates: pgCompleteUpdates,
		claimEvents:     pgClaimEvents,
	}
	recordSync := pgRecordSync
	if d == SQLite {
		q.saveStates, q.completeUpdates = "", ""
		q.claimEvents = sqliteClaimEvents
		recordSync = sqliteRecordSync
	}
	q.recordSyncUser = r.Replace(strings.ReplaceAll(recordSync, "{owner}", "user_id"))
	q.recordSyncOrg = r.Replace(strings.ReplaceAll(recordSync, "{owner}", "organisation_id"))
	q.insertEvent = sqlInsertEvent
	in := "= ANY($1::text[])"
	if d == SQLite {
		in = "IN (SELECT value FROM json_each($1))"
	}
	q.eventDelivered = r.Replace(strings.ReplaceAll(sqlEventDelivered, "{in}", in))
	q.eventFailed = sqlEventFailed
	q.pendingEvents = sqlPendingEvents
	q.pendingLimited = sqlPendingEvents + ` LIMIT $1`

	q.insertCreation = sqlInsertCreation
	q.creationByKey = selectCreations + ` WHERE c.idempotency_key = $1`
	q.creationByFingerprint = selectCreations + ` WHERE c.fingerprint = $1`
	q.lockCreation = sqlLockCreation + lockSuffix
	q.claimCreation = sqlClaimCreation
	q.finishCreation = r.Replace(sqlFinishCreation)
	q.abandonCreation = sqlAbandonCreation
	q.pendingCreations = r.Replace(sqlPendingCreation)
	q.lockInvoiceID = sqlLockInvoiceID + lockSuffix
	q.insertInvoiceID = sqlInsertInvoice + ` RETURNING id`
	q.invoiceByID = r.Replace(selectInvoices + ` WHERE i.id = $1`)

	q.sweepMark = sqlSweepMark
	q.setSweepMark = r.Replace(sqlSetSweepMark)
	q.openInvoices = sqlOpenInvoices
	q.earliestIssueDate = sqlEarliestIssueDate
	return q
}
