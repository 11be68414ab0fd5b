"""The views statement is run again when PostgreSQL picks it as a deadlock's victim."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from services.sharing.access_log import _DEADLOCK_ATTEMPTS, _with_deadlock_retry


class Flaky:
    """A fetch that fails as a deadlock victim ``failures`` times, then answers."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[tuple[Any, ...]] = []

    async def __call__(self, *args: Any) -> list[Any]:
        self.calls.append(args)
        if len(self.calls) <= self.failures:
            raise asyncpg.DeadlockDetectedError("deadlock detected")
        return [("row",)]


async def test_a_deadlock_victim_runs_again_with_the_same_arguments() -> None:
    fetch = Flaky(failures=_DEADLOCK_ATTEMPTS - 1)
    assert await _with_deadlock_retry(fetch, "SELECT 1", 2) == [("row",)]
    assert fetch.calls == [("SELECT 1", 2)] * _DEADLOCK_ATTEMPTS


async def test_a_deadlock_that_persists_is_raised_and_other_errors_at_once() -> None:
    fetch = Flaky(failures=_DEADLOCK_ATTEMPTS)
    with pytest.raises(asyncpg.DeadlockDetectedError):
        await _with_deadlock_retry(fetch, "SELECT 1")
    assert len(fetch.calls) == _DEADLOCK_ATTEMPTS

    async def broken(*args: Any) -> list[Any]:
        broken.calls += 1  # type: ignore[attr-defined]
        raise asyncpg.UniqueViolationError("duplicate")

    broken.calls = 0  # type: ignore[attr-defined]
    with pytest.raises(asyncpg.UniqueViolationError):
        await _with_deadlock_retry(broken, "SELECT 1")
    assert broken.calls == 1  # type: ignore[attr-defined]
