"""The account-deletion worker: purge roster and sharing, then remove the auth rows.

Jobs live in ``deletion_jobs`` and are claimed with ``FOR UPDATE SKIP LOCKED`` and a lease,
so replicas share the work and a crash mid-way only delays a job by the lease. Each step is
recorded as it succeeds; any failure (UNIMPLEMENTED while roster's purge is not built,
UNAVAILABLE during a deploy) is retried with capped exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable

import asyncpg
import grpc

from services.auth import deletion_jobs
from services.auth.deletion_jobs import Job
from services.auth.purge_clients import PurgeClients, error_name
from services.common.outbox import Clock, RetryPolicy
from services.common.wakeups import wait_for_wake

logger = logging.getLogger(__name__)

# Short first retries: docs/api.md promises everything gone within 60 s when the others answer.
DELETION_RETRY = RetryPolicy(
    base=RetryPolicy().base / 5, cap=RetryPolicy().cap / 12, lease=RetryPolicy().lease
)


class DeletionWorker:
    """Runs due deletion jobs; ``run_once`` is one deterministic pass."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        purge: PurgeClients,
        clock: Clock,
        *,
        retry: RetryPolicy = DELETION_RETRY,
        poll_seconds: float = 5.0,
        on_mail: Callable[[], None] = lambda: None,
    ) -> None:
        self._pool = pool
        self._purge = purge
        self._clock = clock
        self._retry = retry
        self._poll_seconds = poll_seconds
        self._on_mail = on_mail
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="account-deletion")

    def wake(self) -> None:
        self._wake.set()

    async def aclose(self) -> None:
        if self._task is not None:
            # The flag and the wake-up stop the loop even if a library swallows the cancel
            # (seen: a shutdown hung on a worker whose cancel was lost mid-pass).
            self._stopping = True
            self._wake.set()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._purge.aclose()

    async def _loop(self) -> None:
        while not self._stopping:
            # Cleared before the pass: a wake-up during the pass then ends the next wait at once.
            self._wake.clear()
            try:
                await self.run_once()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                logger.exception("deletion pass failed")
            await wait_for_wake(self._wake, self._poll_seconds)

    async def run_once(self) -> int:
        """Advances every due job; returns how many finished."""
        async with self._pool.acquire() as connection:
            jobs = await deletion_jobs.claim_due(connection, self._clock(), self._retry.lease, 20)
        finished = 0
        for job in jobs:
            if await self._advance(job):
                finished += 1
        if finished:
            self._on_mail()
        return finished

    async def _advance(self, job: Job) -> bool:
        # Each service is asked on its own, so sharing is purged even while roster's purge
        # is not built yet; a step that succeeded is recorded and never asked again.
        errors: list[str] = []
        if not job.roster_done:
            try:
                purged = await self._purge.purge_roster(str(job.account_id))
            except grpc.aio.AioRpcError as error:
                errors.append(f"roster: {error_name(error)}")
            else:
                async with self._pool.acquire() as connection:
                    await deletion_jobs.roster_done(
                        connection, job.account_id, purged.classes, purged.students, self._clock()
                    )
                job = dataclasses.replace(
                    job,
                    roster_done=True,
                    classes_deleted=purged.classes,
                    students_deleted=purged.students,
                )
        if not job.sharing_done:
            try:
                await self._purge.purge_sharing(str(job.account_id), job.email)
            except grpc.aio.AioRpcError as error:
                errors.append(f"sharing: {error_name(error)}")
            else:
                async with self._pool.acquire() as connection:
                    await deletion_jobs.sharing_done(connection, job.account_id, self._clock())
        if errors:
            retry_at = self._clock() + self._retry.delay(job.attempts)
            async with self._pool.acquire() as connection:
                await deletion_jobs.retry_later(
                    connection, job.account_id, retry_at, "; ".join(errors)
                )
            logger.warning(
                "account purge failed, will retry",
                extra={"account_id": str(job.account_id), "attempts": job.attempts},
            )
            return False
        async with self._pool.acquire() as connection, connection.transaction():
            await deletion_jobs.finish(connection, job, self._clock())
        logger.info("account deleted", extra={"account_id": str(job.account_id)})
        return True
