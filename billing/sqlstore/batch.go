package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/amsbilling/sdk/billing"
)

// SaveInvoiceStates implements billing.Store. On PostgreSQL a batch is one
// statement (pgSaveStates): one round trip, atomic without a transaction;
// a batch that names an invoice more than once takes one statement per
// repetition, in a transaction. On SQLite it is one transaction that reads,
// writes and reads back each invoice, and records the events.
func (s *Store) SaveInvoiceStates(ctx context.Context, invs []billing.Invoice) ([]billing.Saved, error) {
	if len(invs) == 0 {
		return nil, nil
	}
	var out []billing.Saved
	var err error
	if s.dialect == Postgres {
		out, err = s.pgSaveStates(ctx, s.db, invs)
	} else {
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			out, err = s.sqliteSaveStates(ctx, tx, invs)
			return err
		})
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: save states of %d invoices: %w", len(invs), err)
	}
	return out, nil
}

// saveStates is SaveInvoiceStates on q, for callers inside a transaction.
func (s *Store) saveStates(ctx context.Context, q querier, invs []billing.Invoice) ([]billing.Saved, error) {
	if s.dialect == Postgres {
		return s.pgSaveStates(ctx, q, invs)
	}
	return s.sqliteSaveStates(ctx, q, invs)
}

func notFoundID(providerID string) error {
	if providerID == "" {
		return fmt.Errorf("%w: empty provider invoice id", billing.ErrNotFound)
	}
	return fmt.Errorf("%w: provider invoice id %q", billing.ErrNotFound, providerID)
}

