package sqlstore

import "strings"

// bulkQueries holds the SQL of the batch methods (billing.BulkStore and
// billing.EmailLog), per dialect. On PostgreSQL each batch is one statement
// over parallel text arrays (unnest ... WITH ORDINALITY); on SQLite, where
// a round trip costs nothing, most run a statement a record in one
// transaction.
type bulkQueries struct {
	linksByOwners    string // $1 user ids, $2 organisation ids
	invoicesByPIDs   string // $1 provider ids
	emailsByPIDs     string // $1 provider ids
	recordEmail      string // SQLite: $1 provider id, $2 sent at
	sqliteSyncByID   string // SQLite: $1 account id, $2 fingerprint, $3 email
	pgLinkContacts   string
	pgRecordSyncs    string
	pgRecordEmails   string
	pgBeginCreations string
	pgCompleteMany   string
}

// sqlLinksByOwners: {link} and {syncs} as in sqlLinkByUser; {in1} and
// {in2} the dialect's list conditions on parameters $1 and $2.
const sqlLinksByOwners = `SELECT a.user_id, a.organisation_id, {link} FROM billing_contact_links l {syncs}
	JOIN billing_accounts a ON a.id = l.account_id
	WHERE a.user_id {in1} OR a.organisation_id {in2}`

const sqlEmailsByPIDs = `SELECT i.provider_invoice_id, e.last_sent_at FROM billing_invoice_emails e
	JOIN billing_invoices i ON i.id = e.invoice_id WHERE i.provider_invoice_id {in1}`

// sqliteRecordEmail keeps each invoice's latest email. (The WHERE clause
// also settles SQLite's parsing of an upsert after INSERT ... SELECT.)
const sqliteRecordEmail = `INSERT INTO billing_invoice_emails (invoice_id, last_sent_at)
	SELECT id, $2 FROM billing_invoices WHERE provider_invoice_id = $1
	ON CONFLICT (invoice_id) DO UPDATE SET last_sent_at = max(last_sent_at, excluded.last_sent_at),
		recorded_at = {now}`

// sqliteSyncByID records the sync of a link just inserted.
const sqliteSyncByID = `INSERT INTO billing_contact_syncs (account_id, fingerprint, email) VALUES ($1, $2, $3)
	ON CONFLICT (account_id) DO UPDATE SET fingerprint = excluded.fingerprint,
		email = excluded.email, synced_at = {now}`

// pgLinkContacts stores a batch of links in one statement: the accounts
// missing are inserted, then the links missing, each in key order (two
// batches never wait for each other in a cycle), and the link in force is
// returned for each input row, by ordinal; a link inserted now carries
// its sync (fingerprint and email; synced when the fingerprint is set).
// Parameters: user ids, organisation ids (one of the two empty a row),
// contact ids, fingerprints and emails. A row
// whose account or link another transaction inserted after this
// statement's snapshot gets an empty contact id: the caller links it on
// its own.
const pgLinkContacts = `WITH u AS (
		SELECT NULLIF(u.user_id, '') AS user_id, NULLIF(u.organisation_id, '') AS organisation_id,
			u.contact_id, u.fingerprint, u.email, u.ord
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
			WITH ORDINALITY AS u(user_id, organisation_id, contact_id, fingerprint, email, ord)
	),
	new_accounts AS (
		INSERT INTO billing_accounts (user_id, organisation_id)
		SELECT DISTINCT user_id, organisation_id FROM u ORDER BY user_id, organisation_id
		ON CONFLICT DO NOTHING
		RETURNING id, user_id, organisation_id
	),
	acc AS (
		SELECT id, user_id, organisation_id FROM new_accounts
		UNION ALL
		SELECT a.id, a.user_id, a.organisation_id FROM billing_accounts a
		WHERE a.user_id IN (SELECT user_id FROM u) OR a.organisation_id IN (SELECT organisation_id FROM u)
	),
	ua AS (
		SELECT u.ord, u.contact_id, u.fingerprint, u.email, acc.id AS account_id FROM u JOIN acc
			ON acc.user_id IS NOT DISTINCT FROM u.user_id AND acc.organisation_id IS NOT DISTINCT FROM u.organisation_id
	),
	new_links AS (
		INSERT INTO billing_contact_links (account_id, contact_id, fingerprint, email, synced_at)
		SELECT DISTINCT ON (account_id) account_id, contact_id, fingerprint,
			CASE WHEN fingerprint <> '' THEN email ELSE '' END,
			CASE WHEN fingerprint <> '' THEN now() END
		FROM ua ORDER BY account_id, ord
		ON CONFLICT (account_id) DO NOTHING
		RETURNING account_id, contact_id, fingerprint, email
	)
	SELECT u.ord, coalesce(nl.contact_id, l.contact_id, ''), coalesce(nl.fingerprint, l.fingerprint, ''),
		coalesce(nl.email, l.email, '')
	FROM u LEFT JOIN ua ON ua.ord = u.ord
	LEFT JOIN new_links nl ON nl.account_id = ua.account_id
	LEFT JOIN billing_contact_links l ON l.account_id = ua.account_id
	ORDER BY u.ord`

