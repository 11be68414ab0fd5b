"""The check coalescer against a small fake of sharing: what is sent, and who gets what back."""

from __future__ import annotations

import asyncio
import gc
import random
import uuid
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import grpc
import pytest

from services.common.logs import request_id_var
from services.roster.check_batcher import MAX_CHECKS, CheckBatcher
from services.roster.sharing_client import Authorizer, Kind, Ref, SharingUnavailable
from trackcc.sharing.v1 import sharing_service_pb2 as pb

RELATIONS = (pb.RELATION_OWNER, pb.RELATION_EDITOR, pb.RELATION_VIEWER, pb.RELATION_UNSPECIFIED)


def unavailable() -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(
        grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), "down"
    )


def is_unavailable(outcome: object) -> bool:
    return (
        isinstance(outcome, grpc.aio.AioRpcError) and outcome.code() == grpc.StatusCode.UNAVAILABLE
    )


class FakeSharing:
    """Answers each resource with a fixed random answer; records every call it gets."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[pb.CheckRequest]]] = []
        self.answers: dict[str, pb.CheckResponse] = {}
        self.gate: asyncio.Event | None = None
        self.failing_calls: set[int] = set()  # indexes into calls
        self._called = asyncio.Condition()
        self.request_ids: list[str] = []

    def expected(self, checks: list[pb.CheckRequest]) -> list[pb.CheckResponse]:
        return [self.answers[c.resource.id] for c in checks]

    async def calls_arrived(self, count: int) -> None:
        async with self._called:
            await self._called.wait_for(lambda: len(self.calls) >= count)

    async def _answer(self, kind: str, checks: list[pb.CheckRequest]) -> list[pb.CheckResponse]:
        index = len(self.calls)
        async with self._called:
            self.calls.append((kind, checks))
            self._called.notify_all()
        if self.gate is not None:
            await self.gate.wait()
        if index in self.failing_calls:
            raise unavailable()
        return self.expected(checks)

    async def _check(self, request: pb.CheckRequest) -> pb.CheckResponse:
        return (await self._answer("Check", [request]))[0]

    async def _batch_check(self, request: pb.BatchCheckRequest) -> pb.BatchCheckResponse:
        assert len(request.checks) <= MAX_CHECKS
        return pb.BatchCheckResponse(results=await self._answer("BatchCheck", [*request.checks]))

    # Like the real stub: a plain method returning an awaitable call.
    def Check(  # noqa: N802 - gRPC method name
        self, request: pb.CheckRequest, *, timeout: float, wait_for_ready: bool
    ) -> Awaitable[pb.CheckResponse]:
        assert timeout > 0 and wait_for_ready
        self.request_ids.append(request_id_var.get())
        return self._check(request)

    def BatchCheck(  # noqa: N802
        self, request: pb.BatchCheckRequest, *, timeout: float, wait_for_ready: bool
    ) -> Awaitable[pb.BatchCheckResponse]:
        assert timeout > 0 and wait_for_ready
        self.request_ids.append(request_id_var.get())
        return self._batch_check(request)

    def checks(self, count: int, user: str = "") -> list[pb.CheckRequest]:
        """New checks of distinct resources, each with its own random answer."""
        made = []
        for _ in range(count):
            rid = str(uuid.uuid4())
            self.answers[rid] = pb.CheckResponse(
                allowed=random.random() < 0.5, relation=random.choice(RELATIONS)
            )
            made.append(
                pb.CheckRequest(
                    user_id=user or str(uuid.uuid4()),
                    resource=pb.Resource(type=pb.RESOURCE_TYPE_STUDENT, id=rid),
                    permission=pb.PERMISSION_READ,
                )
            )
        return made


@pytest.fixture
def fake() -> FakeSharing:
    return FakeSharing()


@pytest.fixture
def batcher(fake: FakeSharing) -> CheckBatcher:
    return CheckBatcher(fake, timeout=5.0)


@pytest.fixture(autouse=True)
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """What the loop reports (such as a future's exception never retrieved): must be nothing.

    Those reports go to a logger, not through warnings, so filterwarnings would miss them.
    """
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: reported.append(context))
    try:
        yield reported
        gc.collect()
        assert reported == []
    finally:
        loop.set_exception_handler(previous)


def _batcher_tasks() -> set[asyncio.Task[Any]]:
    return {t for t in asyncio.all_tasks() if "CheckBatcher" in t.get_coro().__qualname__}  # type: ignore[union-attr]


async def test_concurrent_callers_share_one_batch_and_each_gets_its_own_answers_in_order(
    fake: FakeSharing, batcher: CheckBatcher
) -> None:
    asked = [fake.checks(n, user=f"user-{n}") for n in (3, 1, 5)]
    got = await asyncio.gather(*(batcher.check(checks) for checks in asked))
    assert [kind for kind, _ in fake.calls] == ["BatchCheck"]
    assert fake.calls[0][1] == [c for checks in asked for c in checks]
    assert got == [fake.expected(checks) for checks in asked]
    assert not _batcher_tasks()


async def test_a_lone_check_goes_as_a_plain_check_and_later_turns_make_new_batches(
    fake: FakeSharing, batcher: CheckBatcher
) -> None:
    [one] = fake.checks(1)
    assert await batcher.check([one]) == fake.expected([one])
    two = fake.checks(2)
    assert await batcher.check(two) == fake.expected(two)
    assert await batcher.check([]) == []
    assert fake.calls == [("Check", [one]), ("BatchCheck", two)]


async def test_more_than_max_checks_go_as_several_concurrent_calls(
    fake: FakeSharing, batcher: CheckBatcher
) -> None:
    big, small, last = fake.checks(150), fake.checks(60), fake.checks(1)
    fake.gate = asyncio.Event()
    waiting = asyncio.gather(batcher.check(big), batcher.check(small), batcher.check(last))
    await fake.calls_arrived(3)
    # All three calls are in flight at once, none waits for another.
    assert [len(checks) for _, checks in fake.calls] == [100, 100, 11]
    assert [c for _, checks in fake.calls for c in checks] == big + small + last
    fake.gate.set()
    assert list(await waiting) == [fake.expected(big), fake.expected(small), fake.expected(last)]


async def test_an_error_reaches_every_caller_of_the_failed_call_and_only_them(
    fake: FakeSharing, batcher: CheckBatcher
) -> None:
    first, straddling, third = fake.checks(90), fake.checks(20), fake.checks(95)
    fake.failing_calls = {1}  # checks 100..199: the end of `straddling` and most of `third`
    got = await asyncio.gather(
        batcher.check(first), batcher.check(straddling), batcher.check(third),
        return_exceptions=True,
    )  # fmt: skip
    assert got[0] == fake.expected(first)
    assert is_unavailable(got[1]) and is_unavailable(got[2])


async def test_the_authorizer_maps_unavailable_for_every_caller_of_the_batch(
    fake: FakeSharing,
) -> None:
    authorizer = Authorizer(fake)  # type: ignore[arg-type]
    fake.failing_calls = {0}
    student = Ref(Kind.STUDENT, uuid.uuid4())
    got = await asyncio.gather(
        authorizer.access_of(uuid.uuid4(), [student]),
        authorizer.access_of(uuid.uuid4(), [student]),
        return_exceptions=True,
    )
    assert len(fake.calls) == 1
    assert all(isinstance(error, SharingUnavailable) for error in got), got


async def test_a_caller_cancelled_during_the_call_leaves_the_others_their_answers(
    fake: FakeSharing, batcher: CheckBatcher
) -> None:
    asked = [fake.checks(2) for _ in range(3)]
    fake.gate = asyncio.Event()
    tasks = [asyncio.create_task(batcher.check(checks)) for checks in asked]
    await fake.calls_arrived(1)
    tasks[1].cancel()
    await asyncio.sleep(0)
    fake.gate.set()
    assert await tasks[0] == fake.expected(asked[0])
    assert await tasks[2] == fake.expected(asked[2])
    with pytest.raises(asyncio.CancelledError):
        await tasks[1]
    assert len(fake.calls) == 1
    await batcher.aclose()
    assert not _batcher_tasks()


async def test_a_caller_cancelled_before_the_flush_is_left_out_and_a_failure_after_it_is_not_lost(
    fake: FakeSharing, batcher: CheckBatcher
) -> None:
    kept, dropped = fake.checks(2), fake.checks(3)
    keeping = asyncio.create_task(batcher.check(kept))
    dropping = asyncio.create_task(batcher.check(dropped))
    await asyncio.sleep(0)  # both have joined the batch; it flushes on the next turn
    dropping.cancel()
    assert await keeping == fake.expected(kept)
    assert fake.calls == [("BatchCheck", kept)]
    assert dropping.cancelled()

    # The only caller of a failing call goes away: its error must still be retrieved.
    fake.gate, fake.failing_calls = asyncio.Event(), {1}
    lost = asyncio.create_task(batcher.check(fake.checks(2)))
    await fake.calls_arrived(2)
    lost.cancel()
    fake.gate.set()
    await batcher.aclose()
    assert lost.cancelled() and not _batcher_tasks()


async def test_a_call_carries_the_request_id_of_its_only_caller_and_none_when_shared(
    fake: FakeSharing, batcher: CheckBatcher
) -> None:
    async def as_request(request_id: str, count: int) -> None:
        request_id_var.set(request_id)
        await batcher.check(fake.checks(count))

    await asyncio.create_task(as_request("req-alone", 1))
    await asyncio.create_task(as_request("req-alone-2", 2))
    await asyncio.gather(as_request("req-a", 1), as_request("req-b", 1))
    assert fake.request_ids == ["req-alone", "req-alone-2", ""]


async def test_checks_asked_while_calls_are_out_wait_and_leave_together_when_one_ends(
    fake: FakeSharing,
) -> None:
    batcher = CheckBatcher(fake, timeout=5.0, max_in_flight=1)
    fake.gate = asyncio.Event()
    first = asyncio.create_task(batcher.check(fake.checks(2)))
    await fake.calls_arrived(1)
    # Three requests reach their checks on three later turns while the first call is out.
    later = [fake.checks(n) for n in (1, 2, 3)]
    waiting = []
    for checks in later:
        waiting.append(asyncio.create_task(batcher.check(checks)))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
    assert len(fake.calls) == 1
    fake.gate.set()
    assert [await task for task in waiting] == [fake.expected(checks) for checks in later]
    await first
    assert [checks for _, checks in fake.calls[1:]] == [[c for checks in later for c in checks]]


async def test_without_calls_out_each_turn_sends_at_once(fake: FakeSharing) -> None:
    batcher = CheckBatcher(fake, timeout=5.0, max_in_flight=2)
    fake.gate = asyncio.Event()
    asked = [fake.checks(2) for _ in range(3)]
    tasks = []
    for checks in asked:
        tasks.append(asyncio.create_task(batcher.check(checks)))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
    # Two calls go out on their own turns; the third waits for one of them.
    await fake.calls_arrived(2)
    assert [checks for _, checks in fake.calls] == asked[:2]
    fake.gate.set()
    assert [await task for task in tasks] == [fake.expected(checks) for checks in asked]
    assert [checks for _, checks in fake.calls] == asked
