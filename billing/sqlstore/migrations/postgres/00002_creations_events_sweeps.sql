-- +goose Up
-- What the provider holds for each linked contact, as last synced.
ALTER TABLE billing_contact_links
    ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '',
    ADD COLUMN email       TEXT NOT NULL DEFAULT '',
    ADD COLUMN synced_at   TIMESTAMPTZ;

-- Invoice creations, recorded before the provider is called. A creation is
-- done once invoice_id is set; done creations stay, so asking again for the
-- same logical invoice (fingerprint) finds its invoice.
CREATE TABLE billing_creations (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE CHECK (idempotency_key <> ''),
    fingerprint     TEXT NOT NULL UNIQUE CHECK (fingerprint <> ''),
    account_id      BIGINT NOT NULL REFERENCES billing_accounts (id),
    contact_id      TEXT NOT NULL DEFAULT '',
    params          JSONB NOT NULL,
    created_at      TIMESTAMPTZ,
    lease_until     TIMESTAMPTZ,
    invoice_id      BIGINT UNIQUE REFERENCES billing_invoices (id),
    done_at         TIMESTAMPTZ,
    recorded_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX billing_creations_pending_idx
    ON billing_creations (created_at NULLS FIRST, id)
    WHERE invoice_id IS NULL;

-- Changes to invoices, recorded in the transaction that saved them, until
-- the app's hook takes them. id is the order; event_id the stable id the
-- app sees.
CREATE TABLE billing_invoice_events (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        TEXT NOT NULL UNIQUE CHECK (event_id <> ''),
    invoice_id      BIGINT NOT NULL REFERENCES billing_invoices (id),
    before_state    JSONB NOT NULL,
    after_state     JSONB NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    delivered_at    TIMESTAMPTZ,
    leased_until    TIMESTAMPTZ,
    next_attempt_at TIMESTAMPTZ,
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error      TEXT NOT NULL DEFAULT ''
);

-- The claim query: each invoice's oldest undelivered event.
CREATE INDEX billing_invoice_events_invoice_idx
    ON billing_invoice_events (invoice_id, id)
    WHERE delivered_at IS NULL;

-- The undelivered events, oldest first (claims and PendingEvents).
CREATE INDEX billing_invoice_events_pending_idx
    ON billing_invoice_events (id)
    WHERE delivered_at IS NULL;

-- Where each sweep got to, by name.
CREATE TABLE billing_sweep_marks (
    name       TEXT PRIMARY KEY,
    mark       TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- OpenInvoices and EarliestIssueDate.
CREATE INDEX billing_invoices_open_idx
    ON billing_invoices (provider_invoice_id)
    WHERE provider_invoice_id IS NOT NULL AND status NOT IN ('PAID', 'VOIDED', 'DELETED');
CREATE INDEX billing_invoices_issue_date_idx ON billing_invoices (issue_date);

-- +goose Down
DROP INDEX billing_invoices_issue_date_idx;
DROP INDEX billing_invoices_open_idx;
DROP TABLE billing_sweep_marks;
DROP TABLE billing_invoice_events;
DROP TABLE billing_creations;
ALTER TABLE billing_contact_links
    DROP COLUMN synced_at,
    DROP COLUMN email,
    DROP COLUMN fingerprint;
