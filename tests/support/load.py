"""A steady background load of sign-ins and signed-in reads, and what it saw, for the fault
tests."""

from __future__ import annotations

import collections
import http.client
import itertools
import json
import threading
import time
from dataclasses import dataclass
from types import TracebackType

from tests.e2e.stack import HttpsClient

SIGN_IN = "POST /v1/sessions"


@dataclass(frozen=True)
class Answer:
    """One request of the load: when it was sent and answered (monotonic seconds), and how.

    ``status`` 0 is a connection that failed or broke without an HTTP answer; ``problem`` the
    ``code`` of a problem+json answer.
    """

    path: str
    request_id: str
    started: float
    ended: float
    status: int
    problem: str = ""


class Load:
    """``workers`` threads calling ``paths`` in turn, and with ``sign_in`` one more thread
    signing in, as fast as the stack answers, until closed.

    Every request carries its own ``X-Request-Id`` (``load-<n>``), which the gateway logs
    with the status it answered: that is how a test tells a request the gateway took from one
    it never saw.
    """

    def __init__(
        self,
        stack: HttpsClient,
        token: str,
        paths: list[str],
        *,
        workers: int = 1,
        sign_in: tuple[str, str] | None = None,
    ) -> None:
        self._stack = stack
        self._token = token
        # Sign-ins have a thread of their own: a password hash costs far more than a read,
        # and a turn among the reads would make them most of the load.
        self._turns = [paths] * workers + ([[SIGN_IN]] if sign_in else [])
        self._sign_in = sign_in
        self._answers: list[Answer] = []
        self._outstanding: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(i, turn), name=f"load-{i}", daemon=True)
            for i, turn in enumerate(self._turns)
        ]

    @property
    def threads(self) -> int:
        """How many requests can be outstanding at once."""
        return len(self._threads)

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _call(self, path: str, request_id: str) -> tuple[int, str]:
        headers = {"X-Request-Id": request_id}
        if path == SIGN_IN and self._sign_in is not None:
            email, password = self._sign_in
            body = {"email": email, "password": password}
            status, sent, raw = self._stack.request("POST", "/v1/sessions", body, headers=headers)
        else:
            status, sent, raw = self._stack.request("GET", path, None, self._token, headers=headers)
        problem = ""
        if sent.get("Content-Type", "").startswith("application/problem+json"):
            problem = str(json.loads(raw).get("code", ""))
        return status, problem

    def _run(self, worker: int, paths: list[str]) -> None:
        turn = worker  # the workers start at different paths
        while not self._stop.is_set():
            path = paths[turn % len(paths)]
            turn += 1
            request_id = f"load-{next(self._numbers)}"
            started = time.monotonic()
            with self._lock:
                self._outstanding[request_id] = (path, started)
            try:
                status, problem = self._call(path, request_id)
            except (OSError, http.client.HTTPException):  # refused, reset, cut short
                status, problem = 0, ""
            ended = time.monotonic()
            with self._lock:
                del self._outstanding[request_id]
                self._answers.append(Answer(path, request_id, started, ended, status, problem))

    def mark(self) -> int:
        """A point in the answers; ``statuses_since`` counts from it."""
        with self._lock:
            return len(self._answers)

    def wait_for_answers(self, count: int, timeout: float = 60.0) -> None:
        """Returns once ``count`` more answers have come in."""
        target = self.mark() + count
        deadline = time.monotonic() + timeout
        while self.mark() < target:
            alive = any(thread.is_alive() for thread in self._threads)
            if time.monotonic() > deadline or not alive:
                raise AssertionError(f"the load got fewer than {count} answers in {timeout} s")
            time.sleep(0.05)

    def outstanding(self) -> dict[str, tuple[str, float]]:
        """Requests sent and not answered yet: request id -> (path, when sent)."""
        with self._lock:
            return dict(self._outstanding)

    def answers(self, mark: int = 0) -> list[Answer]:
        with self._lock:
            return self._answers[mark:]

    def answer_of(self, request_ids: set[str]) -> dict[str, Answer]:
        """The answers of these requests (those answered so far)."""
        with self._lock:
            return {a.request_id: a for a in self._answers if a.request_id in request_ids}

    def statuses_since(self, mark: int) -> dict[str, collections.Counter[int]]:
        """Path -> how often each status was answered since ``mark``."""
        seen: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
        for answer in self.answers(mark):
            seen[answer.path][answer.status] += 1
        return dict(seen)

    def describe(self, mark: int) -> str:
        return "; ".join(
            f"{path} {dict(counts)}" for path, counts in sorted(self.statuses_since(mark).items())
        )
