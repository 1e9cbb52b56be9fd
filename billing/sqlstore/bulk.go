package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/amsbilling/sdk/billing"
)

// listArg is a list as one parameter of the dialect's list conditions
// ({in1}, {in2}): a text[] on PostgreSQL, a JSON array on SQLite. Unlike
// idsArg it keeps every item and passes an empty list as such.
func (s *Store) listArg(items []string) (any, error) {
	if s.dialect == Postgres {
		if items == nil {
			items = []string{}
		}
		return items, nil
	}
	if items == nil {
		return "[]", nil
	}
	b, err := json.Marshal(items)
	return string(b), err
}

// owners splits accounts into their user ids and organisation ids.
func owners(accounts []billing.Account) (users, orgs []string) {
	for _, a := range accounts {
		if a.UserID != "" {
			users = append(users, a.UserID)
		} else {
			orgs = append(orgs, a.OrganisationID)
		}
	}
	return users, orgs
}

// ContactLinksOf implements billing.Store with one query.
func (s *Store) ContactLinksOf(ctx context.Context, accounts []billing.Account) (map[billing.Account]billing.ContactLink, error) {
	for _, a := range accounts {
		if err := a.Validate(); err != nil {
			return nil, err
		}
	}
	out := make(map[billing.Account]billing.ContactLink, len(accounts))
	if len(accounts) == 0 {
		return out, nil
	}
	users, orgs := owners(accounts)
	u, err := s.listArg(users)
	if err != nil {
		return nil, err
	}
	o, err := s.listArg(orgs)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.q.linksByOwners, u, o)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: contact links of %d accounts: %w", len(accounts), err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			user, org sql.NullString
			link      billing.ContactLink
		)
		if err := rows.Scan(&user, &org, &link.ContactID, &link.Fingerprint, &link.Email); err != nil {
			return nil, fmt.Errorf("sqlstore: contact links: %w", err)
		}
		link.Account = billing.Account{UserID: user.String, OrganisationID: org.String}
		out[link.Account] = link
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: contact links: %w", err)
	}
	return out, nil
}

// LinkContacts implements billing.Store: one statement on PostgreSQL
// (pgLinkContacts), and LinkContact for the rare row it cannot settle (an
// account or link another transaction has just inserted; its sync is
// then recorded when the link in force is the one given and has none); on
// SQLite, one transaction.
func (s *Store) LinkContacts(ctx context.Context, links []billing.ContactLink) ([]billing.ContactLink, error) {
	for _, l := range links {
		if err := l.Account.Validate(); err != nil {
			return nil, err
		}
		if l.ContactID == "" {
			return nil, fmt.Errorf("sqlstore: link contacts: empty contact id for %s", l.Account)
		}
	}
	if len(links) == 0 {
		return nil, nil
	}
	out := make([]billing.ContactLink, len(links))
	if s.dialect == SQLite {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			for i, l := range links {
				accountID, err := s.ensureAccount(ctx, tx, l.Account)
				if err != nil {
					return err
				}
				res, err := tx.ExecContext(ctx, s.q.insertLink, accountID, l.ContactID)
				if err != nil {
					return err
				}
				if n, err := res.RowsAffected(); err != nil {
					return err
				} else if n == 1 && l.Fingerprint != "" {
					if _, err := tx.ExecContext(ctx, s.q.sqliteSyncByID, accountID, l.Fingerprint, l.Email); err != nil {
						return err
					}
				}
				out[i].Account = l.Account
				if err := tx.QueryRowContext(ctx, s.q.linkByAccount, accountID).Scan(&out[i].ContactID, &out[i].Fingerprint, &out[i].Email); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("sqlstore: link %d contacts: %w", len(links), err)
		}
		return out, nil
	}
	cols := [5][]string{}
	for _, l := range links {
		for k, v := range []string{l.Account.UserID, l.Account.OrganisationID, l.ContactID, l.Fingerprint, l.Email} {
			cols[k] = append(cols[k], v)
		}
	}
	rows, err := s.db.QueryContext(ctx, s.q.pgLinkContacts, cols[0], cols[1], cols[2], cols[3], cols[4])
	if err != nil {
		return nil, fmt.Errorf("sqlstore: link %d contacts: %w", len(links), err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			ord  int64
			link billing.ContactLink
		)
		if err := rows.Scan(&ord, &link.ContactID, &link.Fingerprint, &link.Email); err != nil {
			return nil, fmt.Errorf("sqlstore: link contacts: %w", err)
		}
		if ord < 1 || int(ord) > len(links) {
			return nil, fmt.Errorf("sqlstore: link contacts: row %d of %d", ord, len(links))
		}
		link.Account = links[ord-1].Account
		out[ord-1] = link
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: link contacts: %w", err)
	}
	rows.Close()
	for i, l := range links {
		if out[i].ContactID != "" {
			continue
		}
		if out[i], err = s.LinkContact(ctx, l.Account, l.ContactID); err != nil {
			return nil, err
		}
		if out[i].ContactID == l.ContactID && out[i].Fingerprint == "" && l.Fingerprint != "" {
			// Most likely linked by this call: record its sync too.
			if err := s.RecordContactSync(ctx, l.Account, l.Fingerprint, l.Email); err != nil {
				return nil, err
			}
			out[i].Fingerprint, out[i].Email = l.Fingerprint, l.Email
		}
	}
	return out, nil
}

