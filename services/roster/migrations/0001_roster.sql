-- The roster schema: classes, students, enrollments, photos, idempotency keys and the journal
-- of tuple work in flight. Runs as trackcc_roster_owner; the runtime role gets DML through the
-- default privileges set at provisioning.

CREATE TABLE classes (
    id uuid PRIMARY KEY,
    owner_id uuid NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    term text CHECK (length(term) <= 100),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Keyset pagination and export/purge of one owner's classes.
CREATE INDEX classes_by_owner ON classes (owner_id, created_at, id);
-- Keyset pagination of lists built from the ids sharing returns.
CREATE INDEX classes_by_created ON classes (created_at, id);

CREATE TABLE students (
    id uuid PRIMARY KEY,
    owner_id uuid NOT NULL,
    display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    birth_date date,
    gender text CHECK (length(gender) <= 50),
    notes text CHECK (length(notes) <= 2000),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX students_by_owner ON students (owner_id, created_at, id);
CREATE INDEX students_by_created ON students (created_at, id);

-- A student is only ever enrolled in classes of its own owner: the insert itself selects both
-- rows with the same owner, so a mismatch inserts nothing.
CREATE TABLE enrollments (
    class_id uuid NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    student_id uuid NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (class_id, student_id)
);

-- "Which classes is this student in" (student views, deletion).
CREATE INDEX enrollments_by_student ON enrollments (student_id, class_id);

-- One photo per student or per account, re-encoded: never the uploaded bytes.
CREATE TABLE photos (
    student_id uuid UNIQUE REFERENCES students (id) ON DELETE CASCADE,
    account_id uuid UNIQUE,
    content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
    full_image bytea NOT NULL,
    full_etag text NOT NULL,
    thumb_image bytea NOT NULL,
    thumb_etag text NOT NULL,
    width integer NOT NULL CHECK (width BETWEEN 1 AND 1024),
    height integer NOT NULL CHECK (height BETWEEN 1 AND 1024),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK (num_nonnulls(student_id, account_id) = 1)
);

-- Images are already compressed: do not waste CPU trying again, and keep them out of line.
ALTER TABLE photos ALTER COLUMN full_image SET STORAGE EXTERNAL;
ALTER TABLE photos ALTER COLUMN thumb_image SET STORAGE EXTERNAL;

-- Creates are idempotent on request_id (AIP-155): the first response is replayed for 24 hours.
CREATE TABLE idempotency_keys (
    principal_id uuid NOT NULL,
    request_id text NOT NULL CHECK (length(request_id) BETWEEN 1 AND 200),
    request_hash bytea NOT NULL,
    response bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal_id, request_id)
);

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

-- Tuple work that may be half done: a row is committed before tuples are written for a new
-- class, student or enrollment, and in the same transaction as a deletion. It is removed once
-- sharing matches the rows; the reconciler finishes whatever a crash left behind by making
-- sharing match the rows again (write when the row exists, delete when it does not).
CREATE TABLE tuple_journal (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('class', 'student', 'enrollment')),
    resource_id uuid NOT NULL,
    -- The class of an enrollment; NULL for classes and students.
    class_id uuid,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK ((kind = 'enrollment') = (class_id IS NOT NULL))
);

CREATE INDEX tuple_journal_by_age ON tuple_journal (created_at);
