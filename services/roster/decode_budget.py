"""How many bytes of decoded pixels roster's photo workers may hold at once.

The upload slots (``photo_slots.py``) bound how many uploads are in memory, but not what
decoding one costs: a 5 MiB JPEG decodes at a reduced scale to a few MB, while a flat
40-megapixel PNG that fits in 5 MiB decodes to 120-160 MB, and as much again while it is scaled.
Each worker reserves its image's estimated cost here before decoding it, so two large images
are never decoded side by side; one that costs more than the whole budget waits until it can be
decoded alone.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator


class DecodeBudget:
    """A byte budget shared by worker threads; :meth:`reserved` blocks until there is room."""

    def __init__(self, limit_bytes: int) -> None:
        if limit_bytes < 1:
            raise ValueError("the decode budget must be positive")
        self.limit_bytes = limit_bytes
        self._used = 0
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def reserved(self, cost_bytes: int) -> Iterator[None]:
        """Holds ``cost_bytes`` of the budget (at most all of it) for the block."""
        cost = min(max(cost_bytes, 0), self.limit_bytes)
        with self._changed:
            self._changed.wait_for(lambda: self._used + cost <= self.limit_bytes)
            self._used += cost
        try:
            yield
        finally:
            with self._changed:
                self._used -= cost
                self._changed.notify_all()