// pgRecordSyncs records a batch of syncs in one statement, locking the
// links in key order first. Parameters: user ids, organisation ids,
// fingerprints, emails; no account twice. It returns the owner of each
// link written.
const pgRecordSyncs = `WITH u AS (
		SELECT NULLIF(u.user_id, '') AS user_id, NULLIF(u.organisation_id, '') AS organisation_id, u.fingerprint, u.email
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(user_id, organisation_id, fingerprint, email)
	),
	target AS (
		SELECT l.account_id, a.user_id, a.organisation_id, u.fingerprint, u.email
		FROM billing_contact_links l JOIN billing_accounts a ON a.id = l.account_id
		JOIN u ON a.user_id = u.user_id OR a.organisation_id = u.organisation_id
		ORDER BY l.account_id
		FOR UPDATE OF l
	)
	UPDATE billing_contact_links l SET fingerprint = target.fingerprint, email = target.email, synced_at = now()
	FROM target WHERE l.account_id = target.account_id
	RETURNING target.user_id, target.organisation_id`

// pgRecordEmails records a batch of emails, no invoice twice, keeping
// each invoice's latest. Parameters: provider ids, sent-at times.
const pgRecordEmails = `INSERT INTO billing_invoice_emails (invoice_id, last_sent_at)
	SELECT i.id, u.sent_at::timestamptz
	FROM unnest($1::text[], $2::text[]) AS u(pid, sent_at)
	JOIN billing_invoices i ON i.provider_invoice_id = u.pid
	ORDER BY i.id
	ON CONFLICT (invoice_id) DO UPDATE SET
		last_sent_at = GREATEST(billing_invoice_emails.last_sent_at, excluded.last_sent_at), recorded_at = now()`

// pgBeginCreations records a batch of creations in one statement, when
// every account is stored (accounts with a contact link, as the bulk path
// has): otherwise it records nothing and the caller takes the general
// path. Each input row comes back by ordinal with whether its account is
// known, whether it was inserted (its key and fingerprint), and the
// creation recorded before the statement under its key, else its
// fingerprint (NULL when none). Parameters: user ids, organisation ids,
// keys, fingerprints, contact ids, params (JSON), created-at and
// lease-until times.
const pgBeginCreations = `WITH u AS (
		SELECT NULLIF(u.user_id, '') AS user_id, NULLIF(u.organisation_id, '') AS organisation_id,
			u.key, u.fp, u.contact_id, u.params,
			NULLIF(u.created_at, '')::timestamptz AS created_at, NULLIF(u.lease_until, '')::timestamptz AS lease_until, u.ord
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
			WITH ORDINALITY AS u(user_id, organisation_id, key, fp, contact_id, params, created_at, lease_until, ord)
	),
	ua AS (
		SELECT u.*, a.id AS account_id FROM u
		LEFT JOIN billing_accounts a ON a.user_id = u.user_id OR a.organisation_id = u.organisation_id
	),
	ins AS (
		INSERT INTO billing_creations (idempotency_key, fingerprint, account_id, contact_id, params, created_at, lease_until)
		SELECT key, fp, account_id, contact_id, params::jsonb, created_at, lease_until FROM ua
		WHERE NOT EXISTS (SELECT 1 FROM ua WHERE account_id IS NULL)
		ORDER BY ord
		ON CONFLICT DO NOTHING
		RETURNING idempotency_key, fingerprint
	)
	SELECT ua.ord, ua.account_id IS NOT NULL, ins.idempotency_key IS NOT NULL, f.*
	FROM ua
	LEFT JOIN ins ON ins.idempotency_key = ua.key AND ins.fingerprint = ua.fp
	LEFT JOIN LATERAL (
		SELECT ` + creationColumns + `
		FROM billing_creations c JOIN billing_accounts a ON a.id = c.account_id
		LEFT JOIN billing_invoices i ON i.id = c.invoice_id
		WHERE c.idempotency_key = ua.key OR c.fingerprint = ua.fp
		ORDER BY (c.idempotency_key = ua.key) DESC
		LIMIT 1
	) f ON TRUE
	ORDER BY ua.ord`

