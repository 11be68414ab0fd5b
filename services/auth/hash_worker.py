"""What runs inside a hash worker process: argon2id work, below the event loops' priority.

These functions are sent to the worker processes of :class:`services.auth.passwords.
PasswordHashing`, so they stay at module level, take everything as arguments (picklable) and
import nothing of the service: a worker starts fast and holds no copy of its state.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from typing import Literal, NamedTuple

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

Outcome = Literal["match", "mismatch", "malformed"]


@dataclass(frozen=True)
class HashParams:
    """argon2id cost parameters."""

    memory_cost_kib: int = 19456
    time_cost: int = 2
    parallelism: int = 1


def hasher(params: HashParams) -> PasswordHasher:
    """The auth service's hasher for these parameters (32-byte hash, 16-byte salt)."""
    return PasswordHasher(
        time_cost=params.time_cost,
        memory_cost=params.memory_cost_kib,
        parallelism=params.parallelism,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


class Done(NamedTuple):
    """A worker's answer and the CPU-side time it took (for the hash duration metric)."""

    value: str
    seconds: float


def lower_priority(niceness: int) -> None:
    """Pool initializer: the worker yields the cores to every normal-priority process.

    A separate process rather than a thread, so that no event loop ever waits for the GIL
    held by a low-priority hash thread the scheduler has set aside (priority inversion: a
    read stalled behind a sign-in storm). On a busy machine the hashes still use every
    cycle nobody else needs, so the sign-in rate stays.
    """
    with contextlib.suppress(AttributeError, OSError):
        os.nice(niceness)


def hash_password(params: HashParams, password: str) -> Done:
    """The argon2id PHC string of ``password`` with a random salt."""
    started = time.perf_counter()
    value = hasher(params).hash(password)
    return Done(value, time.perf_counter() - started)


def verify(params: HashParams, stored_hash: str, password: str) -> Done:
    """Whether ``password`` matches: ``match``, ``mismatch`` or ``malformed`` (not a hash)."""
    started = time.perf_counter()
    outcome: Outcome
    try:
        outcome = "match" if hasher(params).verify(stored_hash, password) else "mismatch"
    except VerificationError:
        outcome = "mismatch"
    except InvalidHashError:
        outcome = "malformed"
    return Done(outcome, time.perf_counter() - started)
