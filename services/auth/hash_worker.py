"""What runs inside a hash worker process: argon2id work, below the event loops' priority.

These functions are sent to the worker processes of :class:`services.auth.passwords.
PasswordHashing`, so they stay at module level, take everything as arguments (picklable) and
import nothing of the service: a worker starts fast and holds no copy of its state.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
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


# prctl(2) option: the signal the kernel sends this process when its parent dies.
_PR_SET_PDEATHSIG = 1


def start(parent_pid: int, niceness: int, group_niceness: int) -> None:
    """Pool initializer: dies with the auth process, and runs below its priority."""
    _die_with_parent(parent_pid)
    lower_priority(niceness, group_niceness)


def _die_with_parent(parent_pid: int) -> None:
    # A worker idles in a blocking read that a killed parent never ends, and it leads a
    # session of its own (below), so a signal to the parent's process group misses it.
    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the line above
        os._exit(0)


def lower_priority(niceness: int, group_niceness: int) -> None:
    """The worker yields the cores to every normal-priority process.

    A separate process rather than a thread, so that no event loop ever waits for the GIL
    held by a low-priority hash thread the scheduler has set aside (priority inversion).

    Where the kernel groups processes by session (Linux autogroup, on by default on many
    systems), a process's nice value only orders it within its own session; across sessions
    the CPU is shared group by group. The workers would then take a whole session's share
    from the gateway and from auth's own event loop during a sign-in storm: measured here,
    ``GET /v1/me`` p99 went from 9 ms to 34-37 ms. So each worker starts a session of its
    own and lowers that session's weight (``/proc/self/autogroup``): p99 11-26 ms, the same
    sign-in rate. Without autogroup both calls fail harmlessly and the nice value rules.
    """
    with contextlib.suppress(AttributeError, OSError):
        os.nice(niceness)
    with contextlib.suppress(AttributeError, OSError):
        os.setsid()
        with open("/proc/self/autogroup", "w", encoding="ascii") as autogroup:
            autogroup.write(str(group_niceness))


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
