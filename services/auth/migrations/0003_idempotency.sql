-- CreateAccount's request_id (AIP-155): a retried sign-up with the same Idempotency-Key and
-- body gets the first response. Sign-up has no caller yet, so principal_id is the nil UUID
-- (services/common/idempotency.py, ANONYMOUS); request_hash never covers the password (see
-- services/auth/server.py).
CREATE TABLE idempotency_keys (
    principal_id uuid NOT NULL,
    request_id text NOT NULL CHECK (length(request_id) BETWEEN 1 AND 200),
    request_hash bytea NOT NULL,
    response bytea NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (principal_id, request_id)
);

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
