-- A mail given up as undeliverable (services/common/outbox.py): never claimed again, its
-- body erased, pruned like sent rows.
ALTER TABLE mail_outbox ADD COLUMN failed_at timestamptz;
