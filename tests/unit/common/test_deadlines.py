"""Deadline propagation: an outgoing call ends before the served call's deadline."""

from __future__ import annotations

import contextvars
from typing import Any

import pytest

from services.common import deadlines


class _Served:
    def __init__(self, remaining: float | None) -> None:
        self._remaining = remaining

    def time_remaining(self) -> float | None:
        return self._remaining


def _in_served_call(remaining: float | None, outgoing: float | None) -> Any:
    def run() -> Any:
        deadlines.bind(_Served(remaining))
        return deadlines.within_serving_deadline(outgoing)

    return contextvars.Context().run(run)


def test_an_outgoing_call_ends_a_margin_before_the_served_one() -> None:
    # roster's 5 s wait for sharing, inside the gateway's 5 s call: roster answers first.
    timeout = _in_served_call(5.0, 5.0)
    assert timeout == pytest.approx(5.0 - deadlines.MARGIN_SECONDS, abs=0.05)
    assert _in_served_call(30.0, 5.0) == 5.0  # a shorter timeout of its own stays
    assert _in_served_call(0.2, 5.0) == 0.0  # no time left: fail at once
    assert _in_served_call(None, 5.0) == 5.0  # a caller without a deadline
    # A call without a timeout of its own still ends before the served one.
    assert _in_served_call(5.0, None) == pytest.approx(5.0 - deadlines.MARGIN_SECONDS, abs=0.05)
    assert deadlines.within_serving_deadline(5.0) == 5.0  # no served call


def test_a_shared_call_takes_the_earliest_deadline() -> None:
    contexts = []
    for remaining in (9.0, 3.0, None):
        context = contextvars.Context()
        context.run(deadlines.bind, _Served(remaining))
        contexts.append(context)
    shared = deadlines.shared_context(contexts)
    timeout = shared.run(lambda: deadlines.within_serving_deadline(5.0))
    assert timeout == pytest.approx(3.0 - deadlines.MARGIN_SECONDS, abs=0.05)
