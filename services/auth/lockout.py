"""THE lockout rule: 10 consecutive failed password checks lock, only support unlocks.

Every count changes in one guarded UPDATE (``WHERE locked_at IS NULL``) that increments and
sets ``locked_at`` together, so parallel attempts queue on the row lock and exactly one of
them sees the tenth failure; the rest find the row locked and change nothing. The tenth
failure is still a failed sign-in (docs/api.md): it answers ``invalid_credentials`` like the
nine before it, and only attempts that find the lock already there answer
``account_locked`` (:attr:`Failure.refused_as_locked`). Fifty parallel wrong attempts thus
give exactly ten 401s and forty 423s. A success
resets the count with an equally guarded UPDATE, so a right password read just before the
lock cannot slip through after it. A password reset does not unlock.

Unknown emails lock the same way in ``unknown_email_failures``, keyed by HMAC-SHA256 of the
normalized email with a server-side key. Why not a bare sha256: emails are guessable, so
anyone with a copy of the table could hash a list of addresses and learn which of them were
tried here (people without an account, or typos of real addresses). With the key the table
names nobody, yet lookups stay one primary-key read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Final

from services.auth import audit, mail_tokens, mails
from services.common.db import DbConnection

MAX_FAILED_ATTEMPTS: Final = 10

LOCKED_MESSAGE: Final = (
    "this account is locked after too many failed sign-ins; to ask for an unlock, follow the "
    "link in the notice mail sent to the account's email address, or write to support from "
    "that address"
)


@dataclass(frozen=True)
class Failure:
    """The state after one counted failure."""

    # The account (or unknown email) is locked now.
    locked: bool
    # This very failure locked it: send the one notice mail.
    just_locked: bool

    @property
    def refused_as_locked(self) -> bool:
        """Whether to answer account_locked: the lock was there before this attempt."""
        return self.locked and not self.just_locked


def email_hmac(key: bytes, email: str) -> bytes:
    """The name of a normalized unknown email in the failure table."""
    return hmac.new(key, email.encode(), hashlib.sha256).digest()


async def record_account_failure(
    connection: DbConnection, account_id: uuid.UUID, now: dt.datetime
) -> Failure:
    """Counts one failure of an account atomically (no read-modify-write)."""
    row = await connection.fetchrow(
        """
        UPDATE accounts
        SET failed_attempts = failed_attempts + 1,
            locked_at = CASE WHEN failed_attempts + 1 >= $2 THEN $3::timestamptz END,
            updated_at = $3
        WHERE id = $1 AND locked_at IS NULL
        RETURNING failed_attempts, locked_at IS NOT NULL AS locked
        """,
        account_id,
        MAX_FAILED_ATTEMPTS,
        now,
    )
    if row is None:  # locked already: a parallel attempt got there first
        return Failure(locked=True, just_locked=False)
    return Failure(locked=row["locked"], just_locked=row["locked"])


async def record_unknown_email_failure(
    connection: DbConnection, key: bytes, email: str, now: dt.datetime
) -> Failure:
    """Counts one failure of an address without an account, in one statement."""
    row = await connection.fetchrow(
        """
        INSERT INTO unknown_email_failures AS f (email_hmac, failed_attempts, locked_at, updated_at)
        VALUES ($1, 1, CASE WHEN 1 >= $2 THEN $3::timestamptz END, $3)
        ON CONFLICT (email_hmac) DO UPDATE
        SET failed_attempts = f.failed_attempts + 1,
            locked_at = CASE WHEN f.failed_attempts + 1 >= $2 THEN $3::timestamptz END,
            updated_at = $3
        WHERE f.locked_at IS NULL
        RETURNING locked_at IS NOT NULL AS locked
        """,
        email_hmac(key, email),
        MAX_FAILED_ATTEMPTS,
        now,
    )
    locked = row is None or bool(row["locked"])
    return Failure(locked=locked, just_locked=row is not None and locked)


async def unknown_email_locked(connection: DbConnection, key: bytes, email: str) -> bool:
    """Whether an address without an account has locked."""
    locked = await connection.fetchval(
        "SELECT locked_at IS NOT NULL FROM unknown_email_failures WHERE email_hmac = $1",
        email_hmac(key, email),
    )
    return bool(locked)


async def account_locked(connection: DbConnection, account_id: uuid.UUID) -> bool:
    """Whether the account is locked now."""
    locked = await connection.fetchval(
        "SELECT locked_at IS NOT NULL FROM accounts WHERE id = $1", account_id
    )
    return bool(locked)


async def on_locked(
    connection: DbConnection,
    account_id: uuid.UUID,
    email: str,
    public_url: str,
    now: dt.datetime,
) -> None:
    """The one notice mail with its unlock-request link, and the audit entry.

    Called in the transaction of the failure that locked, so the mail exists exactly when
    the lock does.
    """
    token = await mail_tokens.issue(connection, "unlock_request", account_id, email, now)
    await mails.send(connection, email, mails.lockout_notice(public_url, token), now)
    await audit.record(
        connection,
        event="lockout",
        actor=audit.SYSTEM,
        subject=account_id,
        now=now,
        reason=f"{MAX_FAILED_ATTEMPTS} consecutive failed password checks",
    )


async def unlock(
    connection: DbConnection,
    account_id: uuid.UUID,
    *,
    actor: str,
    reason: str,
    now: dt.datetime,
) -> bool:
    """Resets the count and the lock, closes the unlock requests, audits; False: no account.

    Call it inside a transaction so that the audit row commits with the unlock.
    """
    found = await connection.fetchval(
        """
        UPDATE accounts SET failed_attempts = 0, locked_at = NULL, updated_at = $2
        WHERE id = $1 RETURNING true
        """,
        account_id,
        now,
    )
    if not found:
        return False
    await connection.execute(
        "UPDATE unlock_requests SET resolved_at = $2 WHERE account_id = $1 AND resolved_at IS NULL",
        account_id,
        now,
    )
    await mail_tokens.spend_all(connection, account_id, "unlock_request", now)
    await audit.record(
        connection, event="unlock", actor=actor, subject=account_id, now=now, reason=reason
    )
    return True
