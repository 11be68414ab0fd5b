"""The session state cache: TTL, revoked sessions, coalesced batch lookups, eviction, failing
closed. A fake lookup and a hand-driven clock; nothing sleeps."""

from __future__ import annotations

import asyncio
from collections.abc import Collection

import pytest

from services.gateway.session_states import SessionStates, SessionStateUnavailable

USER = "user-1"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeAuth:
    """Answers lookups from ``active``; ``gate`` holds answers until the test opens it."""

    def __init__(self, *active: str) -> None:
        self.active = set(active)
        self.calls: list[list[str]] = []
        self.gate: asyncio.Event | None = None
        self.error: Exception | None = None

    async def __call__(self, session_ids: list[str]) -> Collection[str]:
        self.calls.append(list(session_ids))
        answer = self.active & set(session_ids)
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        return answer


async def _turns(count: int = 5) -> None:
    # Lets scheduled callbacks and tasks run; no time passes on any clock.
    for _ in range(count):
        await asyncio.sleep(0)


def _states(auth: FakeAuth, clock: FakeClock, ttl: float = 30.0, **kwargs: int) -> SessionStates:
    return SessionStates(auth, ttl, clock=clock, **kwargs)


async def test_active_session_is_cached_for_the_ttl_only() -> None:
    auth, clock = FakeAuth("s1"), FakeClock()
    states = _states(auth, clock)
    assert await states.is_active("s1", USER)
    auth.active.clear()  # revoked in auth; the gateway trusts its answer for 30 s
    clock.now += 29.9
    assert await states.is_active("s1", USER)
    assert len(auth.calls) == 1
    clock.now += 0.2
    assert not await states.is_active("s1", USER)
    assert len(auth.calls) == 2


async def test_a_session_auth_does_not_list_is_revoked_and_that_is_cached_too() -> None:
    auth, clock = FakeAuth(), FakeClock()
    states = _states(auth, clock)
    assert not await states.is_active("gone", USER)
    assert not await states.is_active("gone", USER)
    assert auth.calls == [["gone"]]


async def test_concurrent_lookups_of_unknown_sessions_are_one_call() -> None:
    auth, clock = FakeAuth("s1", "s2"), FakeClock()
    states = _states(auth, clock)
    answers = await asyncio.gather(
        *(states.is_active(session, USER) for session in ["s1", "s2", "s3", "s1", "s2", "s1"])
    )
    assert answers == [True, True, False, True, True, True]
    assert len(auth.calls) == 1
    assert sorted(auth.calls[0]) == ["s1", "s2", "s3"]


async def test_a_request_joins_the_lookup_already_on_its_way() -> None:
    auth, clock = FakeAuth("s1"), FakeClock()
    auth.gate = asyncio.Event()
    states = _states(auth, clock)
    first = asyncio.create_task(states.is_active("s1", USER))
    await _turns()
    assert auth.calls == [["s1"]]
    second = asyncio.create_task(states.is_active("s1", USER))
    await _turns()
    auth.gate.set()
    assert await first and await second
    assert auth.calls == [["s1"]]


async def test_large_bursts_are_split_into_batches() -> None:
    auth, clock = FakeAuth(), FakeClock()
    states = _states(auth, clock, max_batch=2)
    await asyncio.gather(*(states.is_active(f"s{i}", USER) for i in range(5)))
    assert [len(call) for call in auth.calls] == [2, 2, 1]


@pytest.mark.parametrize("error", [RuntimeError("auth down"), TimeoutError()])
async def test_unknown_session_fails_closed_when_auth_cannot_answer(error: Exception) -> None:
    auth, clock = FakeAuth("s1"), FakeClock()
    auth.error = error
    states = _states(auth, clock)
    results = await asyncio.gather(
        states.is_active("s1", USER), states.is_active("s1", USER), return_exceptions=True
    )
    assert all(isinstance(result, SessionStateUnavailable) for result in results)
    # Failures are not cached: the next request asks again and gets through once auth answers.
    auth.error = None
    assert await states.is_active("s1", USER)
    assert len(auth.calls) == 2


async def test_an_expired_entry_is_unknown_and_fails_closed_too() -> None:
    auth, clock = FakeAuth("s1"), FakeClock()
    states = _states(auth, clock)
    assert await states.is_active("s1", USER)
    clock.now += 31
    auth.error = RuntimeError("auth down")
    with pytest.raises(SessionStateUnavailable):
        await states.is_active("s1", USER)


async def test_evicting_a_session_makes_the_next_request_ask_auth() -> None:
    auth, clock = FakeAuth("s1", "s2"), FakeClock()
    states = _states(auth, clock)
    assert await states.is_active("s1", USER)
    assert await states.is_active("s2", USER)
    auth.active.discard("s1")
    states.evict_session("s1")
    assert not await states.is_active("s1", USER)
    assert await states.is_active("s2", USER)
    assert len(auth.calls) == 3


async def test_evicting_a_user_forgets_all_of_their_sessions_only() -> None:
    auth, clock = FakeAuth("a1", "a2", "b1"), FakeClock()
    states = _states(auth, clock)
    for session, user in [("a1", "a"), ("a2", "a"), ("b1", "b")]:
        assert await states.is_active(session, user)
    auth.active = {"b1"}
    states.evict_user("a")
    assert not await states.is_active("a1", "a")
    assert not await states.is_active("a2", "a")
    assert await states.is_active("b1", "b")
    assert len(auth.calls) == 5


async def test_an_answer_asked_before_a_sign_out_is_not_cached_or_joined_after_it() -> None:
    auth, clock = FakeAuth("s1"), FakeClock()
    auth.gate = asyncio.Event()
    states = _states(auth, clock)
    before = asyncio.create_task(states.is_active("s1", USER))
    await _turns()
    assert auth.calls == [["s1"]]
    states.evict_session("s1")  # the sign-out finished while the lookup was on its way
    auth.active.clear()
    after = asyncio.create_task(states.is_active("s1", USER))
    await _turns()
    auth.gate.set()
    assert await before  # asked before the sign-out: auth's answer then
    assert not await after  # a fresh lookup, not the one in flight
    assert not await states.is_active("s1", USER)
    assert len(auth.calls) == 2


async def test_a_zero_ttl_asks_every_time() -> None:
    auth, clock = FakeAuth("s1"), FakeClock()
    states = _states(auth, clock, ttl=0)
    assert await states.is_active("s1", USER)
    assert await states.is_active("s1", USER)
    assert len(auth.calls) == 2


async def test_the_cache_stays_bounded() -> None:
    auth, clock = FakeAuth(), FakeClock()
    states = _states(auth, clock, max_entries=10)
    for i in range(25):
        await states.is_active(f"s{i}", USER)
    assert len(states) <= 10
