"""argon2id password hashing, off the event loop and globally capped.

Parameters are OWASP's minimum for argon2id (19 MiB, 2 passes, 1 lane). ARCHITECTURE.md
measured 15 ms per verify with them on our 2-core machine (about 118 verifies/s on two
threads), against 88 ms for argon2-cffi's default profile: the minimum keeps sign-in fast
enough while staying at the floor API.md promises.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from services.auth.metrics import HashOperation

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class HashParams:
    """argon2id cost parameters."""

    memory_cost_kib: int = 19456
    time_cost: int = 2
    parallelism: int = 1


OWASP_MINIMUM = HashParams()


def _no_observer(operation: HashOperation, seconds: float) -> None:
    return None


# How much lower than the event loops the hash threads run (Linux nice steps).
HASH_THREAD_NICENESS = 10


def _yield_to_requests() -> None:
    """Lowers this hash thread's scheduling priority.

    A sign-in storm keeps every hash thread busy; at normal priority they take the cores from
    the event loops of this and the other processes, and every ordinary read waits behind
    them. At a lower priority the hashes still use all the CPU nobody else needs, so the
    sign-in rate stays, while reads keep their latency. (Linux schedules threads as tasks, so
    the native thread id is a valid target; elsewhere this is a no-op.)
    """
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_THREAD_NICENESS)


class PasswordHashing:
    """Hashes and verifies passwords in a small thread pool of its own.

    argon2-cffi releases the GIL, so threads hash in parallel while the event loop keeps
    serving. Two limits work together: the executor has ``concurrency`` threads, a hard cap
    on the CPU and memory that hashing can take; the semaphore makes callers wait *before*
    their work is queued, so a call cancelled while waiting (a client that gave up during a
    sign-in flood) never costs a hash.
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
        self._hasher = PasswordHasher(
            time_cost=params.time_cost,
            memory_cost=params.memory_cost_kib,
            parallelism=params.parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        self._observe = observe
        self._executor = ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix="argon2", initializer=_yield_to_requests
        )
        self._slots = asyncio.Semaphore(concurrency)
        # Verified against when the email is unknown, so that answer costs exactly what a
        # wrong password costs and timing does not tell which accounts exist. It is made
        # with the current parameters, hence the same cost as a freshly hashed account.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(32))

    async def hash(self, password: str) -> str:
        """The argon2id PHC string of the password (random salt)."""
        return await self._run("hash", lambda: self._hasher.hash(password))

    async def verify(self, stored_hash: str, password: str) -> bool:
        """Whether the password matches the stored hash; a corrupt hash never matches."""
        return await self._run("verify", lambda: self._verify(stored_hash, password))

    async def verify_dummy(self, password: str) -> None:
        """Spends the time of one failed verification (unknown email)."""
        await self._run("verify", lambda: self._verify(self._dummy_hash, password))

    def needs_rehash(self, stored_hash: str) -> bool:
        """Whether the hash was made with other parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True

    def close(self) -> None:
        """Stops the threads; queued work is dropped (shutdown)."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _verify(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except VerificationError:
            return False
        except InvalidHashError:
            # A stored value that is not a PHC string: refuse, and tell the operator
            # (only that it happened; never the value).
            logger.error("stored password hash is malformed")
            return False

    async def _run(self, operation: HashOperation, work: Callable[[], T]) -> T:
        def timed() -> T:
            started = time.perf_counter()
            try:
                return work()
            finally:
                self._observe(operation, time.perf_counter() - started)

        async with self._slots:
            return await asyncio.get_running_loop().run_in_executor(self._executor, timed)
