-- +goose Up
-- The invoice emails the provider sent, so a rerun of a bulk run emails
-- nobody twice: one row an invoice, with its latest email. As in 00001:
-- STRICT, INTEGER unix microseconds, IF NOT EXISTS.
CREATE TABLE IF NOT EXISTS billing_invoice_emails (
    invoice_id   INTEGER PRIMARY KEY REFERENCES billing_invoices (id) ON DELETE CASCADE,
    last_sent_at INTEGER NOT NULL,
    recorded_at  INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER))
) STRICT;

-- +goose Down
DROP TABLE billing_invoice_emails;