// RecordContactSyncs implements billing.Store: one statement on PostgreSQL
// (pgRecordSyncs), one transaction on SQLite. An account given twice keeps
// its last sync, as two calls would.
func (s *Store) RecordContactSyncs(ctx context.Context, syncs []billing.ContactLink) (int, error) {
	for _, sy := range syncs {
		if err := sy.Account.Validate(); err != nil {
			return 0, err
		}
	}
	last := make(map[billing.Account]int, len(syncs))
	var order []billing.Account
	for i, sy := range syncs {
		if _, ok := last[sy.Account]; !ok {
			order = append(order, sy.Account)
		}
		last[sy.Account] = i
	}
	if len(order) == 0 {
		return 0, nil
	}
	n := 0
	var err error
	if s.dialect == SQLite {
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			for _, a := range order {
				sy := syncs[last[a]]
				query := s.q.recordSyncUser
				if a.UserID == "" {
					query = s.q.recordSyncOrg
				}
				res, err := tx.ExecContext(ctx, query, a.OwnerID(), sy.Fingerprint, sy.Email)
				if err != nil {
					return err
				}
				if k, err := res.RowsAffected(); err != nil {
					return err
				} else if k > 0 {
					n++
				}
			}
			return nil
		})
	} else {
		n, err = s.pgRecordSyncs(ctx, syncs, order, last)
	}
	if err != nil {
		return 0, fmt.Errorf("sqlstore: record %d contact syncs: %w", len(order), err)
	}
	return n, nil
}

func (s *Store) pgRecordSyncs(ctx context.Context, syncs []billing.ContactLink, order []billing.Account, last map[billing.Account]int) (int, error) {
	cols := [4][]string{}
	for _, a := range order {
		sy := syncs[last[a]]
		cols[0] = append(cols[0], a.UserID)
		cols[1] = append(cols[1], a.OrganisationID)
		cols[2] = append(cols[2], sy.Fingerprint)
		cols[3] = append(cols[3], sy.Email)
	}
	rows, err := s.db.QueryContext(ctx, s.q.pgRecordSyncs, cols[0], cols[1], cols[2], cols[3])
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var user, org sql.NullString
		if err := rows.Scan(&user, &org); err != nil {
			return 0, err
		}
		n++
	}
	return n, rows.Err()
}

// InvoicesByProviderIDs implements billing.Store with one query.
func (s *Store) InvoicesByProviderIDs(ctx context.Context, providerIDs []string) (map[string]billing.Invoice, error) {
	out := make(map[string]billing.Invoice, len(providerIDs))
	arg, ok, err := s.idsArg(providerIDs)
	if err != nil || !ok {
		return out, err
	}
	rows, err := s.db.QueryContext(ctx, s.q.invoicesByPIDs, arg)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: invoices of %d provider ids: %w", len(providerIDs), err)
	}
	defer rows.Close()
	for rows.Next() {
		inv, err := scanInvoice(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: invoices by provider id: %w", err)
		}
		out[inv.ProviderID] = inv
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: invoices by provider id: %w", err)
	}
	return out, nil
}

