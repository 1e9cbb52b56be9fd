-- +goose Up
CREATE TABLE billing_accounts (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         TEXT UNIQUE CHECK (user_id <> ''),
    organisation_id TEXT UNIQUE CHECK (organisation_id <> ''),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT billing_accounts_one_owner
        CHECK ((user_id IS NULL) <> (organisation_id IS NULL))
);

CREATE TABLE billing_contact_links (
    account_id BIGINT PRIMARY KEY REFERENCES billing_accounts (id) ON DELETE CASCADE,
    contact_id TEXT NOT NULL CHECK (contact_id <> ''),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- invoice_number uses the "C" collation so claims tie-break by byte order,
-- the same order as Go's string comparison and SQLite's BINARY collation.
CREATE TABLE billing_invoices (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id          BIGINT NOT NULL REFERENCES billing_accounts (id),
    invoice_number      TEXT COLLATE "C" NOT NULL UNIQUE,
    provider_invoice_id TEXT UNIQUE CHECK (provider_invoice_id <> ''),
    reference           TEXT NOT NULL DEFAULT '',
    status              TEXT NOT NULL DEFAULT '',
    currency            TEXT NOT NULL DEFAULT '',
    issue_date          DATE,
    due_date            DATE,
    paid_date           DATE,
    amount              NUMERIC NOT NULL DEFAULT 0,
    paid                NUMERIC NOT NULL DEFAULT 0,
    due                 NUMERIC NOT NULL DEFAULT 0,
    update_needed       BOOLEAN NOT NULL DEFAULT FALSE,
    update_requested_at TIMESTAMPTZ,
    update_attempts     INTEGER NOT NULL DEFAULT 0 CHECK (update_attempts >= 0),
    update_error        TEXT NOT NULL DEFAULT '',
    set_aside           BOOLEAN NOT NULL DEFAULT FALSE,
    claimed_until       TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX billing_invoices_account_id_idx ON billing_invoices (account_id);

-- The claim query: marked invoices that are not set aside, oldest mark first.
CREATE INDEX billing_invoices_update_needed_idx
    ON billing_invoices (update_requested_at NULLS FIRST, invoice_number)
    WHERE update_needed AND NOT set_aside;

CREATE INDEX billing_invoices_set_aside_idx
    ON billing_invoices (update_requested_at NULLS FIRST, invoice_number)
    WHERE set_aside;

-- +goose Down
DROP TABLE billing_invoices;
DROP TABLE billing_contact_links;
DROP TABLE billing_accounts;
