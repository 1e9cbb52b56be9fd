-- +goose Up
-- Credit notes marked for a refresh by CREDITNOTE webhooks, whether the
-- store holds them or not; a row is a mark, deleted once its refresh is
-- done unless the credit note was marked again meanwhile. As in 00001:
-- STRICT, INTEGER unix microseconds, IF NOT EXISTS.
CREATE TABLE IF NOT EXISTS billing_credit_note_marks (
    provider_credit_note_id TEXT PRIMARY KEY CHECK (provider_credit_note_id <> ''),
    requested_at            INTEGER NOT NULL,
    attempts                INTEGER NOT NULL DEFAULT 0,
    last_error              TEXT NOT NULL DEFAULT '',
    set_aside               INTEGER NOT NULL DEFAULT 0 CHECK (set_aside IN (0, 1)),
    claimed_until           INTEGER,
    updated_at              INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER))
) STRICT;

CREATE INDEX IF NOT EXISTS billing_credit_note_marks_queue_idx
    ON billing_credit_note_marks (requested_at, provider_credit_note_id)
    WHERE NOT set_aside;

-- +goose Down
DROP TABLE billing_credit_note_marks;
