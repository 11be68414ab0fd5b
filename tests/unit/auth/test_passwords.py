"""argon2id hashing: parameters, verification, rehash detection, the concurrency cap, and
libsodium and argon2-cffi reading each other's hashes."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import argon2
import nacl.pwhash.argon2id
import psutil
import pytest

from services.auth import hash_worker
from services.auth.passwords import (
    HASH_WORKER_GROUP_NICENESS,
    HASH_WORKER_NICENESS,
    HashParams,
    PasswordHashing,
)


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
    # A verify's cost is set by the parameters in the hash: the dummy must carry the current
    # ones (a timing comparison would only measure this shared machine's load).
    stored = await hashing.hash("violet tundra marmalade 47")
    dummy = hashing._dummy_hash  # noqa: SLF001 - the hash an unknown email is checked against
    assert argon2.extract_parameters(dummy) == argon2.extract_parameters(stored)
    seen: list[str] = []
    observed = PasswordHashing(concurrency=1, observe=lambda op, s: seen.append(op))
    try:
        await observed.verify_dummy("wrong")
    finally:
        observed.close()
    assert seen == ["verify"]  # a real verification in a worker, not a shortcut


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


async def test_no_more_hashes_run_at_once_than_the_cap() -> None:
    # Workers of pools that earlier tests closed may still be exiting: not ours.
    earlier = set(multiprocessing.active_children())
    hashing = PasswordHashing(concurrency=2)
    ticks = 0
    most_workers = 0

    async def ticker() -> None:
        nonlocal ticks, most_workers
        while True:
            ticks += 1
            most_workers = max(most_workers, len(set(multiprocessing.active_children()) - earlier))
            await asyncio.sleep(0.005)

    tick_task = asyncio.create_task(ticker())
    try:
        stored = await asyncio.gather(*(hashing.hash(f"password number {i}") for i in range(6)))
    finally:
        tick_task.cancel()
        hashing.close()
    assert all(s.startswith("$argon2id$") for s in stored)
    assert most_workers == 2
    # The event loop kept running while the workers hashed.
    assert ticks >= 5


async def test_hash_workers_run_below_the_event_loops_priority() -> None:
    hashing = PasswordHashing(1)
    try:
        base = os.getpriority(os.PRIO_PROCESS, 0)
        await hashing.hash("violet tundra marmalade 47")  # the worker has set itself up
        (worker_pid,) = hashing.worker_pids()
        worker_nice = psutil.Process(worker_pid).nice()
    finally:
        hashing.close()
    assert worker_nice == min(19, base + HASH_WORKER_NICENESS)
    assert os.getpriority(os.PRIO_PROCESS, 0) == base  # the event loop's process is untouched


async def test_a_dead_worker_is_replaced() -> None:
    earlier = set(multiprocessing.active_children())
    hashing = PasswordHashing(1)
    try:
        stored = await hashing.hash("violet tundra marmalade 47")
        (worker,) = set(multiprocessing.active_children()) - earlier
        worker.kill()
        worker.join()
        assert await hashing.verify(stored, "violet tundra marmalade 47")
    finally:
        hashing.close()


def _session_and_group_of(pid: int) -> tuple[int, str]:
    return os.getsid(pid), Path(f"/proc/{pid}/autogroup").read_text()


@pytest.mark.skipif(not Path("/proc/self/autogroup").exists(), reason="no Linux autogroup")
async def test_hash_workers_run_in_a_session_of_their_own_with_a_lower_weight() -> None:
    hashing = PasswordHashing(1)
    try:
        await hashing.hash("violet tundra marmalade 47")  # the worker has set itself up
        (worker_pid,) = hashing.worker_pids()
        worker_session, worker_group = _session_and_group_of(worker_pid)
    finally:
        hashing.close()
    assert worker_session == worker_pid  # it leads its own session
    assert worker_session != os.getsid(0)
    assert worker_group.strip().endswith(f"nice {HASH_WORKER_GROUP_NICENESS}")


OWNER_SCRIPT = """
import asyncio, multiprocessing, sys
from services.auth.passwords import PasswordHashing

