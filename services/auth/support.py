"""Support's view: accounts with their lock state, and the unlock requests queue."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from services.common.db import DbConnection


@dataclass(frozen=True)
class AdminAccount:
    """An account as support sees it."""

    id: uuid.UUID
    email: str
    locked_at: dt.datetime | None
    failed_attempts: int


@dataclass(frozen=True)
class OpenUnlockRequest:
    """An unlock request nobody has resolved yet."""

    id: uuid.UUID
    account_id: uuid.UUID
    email: str
    requested_at: dt.datetime


async def list_accounts(
    connection: DbConnection, *, locked_only: bool, limit: int, after: uuid.UUID | None
) -> list[AdminAccount]:
    """Accounts in id order after a keyset position."""
    rows = await connection.fetch(
        """
        SELECT id, email, locked_at, failed_attempts FROM accounts
        WHERE (NOT $1 OR locked_at IS NOT NULL) AND ($2::uuid IS NULL OR id > $2)
        ORDER BY id LIMIT $3
        """,
        locked_only,
        after,
        limit,
    )
    return [AdminAccount(r["id"], r["email"], r["locked_at"], r["failed_attempts"]) for r in rows]


async def account_id_by_email(connection: DbConnection, email: str) -> uuid.UUID | None:
    """The id of the account with this normalized address."""
    account_id: uuid.UUID | None = await connection.fetchval(
        "SELECT id FROM accounts WHERE lower(email) = lower($1)", email
    )
    return account_id


async def create_unlock_request(
    connection: DbConnection, account_id: uuid.UUID, now: dt.datetime
) -> None:
    """Queues a request while the account is locked; a second one is not queued twice."""
    await connection.execute(
        """
        INSERT INTO unlock_requests (account_id, requested_at)
        SELECT id, $2 FROM accounts a
        WHERE a.id = $1 AND a.locked_at IS NOT NULL
          AND NOT EXISTS (
              SELECT 1 FROM unlock_requests r
              WHERE r.account_id = a.id AND r.resolved_at IS NULL)
        """,
        account_id,
        now,
    )


async def list_unlock_requests(
    connection: DbConnection, *, limit: int, after: tuple[dt.datetime, uuid.UUID] | None
) -> list[OpenUnlockRequest]:
    """Open requests, oldest first."""
    after_time, after_id = after if after else (None, None)
    rows = await connection.fetch(
        """
        SELECT r.id, r.account_id, a.email, r.requested_at
        FROM unlock_requests r JOIN accounts a ON a.id = r.account_id
        WHERE r.resolved_at IS NULL
          AND ($1::timestamptz IS NULL OR (r.requested_at, r.id) > ($1, $2::uuid))
        ORDER BY r.requested_at, r.id LIMIT $3
        """,
        after_time,
        after_id,
        limit,
    )
    return [
        OpenUnlockRequest(r["id"], r["account_id"], r["email"], r["requested_at"]) for r in rows
    ]
