-- +goose Up
-- What Xero computed of credit notes applied to each invoice (AmountCredited).
ALTER TABLE billing_invoices ADD COLUMN IF NOT EXISTS credited NUMERIC NOT NULL DEFAULT 0;

-- Money operations (payments, reversals, credit notes, allocations, refunds,
-- voids), recorded before the provider is called; done once done_at is set,
-- and kept, so asking again for the same logical operation (fingerprint)
-- finds what was done.
CREATE TABLE billing_money_ops (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE CHECK (idempotency_key <> ''),
    fingerprint     TEXT NOT NULL UNIQUE CHECK (fingerprint <> ''),
    kind            TEXT NOT NULL CHECK (kind <> ''),
    params          JSONB NOT NULL,
    created_at      TIMESTAMPTZ,
    lease_until     TIMESTAMPTZ,
    provider_id     TEXT NOT NULL DEFAULT '',
    done_at         TIMESTAMPTZ,
    recorded_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX billing_money_ops_pending_idx
    ON billing_money_ops (created_at NULLS FIRST, id)
    WHERE done_at IS NULL;

-- Payments as Xero holds them: against an invoice, or (a refund) against a
-- credit note. Ids are Xero's, kept as text so a payment can be stored
-- whatever the order the sweep meets it and its invoice in.
CREATE TABLE billing_payments (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider_payment_id TEXT NOT NULL UNIQUE CHECK (provider_payment_id <> ''),
    invoice_id          TEXT NOT NULL DEFAULT '',
    credit_note_id      TEXT NOT NULL DEFAULT '',
    amount              NUMERIC NOT NULL,
    payment_date        DATE,
    reference           TEXT NOT NULL DEFAULT '',
    account_code        TEXT NOT NULL DEFAULT '',
    status              TEXT NOT NULL DEFAULT '',
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX billing_payments_invoice_idx ON billing_payments (invoice_id) WHERE invoice_id <> '';

CREATE TABLE billing_credit_notes (
    id                      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider_credit_note_id TEXT NOT NULL UNIQUE CHECK (provider_credit_note_id <> ''),
    credit_note_number      TEXT COLLATE "C" UNIQUE CHECK (credit_note_number <> ''),
    account_id              BIGINT REFERENCES billing_accounts (id),
    contact_id              TEXT NOT NULL DEFAULT '',
    invoice_id              TEXT NOT NULL DEFAULT '',
    reference               TEXT NOT NULL DEFAULT '',
    status                  TEXT NOT NULL DEFAULT '',
    currency                TEXT NOT NULL DEFAULT '',
    credit_date             DATE,
    total                   NUMERIC NOT NULL DEFAULT 0,
    remaining               NUMERIC NOT NULL DEFAULT 0,
    updated_at              TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX billing_credit_notes_invoice_idx ON billing_credit_notes (invoice_id) WHERE invoice_id <> '';

-- A credit note's allocations, in Xero's order, replaced on every save.
CREATE TABLE billing_credit_allocations (
    credit_note_id BIGINT NOT NULL REFERENCES billing_credit_notes (id) ON DELETE CASCADE,
    position       INTEGER NOT NULL CHECK (position >= 0),
    invoice_id     TEXT NOT NULL,
    amount         NUMERIC NOT NULL,
    allocated_on   DATE,
    PRIMARY KEY (credit_note_id, position)
);

CREATE INDEX billing_credit_allocations_invoice_idx ON billing_credit_allocations (invoice_id);

-- +goose Down
DROP TABLE billing_credit_allocations;
DROP TABLE billing_credit_notes;
DROP TABLE billing_payments;
DROP TABLE billing_money_ops;
ALTER TABLE billing_invoices DROP COLUMN credited;
