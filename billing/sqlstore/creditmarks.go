package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/amsbilling/sdk/billing"
)

// creditMarkQueries holds the SQL of the credit-note marks (migration
// 00005), per dialect. Both dialects take $n parameters.
type creditMarkQueries struct {
	markCredits     string
	claimCredits    string
	completeCredit  string
	endCreditLease  string
	failCredit      string
	releaseCredits  string
	listCreditMarks string
}

const creditMarkColumns = `provider_credit_note_id, requested_at, attempts, last_error, set_aside`

const (
	// One upsert marks every id ($1, distinct): a new mark takes $2, a
	// stored one the later of $2 and its time plus 1 µs. Rows are taken in
	// id order, so two concurrent marks never wait for each other in a
	// cycle.
	pgMarkCredits = `INSERT INTO billing_credit_note_marks AS m (provider_credit_note_id, requested_at)
	SELECT u.id, $2::timestamptz FROM unnest($1::text[]) AS u(id) ORDER BY u.id
	ON CONFLICT (provider_credit_note_id) DO UPDATE SET
		requested_at = GREATEST(excluded.requested_at, m.requested_at + interval '1 microsecond'),
		attempts = 0, last_error = '', set_aside = FALSE, updated_at = now()`
	// WHERE true: SQLite needs it to read ON CONFLICT after a SELECT.
	sqliteMarkCredits = `INSERT INTO billing_credit_note_marks (provider_credit_note_id, requested_at)
	SELECT value, $2 FROM json_each($1) WHERE true
	ON CONFLICT (provider_credit_note_id) DO UPDATE SET
		requested_at = CASE WHEN requested_at < excluded.requested_at
			THEN excluded.requested_at ELSE requested_at + 1 END,
		attempts = 0, last_error = '', set_aside = 0, updated_at = {now}`

	// As pgClaim: SKIP LOCKED, and the statement commits on its own.
	pgClaimCredits = `WITH c AS (
		SELECT provider_credit_note_id FROM billing_credit_note_marks
		WHERE NOT set_aside AND (claimed_until IS NULL OR claimed_until <= $1)
		ORDER BY requested_at, provider_credit_note_id
		LIMIT $2
		FOR UPDATE SKIP LOCKED
	)
	UPDATE billing_credit_note_marks m SET claimed_until = $3 FROM c
	WHERE m.provider_credit_note_id = c.provider_credit_note_id
	RETURNING m.provider_credit_note_id, m.requested_at, m.attempts`
	sqliteClaimCredits = `UPDATE billing_credit_note_marks SET claimed_until = $3
	WHERE provider_credit_note_id IN (
		SELECT provider_credit_note_id FROM billing_credit_note_marks
		WHERE NOT set_aside AND (claimed_until IS NULL OR claimed_until <= $1)
		ORDER BY requested_at, provider_credit_note_id
		LIMIT $2
	)
	RETURNING provider_credit_note_id, requested_at, attempts`

	sqlCompleteCredit = `DELETE FROM billing_credit_note_marks
	WHERE provider_credit_note_id = $1 AND requested_at = $2`
	sqlEndCreditLease = `UPDATE billing_credit_note_marks SET claimed_until = NULL
	WHERE provider_credit_note_id = $1`

	// As sqlFail: a failure counts only while the claim's mark is the
	// latest one.
	sqlFailCredit = `UPDATE billing_credit_note_marks SET
	attempts = CASE WHEN requested_at = $2 THEN attempts + 1 ELSE attempts END,
	last_error = CASE WHEN requested_at = $2 THEN $3 ELSE last_error END,
	set_aside = CASE WHEN requested_at = $2 AND $4 > 0 AND attempts + 1 >= $4
		THEN TRUE ELSE set_aside END,
	claimed_until = NULL, updated_at = {now}
	WHERE provider_credit_note_id = $1
	RETURNING ` + creditMarkColumns

	pgReleaseCredits     = `UPDATE billing_credit_note_marks SET claimed_until = NULL WHERE provider_credit_note_id = ANY($1::text[])`
	sqliteReleaseCredits = `UPDATE billing_credit_note_marks SET claimed_until = NULL
	WHERE provider_credit_note_id IN (SELECT value FROM json_each($1))`

	sqlListCreditMarks = `SELECT ` + creditMarkColumns + ` FROM billing_credit_note_marks
	ORDER BY requested_at, provider_credit_note_id`
)

func creditMarkQueriesFor(d Dialect, r *strings.Replacer) creditMarkQueries {
	q := creditMarkQueries{
		markCredits:     pgMarkCredits,
		claimCredits:    pgClaimCredits,
		completeCredit:  sqlCompleteCredit,
		endCreditLease:  sqlEndCreditLease,
		failCredit:      r.Replace(sqlFailCredit),
		releaseCredits:  pgReleaseCredits,
		listCreditMarks: sqlListCreditMarks,
	}
	if d == SQLite {
		q.markCredits = r.Replace(sqliteMarkCredits)
		q.claimCredits = sqliteClaimCredits
		q.releaseCredits = sqliteReleaseCredits
	}
	return q
}

