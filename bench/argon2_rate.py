"""The bare argon2id verify: the ceiling and the CPU cost that sign-in through the stack is
compared with.

The auth service's parameters (services/auth/passwords.py: OWASP_MINIMUM, 32-byte hash,
16-byte salt), on as many threads as the auth service has hash workers (two on our 2-core
machine), for each of two implementations of the same algorithm, verifying the same string:
libsodium (``pynacl``), which the service uses (services/auth/hash_worker.py), and argon2-cffi,
which it used before and which the Django peer uses. Both release the GIL, so threads verify in
parallel, like the service's worker processes: the figures are the bare hashing, without any
inter-process overhead. Besides the rate, each thread's own CPU time is summed, so the CPU per
verify can be set against the stack's CPU per sign-in, both user + system time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import nacl.pwhash.argon2id

from services.auth.hash_worker import hasher as service_hasher
from services.auth.passwords import OWASP_MINIMUM, HashParams

PASSWORD = "argon2 benchmark password, not a real one"

Implementation = Literal["libsodium", "argon2-cffi"]
# The one services/auth/hash_worker.py verifies argon2id hashes with.
SERVICE_IMPLEMENTATION: Implementation = "libsodium"


@dataclass(frozen=True)
class Argon2Rate:
    """Verifies completed on ``threads`` threads in ``seconds``, and the CPU they took."""

    implementation: Implementation
    verifies: int
    seconds: float
    threads: int
    cpu_seconds: float

    @property
    def per_second(self) -> float:
        return self.verifies / self.seconds if self.seconds > 0 else 0.0

    @property
    def ms_per_verify(self) -> float:
        # Per thread: what one sign-in waits for its hash when nothing queues.
        return 1000 * self.seconds * self.threads / self.verifies if self.verifies else 0.0

    @property
    def cpu_ms_per_verify(self) -> float:
        # CPU time, not wall time: what the machine spends on one verify whatever else runs.
        return 1000 * self.cpu_seconds / self.verifies if self.verifies else 0.0


def _verifier(implementation: Implementation, encoded: str) -> Callable[[], object]:
    if implementation == "libsodium":
        stored, password = encoded.encode(), PASSWORD.encode()
        return lambda: nacl.pwhash.argon2id.verify(stored, password)
    hasher = service_hasher(OWASP_MINIMUM)  # reads the parameters from the string anyway
    return lambda: hasher.verify(encoded, PASSWORD)


def measure_argon2_rate(
    seconds: float,
    threads: int = 2,
    params: HashParams = OWASP_MINIMUM,
    implementation: Implementation = SERVICE_IMPLEMENTATION,
) -> Argon2Rate:
    """Verifies a correct password on ``threads`` threads for about ``seconds``; blocking."""
    # The auth service's own format; libsodium writes the same (tests/unit/auth).
    encoded = service_hasher(params).hash(PASSWORD)
    verify = _verifier(implementation, encoded)
    verify()  # warm-up: first-touch of the memory, library loading
    deadline = time.perf_counter() + seconds
    counts = [0] * threads
    cpu = [0.0] * threads
    lock = threading.Lock()

    def worker(index: int) -> None:
        done = 0
        started = time.thread_time()
        # Bounded by the deadline, and by a count so a stalled clock cannot loop forever.
        for _ in range(100_000):
            if time.perf_counter() >= deadline:
                break
            verify()
            done += 1
        spent = time.thread_time() - started
        with lock:
            counts[index] = done
            cpu[index] = spent

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bench-argon2") as pool:
        for future in [pool.submit(worker, i) for i in range(threads)]:
            future.result()
    elapsed = time.perf_counter() - started
    return Argon2Rate(
        implementation=implementation,
        verifies=sum(counts),
        seconds=elapsed,
        threads=threads,
        cpu_seconds=sum(cpu),
    )