async def main() -> None:
    hashing = PasswordHashing(2)
    await hashing.hash("violet tundra marmalade 47")
    print(" ".join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
    await asyncio.sleep(120)

if __name__ == "__main__":
    asyncio.run(main())
"""


def test_hash_workers_die_with_a_killed_auth_process(tmp_path: Path) -> None:
    script = tmp_path / "owner.py"
    script.write_text(OWNER_SCRIPT)
    with subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    ) as owner:
        try:
            assert owner.stdout is not None
            workers = [psutil.Process(int(pid)) for pid in owner.stdout.readline().split()]
            assert len(workers) >= 2
        finally:
            owner.kill()
    # A worker leads its own session, so only the kernel's parent-death signal reaches it.
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert alive == []


# The service hashes and verifies with libsodium (pynacl); argon2-cffi's strings are the format
# of every hash stored so far, and of any made with more than one lane.
CFFI = argon2.PasswordHasher(
    time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16, type=argon2.Type.ID
)


async def test_the_services_hashes_verify_with_argon2_cffi(hashing: PasswordHashing) -> None:
    stored = await hashing.hash("violet tundra marmalade 47")
    assert CFFI.verify(stored, "violet tundra marmalade 47")
    with pytest.raises(argon2.exceptions.VerifyMismatchError):
        CFFI.verify(stored, "violet tundra marmalade 48")
    # Same format and parameters as argon2-cffi's own: 16-byte salt, 32-byte hash.
    assert argon2.extract_parameters(stored) == argon2.extract_parameters(CFFI.hash("x"))
    assert not CFFI.check_needs_rehash(stored)


async def test_argon2_cffi_hashes_verify_with_the_service(hashing: PasswordHashing) -> None:
    stored = CFFI.hash("violet tundra marmalade 47")
    assert await hashing.verify(stored, "violet tundra marmalade 47")
    assert not await hashing.verify(stored, "violet tundra marmalade 48")
    assert not hashing.needs_rehash(stored)
    # Older or other parameters still verify (then sign-in rehashes them).
    for other in (
        argon2.PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4),
        argon2.PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, type=argon2.Type.I),
    ):
        old = other.hash("violet tundra marmalade 47")
        assert await hashing.verify(old, "violet tundra marmalade 47")
        assert not await hashing.verify(old, "violet tundra marmalade 48")
        assert hashing.needs_rehash(old)


def test_libsodium_and_argon2_cffi_read_each_others_strings_directly() -> None:
    params = HashParams()
    made_by_libsodium = hash_worker.make_hash(params, "violet tundra marmalade 47")
    assert nacl.pwhash.argon2id.verify(
        made_by_libsodium.encode(), b"violet tundra marmalade 47"
    )  # the library itself, not the service's wrapper
    assert CFFI.verify(made_by_libsodium, "violet tundra marmalade 47")
    made_by_cffi = CFFI.hash("violet tundra marmalade 47")
    assert hash_worker.check(params, made_by_cffi, "violet tundra marmalade 47") == "match"
    assert hash_worker.check(params, made_by_cffi, "violet tundra marmalade 4") == "mismatch"
    assert hash_worker.check(params, "$argon2id$v=19$broken", "x") == "malformed"


def test_more_lanes_than_libsodium_hashes_fall_back_to_argon2_cffi() -> None:
    params = HashParams(parallelism=2)
    stored = hash_worker.make_hash(params, "violet tundra marmalade 47")
    assert argon2.extract_parameters(stored).parallelism == 2
    assert hash_worker.check(params, stored, "violet tundra marmalade 47") == "match"


async def test_answers_reach_their_own_callers_when_one_caller_goes_away() -> None:
    hashing = PasswordHashing(concurrency=2)
    try:
        stored = await hashing.hash("violet tundra marmalade 47")
        guesses = [f"violet tundra marmalade {n}" for n in range(44, 52)]
        calls = [asyncio.ensure_future(hashing.verify(stored, g)) for g in guesses]
        await asyncio.sleep(0)  # handed over, or waiting for a slot
        calls[1].cancel()
        answers = await asyncio.gather(*calls, return_exceptions=True)
    finally:
        hashing.close()
    assert isinstance(answers[1], asyncio.CancelledError)
    expected = [g.endswith("47") for g in guesses]
    assert [a for i, a in enumerate(answers) if i != 1] == [
        e for i, e in enumerate(expected) if i != 1
    ]
