"""argon2id password hashing, in worker processes below the event loops' priority, capped.

Parameters are OWASP's minimum for argon2id (19 MiB, 2 passes, 1 lane). docs/architecture.md
measured 15 ms per verify with them on our 2-core machine (about 118 verifies/s on two
threads), against 88 ms for argon2-cffi's default profile: the minimum keeps sign-in fast
enough while staying at the floor docs/api.md promises. bench/README.md has this machine's figures.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import secrets
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from argon2.exceptions import InvalidHashError

from services.auth import hash_worker
from services.auth.hash_worker import Done, HashParams, hasher
from services.auth.metrics import HashOperation

__all__ = [
    "HASH_WORKER_GROUP_NICENESS",
    "HASH_WORKER_NICENESS",
    "OWASP_MINIMUM",
    "HashParams",
    "PasswordHashing",
]

logger = logging.getLogger(__name__)

OWASP_MINIMUM = HashParams()

# How much lower than the event loops the hash workers run (Linux nice steps), and the
# weight of the session each worker runs in where the kernel shares the CPU by session
# (hash_worker.lower_priority says why both).
HASH_WORKER_NICENESS = 10
HASH_WORKER_GROUP_NICENESS = 19
# Hashes handed to the pool beyond one per worker: a worker that finishes starts the next
# at once instead of idling until this event loop gets round to submitting it. Small, since
# a hash already handed over still runs if its caller gives up.
QUEUED_PER_WORKER = 1


def _no_observer(operation: HashOperation, seconds: float) -> None:
    return None


class PasswordHashing:
    """Hashes and verifies passwords in a small pool of worker processes of its own.

    Two limits work together: the pool has ``concurrency`` processes, a hard cap on the CPU
    and memory that hashing can take; the semaphore makes callers wait *before* their work
    is handed over, so a call cancelled while waiting (a client that gave up during a
    sign-in flood) never costs a hash. Workers are spawned (never forked from a process
    with gRPC threads) when the service starts, and replaced if one dies.
    """

    def __init__(
        self,
        concurrency: int,
        params: HashParams = OWASP_MINIMUM,
        observe: Callable[[HashOperation, float], None] = _no_observer,
    ) -> None:
        if (
            params.memory_cost_kib < OWASP_MINIMUM.memory_cost_kib
            or params.time_cost < OWASP_MINIMUM.time_cost
            or params.parallelism < 1
        ):
            raise ValueError("argon2id parameters below the OWASP minimum")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._params = params
        self._concurrency = concurrency
        self._hasher = hasher(params)
        self._observe = observe
        self._executor = self._new_executor()
        self._start_workers()
        self._slots = asyncio.Semaphore(concurrency * (1 + QUEUED_PER_WORKER))
        # Verified against when the email is unknown, so that answer costs exactly what a
        # wrong password costs and timing does not tell which accounts exist. It is made
        # with the current parameters, hence the same cost as a freshly hashed account.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(32))

    async def hash(self, password: str) -> str:
        """The argon2id PHC string of the password (random salt)."""
        return await self._run("hash", hash_worker.hash_password, self._params, password)

    async def verify(self, stored_hash: str, password: str) -> bool:
        """Whether the password matches the stored hash; a corrupt hash never matches."""
        outcome = await self._run("verify", hash_worker.verify, self._params, stored_hash, password)
        if outcome == "malformed":
            # A stored value that is not a PHC string: refuse, and tell the operator
            # (only that it happened; never the value).
            logger.error("stored password hash is malformed")
        return outcome == "match"

    async def verify_dummy(self, password: str) -> None:
        """Spends the time of one failed verification (unknown email)."""
        await self._run("verify", hash_worker.verify, self._params, self._dummy_hash, password)

    def needs_rehash(self, stored_hash: str) -> bool:
        """Whether the hash was made with other parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True

    def close(self) -> None:
        """Stops the workers; queued work is dropped (shutdown)."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self._concurrency,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=hash_worker.start,
            initargs=(os.getpid(), HASH_WORKER_NICENESS, HASH_WORKER_GROUP_NICENESS),
        )

    def _start_workers(self) -> None:
        # Spawned now, not on the first sign-in: the first user does not wait for a Python
        # start-up (each submit starts a worker while none is idle).
        for _ in range(self._concurrency):
            self._executor.submit(os.getpid)

    def _submit(self, work: Callable[..., Done], args: tuple[Any, ...]) -> Future[Done]:
        try:
            return self._executor.submit(work, *args)
        except BrokenProcessPool:
            # A worker died (killed, out of memory): every pending hash of that pool failed
            # with it. A new pool takes the work; the old one is already unusable.
            logger.warning("a password hash worker died; starting new workers")
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = self._new_executor()
            self._start_workers()
            return self._executor.submit(work, *args)

    async def _run(self, operation: HashOperation, work: Callable[..., Done], *args: Any) -> str:
        async with self._slots:
            try:
                done = await asyncio.wrap_future(self._submit(work, args))
            except BrokenProcessPool:
                # The pool broke while this hash was in it; hashing is pure, so once more.
                done = await asyncio.wrap_future(self._submit(work, args))
        self._observe(operation, done.seconds)
        return done.value
