package billing

import (
	"context"
	"time"
)

// CreditNoteMarker records that the provider changed credit notes: what a
// webhook receiver needs of a store for CREDITNOTE events, beside
// UpdateMarker for invoices.
type CreditNoteMarker interface {
	// MarkCreditNotes marks the credit notes with these provider ids for a
	// refresh, whether the store holds them or not: one made in the
	// provider by hand for a member's invoice is not stored until its
	// refresh finds an invoice the store holds. Each mark gets
	// RequestedAt = at, Attempts = 0, Error = "", SetAside = false, and a
	// claim lease is kept. If a mark's stored RequestedAt is not before at,
	// the store uses the stored value plus one microsecond instead, so every
	// mark changes the token. Empty ids are ignored and an id given twice is
	// marked once. It returns the number of credit notes marked; all of
	// them are marked durably, or none and an error.
	MarkCreditNotes(ctx context.Context, providerIDs []string, at time.Time) (int, error)
}

// WebhookStore is what the webhook receiver needs of a store: the marks of
// invoices and of credit notes. Every Store is one.
type WebhookStore interface {
	UpdateMarker
	CreditNoteMarker
}

// CreditNoteMark is one credit note marked for a refresh.
type CreditNoteMark struct {
	ProviderID  string
	RequestedAt time.Time
	// Attempts counts the failed refreshes since the mark; Error is the
	// latest failure.
	Attempts int
	Error    string
	// SetAside is set once Attempts reached the fetch job's limit: the
	// mark is no longer claimed until the credit note is marked again.
	SetAside bool
}

// CreditNoteClaim is one credit-note mark leased by ClaimCreditNotes.
type CreditNoteClaim struct {
	ProviderID  string
	RequestedAt time.Time // the mark's RequestedAt when claimed
	Attempts    int       // the mark's Attempts when claimed
}

// CreditNoteQueue is the queue of marked credit notes: what the fetch job
// needs of a store, beside UpdateQueue, to refresh them. Its methods mirror
// UpdateQueue's; a mark is removed when its refresh completes.
type CreditNoteQueue interface {
	CreditNoteMarker
	// ClaimCreditNotes leases up to limit marks that are not SetAside and
	// not under a lease still running at now, oldest RequestedAt first
	// (ties by ProviderID), each until now+lease, so concurrent callers get
	// disjoint claims. A limit <= 0 claims nothing; a lease <= 0 is an
	// error.
	ClaimCreditNotes(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]CreditNoteClaim, error)
	// CompleteCreditNotes ends claims after a refresh, in one transaction:
	// a mark whose RequestedAt still equals its claim's is removed
	// (cleared[i] is true); one marked again since stays marked, its lease
	// ended. A claim of a mark that is gone reports false.
	CompleteCreditNotes(ctx context.Context, claims []CreditNoteClaim) (cleared []bool, err error)
	// FailCreditNote ends a claim after a failed refresh: Attempts+1,
	// Error = reason, the lease ends, and SetAside becomes true when
	// Attempts reaches maxAttempts (maxAttempts <= 0 never sets aside). If
	// the credit note was marked again since the claim, only the lease
	// ends. It returns the mark as saved, or ErrNotFound when it is gone.
	FailCreditNote(ctx context.Context, c CreditNoteClaim, reason string, maxAttempts int) (CreditNoteMark, error)
	// ReleaseCreditNotes ends the leases without recording anything, for a
	// refresh that did not run (rate limit, cancelled context).
	ReleaseCreditNotes(ctx context.Context, claims []CreditNoteClaim) error
	// CreditNoteMarks lists every mark, set-aside ones included, oldest
	// RequestedAt first (ties by ProviderID), for operators.
	CreditNoteMarks(ctx context.Context) ([]CreditNoteMark, error)
}

// CreditNoteUpdater refreshes credit notes from the provider: what the
// fetch job needs of a service to drain the credit-note marks.
type CreditNoteUpdater interface {
	// UpdateCreditNotes fetches the credit notes with these provider ids,
	// saves those the store keeps (sales credit notes of an invoice it
	// holds; SaveCreditNoteStates) and marks for update (MarkUpdateNeeded)
	// the stored invoices each one was raised for or is, or was, allocated
	// to, so the fetch job refreshes those invoices next, with their
	// amounts credited and due as the provider computes them. An error
	// means the call as a whole failed (a rate limit, an outage, the store,
	// the credentials); outcomes of single credit notes are in the result.
	UpdateCreditNotes(ctx context.Context, providerIDs []string) (CreditNoteUpdateResult, error)
}

// CreditNoteUpdateResult is what UpdateCreditNotes did, credit note by
// credit note. Ids are as requested.
type CreditNoteUpdateResult struct {
	// Refreshed lists the credit notes fetched and saved, changed or not.
	Refreshed []string
	// Changed lists those of Refreshed whose stored copy changed.
	Changed []string
	// Dropped lists credit notes done with though not kept: the provider
	// has none with that id, it is not a sales credit note, or none of its
	// invoices is stored.
	Dropped []string
	// Failed holds credit notes that could not be refreshed, with the
	// reason; one the provider sent that could not be read matches
	// ErrUnreadable. Requested ids in no list were not returned.
	Failed map[string]error
	// InvoicesMarked is how many stored invoices were marked for update.
	InvoicesMarked int
	// Calls counts the requests made to the provider (a client's own
	// retries of one request not counted).
	Calls int
}
