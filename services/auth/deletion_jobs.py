"""The durable state of account deletions: one row per account until it is all gone."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from services.auth import audit, mails
from services.common.db import DbConnection


@dataclass(frozen=True)
class Job:
    """A deletion in progress."""

    account_id: uuid.UUID
    email: str
    requested_at: dt.datetime
    attempts: int
    roster_done: bool
    sharing_done: bool
    classes_deleted: int
    students_deleted: int


async def request(
    connection: DbConnection, account_id: uuid.UUID, email: str, now: dt.datetime
) -> bool:
    """Stops sign-in and records the job; False when a deletion is already under way."""
    marked = await connection.fetchval(
        """
        UPDATE accounts SET deletion_requested_at = $2
        WHERE id = $1 AND deletion_requested_at IS NULL RETURNING true
        """,
        account_id,
        now,
    )
    if not marked:
        return False
    await connection.execute(
        """
        INSERT INTO deletion_jobs (account_id, email, requested_at, next_attempt_at)
        VALUES ($1, $2, $3, $3)
        """,
        account_id,
        email,
        now,
    )
    return True


async def claim_due(
    connection: DbConnection, now: dt.datetime, lease: dt.timedelta, limit: int
) -> list[Job]:
    """Due jobs, pushed out by the lease so that no other replica takes them meanwhile."""
    rows = await connection.fetch(
        """
        UPDATE deletion_jobs AS j SET attempts = j.attempts + 1, next_attempt_at = $2
        WHERE j.account_id IN (
            SELECT account_id FROM deletion_jobs
            WHERE finished_at IS NULL AND next_attempt_at <= $1
            ORDER BY next_attempt_at LIMIT $3
            FOR UPDATE SKIP LOCKED)
        RETURNING j.account_id, j.email, j.requested_at, j.attempts,
                  j.roster_done_at IS NOT NULL AS roster_done,
                  j.sharing_done_at IS NOT NULL AS sharing_done,
                  j.classes_deleted, j.students_deleted
        """,
        now,
        now + lease,
        limit,
    )
    return [Job(**dict(row)) for row in rows]


async def roster_done(
    connection: DbConnection, account_id: uuid.UUID, classes: int, students: int, now: dt.datetime
) -> None:
    await connection.execute(
        """
        UPDATE deletion_jobs SET roster_done_at = $2, classes_deleted = $3, students_deleted = $4
        WHERE account_id = $1
        """,
        account_id,
        now,
        classes,
        students,
    )


async def sharing_done(connection: DbConnection, account_id: uuid.UUID, now: dt.datetime) -> None:
    await connection.execute(
        "UPDATE deletion_jobs SET sharing_done_at = $2 WHERE account_id = $1", account_id, now
    )


async def retry_later(
    connection: DbConnection, account_id: uuid.UUID, at: dt.datetime, error: str
) -> None:
    """Schedules the next attempt; the error (a status code name) stays visible to operators."""
    await connection.execute(
        "UPDATE deletion_jobs SET next_attempt_at = $2, last_error = $3 WHERE account_id = $1",
        account_id,
        at,
        error,
    )


async def finish(connection: DbConnection, job: Job, now: dt.datetime) -> None:
    """Deletes the account row (sessions, tokens and requests go with it by cascade), sends
    the receipt and keeps an address-free record of the job. Call inside a transaction."""
    await connection.execute("DELETE FROM accounts WHERE id = $1", job.account_id)
    receipt = mails.deletion_receipt(
        job.requested_at, now, job.classes_deleted, job.students_deleted
    )
    await mails.send(connection, job.email, receipt, now)
    await audit.record(
        connection,
        event="account_deleted",
        actor=audit.SYSTEM,
        subject=job.account_id,
        now=now,
        reason=f"purged {job.classes_deleted} classes, {job.students_deleted} students",
    )
    await connection.execute(
        """
        UPDATE deletion_jobs SET finished_at = $2, email = '', last_error = NULL
        WHERE account_id = $1
        """,
        job.account_id,
        now,
    )
