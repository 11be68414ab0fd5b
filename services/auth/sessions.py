"""Sign-in sessions: opaque refresh tokens stored only as hashes, and their lifetimes."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Final

from services.auth.accounts import ACCOUNT_COLUMNS, Account, DbConnection, account_from_row

# API.md: a session ends after 30 days without use or 90 days in all.
SESSION_LIFETIME: Final = dt.timedelta(days=90)
IDLE_TIMEOUT: Final = dt.timedelta(days=30)
# 256 random bits: far beyond guessing, so a fast sha256 is enough to store it.
REFRESH_TOKEN_BYTES: Final = 32
MAX_USER_AGENT_LENGTH: Final = 512


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


async def create_session(
    connection: DbConnection,
    account_id: uuid.UUID,
    refresh_digest: bytes,
    user_agent: str,
    now: dt.datetime,
) -> uuid.UUID:
    """A new session row; returns its id."""
    session_id: uuid.UUID = await connection.fetchval(
        """
        INSERT INTO sessions
            (account_id, refresh_token_hash, created_at, last_used_at, expires_at, user_agent)
        VALUES ($1, $2, $3, $3, $4, $5)
        RETURNING id
        """,
        account_id,
        refresh_digest,
        now,
        now + SESSION_LIFETIME,
        user_agent[:MAX_USER_AGENT_LENGTH],
    )
    return session_id


async def account_of_active_session(
    connection: DbConnection,
    session_id: uuid.UUID,
    account_id: uuid.UUID,
    now: dt.datetime,
) -> Account | None:
    """The account when the session is its own and still active (not revoked or expired)."""
    row = await connection.fetchrow(
        f"""
        SELECT {", ".join("a." + column for column in ACCOUNT_COLUMNS.split(", "))}
        FROM sessions s JOIN accounts a ON a.id = s.account_id
        WHERE s.id = $1 AND s.account_id = $2
          AND s.revoked_at IS NULL
          AND s.expires_at > $3
          AND s.last_used_at > $4
        """,
        session_id,
        account_id,
        now,
        now - IDLE_TIMEOUT,
    )
    return None if row is None else account_from_row(row)
