-- +goose Up
-- The invoice emails the provider sent, so a rerun of a bulk run emails
-- nobody twice: one row an invoice, with its latest email.
CREATE TABLE billing_invoice_emails (
    invoice_id   BIGINT PRIMARY KEY REFERENCES billing_invoices (id) ON DELETE CASCADE,
    last_sent_at TIMESTAMPTZ NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE billing_invoice_emails;
