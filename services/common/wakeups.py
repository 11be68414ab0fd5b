"""Waiting for a wake-up or a poll interval, whichever comes first, in a cancellable loop."""

from __future__ import annotations

import asyncio


async def wait_for_wake(event: asyncio.Event, seconds: float) -> None:
    """Returns when ``event`` is set or ``seconds`` have passed; never swallows a cancel.

    ``asyncio.timeout`` inside ``suppress(TimeoutError)`` is not safe here on Python 3.11: when
    the deadline and an outside cancel arrive together, the cancel turns into a TimeoutError
    that the suppress swallows, and a worker loop then never stops (seen as a hung shutdown).
    ``asyncio.wait`` reports a timeout by returning, so a cancel always propagates.
    """
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({waiter}, timeout=seconds)
    finally:
        waiter.cancel()
