"""Deadline propagation: a call a service makes while serving one ends before that one's
deadline does.

Without it, a service that waits for its callee as long as its own caller waits for it loses
the race: roster waits up to 5 s for an unreachable sharing, the gateway's 5 s deadline for
roster runs out first, and the user sees a gateway timeout instead of roster's own answer
(``sharing_unavailable``). The server interceptor binds the deadline of the call being served
(:func:`bind`); every channel (``grpc_client.py``) shortens outgoing calls to end
``MARGIN_SECONDS`` before it (:func:`within_serving_deadline`), leaving the service time to
answer.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Sequence

import grpc

MARGIN_SECONDS = 0.5

_serving_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "serving_deadline", default=None
)


def bind(context: grpc.aio.ServicerContext) -> None:
    """Remembers the deadline of the call being served (none if its caller set none)."""
    remaining = context.time_remaining()
    _serving_deadline.set(None if remaining is None else time.monotonic() + remaining)


def within_serving_deadline(timeout: float | None) -> float | None:
    """An outgoing call's timeout, cut to end before the served call's deadline."""
    deadline = _serving_deadline.get()
    if deadline is None:
        return timeout
    left = max(deadline - time.monotonic() - MARGIN_SECONDS, 0.0)
    return left if timeout is None else min(timeout, left)


def shared_context(contexts: Sequence[contextvars.Context]) -> contextvars.Context:
    """A context for one call made on behalf of several served calls (a batch): no request
    id of its own, and the earliest of their deadlines."""
    deadlines = [d for d in (c.get(_serving_deadline) for c in contexts) if d is not None]
    shared = contextvars.Context()
    if deadlines:
        shared.run(_serving_deadline.set, min(deadlines))
    return shared
