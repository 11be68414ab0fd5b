"""Refresh-token rotation with reuse detection.

Each refresh swaps the session's token hash in one guarded UPDATE, so of two requests with
the same token exactly one wins; the spent hash is remembered, and presenting it again
means the token was copied: the whole session is revoked and the event audited.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from services.auth import audit
from services.auth.accounts import ACCOUNT_COLUMNS, Account, account_from_row
from services.auth.sessions import MAX_USER_AGENT_LENGTH, SessionPolicy, refresh_token_digest
from services.common.db import DbConnection


@dataclass(frozen=True)
class Rotated:
    """A successful refresh."""

    session_id: uuid.UUID
    account: Account


async def rotate(
    connection: DbConnection,
    presented: str,
    new_digest: bytes,
    user_agent: str,
    now: dt.datetime,
    policy: SessionPolicy,
) -> Rotated | None:
    """The session and account for a valid token, now rotated; None otherwise.

    Call inside a transaction: the swap, the spent record and a reuse revocation commit
    together.
    """
    old_digest = refresh_token_digest(presented)
    row = await connection.fetchrow(
        """
        UPDATE sessions s
        SET refresh_token_hash = $2, last_used_at = $3,
            user_agent = CASE WHEN $4 = '' THEN s.user_agent ELSE $4 END
        FROM accounts a
        WHERE s.refresh_token_hash = $1 AND a.id = s.account_id
          AND a.deletion_requested_at IS NULL
          AND s.revoked_at IS NULL AND s.expires_at > $3 AND s.last_used_at > $5
        RETURNING s.id
        """,
        old_digest,
        new_digest,
        now,
        user_agent[:MAX_USER_AGENT_LENGTH],
        now - policy.idle,
    )
    if row is None:
        await _revoke_if_reused(connection, old_digest, now)
        return None
    session_id: uuid.UUID = row["id"]
    await connection.execute(
        "INSERT INTO spent_refresh_tokens (token_hash, session_id, spent_at) VALUES ($1, $2, $3)",
        old_digest,
        session_id,
        now,
    )
    account_row = await connection.fetchrow(
        f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id ="
        " (SELECT account_id FROM sessions WHERE id = $1)",
        session_id,
    )
    assert account_row is not None  # the UPDATE above joined it in this transaction
    return Rotated(session_id, account_from_row(account_row))


async def _revoke_if_reused(connection: DbConnection, digest: bytes, now: dt.datetime) -> None:
    row = await connection.fetchrow(
        """
        UPDATE sessions s SET revoked_at = coalesce(s.revoked_at, $2)
        FROM spent_refresh_tokens t
        WHERE t.token_hash = $1 AND s.id = t.session_id
        RETURNING s.id, s.account_id
        """,
        digest,
        now,
    )
    if row is not None:
        await audit.record(
            connection,
            event="session_reuse_detected",
            actor=audit.SYSTEM,
            subject=row["account_id"],
            now=now,
            reason=f"spent refresh token presented again; session {row['id']} revoked",
        )
