"""pytest's terminal as a text sink, for output that must show while tests capture theirs."""

from __future__ import annotations

from typing import Any


class TerminalLines:
    """A text sink that shows each line in pytest's output, past output capturing."""

    def __init__(self, reporter: Any) -> None:
        self._reporter = reporter

    def write(self, text: str) -> int:
        for line in text.splitlines():
            self._reporter.write_line(line)
        return len(text)

    def flush(self) -> None:
        pass
