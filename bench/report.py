"""Results as a readable table on standard output, plus one JSON line per result."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TextIO

Metric = float | int | str


@dataclass(frozen=True)
class Result:
    """One measured figure set: which bench, which case, the numbers and how they were made."""

    bench: str
    case: str
    metrics: Mapping[str, Metric]
    notes: str = ""
    context: Mapping[str, Metric] = field(default_factory=dict)

    def json_line(self) -> str:
        return json.dumps(
            {
                "bench": self.bench,
                "case": self.case,
                "metrics": dict(self.metrics),
                "notes": self.notes,
                "context": dict(self.context),
            },
            sort_keys=True,
        )


def machine_context() -> dict[str, Metric]:
    """What makes figures comparable (or not): cores and the load when measured."""
    one, five, _ = os.getloadavg()
    return {"cpus": os.cpu_count() or 0, "load_1m": round(one, 2), "load_5m": round(five, 2)}


def _cell(value: Metric) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return value


def render_table(results: Sequence[Result]) -> str:
    """One block per bench: case, then ``name=value`` pairs, then notes."""
    lines: list[str] = []
    width = max((len(r.case) for r in results), default=10)
    current = ""
    for result in results:
        if result.bench != current:
            current = result.bench
            lines.append("")
            lines.append(f"== {current} ==")
        figures = "  ".join(f"{k}={_cell(v)}" for k, v in result.metrics.items())
        lines.append(f"{result.case:<{width}}  {figures}")
        if result.notes:
            lines.append(f"{'':<{width}}  ({result.notes})")
    return "\n".join(lines) + "\n"


class Reporter:
    """Emits each result as a JSON line at once (so a crash later keeps it), a table at the end.

    Standard output, not logging: the figures are the program's output (ruff's T201 forbids
    print, and a stream can be swapped in tests).
    """

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self._out = out
        self.results: list[Result] = []

    def add(self, result: Result) -> None:
        self.results.append(result)
        self._out.write(result.json_line() + "\n")
        self._out.flush()

    def note(self, text: str) -> None:
        self._out.write(f"# {text}\n")
        self._out.flush()

    def finish(self) -> None:
        self._out.write(render_table(self.results))
        self._out.flush()