// pgCompleteMany completes a batch of creations whose created and current
// states agree (no event to record) in one statement: it locks the pending
// creations in key order, inserts their invoices, and marks them done. A
// creation not pending, or whose invoice number or provider id is taken,
// is left alone and not returned; the caller takes the general path for
// it. The batch holds no key, number or provider id twice. Parameters:
// keys, then the invoice columns of sqlInsertInvoice after account_id, as
// text. It returns, for each creation completed, its ordinal and account.
const pgCompleteMany = `WITH u AS (
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
			$8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[],
			$16::text[], $17::text[])
		WITH ORDINALITY AS u(key, number, pid, reference, status, currency, issue_date, due_date, paid_date,
			amount, paid, due, update_needed, requested_at, attempts, update_error, set_aside, ord)
	),
	c AS (
		SELECT bc.id, bc.account_id, u.ord FROM billing_creations bc JOIN u ON bc.idempotency_key = u.key
		WHERE bc.invoice_id IS NULL
		ORDER BY bc.id
		FOR UPDATE OF bc
	),
	ins AS (
		INSERT INTO billing_invoices (account_id, invoice_number, provider_invoice_id,
			reference, status, currency, issue_date, due_date, paid_date, amount, paid, due,
			update_needed, update_requested_at, update_attempts, update_error, set_aside)
		SELECT c.account_id, u.number, u.pid, u.reference, u.status, u.currency,
			NULLIF(u.issue_date, '')::date, NULLIF(u.due_date, '')::date, NULLIF(u.paid_date, '')::date,
			u.amount::numeric, u.paid::numeric, u.due::numeric,
			u.update_needed::boolean, NULLIF(u.requested_at, '')::timestamptz, u.attempts::integer,
			u.update_error, u.set_aside::boolean
		FROM c JOIN u ON u.ord = c.ord
		ORDER BY u.ord
		ON CONFLICT DO NOTHING
		RETURNING id, provider_invoice_id
	),
	fin AS (
		UPDATE billing_creations bc SET invoice_id = ins.id, lease_until = NULL, done_at = now()
		FROM c JOIN u ON u.ord = c.ord JOIN ins ON ins.provider_invoice_id = u.pid
		WHERE bc.id = c.id
		RETURNING bc.id, bc.account_id
	)
	SELECT c.ord, a.user_id, a.organisation_id
	FROM fin JOIN c ON c.id = fin.id JOIN billing_accounts a ON a.id = fin.account_id
	ORDER BY c.ord`

func bulkQueriesFor(d Dialect, r *strings.Replacer) bulkQueries {
	in1, in2 := "= ANY($1::text[])", "= ANY($2::text[])"
	if d == SQLite {
		in1, in2 = "IN (SELECT value FROM json_each($1))", "IN (SELECT value FROM json_each($2))"
	}
	lists := strings.NewReplacer("{in1}", in1, "{in2}", in2)
	q := bulkQueries{
		linksByOwners:  r.Replace(lists.Replace(sqlLinksByOwners)),
		invoicesByPIDs: r.Replace(selectInvoices + ` WHERE i.provider_invoice_id ` + in1),
		emailsByPIDs:   lists.Replace(sqlEmailsByPIDs),
	}
	if d == SQLite {
		q.recordEmail = r.Replace(sqliteRecordEmail)
		q.sqliteSyncByID = r.Replace(sqliteSyncByID)
		return q
	}
	q.pgLinkContacts = pgLinkContacts
	q.pgRecordSyncs = pgRecordSyncs
	q.pgRecordEmails = pgRecordEmails
	q.pgBeginCreations = pgBeginCreations
	q.pgCompleteMany = pgCompleteMany
	return q
}
