"""Refresh-token rotation with reuse detection, and the one retry it forgives.

Each refresh swaps the session's token hash in one guarded UPDATE, so of two requests with
the same token exactly one wins; the spent hash is remembered with the token it was rotated
to (its successor). Presenting a spent token again means the token was copied: the whole
session is revoked and the event audited.

The exception (docs/api.md, "Sessions"): a client whose answer was lost retries with the same
token. A spent token presented again within :data:`RETRY_WINDOW` of being spent, while its
successor is still the session's token (never used), rotates again: that successor dies
(it is recorded as spent with no successor of its own, so a later use of it is reuse) and a
new one is issued. Browsers present the same rule through the ``trackcc_refresh`` cookie,
which the gateway turns into the same call.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Final

from services.auth import audit
from services.auth.accounts import ACCOUNT_COLUMNS, Account, account_from_row
from services.auth.sessions import MAX_USER_AGENT_LENGTH, SessionPolicy, refresh_token_digest
from services.common.db import DbConnection

RETRY_WINDOW: Final = dt.timedelta(seconds=10)

# The guards every rotation shares: a live session of an account not being deleted.
# $3 is now, $5 the idle cut-off.
_LIVE = """
    a.id = s.account_id AND a.deletion_requested_at IS NULL
    AND s.revoked_at IS NULL AND s.expires_at > $3 AND s.last_used_at > $5
"""
_SET = """
    refresh_token_hash = $2, last_used_at = $3,
    user_agent = CASE WHEN $4 = '' THEN s.user_agent ELSE $4 END
"""


@dataclass(frozen=True)
class Rotated:
    """A successful refresh."""

    session_id: uuid.UUID
    account: Account
    expires_at: dt.datetime


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
    arguments = (old_digest, new_digest, now, user_agent[:MAX_USER_AGENT_LENGTH], now - policy.idle)
    row = await connection.fetchrow(
        f"""
        UPDATE sessions s SET {_SET}
        FROM accounts a
        WHERE s.refresh_token_hash = $1 AND {_LIVE}
        RETURNING s.id, s.expires_at
        """,
        *arguments,
    )
    live: tuple[uuid.UUID, dt.datetime] | None
    if row is not None:
        live = (row["id"], row["expires_at"])
        await connection.execute(
            "INSERT INTO spent_refresh_tokens (token_hash, session_id, spent_at, successor_hash)"
            " VALUES ($1, $2, $3, $4)",
            old_digest,
            live[0],
            now,
            new_digest,
        )
    else:
        live = await _retry(connection, arguments, now)
        if live is None:
            await _revoke_if_reused(connection, old_digest, now)
            return None
    session_id, expires_at = live
    account_row = await connection.fetchrow(
        f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id ="
        " (SELECT account_id FROM sessions WHERE id = $1)",
        session_id,
    )
    assert account_row is not None  # the UPDATE above joined it in this transaction
    return Rotated(session_id, account_from_row(account_row), expires_at)


async def _retry(
    connection: DbConnection, arguments: tuple[object, ...], now: dt.datetime
) -> tuple[uuid.UUID, dt.datetime] | None:
    """Rotates again for a recently spent token whose successor was never used.

    The UPDATE is guarded on the session still holding that successor, so of two racing
    retries one wins and the other finds the successor gone: reuse, as for any other token.
    """
    row = await connection.fetchrow(
        f"""
        UPDATE sessions s SET {_SET}
        FROM accounts a, spent_refresh_tokens t
        WHERE t.token_hash = $1 AND t.spent_at > $6 AND t.successor_hash IS NOT NULL
          AND s.id = t.session_id AND s.refresh_token_hash = t.successor_hash AND {_LIVE}
        RETURNING s.id, s.expires_at, t.successor_hash
        """,
        *arguments,
        now - RETRY_WINDOW,
    )
    if row is None:
        return None
    old_digest, new_digest = arguments[0], arguments[1]
    # The replaced successor is spent with no successor: presenting it later is reuse.
    await connection.execute(
        "INSERT INTO spent_refresh_tokens (token_hash, session_id, spent_at, successor_hash)"
        " VALUES ($1, $2, $3, NULL)",
        row["successor_hash"],
        row["id"],
        now,
    )
    await connection.execute(
        "UPDATE spent_refresh_tokens SET successor_hash = $2 WHERE token_hash = $1",
        old_digest,
        new_digest,
    )
    return row["id"], row["expires_at"]


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
