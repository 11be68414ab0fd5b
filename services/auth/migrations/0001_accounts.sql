-- Accounts and sign-in sessions of the auth service.
-- Runs as trackcc_auth_owner; the runtime role gets DML through default privileges.

CREATE TABLE accounts (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Stored normalized (trimmed, lower case); the unique index below is what enforces
    -- one account per address, so concurrent signups cannot both win.
    email text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    role text NOT NULL CHECK (role IN ('teacher', 'guardian', 'student', 'support')),
    display_name text CHECK (length(display_name) <= 100),
    birth_date date,
    gender text CHECK (length(gender) <= 50),
    email_verified boolean NOT NULL DEFAULT false,
    -- argon2id PHC string; the plain password is never stored.
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    -- Consecutive failed sign-ins, changed only by single atomic UPDATEs (lockout).
    failed_attempts integer NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    locked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX accounts_email_key ON accounts (lower(email));

-- Support lists locked accounts; few rows ever match.
CREATE INDEX accounts_locked_idx ON accounts (locked_at) WHERE locked_at IS NOT NULL;

CREATE TABLE sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- sha256 of the opaque refresh token: a database leak does not yield usable tokens,
    -- and a high-entropy token needs no slow hash.
    refresh_token_hash bytea NOT NULL UNIQUE CHECK (length(refresh_token_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz NOT NULL DEFAULT now(),
    -- Absolute end of the session; the idle limit is checked against last_used_at.
    expires_at timestamptz NOT NULL,
    user_agent text NOT NULL DEFAULT '' CHECK (length(user_agent) <= 512),
    revoked_at timestamptz
);

-- "My sessions" and "sign out everywhere" look sessions up by account.
CREATE INDEX sessions_account_idx ON sessions (account_id, created_at DESC);
