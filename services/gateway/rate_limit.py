"""Per-client-address rate limit in front of sign-in, sign-up, reset and unlock requests.

A sliding window log: each address keeps the times of its last ``limit`` accepted calls, so
a burst at a window edge cannot pass twice the limit (a fixed window would allow that). It
is in memory, per gateway process; the lockout rule in auth is what no client can get past.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]


@dataclass(frozen=True)
class Decision:
    """Whether a call may go on, and if not, in how many seconds it may."""

    allowed: bool
    retry_after_seconds: int = 0


class SlidingWindowLimiter:
    """At most ``limit`` calls per ``window_seconds`` per key."""

    def __init__(
        self,
        limit: int,
        window_seconds: float = 60.0,
        clock: Clock = time.monotonic,
        sweep_every: int = 1024,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._limit = limit
        self._window = window_seconds
        self._clock = clock
        self._calls: dict[str, deque[float]] = {}
        self._sweep_every = sweep_every
        self._since_sweep = 0

    def hit(self, key: str) -> Decision:
        """Counts a call by ``key`` unless it is over the limit."""
        now = self._clock()
        self._maybe_sweep(now)
        calls = self._calls.setdefault(key, deque())
        horizon = now - self._window
        while calls and calls[0] <= horizon:
            calls.popleft()
        if len(calls) >= self._limit:
            wait = calls[0] + self._window - now
            return Decision(False, max(1, math.ceil(wait)))
        calls.append(now)
        return Decision(True)

    def _maybe_sweep(self, now: float) -> None:
        # Addresses that stopped calling are forgotten, so memory follows recent clients only.
        self._since_sweep += 1
        if self._since_sweep < self._sweep_every:
            return
        self._since_sweep = 0
        horizon = now - self._window
        stale = [key for key, calls in self._calls.items() if not calls or calls[-1] <= horizon]
        for key in stale:
            del self._calls[key]

    def tracked_keys(self) -> int:
        """How many addresses are remembered (for tests and metrics)."""
        return len(self._calls)
