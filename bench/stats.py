"""Latency samples and what is reported from them: rate, p50, p99, errors."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (0 for no values).

    Nearest rank, not interpolation: a reported p99 is a latency some request really had.
    """
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass(frozen=True)
class LatencySummary:
    """Completed calls over a measured interval; latencies in milliseconds."""

    ok: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    def as_metrics(self) -> dict[str, float | int]:
        return {
            "per_second": round(self.per_second, 1),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "max_ms": round(self.max_ms, 2),
            "ok": self.ok,
            "errors": self.errors,
            "seconds": round(self.seconds, 2),
        }


def summarize(latencies_s: Sequence[float], errors: int, seconds: float) -> LatencySummary:
    """Summary of successful-call latencies (in seconds) measured over ``seconds``."""
    ordered = sorted(latencies_s)
    return LatencySummary(
        ok=len(ordered),
        errors=errors,
        seconds=seconds,
        p50_ms=percentile(ordered, 0.50) * 1000,
        p99_ms=percentile(ordered, 0.99) * 1000,
        max_ms=(ordered[-1] * 1000) if ordered else 0.0,
    )
