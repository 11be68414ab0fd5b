"""What runs inside a hash worker process: argon2id work, below the event loops' priority.

A worker runs :func:`serve`: it reads jobs from its pipe (``hash_processes.py`` holds the other
end), runs them and writes the answers back. The jobs take everything as arguments
(picklable) and import nothing of the service: a worker starts fast and holds no copy of
its state.

The argon2id itself is libsodium's (PyPI ``pynacl``): the same ``$argon2id$`` strings, the
same parameters, at about 60 % of argon2-cffi's CPU on our machine (bench/README.md;
libsodium picks AVX2 or AVX-512 code for the CPU it runs on). argon2-cffi stays for what
libsodium does not do: reading a hash's parameters (malformed hashes, the rehash on a
parameter change), hashing with more than one lane, and verifying any other argon2 variant.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Literal, NamedTuple

import nacl.exceptions
import nacl.pwhash.argon2id
from argon2 import PasswordHasher, Type, extract_parameters
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


# What the auth process sends: which function, and its arguments.
Job = tuple[Literal["hash", "verify"], tuple[Any, ...]]


def serve(pipe: Connection, parent_pid: int, niceness: int, group_niceness: int) -> None:
    """A worker's life: answers the jobs on ``pipe`` in order until the auth side closes it."""
    start(parent_pid, niceness, group_niceness)
    while True:
        try:
            operation, args = pipe.recv()
        except EOFError:  # auth closed the pipe (shutdown) or died
            return
        answer: Done | Exception
        try:
            answer = _OPERATIONS[operation](*args)
        except Exception as error:  # noqa: BLE001 - the caller gets it, as from a pool
            answer = error
        pipe.send(answer)


def start(parent_pid: int, niceness: int, group_niceness: int) -> None:
    """A worker's start: dies with the auth process, and runs below its priority."""
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
    return Done(make_hash(params, password), time.perf_counter() - started)


def verify(params: HashParams, stored_hash: str, password: str) -> Done:
    """Whether ``password`` matches: ``match``, ``mismatch`` or ``malformed`` (not a hash)."""
    started = time.perf_counter()
    return Done(check(params, stored_hash, password), time.perf_counter() - started)


def make_hash(params: HashParams, password: str) -> str:
    """A new PHC string: libsodium's when it can make this one (one lane), else argon2-cffi's.

    Both write ``$argon2id$v=19$m=...,t=...,p=1$<16-byte salt>$<32-byte hash>``, so a hash
    made by one verifies with the other and reads as current to ``check_needs_rehash``.
    """
    if params.parallelism == 1:
        return nacl.pwhash.argon2id.str(
            password.encode(),
            opslimit=params.time_cost,
            memlimit=params.memory_cost_kib * 1024,
        ).decode("ascii")
    return hasher(params).hash(password)


def check(params: HashParams, stored_hash: str, password: str) -> Outcome:
    """The verification itself, with the parameters the stored hash names."""
    try:
        stored = extract_parameters(stored_hash)
    except InvalidHashError:
        return "malformed"
    if stored.type is Type.ID:
        try:
            nacl.pwhash.argon2id.verify(stored_hash.encode(), password.encode())
        except nacl.exceptions.InvalidkeyError:
            return "mismatch"
        except ValueError:
            pass  # a string libsodium will not read (too long): argon2-cffi decides below
        else:
            return "match"
    try:
        return "match" if hasher(params).verify(stored_hash, password) else "mismatch"
    except VerificationError:
        return "mismatch"
    except InvalidHashError:
        return "malformed"


_OPERATIONS: dict[str, Callable[..., Done]] = {"hash": hash_password, "verify": verify}
