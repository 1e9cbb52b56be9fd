-- +goose Up
-- As in 00001: STRICT tables, INTEGER unix microseconds, TEXT money and
-- dates, and IF NOT EXISTS everywhere, so a second process racing this
-- migration on the same file finds everything in place. That is also why
-- the contact's sync is a table of its own rather than columns added to
-- billing_contact_links: SQLite has no ADD COLUMN IF NOT EXISTS.
CREATE TABLE IF NOT EXISTS billing_contact_syncs (
    account_id  INTEGER PRIMARY KEY REFERENCES billing_contact_links (account_id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL DEFAULT '',
    email       TEXT NOT NULL DEFAULT '',
    synced_at   INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER))
) STRICT;

-- Invoice creations, recorded before the provider is called; done once
-- invoice_id is set, and kept.
CREATE TABLE IF NOT EXISTS billing_creations (
    id              INTEGER PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE CHECK (idempotency_key <> ''),
    fingerprint     TEXT NOT NULL UNIQUE CHECK (fingerprint <> ''),
    account_id      INTEGER NOT NULL REFERENCES billing_accounts (id),
    contact_id      TEXT NOT NULL DEFAULT '',
    params          TEXT NOT NULL CHECK (json_valid(params)),
    created_at      INTEGER,
    lease_until     INTEGER,
    invoice_id      INTEGER UNIQUE REFERENCES billing_invoices (id),
    done_at         INTEGER,
    recorded_at     INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER))
) STRICT;

CREATE INDEX IF NOT EXISTS billing_creations_pending_idx
    ON billing_creations (created_at, id)
    WHERE invoice_id IS NULL;

-- Changes to invoices until the app's hook takes them; id is the order.
CREATE TABLE IF NOT EXISTS billing_invoice_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        TEXT NOT NULL UNIQUE CHECK (event_id <> ''),
    invoice_id      INTEGER NOT NULL REFERENCES billing_invoices (id),
    before_state    TEXT NOT NULL CHECK (json_valid(before_state)),
    after_state     TEXT NOT NULL CHECK (json_valid(after_state)),
    created_at      INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER)),
    delivered_at    INTEGER,
    leased_until    INTEGER,
    next_attempt_at INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error      TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX IF NOT EXISTS billing_invoice_events_invoice_idx
    ON billing_invoice_events (invoice_id, id)
    WHERE delivered_at IS NULL;

CREATE INDEX IF NOT EXISTS billing_invoice_events_pending_idx
    ON billing_invoice_events (id)
    WHERE delivered_at IS NULL;

CREATE TABLE IF NOT EXISTS billing_sweep_marks (
    name       TEXT PRIMARY KEY,
    mark       INTEGER,
    updated_at INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER))
) STRICT;

CREATE INDEX IF NOT EXISTS billing_invoices_open_idx
    ON billing_invoices (provider_invoice_id)
    WHERE provider_invoice_id IS NOT NULL AND status NOT IN ('PAID', 'VOIDED', 'DELETED');
CREATE INDEX IF NOT EXISTS billing_invoices_issue_date_idx ON billing_invoices (issue_date);

-- +goose Down
DROP INDEX billing_invoices_issue_date_idx;
DROP INDEX billing_invoices_open_idx;
DROP TABLE billing_sweep_marks;
DROP TABLE billing_invoice_events;
DROP TABLE billing_creations;
DROP TABLE billing_contact_syncs;
