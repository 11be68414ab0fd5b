-- The sharing schema: relation tuples, invitations, grants, the access log, the mail outbox.
-- Runs as trackcc_sharing_owner; the runtime role trackcc_sharing gets data privileges through
-- the default privileges set at provisioning, minus what this file takes away.

-- (resource_type, resource_id, relation, subject_id). For relation 'enrolled_in' the resource
-- is a student and the subject a class id; otherwise the subject is a user id. Tuples created
-- by a grant carry its id and end (expires_at), so Check reads one table and never a cache.
CREATE TABLE relation_tuples (
    resource_type text NOT NULL CHECK (resource_type IN ('class', 'student')),
    resource_id uuid NOT NULL,
    relation text NOT NULL CHECK (relation IN ('owner', 'editor', 'viewer', 'enrolled_in')),
    subject_id uuid NOT NULL,
    grant_id uuid,
    expires_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (relation <> 'enrolled_in' OR resource_type = 'student'),
    -- The primary key answers "which relations does U hold on R" and "which classes is student
    -- S enrolled in", and then "which relation does U hold on class C": Check is index lookups.
    PRIMARY KEY (resource_type, resource_id, relation, subject_id)
);

-- By subject: ListResources (user -> resources), the students enrolled in a class, purge.
CREATE INDEX relation_tuples_by_subject
    ON relation_tuples (subject_id, resource_type, relation, resource_id);
CREATE INDEX relation_tuples_by_grant ON relation_tuples (grant_id) WHERE grant_id IS NOT NULL;

CREATE TABLE invitations (
    id uuid PRIMARY KEY,
    resource_type text NOT NULL CHECK (resource_type IN ('class', 'student')),
    resource_id uuid NOT NULL,
    email text NOT NULL CHECK (email = lower(email)),
    relation text NOT NULL CHECK (relation IN ('viewer', 'editor')),
    role text NOT NULL CHECK (role IN ('guardian', 'advisor', 'student', 'teacher')),
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'accepted', 'declined', 'revoked', 'expired')),
    -- sha256 of a 256-bit random token; the token itself is only ever in the mail.
    token_hash bytea NOT NULL UNIQUE,
    inviter_id uuid NOT NULL,
    inviter_name text NOT NULL,
    message text NOT NULL DEFAULT '',
    grant_expires_at timestamptz,
    accepted_by uuid,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

-- One pending invitation per address and resource, even under concurrent requests.
CREATE UNIQUE INDEX invitations_one_pending
    ON invitations (resource_type, resource_id, email) WHERE status = 'pending';
CREATE INDEX invitations_by_inviter ON invitations (inviter_id, created_at DESC, id DESC);
CREATE INDEX invitations_by_email ON invitations (email, created_at DESC, id DESC);
CREATE INDEX invitations_by_resource ON invitations (resource_type, resource_id);

CREATE TABLE grants (
    id uuid PRIMARY KEY,
    resource_type text NOT NULL CHECK (resource_type IN ('class', 'student')),
    resource_id uuid NOT NULL,
    grantee_id uuid NOT NULL,
    grantee_email text NOT NULL,
    relation text NOT NULL CHECK (relation IN ('viewer', 'editor')),
    role text NOT NULL CHECK (role IN ('guardian', 'advisor', 'student', 'teacher')),
    invitation_id uuid REFERENCES invitations (id) ON DELETE SET NULL,
    owner_id uuid NOT NULL,
    owner_name text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz
);

CREATE INDEX grants_by_resource ON grants (resource_type, resource_id, created_at, id);
CREATE INDEX grants_by_grantee ON grants (grantee_id, created_at DESC, id DESC);

-- Append-only for the runtime role: entries are inserted, never changed.
CREATE TABLE access_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    resource_type text NOT NULL CHECK (resource_type IN ('class', 'student')),
    resource_id uuid NOT NULL,
    at timestamptz NOT NULL,
    actor_id uuid,
    actor_email text NOT NULL DEFAULT '',
    action text NOT NULL CHECK (action IN (
        'invited', 'accepted', 'declined', 'revoked', 'left', 'expired', 'viewed', 'changed'
    )),
    grant_id uuid
);

CREATE INDEX access_log_by_resource ON access_log (resource_type, resource_id, at DESC, id DESC);

REVOKE UPDATE, DELETE, TRUNCATE ON access_log FROM trackcc_sharing;

-- Coalescing of views: one row per (actor, resource) says when a view was last logged. A
-- guarded upsert on it decides atomically whether a new 'viewed' entry is due.
CREATE TABLE view_marks (
    actor_id uuid NOT NULL,
    resource_type text NOT NULL,
    resource_id uuid NOT NULL,
    logged_at timestamptz NOT NULL,
    PRIMARY KEY (actor_id, resource_type, resource_id)
);

CREATE INDEX view_marks_by_resource ON view_marks (resource_type, resource_id);

-- The log of a resource goes with the resource, and only then: the function runs as the
-- owner role (which may delete) but refuses while an owner tuple still exists, so the runtime
-- role cannot use it to erase the history of a live resource.
CREATE FUNCTION purge_access_log(p_resource_type text, p_resource_id uuid)
RETURNS bigint
LANGUAGE sql
SECURITY DEFINER
SET search_path = sharing, pg_temp
AS $$
    WITH removed AS (
        DELETE FROM access_log
        WHERE resource_type = p_resource_type
          AND resource_id = p_resource_id
          AND NOT EXISTS (
              SELECT 1 FROM relation_tuples
              WHERE resource_type = p_resource_type
                AND resource_id = p_resource_id
                AND relation = 'owner'
          )
        RETURNING 1
    )
    SELECT count(*) FROM removed
$$;

REVOKE ALL ON FUNCTION purge_access_log(text, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION purge_access_log(text, uuid) TO trackcc_sharing;

-- The mail outbox (shape documented in services/common/outbox.py).
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

-- CreateInvitation's request_id (AIP-155): the first response, replayed for the same key.
CREATE TABLE idempotency_keys (
    principal_id uuid NOT NULL,
    request_id text NOT NULL,
    request_hash bytea NOT NULL,
    response bytea NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (principal_id, request_id)
);
