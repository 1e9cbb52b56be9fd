-- +goose Up
-- STRICT tables keep every value in its declared type: money stays TEXT (an
-- exact decimal string), times are INTEGER unix microseconds (UTC, sortable),
-- dates are TEXT 'YYYY-MM-DD' and booleans are 0 or 1.
-- IF NOT EXISTS: a second process that races this migration on the same file
-- (SQLite has no advisory lock) waits on the write lock and then finds the
-- tables in place.
CREATE TABLE IF NOT EXISTS billing_accounts (
    id              INTEGER PRIMARY KEY,
    user_id         TEXT UNIQUE CHECK (user_id <> ''),
    organisation_id TEXT UNIQUE CHECK (organisation_id <> ''),
    created_at      INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER)),
    CONSTRAINT billing_accounts_one_owner
        CHECK ((user_id IS NULL) <> (organisation_id IS NULL))
) STRICT;

CREATE TABLE IF NOT EXISTS billing_contact_links (
    account_id INTEGER PRIMARY KEY REFERENCES billing_accounts (id) ON DELETE CASCADE,
    contact_id TEXT NOT NULL CHECK (contact_id <> ''),
    created_at INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER))
) STRICT;

CREATE TABLE IF NOT EXISTS billing_invoices (
    id                  INTEGER PRIMARY KEY,
    account_id          INTEGER NOT NULL REFERENCES billing_accounts (id),
    invoice_number      TEXT NOT NULL UNIQUE,
    provider_invoice_id TEXT UNIQUE CHECK (provider_invoice_id <> ''),
    reference           TEXT NOT NULL DEFAULT '',
    status              TEXT NOT NULL DEFAULT '',
    currency            TEXT NOT NULL DEFAULT '',
    issue_date          TEXT CHECK (issue_date IS NULL OR date(issue_date) = issue_date),
    due_date            TEXT CHECK (due_date IS NULL OR date(due_date) = due_date),
    paid_date           TEXT CHECK (paid_date IS NULL OR date(paid_date) = paid_date),
    amount              TEXT NOT NULL DEFAULT '0',
    paid                TEXT NOT NULL DEFAULT '0',
    due                 TEXT NOT NULL DEFAULT '0',
    update_needed       INTEGER NOT NULL DEFAULT 0 CHECK (update_needed IN (0, 1)),
    update_requested_at INTEGER,
    update_attempts     INTEGER NOT NULL DEFAULT 0 CHECK (update_attempts >= 0),
    update_error        TEXT NOT NULL DEFAULT '',
    set_aside           INTEGER NOT NULL DEFAULT 0 CHECK (set_aside IN (0, 1)),
    claimed_until       INTEGER,
    created_at          INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER)),
    updated_at          INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER))
) STRICT;

CREATE INDEX IF NOT EXISTS billing_invoices_account_id_idx ON billing_invoices (account_id);

-- The claim query: marked invoices that are not set aside, oldest mark first.
CREATE INDEX IF NOT EXISTS billing_invoices_update_needed_idx
    ON billing_invoices (update_requested_at, invoice_number)
    WHERE update_needed AND NOT set_aside;

CREATE INDEX IF NOT EXISTS billing_invoices_set_aside_idx
    ON billing_invoices (update_requested_at, invoice_number)
    WHERE set_aside;

-- +goose Down
DROP TABLE billing_invoices;
DROP TABLE billing_contact_links;
DROP TABLE billing_accounts;
