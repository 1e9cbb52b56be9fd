-- +goose Up
-- Credit notes marked for a refresh by CREDITNOTE webhooks, whether the
-- store holds them or not (one made in Xero by hand has no row in
-- billing_credit_notes until its refresh finds a stored invoice). A row is
-- a mark: the fetch job deletes it once the refresh is done, unless the
-- credit note was marked again meanwhile (requested_at moved). Ids compare
-- in byte order ("C"), as Go sorts them.
CREATE TABLE billing_credit_note_marks (
    provider_credit_note_id TEXT COLLATE "C" PRIMARY KEY CHECK (provider_credit_note_id <> ''),
    requested_at            TIMESTAMPTZ NOT NULL,
    attempts                INTEGER NOT NULL DEFAULT 0,
    last_error              TEXT NOT NULL DEFAULT '',
    set_aside               BOOLEAN NOT NULL DEFAULT FALSE,
    claimed_until           TIMESTAMPTZ,
    updated_at              TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX billing_credit_note_marks_queue_idx
    ON billing_credit_note_marks (requested_at, provider_credit_note_id)
    WHERE NOT set_aside;

-- +goose Down
DROP TABLE billing_credit_note_marks;
