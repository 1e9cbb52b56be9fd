-- +goose Up
-- As in 00001 and 00002: STRICT tables, INTEGER unix microseconds, TEXT
-- money and dates, IF NOT EXISTS everywhere so a second process racing this
-- migration on the same file finds everything in place. For that reason an
-- invoice's AmountCredited is a table of its own rather than a column added
-- to billing_invoices (SQLite has no ADD COLUMN IF NOT EXISTS); no row
-- means 0.
CREATE TABLE IF NOT EXISTS billing_invoice_credits (
    invoice_id INTEGER PRIMARY KEY REFERENCES billing_invoices (id) ON DELETE CASCADE,
    credited   TEXT NOT NULL DEFAULT '0'
) STRICT;

-- Money operations, recorded before the provider is called; done once
-- done_at is set, and kept.
CREATE TABLE IF NOT EXISTS billing_money_ops (
    id              INTEGER PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE CHECK (idempotency_key <> ''),
    fingerprint     TEXT NOT NULL UNIQUE CHECK (fingerprint <> ''),
    kind            TEXT NOT NULL CHECK (kind <> ''),
    params          TEXT NOT NULL CHECK (json_valid(params)),
    created_at      INTEGER,
    lease_until     INTEGER,
    provider_id     TEXT NOT NULL DEFAULT '',
    done_at         INTEGER,
    recorded_at     INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER))
) STRICT;

CREATE INDEX IF NOT EXISTS billing_money_ops_pending_idx
    ON billing_money_ops (created_at, id)
    WHERE done_at IS NULL;

CREATE TABLE IF NOT EXISTS billing_payments (
    id                  INTEGER PRIMARY KEY,
    provider_payment_id TEXT NOT NULL UNIQUE CHECK (provider_payment_id <> ''),
    invoice_id          TEXT NOT NULL DEFAULT '',
    credit_note_id      TEXT NOT NULL DEFAULT '',
    amount              TEXT NOT NULL,
    payment_date        TEXT CHECK (payment_date IS NULL OR date(payment_date) = payment_date),
    reference           TEXT NOT NULL DEFAULT '',
    account_code        TEXT NOT NULL DEFAULT '',
    status              TEXT NOT NULL DEFAULT '',
    updated_at          INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER))
) STRICT;

CREATE INDEX IF NOT EXISTS billing_payments_invoice_idx ON billing_payments (invoice_id) WHERE invoice_id <> '';

CREATE TABLE IF NOT EXISTS billing_credit_notes (
    id                      INTEGER PRIMARY KEY,
    provider_credit_note_id TEXT NOT NULL UNIQUE CHECK (provider_credit_note_id <> ''),
    credit_note_number      TEXT UNIQUE CHECK (credit_note_number <> ''),
    account_id              INTEGER REFERENCES billing_accounts (id),
    contact_id              TEXT NOT NULL DEFAULT '',
    invoice_id              TEXT NOT NULL DEFAULT '',
    reference               TEXT NOT NULL DEFAULT '',
    status                  TEXT NOT NULL DEFAULT '',
    currency                TEXT NOT NULL DEFAULT '',
    credit_date             TEXT CHECK (credit_date IS NULL OR date(credit_date) = credit_date),
    total                   TEXT NOT NULL DEFAULT '0',
    remaining               TEXT NOT NULL DEFAULT '0',
    updated_at              INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER))
) STRICT;

CREATE INDEX IF NOT EXISTS billing_credit_notes_invoice_idx ON billing_credit_notes (invoice_id) WHERE invoice_id <> '';

CREATE TABLE IF NOT EXISTS billing_credit_allocations (
    credit_note_id INTEGER NOT NULL REFERENCES billing_credit_notes (id) ON DELETE CASCADE,
    position       INTEGER NOT NULL CHECK (position >= 0),
    invoice_id     TEXT NOT NULL,
    amount         TEXT NOT NULL,
    allocated_on   TEXT CHECK (allocated_on IS NULL OR date(allocated_on) = allocated_on),
    PRIMARY KEY (credit_note_id, position)
) STRICT;

CREATE INDEX IF NOT EXISTS billing_credit_allocations_invoice_idx ON billing_credit_allocations (invoice_id);

-- +goose Down
DROP TABLE billing_credit_allocations;
DROP TABLE billing_credit_notes;
DROP TABLE billing_payments;
DROP TABLE billing_money_ops;
DROP TABLE billing_invoice_credits;