// RecordInvoiceEmails implements billing.Store: one statement on
// PostgreSQL (pgRecordEmails), one transaction on SQLite.
func (s *Store) RecordInvoiceEmails(ctx context.Context, emails []billing.InvoiceEmail) (int, error) {
	latest := make(map[string]time.Time, len(emails))
	var order []string
	for _, e := range emails {
		if e.SentAt.IsZero() {
			return 0, fmt.Errorf("sqlstore: record invoice emails: %q has a zero SentAt", e.ProviderID)
		}
		if e.ProviderID == "" {
			continue
		}
		at, seen := latest[e.ProviderID]
		if !seen {
			order = append(order, e.ProviderID)
		}
		if !seen || e.SentAt.After(at) {
			latest[e.ProviderID] = e.SentAt
		}
	}
	if len(order) == 0 {
		return 0, nil
	}
	var n int64
	var err error
	if s.dialect == SQLite {
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			for _, id := range order {
				res, err := tx.ExecContext(ctx, s.q.recordEmail, id, s.timeArg(latest[id]))
				if err != nil {
					return err
				}
				k, err := res.RowsAffected()
				if err != nil {
					return err
				}
				n += k
			}
			return nil
		})
	} else {
		times := make([]string, len(order))
		for i, id := range order {
			times[i] = pgTimeText(latest[id])
		}
		var res sql.Result
		if res, err = s.db.ExecContext(ctx, s.q.pgRecordEmails, order, times); err == nil {
			n, err = res.RowsAffected()
		}
	}
	if err != nil {
		return 0, fmt.Errorf("sqlstore: record %d invoice emails: %w", len(order), err)
	}
	return int(n), nil
}

// InvoiceEmails implements billing.Store with one query.
func (s *Store) InvoiceEmails(ctx context.Context, providerIDs []string) (map[string]time.Time, error) {
	out := make(map[string]time.Time, len(providerIDs))
	arg, ok, err := s.idsArg(providerIDs)
	if err != nil || !ok {
		return out, err
	}
	rows, err := s.db.QueryContext(ctx, s.q.emailsByPIDs, arg)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: invoice emails: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id string
			at time.Time
		)
		if err := rows.Scan(&id, nullTime{&at}); err != nil {
			return nil, fmt.Errorf("sqlstore: invoice emails: %w", err)
		}
		out[id] = at
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: invoice emails: %w", err)
	}
	return out, nil
}

// pgBeginMany records a batch of creations with pgBeginCreations. ok is
// false when some account is not stored yet: nothing was recorded, and
// the caller takes the general path. A row the statement could not settle
// (another transaction recorded the same key or fingerprint after the
// statement's snapshot) is read back on its own.
func (s *Store) pgBeginMany(ctx context.Context, cs []billing.Creation, params []string) (out []billing.Begun, ok bool, err error) {
	cols := [8][]string{}
	for i, c := range cs {
		for k, v := range []string{c.Account.UserID, c.Account.OrganisationID, c.Key, c.Fingerprint, c.ContactID,
			params[i], pgTimeText(c.CreatedAt), pgTimeText(c.LeaseUntil)} {
			cols[k] = append(cols[k], v)
		}
	}
	args := make([]any, len(cols))
	for k := range cols {
		args[k] = cols[k]
	}
	type row struct {
		known, inserted bool
		found           *billing.Creation
	}
	got := make([]row, len(cs))
	rows, err := s.db.QueryContext(ctx, s.q.pgBeginCreations, args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			ord int64
			r   row
			f   nullCreation
		)
		if err := rows.Scan(append([]any{&ord, &r.known, &r.inserted}, f.dest()...)...); err != nil {
			return nil, false, err
		}
		if ord < 1 || int(ord) > len(cs) {
			return nil, false, fmt.Errorf("begin creations: row %d of %d", ord, len(cs))
		}
		if r.found, err = f.creation(); err != nil {
			return nil, false, err
		}
		got[ord-1] = r
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	rows.Close()
	for _, r := range got {
		if !r.known {
			return nil, false, nil
		}
	}
	// Settle each row as one-by-one recording would: by key first, among
	// the creations recorded before and those this batch recorded before
	// the row, then by fingerprint.
	out = make([]billing.Begun, len(cs))
	newByKey := map[string]billing.Creation{}
	newByFP := map[string]billing.Creation{}
	for i, c := range cs {
		r := got[i]
		if _, dup := newByKey[c.Key]; r.inserted && !dup {
			c.CreatedAt, c.LeaseUntil = normTime(c.CreatedAt), normTime(c.LeaseUntil)
			c.InvoiceNumber, c.ProviderID = "", ""
			newByKey[c.Key], newByFP[c.Fingerprint] = c, c
			out[i] = billing.Begun{Creation: c, New: true}
			continue
		}
		var found billing.Creation
		var have bool
		switch {
		case r.found != nil && r.found.Key == c.Key:
			found, have = *r.found, true
		default:
			if found, have = newByKey[c.Key]; have {
				break
			}
			if r.found != nil {
				found, have = *r.found, true
			} else {
				found, have = newByFP[c.Fingerprint]
			}
		}
		if !have {
			// Recorded by another transaction meanwhile: read it now.
			found, err = s.creationBy(ctx, s.db, s.q.creationByKey, c.Key)
			if errors.Is(err, sql.ErrNoRows) {
				found, err = s.creationBy(ctx, s.db, s.q.creationByFingerprint, c.Fingerprint)
			}
			if errors.Is(err, sql.ErrNoRows) {
				return nil, false, fmt.Errorf("creation %s conflicted but is gone (abandoned meanwhile); try again", c.Key)
			}
			if err != nil {
				return nil, false, err
			}
		}
		out[i] = billing.Begun{Creation: found}
		if found.Key == c.Key && found.Fingerprint != c.Fingerprint {
			out[i].Err = fmt.Errorf("%w: idempotency key %q is already used for another invoice", billing.ErrConflict, c.Key)
		}
	}
	return out, true, nil
}

