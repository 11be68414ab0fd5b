"""How many photo uploads roster holds in memory at once: the slots of the upload pipeline.

An upload takes a slot once it is authorized and before roster reads a byte of its image, and
gives it back once the image is re-encoded (``photo_rpcs.py``). The gateway sends the image
only after roster's "ready" (``gateway/routes/photos.py``), so an upload that waits for a slot
waits with its body unread, held back by TCP and HTTP/2 flow control in the client and the
gateway, instead of each waiting upload taking 5 MiB of roster's memory. With ``limit`` slots
roster holds at most ``limit`` received images, of which the photo workers decode a few.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import grpc

from services.common import reasons
from services.common.errors import ServiceError
from services.roster.metrics import RosterMetrics


class PhotosBusy(ServiceError):
    """No slot freed up in the time the upload could wait (HTTP 503): try again later."""

    grpc_code = grpc.StatusCode.UNAVAILABLE
    default_reason = reasons.UNAVAILABLE


class PhotoSlots:
    """At most ``limit`` uploads in progress; the others wait their turn, first come first."""

    def __init__(self, limit: int, metrics: RosterMetrics) -> None:
        if limit < 1:
            raise ValueError("at least one photo upload slot is needed")
        self.limit = limit
        self._free = asyncio.Semaphore(limit)
        self._metrics = metrics
        self._held = 0
        self._most_held = 0

    @contextlib.asynccontextmanager
    async def held(self, wait_seconds: float) -> AsyncIterator[None]:
        """Holds one slot for the block; raises :class:`PhotosBusy` when none frees up within
        ``wait_seconds``. A caller that goes away while waiting leaves the queue at once."""
        self._metrics.photo_uploads_waiting.inc()
        try:
            async with asyncio.timeout(max(wait_seconds, 0.0)):
                await self._free.acquire()
        except TimeoutError:
            self._metrics.photo_rejections.labels(reasons.UNAVAILABLE).inc()
            raise PhotosBusy("every photo slot stayed busy; try again later") from None
        finally:
            self._metrics.photo_uploads_waiting.dec()
        self._held += 1
        self._most_held = max(self._most_held, self._held)
        self._metrics.photo_uploads_in_progress.inc()
        self._metrics.photo_uploads_in_progress_max.set(self._most_held)
        try:
            yield
        finally:
            self._held -= 1
            self._metrics.photo_uploads_in_progress.dec()
            self._free.release()
