"""Sign-in sessions: opaque refresh tokens stored only as hashes, and their lifetimes."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Final

from services.auth.accounts import ACCOUNT_COLUMNS, Account, account_from_row
from services.common.db import DbConnection

# 256 random bits: far beyond guessing, so a fast sha256 is enough to store it.
REFRESH_TOKEN_BYTES: Final = 32
MAX_USER_AGENT_LENGTH: Final = 512


@dataclass(frozen=True)
class SessionPolicy:
    """How long sessions live ("stay signed in").

    NIST SP 800-63B section 4.2.3 (AAL1) lets a session go up to 30 days between
    reauthentications; docs/api.md turns that into 30 days without use and 90 days in all,
    both configurable (TRACKCC_AUTH_SESSION_IDLE_DAYS, TRACKCC_AUTH_SESSION_MAX_DAYS).
    """

    idle: dt.timedelta = dt.timedelta(days=30)
    max_age: dt.timedelta = dt.timedelta(days=90)


# The condition of an active session row ``s``: $now and $idle_since are parameters.
ACTIVE = "s.revoked_at IS NULL AND s.expires_at > {now} AND s.last_used_at > {idle_since}"


@dataclass(frozen=True)
class RefreshToken:
    """A new refresh token: the value for the client and the digest for the database."""

    value: str
    digest: bytes


def new_refresh_token() -> RefreshToken:
    """A random refresh token."""
    value = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
    return RefreshToken(value=value, digest=refresh_token_digest(value))


def refresh_token_digest(value: str) -> bytes:
    """What the sessions table stores for a refresh token."""
    return hashlib.sha256(value.encode()).digest()


async def open_after_sign_in(
    connection: DbConnection,
    account_id: uuid.UUID,
    verified_hash: str,
    new_hash: str | None,
    refresh_digest: bytes,
    user_agent: str,
    now: dt.datetime,
    policy: SessionPolicy,
) -> tuple[Account, uuid.UUID] | None:
    """After a right password: resets the failure count, stores ``new_hash`` (a rehash) when
    given, and opens a session, in one statement (one round trip, one commit).

    Guarded by ``locked_at IS NULL``: a right password checked while a parallel attempt
    locked the account changes nothing and gets None, like a deleted account, and then no
    session is opened either. The rehash is applied only if the stored hash is still the one
    just verified, so a password change that landed in between is never overwritten.
    """
    row = await connection.fetchrow(
        f"""
        WITH account AS (
            UPDATE accounts
            SET failed_attempts = 0,
                password_hash = CASE
                    WHEN $3::text IS NOT NULL AND password_hash = $2 THEN $3
                    ELSE password_hash
                END,
                updated_at = now()
            WHERE id = $1 AND locked_at IS NULL AND deletion_requested_at IS NULL
            RETURNING {ACCOUNT_COLUMNS}
        ), session AS (
            INSERT INTO sessions
                (account_id, refresh_token_hash, created_at, last_used_at, expires_at, user_agent)
            SELECT id, $4, $5, $5, $6, $7 FROM account
            RETURNING id
        )
        SELECT account.*, session.id AS session_id FROM account, session
        """,
        account_id,
        verified_hash,
        new_hash,
        refresh_digest,
        now,
        now + policy.max_age,
        user_agent[:MAX_USER_AGENT_LENGTH],
    )
    if row is None:
        return None
    session_id: uuid.UUID = row["session_id"]
    return account_from_row(row), session_id


async def account_of_active_session(
    connection: DbConnection,
    session_id: uuid.UUID,
    account_id: uuid.UUID,
    now: dt.datetime,
    policy: SessionPolicy,
) -> Account | None:
    """The account when the session is its own and still active (not revoked or expired)."""
    row = await connection.fetchrow(
        f"""
        SELECT {", ".join("a." + column for column in ACCOUNT_COLUMNS.split(", "))}
        FROM sessions s JOIN accounts a ON a.id = s.account_id
        WHERE s.id = $1 AND s.account_id = $2 AND a.deletion_requested_at IS NULL
          AND {ACTIVE.format(now="$3", idle_since="$4")}
        """,
        session_id,
        account_id,
        now,
        now - policy.idle,
    )
    return None if row is None else account_from_row(row)


async def revoke(
    connection: DbConnection, account_id: uuid.UUID, session_id: uuid.UUID, now: dt.datetime
) -> bool:
    """Ends one of the account's sessions; False when it has no such live session."""
    found = await connection.fetchval(
        """
        UPDATE sessions SET revoked_at = $3
        WHERE id = $1 AND account_id = $2 AND revoked_at IS NULL
        RETURNING true
        """,
        session_id,
        account_id,
        now,
    )
    return bool(found)


async def revoke_all(
    connection: DbConnection,
    account_id: uuid.UUID,
    now: dt.datetime,
    keep: uuid.UUID | None = None,
) -> None:
    """Ends every session of the account except ``keep`` (a password change keeps its own)."""
    await connection.execute(
        """
        UPDATE sessions SET revoked_at = $2
        WHERE account_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $3
        """,
        account_id,
        now,
        keep,
    )


async def active_ids(
    connection: DbConnection, session_ids: list[uuid.UUID], now: dt.datetime, policy: SessionPolicy
) -> list[uuid.UUID]:
    """The ids among those given that are still active (the gateway's revocation cache)."""
    rows = await connection.fetch(
        f"""
        SELECT s.id FROM sessions s JOIN accounts a ON a.id = s.account_id
        WHERE s.id = ANY($1::uuid[]) AND a.deletion_requested_at IS NULL
          AND {ACTIVE.format(now="$2", idle_since="$3")}
        """,
        session_ids,
        now,
        now - policy.idle,
    )
    return [row["id"] for row in rows]


@dataclass(frozen=True)
class SessionRow:
    """A session as its owner sees it."""

    id: uuid.UUID
    created_at: dt.datetime
    last_used_at: dt.datetime
    user_agent: str


async def list_active(
    connection: DbConnection,
    account_id: uuid.UUID,
    now: dt.datetime,
    policy: SessionPolicy,
    limit: int,
    after: tuple[dt.datetime, uuid.UUID] | None,
) -> list[SessionRow]:
    """Live sessions, newest first, after a (created_at, id) keyset position."""
    after_time, after_id = after if after else (None, None)
    rows = await connection.fetch(
        f"""
        SELECT s.id, s.created_at, s.last_used_at, s.user_agent FROM sessions s
        WHERE s.account_id = $1 AND {ACTIVE.format(now="$2", idle_since="$3")}
          AND ($4::timestamptz IS NULL OR (s.created_at, s.id) < ($4, $5::uuid))
        ORDER BY s.created_at DESC, s.id DESC
        LIMIT $6
        """,
        account_id,
        now,
        now - policy.idle,
        after_time,
        after_id,
        limit,
    )
    return [SessionRow(r["id"], r["created_at"], r["last_used_at"], r["user_agent"]) for r in rows]


async def list_all(connection: DbConnection, account_id: uuid.UUID) -> list[SessionRow]:
    """Every session of the account, ended or not (the export)."""
    rows = await connection.fetch(
        """
        SELECT id, created_at, last_used_at, user_agent FROM sessions
        WHERE account_id = $1 ORDER BY created_at DESC, id DESC
        """,
        account_id,
    )
    return [SessionRow(r["id"], r["created_at"], r["last_used_at"], r["user_agent"]) for r in rows]
