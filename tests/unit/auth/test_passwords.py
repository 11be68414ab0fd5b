"""argon2id hashing: parameters, verification, rehash detection, the concurrency cap."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import argon2
import pytest

from services.auth import passwords
from services.auth.passwords import HashParams, PasswordHashing


@pytest.fixture
def hashing() -> Iterator[PasswordHashing]:
    hashing = PasswordHashing(concurrency=2)
    yield hashing
    hashing.close()


async def test_hash_is_argon2id_at_least_at_owasp_minimum(hashing: PasswordHashing) -> None:
    stored = await hashing.hash("violet tundra marmalade 47")
    assert stored.startswith("$argon2id$")
    params = argon2.extract_parameters(stored)
    assert params.type is argon2.Type.ID
    assert params.memory_cost >= 19456
    assert params.time_cost >= 2
    assert "violet" not in stored


async def test_verify_tells_right_from_wrong(hashing: PasswordHashing) -> None:
    stored = await hashing.hash("violet tundra marmalade 47")
    assert await hashing.verify(stored, "violet tundra marmalade 47")
    assert not await hashing.verify(stored, "violet tundra marmalade 48")
    assert not await hashing.verify("not a hash", "violet tundra marmalade 47")


async def test_dummy_verification_costs_like_a_real_one(hashing: PasswordHashing) -> None:
    stored = await hashing.hash("violet tundra marmalade 47")
    started = time.perf_counter()
    await hashing.verify(stored, "wrong")
    real = time.perf_counter() - started
    started = time.perf_counter()
    await hashing.verify_dummy("wrong")
    dummy = time.perf_counter() - started
    assert dummy > real / 3


async def test_needs_rehash_when_parameters_differ(hashing: PasswordHashing) -> None:
    assert not hashing.needs_rehash(await hashing.hash("violet tundra marmalade 47"))
    weaker = argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    assert hashing.needs_rehash(weaker.hash("violet tundra marmalade 47"))
    stronger = PasswordHashing(concurrency=1, params=HashParams(time_cost=3))
    assert stronger.needs_rehash(await hashing.hash("violet tundra marmalade 47"))
    assert hashing.needs_rehash("garbage")


def test_parameters_below_the_owasp_minimum_are_refused() -> None:
    with pytest.raises(ValueError):
        PasswordHashing(concurrency=1, params=HashParams(memory_cost_kib=8192))
    with pytest.raises(ValueError):
        PasswordHashing(concurrency=1, params=HashParams(time_cost=1))


async def test_durations_are_observed() -> None:
    seen: list[tuple[str, float]] = []
    hashing = PasswordHashing(concurrency=1, observe=lambda op, s: seen.append((op, s)))
    stored = await hashing.hash("violet tundra marmalade 47")
    await hashing.verify(stored, "violet tundra marmalade 47")
    await hashing.verify_dummy("x")
    assert [op for op, _ in seen] == ["hash", "verify", "verify"]
    assert all(seconds > 0 for _, seconds in seen)


async def test_no_more_hashes_run_at_once_than_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    running = 0
    peak = 0
    lock = threading.Lock()

    class CountingHasher(argon2.PasswordHasher):
        def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            try:
                return super().hash(password, salt=salt)
            finally:
                with lock:
                    running -= 1

    monkeypatch.setattr(passwords, "PasswordHasher", CountingHasher)
    hashing = PasswordHashing(concurrency=2)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    tick_task = asyncio.create_task(ticker())
    try:
        await asyncio.gather(*(hashing.hash(f"password number {i}") for i in range(6)))
    finally:
        tick_task.cancel()
        hashing.close()
    assert peak == 2
    # The event loop kept running while the threads hashed.
    assert ticks >= 5


def test_hash_threads_run_below_the_event_loops_priority() -> None:
    import os

    from services.auth.passwords import HASH_THREAD_NICENESS

    hashing = PasswordHashing(1)
    try:
        base = os.getpriority(os.PRIO_PROCESS, 0)
        thread_nice = hashing._executor.submit(  # noqa: SLF001 - the pool's own threads
            lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        ).result()
    finally:
        hashing.close()
    assert thread_nice == min(19, base + HASH_THREAD_NICENESS)
    assert os.getpriority(os.PRIO_PROCESS, 0) == base  # the event loop's thread is untouched