func (s *Store) pgSaveStates(ctx context.Context, q querier, invs []billing.Invoice) ([]billing.Saved, error) {
	out := make([]billing.Saved, len(invs))
	var send []int
	for i, inv := range invs {
		if inv.ProviderID == "" {
			out[i].Err = notFoundID("")
			continue
		}
		send = append(send, i)
	}
	rs := rounds(send, func(i int) string { return invs[i].ProviderID })
	err := s.oneOrTx(ctx, q, len(rs), func(q querier) error {
		for _, round := range rs {
			if err := s.pgSaveRound(ctx, q, invs, round, out); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// pgSaveRound runs pgSaveStates for the invoices at idx, whose provider
// ids are distinct, and fills their results in out.
func (s *Store) pgSaveRound(ctx context.Context, q querier, invs []billing.Invoice, idx []int, out []billing.Saved) error {
	cols := make([][]string, 12)
	for c := range cols {
		cols[c] = make([]string, len(idx))
	}
	for k, i := range idx {
		inv := invs[i]
		for c, v := range []string{
			inv.ProviderID, inv.Reference, inv.Status, inv.Currency,
			inv.IssueDate.String(), inv.DueDate.String(), inv.PaidDate.String(),
			moneyArg(inv.Amount), moneyArg(inv.Paid), moneyArg(inv.Due), moneyArg(inv.Credited),
			uuid.NewString(),
		} {
			cols[c][k] = v
		}
	}
	args := make([]any, len(cols))
	for c := range cols {
		args[c] = cols[c]
	}
	rows, err := q.QueryContext(ctx, s.q.saveStates, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			ord           int64
			before, after []byte
			changed       bool
		)
		if err := rows.Scan(&ord, &before, &after, &changed); err != nil {
			return err
		}
		if ord < 1 || int(ord) > len(idx) {
			return fmt.Errorf("save states: row %d of %d", ord, len(idx))
		}
		i := idx[ord-1]
		if before == nil {
			out[i].Err = notFoundID(invs[i].ProviderID)
			continue
		}
		if out[i].Before, err = decodeInvoice(before); err != nil {
			return err
		}
		if out[i].After, err = decodeInvoice(after); err != nil {
			return err
		}
		out[i].Changed = changed
	}
	return rows.Err()
}

// sqliteSaveStates saves invs one by one on q, which must be a transaction.
// The comparison is billing.Invoice.SameProviderState on the rows as read
// before and after.
func (s *Store) sqliteSaveStates(ctx context.Context, q querier, invs []billing.Invoice) ([]billing.Saved, error) {
	out := make([]billing.Saved, len(invs))
	for i, inv := range invs {
		if inv.ProviderID == "" {
			out[i].Err = notFoundID("")
			continue
		}
		before, err := s.invoiceByPID(ctx, q, s.q.lockInvoice, inv.ProviderID)
		if errors.Is(err, billing.ErrNotFound) {
			out[i].Err = err
			continue
		}
		if err != nil {
			return nil, err
		}
		_, err = q.ExecContext(ctx, s.q.saveState, inv.ProviderID,
			inv.Reference, inv.Status, inv.Currency,
			dateArg(inv.IssueDate), dateArg(inv.DueDate), dateArg(inv.PaidDate),
			moneyArg(inv.Amount), moneyArg(inv.Paid), moneyArg(inv.Due))
		if err != nil {
			return nil, err
		}
		if _, err := q.ExecContext(ctx, s.q.setCredited, before.Number, moneyArg(inv.Credited)); err != nil {
			return nil, err
		}
		after, err := s.invoiceByPID(ctx, q, s.q.invoiceByPID, inv.ProviderID)
		if err != nil {
			return nil, err
		}
		out[i] = billing.Saved{Before: before, After: after, Changed: !before.SameProviderState(after)}
		if !out[i].Changed {
			continue
		}
		b, err := json.Marshal(before)
		if err != nil {
			return nil, err
		}
		a, err := json.Marshal(after)
		if err != nil {
			return nil, err
		}
		if _, err := q.ExecContext(ctx, s.q.insertEvent, uuid.NewString(), inv.ProviderID, string(b), string(a)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// decodeInvoice reads an event's or a batch's invoice state: the JSON of a
// billing.Invoice, as json.Marshal (SQLite) or pgInvoiceJSON (PostgreSQL)
// wrote it.
func decodeInvoice(b []byte) (billing.Invoice, error) {
	var inv billing.Invoice
	if err := json.Unmarshal(b, &inv); err != nil {
		return billing.Invoice{}, fmt.Errorf("invalid invoice state %q: %w", b, err)
	}
	if inv.UpdateRequestedAt.IsZero() {
		inv.UpdateRequestedAt = time.Time{}
	} else {
		inv.UpdateRequestedAt = inv.UpdateRequestedAt.UTC()
	}
	return inv, nil
}

// CompleteUpdates implements billing.Store. On PostgreSQL the batch is one
// statement (pgCompleteUpdates), and a claim given twice takes a second
// statement in the same transaction; on SQLite it is one transaction of
// CompleteUpdate's statements.
func (s *Store) CompleteUpdates(ctx context.Context, claims []billing.Claim) ([]bool, error) {
	if len(claims) == 0 {
		return nil, nil
	}
	out := make([]bool, len(claims))
	var err error
	if s.dialect == Postgres {
		err = s.pgCompleteUpdates(ctx, claims, out)
	} else {
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			for i, c := range claims {
				if c.ProviderID == "" {
					continue
				}
				cleared, err := s.completeOne(ctx, tx, c)
				if err != nil && !errors.Is(err, billing.ErrNotFound) {
					return err
				}
				out[i] = cleared
			}
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: complete %d updates: %w", len(claims), err)
	}
	return out, nil
}

func (s *Store) pgCompleteUpdates(ctx context.Context, claims []billing.Claim, out []bool) error {
	var send []int
	for i, c := range claims {
		if c.ProviderID != "" {
			send = append(send, i)
		}
	}
	rs := rounds(send, func(i int) string { return claims[i].ProviderID })
	return s.oneOrTx(ctx, s.db, len(rs), func(q querier) error {
		for _, round := range rs {
			ids := make([]string, len(round))
			tokens := make([]string, len(round))
			for k, i := range round {
				ids[k] = claims[i].ProviderID
				tokens[k] = pgTimeText(claims[i].RequestedAt)
			}
			if err := s.pgCompleteRound(ctx, q, ids, tokens, round, out); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) pgCompleteRound(ctx context.Context, q querier, ids, tokens []string, idx []int, out []bool) error {
	rows, err := q.QueryContext(ctx, s.q.completeUpdates, ids, tokens)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			ord     int64
			cleared bool
		)
		if err := rows.Scan(&ord, &cleared); err != nil {
			return err
		}
		if ord < 1 || int(ord) > len(idx) {
			return fmt.Errorf("complete updates: row %d of %d", ord, len(idx))
		}
		out[idx[ord-1]] = cleared
	}
	return rows.Err()
}

// pgTimeText is t as a timestamptz literal for a text[] parameter: UTC, cut
// to the microsecond as timeArg cuts it; "" (NULL) for the zero time.
func pgTimeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Truncate(time.Microsecond).Format("2006-01-02T15:04:05.999999Z07:00")
}

// rounds splits idx so that no round holds two items with the same key: the
// k-th item of a key goes to round k, and within a round items keep their
// order. Running the rounds in order applies each key's items in order.
func rounds(idx []int, key func(int) string) [][]int {
	var out [][]int
	seen := make(map[string]int, len(idx))
	for _, i := range idx {
		k := key(i)
		r := seen[k]
		seen[k] = r + 1
		if r == len(out) {
			out = append(out, nil)
		}
		out[r] = append(out[r], i)
	}
	return out
}

// oneOrTx runs fn on q when it makes at most one statement, which is atomic
// on its own, or when q is a transaction already; otherwise in a new
// transaction.
func (s *Store) oneOrTx(ctx context.Context, q querier, statements int, fn func(q querier) error) error {
	if _, inTx := q.(*sql.Tx); inTx || statements <= 1 {
		return fn(q)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error { return fn(tx) })
}