// MarkCreditNotes implements billing.Store with one upsert, so all the
// credit notes are marked or none; the token rule is the database's, as in
// MarkUpdateNeeded.
func (s *Store) MarkCreditNotes(ctx context.Context, providerIDs []string, at time.Time) (int, error) {
	if at.IsZero() {
		return 0, errors.New("sqlstore: mark credit notes: zero time")
	}
	if s.dialect == Postgres && !pgTimeInRange(at) {
		return 0, fmt.Errorf("sqlstore: mark credit notes: time %s is outside PostgreSQL's range", at.Format(time.RFC3339Nano))
	}
	ids := distinctIDs(providerIDs)
	arg, ok, err := s.idsArg(ids)
	if err != nil || !ok {
		return 0, err
	}
	if _, err := s.db.ExecContext(ctx, s.q.markCredits, arg, s.timeArg(at)); err != nil {
		return 0, fmt.Errorf("sqlstore: mark %d credit notes: %w", len(ids), err)
	}
	return len(ids), nil
}

// distinctIDs is ids without empty ones and repeats, in first order: one
// upsert may not touch a row twice.
func distinctIDs(ids []string) []string {
	out := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// ClaimCreditNotes implements billing.Store with one statement that selects
// and leases the marks, as ClaimUpdates.
func (s *Store) ClaimCreditNotes(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]billing.CreditNoteClaim, error) {
	if limit <= 0 {
		return nil, nil
	}
	if lease <= 0 {
		return nil, fmt.Errorf("sqlstore: claim credit notes: lease %s is not positive", lease)
	}
	rows, err := s.db.QueryContext(ctx, s.q.claimCredits, s.timeArg(now), limit, s.timeArg(now.Add(lease)))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim credit notes: %w", err)
	}
	defer rows.Close()
	var claims []billing.CreditNoteClaim
	for rows.Next() {
		var (
			c        billing.CreditNoteClaim
			attempts int64
		)
		if err := rows.Scan(&c.ProviderID, nullTime{&c.RequestedAt}, &attempts); err != nil {
			return nil, fmt.Errorf("sqlstore: claim credit notes: %w", err)
		}
		c.Attempts = int(attempts)
		claims = append(claims, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: claim credit notes: %w", err)
	}
	// RETURNING has no order; restore the claim order.
	slices.SortFunc(claims, func(a, b billing.CreditNoteClaim) int {
		return cmp.Or(a.RequestedAt.Compare(b.RequestedAt), cmp.Compare(a.ProviderID, b.ProviderID))
	})
	return claims, nil
}

// CompleteCreditNotes implements billing.Store in one transaction: each
// mark is deleted if its token is the claim's, and else its lease ends.
func (s *Store) CompleteCreditNotes(ctx context.Context, claims []billing.CreditNoteClaim) ([]bool, error) {
	out := make([]bool, len(claims))
	if len(claims) == 0 {
		return out, nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for i, c := range claims {
			res, err := tx.ExecContext(ctx, s.q.completeCredit, c.ProviderID, s.timeArg(c.RequestedAt))
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if out[i] = n > 0; out[i] {
				continue
			}
			if _, err := tx.ExecContext(ctx, s.q.endCreditLease, c.ProviderID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: complete %d credit-note claims: %w", len(claims), err)
	}
	return out, nil
}

func scanCreditMark(row rowScanner) (billing.CreditNoteMark, error) {
	var (
		m        billing.CreditNoteMark
		attempts int64
	)
	err := row.Scan(&m.ProviderID, nullTime{&m.RequestedAt}, &attempts, &m.Error, &m.SetAside)
	m.Attempts = int(attempts)
	return m, err
}

// FailCreditNote implements billing.Store with one UPDATE that returns the
// mark as saved.
func (s *Store) FailCreditNote(ctx context.Context, c billing.CreditNoteClaim, reason string, maxAttempts int) (billing.CreditNoteMark, error) {
	m, err := scanCreditMark(s.db.QueryRowContext(ctx, s.q.failCredit, c.ProviderID, s.timeArg(c.RequestedAt), reason, maxAttempts))
	if errors.Is(err, sql.ErrNoRows) {
		return billing.CreditNoteMark{}, fmt.Errorf("%w: credit note mark %q", billing.ErrNotFound, c.ProviderID)
	}
	if err != nil {
		return billing.CreditNoteMark{}, fmt.Errorf("sqlstore: fail credit note %q: %w", c.ProviderID, err)
	}
	return m, nil
}

// ReleaseCreditNotes implements billing.Store with one UPDATE.
func (s *Store) ReleaseCreditNotes(ctx context.Context, claims []billing.CreditNoteClaim) error {
	ids := make([]string, len(claims))
	for i, c := range claims {
		ids[i] = c.ProviderID
	}
	arg, ok, err := s.idsArg(ids)
	if err != nil || !ok {
		return err
	}
	if _, err := s.db.ExecContext(ctx, s.q.releaseCredits, arg); err != nil {
		return fmt.Errorf("sqlstore: release %d credit-note claims: %w", len(claims), err)
	}
	return nil
}

// CreditNoteMarks implements billing.Store. The order is made here too, so
// it is Go's whatever the database's collation.
func (s *Store) CreditNoteMarks(ctx context.Context) ([]billing.CreditNoteMark, error) {
	rows, err := s.db.QueryContext(ctx, s.q.listCreditMarks)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: credit-note marks: %w", err)
	}
	defer rows.Close()
	var out []billing.CreditNoteMark
	for rows.Next() {
		m, err := scanCreditMark(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: credit-note marks: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: credit-note marks: %w", err)
	}
	slices.SortFunc(out, func(a, b billing.CreditNoteMark) int {
		return cmp.Or(a.RequestedAt.Compare(b.RequestedAt), cmp.Compare(a.ProviderID, b.ProviderID))
	})
	return out, nil
}
