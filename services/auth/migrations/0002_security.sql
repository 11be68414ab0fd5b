-- Lockout, one-time tokens, unlock requests, mail outbox, audit log and account deletion.
-- Runs as trackcc_auth_owner; the runtime role trackcc_auth gets DML through default
-- privileges, except on audit_log (append-only, see the REVOKE below).

-- Set when the owner asks for deletion: sign-in stops at once, the row goes when the
-- deletion job has purged the other services.
ALTER TABLE accounts ADD COLUMN deletion_requested_at timestamptz;

-- Failed sign-ins for addresses without an account, so that unknown emails lock exactly
-- like real ones and the 423 answer reveals nothing. Keyed by HMAC-SHA256 of the
-- normalized email (see lockout.py for why not the plain address or a bare sha256).
CREATE TABLE unknown_email_failures (
    email_hmac bytea PRIMARY KEY CHECK (length(email_hmac) = 32),
    failed_attempts integer NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    locked_at timestamptz,
    updated_at timestamptz NOT NULL
);

-- Single-use tokens sent by mail; only their sha256 is stored. ``email`` is the address
-- the mail went to: a verification link proves control of that address and no other.
CREATE TABLE mail_tokens (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    purpose text NOT NULL
        CHECK (purpose IN ('verify_email', 'change_email', 'reset_password', 'unlock_request')),
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);

-- The reset-mail throttle counts an account's recent reset tokens.
CREATE INDEX mail_tokens_account_idx ON mail_tokens (account_id, purpose, created_at);

-- "Please unlock my account", proven by following the lockout notice link.
CREATE TABLE unlock_requests (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    requested_at timestamptz NOT NULL,
    resolved_at timestamptz
);

CREATE INDEX unlock_requests_open_idx ON unlock_requests (requested_at, id)
    WHERE resolved_at IS NULL;

-- Spent refresh tokens, kept while their session lives: presenting one again means the
-- token was copied, so the whole session is revoked (reuse detection).
CREATE TABLE spent_refresh_tokens (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    spent_at timestamptz NOT NULL
);

-- The transactional outbox of services/common/outbox.py.
CREATE TABLE mail_outbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient text NOT NULL,
    subject text NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz,
    last_error text
);

CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL;

-- Security events. No foreign key: the record of a deletion must outlive the account.
-- Only ids and reasons, never an email or a password.
CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL,
    actor text NOT NULL,
    subject uuid,
    event text NOT NULL,
    reason text NOT NULL DEFAULT ''
);

CREATE INDEX audit_log_subject_idx ON audit_log (subject, at);

-- Append-only for the service: a compromised service cannot rewrite its own history.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM trackcc_auth;

-- Durable account deletion: the worker resumes from these rows after any restart.
CREATE TABLE deletion_jobs (
    account_id uuid PRIMARY KEY,
    -- Needed for sharing's purge (invitations to the address) and the receipt; erased when
    -- the job finishes.
    email text NOT NULL,
    requested_at timestamptz NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    roster_done_at timestamptz,
    sharing_done_at timestamptz,
    classes_deleted integer NOT NULL DEFAULT 0,
    students_deleted integer NOT NULL DEFAULT 0,
    finished_at timestamptz,
    last_error text
);

CREATE INDEX deletion_jobs_due_idx ON deletion_jobs (next_attempt_at) WHERE finished_at IS NULL;
