"""A steady background load of signed-in reads, and what it saw, for the fault tests."""

from __future__ import annotations

import collections
import threading
import time
from types import TracebackType

from tests.e2e.stack import HttpsClient


class Load:
    """One thread reading ``paths`` in turn, as fast as the stack answers, until closed.

    Every answer is kept as (path, status); a connection failure counts as status 0.
    """

    def __init__(self, stack: HttpsClient, token: str, paths: list[str]) -> None:
        self._stack = stack
        self._token = token
        self._paths = paths
        self._answers: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="load", daemon=True)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        turn = 0
        while not self._stop.is_set():
            path = self._paths[turn % len(self._paths)]
            turn += 1
            try:
                status = self._stack.request("GET", path, None, self._token)[0]
            except OSError:
                status = 0
            with self._lock:
                self._answers.append((path, status))

    def mark(self) -> int:
        """A point in the answers; ``statuses_since`` counts from it."""
        with self._lock:
            return len(self._answers)

    def wait_for_answers(self, count: int, timeout: float = 60.0) -> None:
        """Returns once ``count`` more answers have come in."""
        target = self.mark() + count
        deadline = time.monotonic() + timeout
        while self.mark() < target:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise AssertionError(f"the load got fewer than {count} answers in {timeout} s")
            time.sleep(0.05)

    def statuses_since(self, mark: int) -> dict[str, collections.Counter[int]]:
        """Path -> how often each status was answered since ``mark``."""
        with self._lock:
            answers = self._answers[mark:]
        seen: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
        for path, status in answers:
            seen[path][status] += 1
        return dict(seen)

    def describe(self, mark: int) -> str:
        return "; ".join(
            f"{path} {dict(counts)}" for path, counts in sorted(self.statuses_since(mark).items())
        )
