"""The bare argon2id verify rate: the ceiling that sign-in through the stack is compared with.

The auth service's own hasher (services/auth/hash_worker.py: OWASP_MINIMUM, 32-byte hash,
16-byte salt), on as many threads as the auth service has hash workers (two on our 2-core
machine). argon2-cffi releases the GIL, so threads verify in parallel, like the service's
worker processes: the figure is the bare hashing rate, without any inter-process overhead.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from services.auth.hash_worker import hasher as service_hasher
from services.auth.passwords import OWASP_MINIMUM, HashParams

PASSWORD = "argon2 benchmark password, not a real one"


@dataclass(frozen=True)
class Argon2Rate:
    """Verifies completed on ``threads`` threads in ``seconds``."""

    verifies: int
    seconds: float
    threads: int

    @property
    def per_second(self) -> float:
        return self.verifies / self.seconds if self.seconds > 0 else 0.0

    @property
    def ms_per_verify(self) -> float:
        # Per thread: what one sign-in waits for its hash when nothing queues.
        return 1000 * self.seconds * self.threads / self.verifies if self.verifies else 0.0


def measure_argon2_rate(
    seconds: float, threads: int = 2, params: HashParams = OWASP_MINIMUM
) -> Argon2Rate:
    """Verifies a correct password on ``threads`` threads for about ``seconds``; blocking."""
    hasher = service_hasher(params)  # the auth service's own construction
    encoded = hasher.hash(PASSWORD)
    hasher.verify(encoded, PASSWORD)  # warm-up: first-touch of the memory, library loading
    deadline = time.perf_counter() + seconds
    counts = [0] * threads
    lock = threading.Lock()

    def worker(index: int) -> None:
        done = 0
        # Bounded by the deadline, and by a count so a stalled clock cannot loop forever.
        for _ in range(100_000):
            if time.perf_counter() >= deadline:
                break
            hasher.verify(encoded, PASSWORD)
            done += 1
        with lock:
            counts[index] = done

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bench-argon2") as pool:
        for future in [pool.submit(worker, i) for i in range(threads)]:
            future.result()
    elapsed = time.perf_counter() - started
    return Argon2Rate(verifies=sum(counts), seconds=elapsed, threads=threads)
