"""argon2id password hashing, in worker processes below the event loops' priority, capped.

Parameters are OWASP's minimum for argon2id (19 MiB, 2 passes, 1 lane). docs/architecture.md
measured 15 ms per verify with them on our 2-core machine (about 118 verifies/s on two
threads), against 88 ms for argon2-cffi's default profile: the minimum keeps sign-in fast
enough while staying at the floor docs/api.md promises. bench/README.md has this machine's figures:
libsodium's verify (hash_worker.py) takes 13-15 ms of CPU there, argon2-cffi's 21-24 ms.

The workers are separate processes, driven over one pipe each (hash_processes.py).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from typing import Any

from argon2.exceptions import InvalidHashError

from services.auth import hash_worker
from services.auth.hash_processes import HashProcesses, WorkerDied
from services.auth.hash_worker import HashParams, hasher
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
# Hashes handed to a worker beyond the one it runs: a worker that finishes starts the next
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
        self._hasher = hasher(params)
        self._observe = observe
        self._workers = HashProcesses(concurrency, HASH_WORKER_NICENESS, HASH_WORKER_GROUP_NICENESS)
        self._slots = asyncio.Semaphore(concurrency * (1 + QUEUED_PER_WORKER))
        # Verified against when the email is unknown, so that answer costs exactly what a
        # wrong password costs and timing does not tell which accounts exist. It is made
        # with the current parameters, hence the same cost as a freshly hashed account.
        self._dummy_hash = hash_worker.make_hash(params, secrets.token_urlsafe(32))

    async def hash(self, password: str) -> str:
        """The argon2id PHC string of the password (random salt)."""
        return await self._run("hash", (self._params, password))

    async def verify(self, stored_hash: str, password: str) -> bool:
        """Whether the password matches the stored hash; a corrupt hash never matches."""
        outcome = await self._run("verify", (self._params, stored_hash, password))
        if outcome == "malformed":
            # A stored value that is not a PHC string: refuse, and tell the operator
            # (only that it happened; never the value).
            logger.error("stored password hash is malformed")
        return outcome == "match"

    async def verify_dummy(self, password: str) -> None:
        """Spends the time of one failed verification (unknown email)."""
        await self._run("verify", (self._params, self._dummy_hash, password))

    def needs_rehash(self, stored_hash: str) -> bool:
        """Whether the hash was made with other parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True

    def worker_pids(self) -> list[int]:
        """The worker processes' ids (tests, diagnostics)."""
        return self._workers.pids()

    def close(self) -> None:
        """Stops the workers; queued work is dropped (shutdown)."""
        self._workers.close()

    async def _run(self, operation: HashOperation, args: tuple[Any, ...]) -> str:
        async with self._slots:
            try:
                done = await self._workers.submit((operation, args))
            except WorkerDied:
                # Its worker died with this hash in it (a new one is starting); hashing is
                # pure, so once more.
                done = await self._workers.submit((operation, args))
        self._observe(operation, done.seconds)
        return done.value