// nullCreation scans creationColumns that may all be NULL (no creation).
type nullCreation struct {
	key, fingerprint, user, org, contact, number, providerID sql.NullString
	params                                                   []byte
	createdAt, leaseUntil                                    time.Time
}

func (n *nullCreation) dest() []any {
	return []any{&n.key, &n.fingerprint, &n.user, &n.org, &n.contact, &n.params,
		nullTime{&n.createdAt}, nullTime{&n.leaseUntil}, &n.number, &n.providerID}
}

func (n *nullCreation) creation() (*billing.Creation, error) {
	if !n.key.Valid {
		return nil, nil
	}
	c := &billing.Creation{Key: n.key.String, Fingerprint: n.fingerprint.String, ContactID: n.contact.String,
		Account:   billing.Account{UserID: n.user.String, OrganisationID: n.org.String},
		CreatedAt: n.createdAt, LeaseUntil: n.leaseUntil, InvoiceNumber: n.number.String, ProviderID: n.providerID.String}
	if err := json.Unmarshal(n.params, &c.Params); err != nil {
		return nil, fmt.Errorf("creation %s: invalid params: %w", c.Key, err)
	}
	return c, nil
}

// pgCompleteMany completes, with one pgCompleteMany statement, the
// completions at idx (no key, number or provider id twice, states that
// agree), and reports in done which it saved.
func (s *Store) pgCompleteMany(ctx context.Context, cs []billing.Completion, idx []int, out []billing.Completed, done []bool) error {
	cols := make([][]string, 17)
	for _, i := range idx {
		c := cs[i].Created
		for k, v := range []string{cs[i].Key, c.Number, c.ProviderID, c.Reference, c.Status, c.Currency,
			c.IssueDate.String(), c.DueDate.String(), c.PaidDate.String(),
			moneyArg(c.Amount), moneyArg(c.Paid), moneyArg(c.Due),
			strconv.FormatBool(c.UpdateNeeded), pgTimeText(c.UpdateRequestedAt), strconv.Itoa(c.UpdateAttempts),
			c.UpdateError, strconv.FormatBool(c.SetAside)} {
			cols[k] = append(cols[k], v)
		}
	}
	args := make([]any, len(cols))
	for k := range cols {
		args[k] = cols[k]
	}
	rows, err := s.db.QueryContext(ctx, s.q.pgCompleteMany, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			ord       int64
			user, org sql.NullString
		)
		if err := rows.Scan(&ord, &user, &org); err != nil {
			return err
		}
		if ord < 1 || int(ord) > len(idx) {
			return fmt.Errorf("complete creations: row %d of %d", ord, len(idx))
		}
		i := idx[ord-1]
		inv := cs[i].Created
		inv.Account = billing.Account{UserID: user.String, OrganisationID: org.String}
		inv.UpdateRequestedAt = normTime(inv.UpdateRequestedAt)
		out[i].Invoice, done[i] = inv, true
	}
	return rows.Err()
}

// batchable returns the completions pgCompleteMany may take: with a
// provider id, states that agree, and no key, number or provider id that
// another completion of the batch shares.
func batchable(cs []billing.Completion) []int {
	count := map[string]int{}
	for _, c := range cs {
		count["k"+c.Key]++
		count["n"+c.Created.Number]++
		count["p"+c.Created.ProviderID]++
	}
	var idx []int
	for i, c := range cs {
		if c.Created.ProviderID == "" || !c.Created.SameProviderState(c.Current) ||
			count["k"+c.Key] > 1 || count["n"+c.Created.Number] > 1 || count["p"+c.Created.ProviderID] > 1 {
			continue
		}
		idx = append(idx, i)
	}
	return idx
}
