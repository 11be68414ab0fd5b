"""Single-use tokens sent by mail (verification, email change, reset, unlock request).

256 random bits each, so a fast sha256 is enough at rest: the stored digest gives nothing
usable away. A token is spent by one guarded UPDATE, so two clicks cannot both use it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Final, Literal

from services.common import reasons
from services.common.db import DbConnection
from services.common.errors import InvalidArgument

Purpose = Literal["verify_email", "change_email", "reset_password", "unlock_request"]

TOKEN_BYTES: Final = 32
# docs/api.md: verification 7 days, reset 1 hour; the lockout notice link lives as long as a
# verification link.
LIFETIMES: Final[dict[Purpose, dt.timedelta]] = {
    "verify_email": dt.timedelta(days=7),
    "change_email": dt.timedelta(days=7),
    "reset_password": dt.timedelta(hours=1),
    "unlock_request": dt.timedelta(days=7),
}
# A token longer than this cannot be ours; refuse before hashing attacker-sized input.
MAX_TOKEN_LENGTH: Final = 128


@dataclass(frozen=True)
class SpentToken:
    """What a spent token was for."""

    account_id: uuid.UUID
    email: str
    purpose: Purpose


def invalid_link() -> InvalidArgument:
    """The answer for a mailed link's token that is unknown, used or expired."""
    return InvalidArgument("the link is invalid, used or expired", reason=reasons.INVALID_TOKEN)


def digest(token: str) -> bytes:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).digest()


async def issue(
    connection: DbConnection,
    purpose: Purpose,
    account_id: uuid.UUID,
    email: str,
    now: dt.datetime,
) -> str:
    """A new token for ``email``; the caller mails it in the same transaction."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    await connection.execute(
        """
        INSERT INTO mail_tokens (token_hash, purpose, account_id, email, created_at, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6)
        """,
        digest(token),
        purpose,
        account_id,
        email,
        now,
        now + LIFETIMES[purpose],
    )
    return token


async def peek(
    connection: DbConnection, token: str, purposes: tuple[Purpose, ...], now: dt.datetime
) -> SpentToken | None:
    """The token's owner if it is valid now, without spending it (checks before the work)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    row = await connection.fetchrow(
        """
        SELECT account_id, email, purpose FROM mail_tokens
        WHERE token_hash = $1 AND purpose = ANY($2::text[]) AND used_at IS NULL
          AND expires_at > $3
        """,
        digest(token),
        list(purposes),
        now,
    )
    return None if row is None else SpentToken(row["account_id"], row["email"], row["purpose"])


async def spend(
    connection: DbConnection, token: str, purposes: tuple[Purpose, ...], now: dt.datetime
) -> SpentToken | None:
    """Marks a valid token used and says what it was for; None when unknown, used or expired."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    row = await connection.fetchrow(
        """
        UPDATE mail_tokens SET used_at = $3
        WHERE token_hash = $1 AND purpose = ANY($2::text[]) AND used_at IS NULL
          AND expires_at > $3
        RETURNING account_id, email, purpose
        """,
        digest(token),
        list(purposes),
        now,
    )
    return None if row is None else SpentToken(row["account_id"], row["email"], row["purpose"])


async def spend_all(
    connection: DbConnection, account_id: uuid.UUID, purpose: Purpose, now: dt.datetime
) -> None:
    """Kills every open token of one purpose (a reset makes the other reset links dead)."""
    await connection.execute(
        "UPDATE mail_tokens SET used_at = $3"
        " WHERE account_id = $1 AND purpose = $2 AND used_at IS NULL",
        account_id,
        purpose,
        now,
    )


async def issued_since(
    connection: DbConnection, account_id: uuid.UUID, purpose: Purpose, since: dt.datetime
) -> int:
    """How many tokens of a purpose the account got since a time (the reset throttle)."""
    count = await connection.fetchval(
        "SELECT count(*) FROM mail_tokens"
        " WHERE account_id = $1 AND purpose = $2 AND created_at > $3",
        account_id,
        purpose,
        since,
    )
    return int(count or 0)
