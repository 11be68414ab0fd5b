"""Check groups in the check coalescer, against a small fake of sharing that answers them."""

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
from services.roster.check_batcher import CheckBatcher
from trackcc.sharing.v1 import sharing_service_pb2 as pb

RELATIONS = (pb.RELATION_OWNER, pb.RELATION_EDITOR, pb.RELATION_VIEWER, pb.RELATION_UNSPECIFIED)
MAX_IDS = 50  # a small limit, so that splitting shows with few ids


class FakeSharing:
    """Answers every check and every id with a fixed random answer; records each call."""

    def __init__(self) -> None:
        self.calls: list[pb.BatchCheckRequest] = []
        self.answers: dict[bytes, tuple[int, bool]] = {}
        self.gate: asyncio.Event | None = None
        self.failing_calls: set[int] = set()
        self.request_ids: list[str] = []
        self.kinds: list[str] = []
        self.answer_groups = True
        self._called = asyncio.Condition()

    def ids(self, count: int) -> list[bytes]:
        made = [uuid.uuid4().bytes for _ in range(count)]
        for raw in made:
            self.answers[raw] = (random.choice(RELATIONS), random.random() < 0.5)
        return made

    def group(self, count: int, user: str = "u") -> pb.CheckGroup:
        return pb.CheckGroup(
            user_id=user,
            resource_type=pb.RESOURCE_TYPE_STUDENT,
            permission=pb.PERMISSION_READ,
            resource_ids=self.ids(count),
        )

    def check(self) -> pb.CheckRequest:
        [raw] = self.ids(1)
        return pb.CheckRequest(
            user_id="u",
            resource=pb.Resource(type=pb.RESOURCE_TYPE_CLASS, id=raw.hex()),
            permission=pb.PERMISSION_READ,
        )

    def _check_answer(self, check: pb.CheckRequest) -> pb.CheckResponse:
        relation, allowed = self.answers[uuid.UUID(check.resource.id).bytes]
        return pb.CheckResponse(relation=relation, allowed=allowed)  # type: ignore[arg-type]

    def expected(
        self, checks: list[pb.CheckRequest], groups: list[pb.CheckGroup]
    ) -> tuple[list[pb.CheckResponse], list[pb.CheckGroupResult]]:
        return [self._check_answer(c) for c in checks], [
            pb.CheckGroupResult(
                relations=[self.answers[raw][0] for raw in g.resource_ids],  # type: ignore[misc]
                allowed=[self.answers[raw][1] for raw in g.resource_ids],
            )
            for g in groups
        ]

    async def calls_arrived(self, count: int) -> None:
        async with self._called:
            await self._called.wait_for(lambda: len(self.calls) >= count)

    async def _answer(self, request: pb.BatchCheckRequest) -> pb.BatchCheckResponse:
        index = len(self.calls)
        async with self._called:
            self.calls.append(request)
            self._called.notify_all()
        if self.gate is not None:
            await self.gate.wait()
        if index in self.failing_calls:
            raise grpc.aio.AioRpcError(
                grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), "down"
            )
        answers, group_answers = self.expected(list(request.checks), list(request.groups))
        return pb.BatchCheckResponse(
            results=answers, group_results=group_answers if self.answer_groups else []
        )

    def Check(  # noqa: N802 - gRPC method name
        self, request: pb.CheckRequest, *, timeout: float, wait_for_ready: bool
    ) -> Awaitable[pb.CheckResponse]:
        self.request_ids.append(request_id_var.get())
        self.kinds.append("Check")

        async def one() -> pb.CheckResponse:
            return (await self._answer(pb.BatchCheckRequest(checks=[request]))).results[0]

        return one()

    def BatchCheck(  # noqa: N802
        self, request: pb.BatchCheckRequest, *, timeout: float, wait_for_ready: bool
    ) -> Awaitable[pb.BatchCheckResponse]:
        assert timeout > 0 and wait_for_ready
        assert len(request.checks) <= 100 and len(request.groups) <= 3
        assert sum(len(g.resource_ids) for g in request.groups) <= MAX_IDS
        self.request_ids.append(request_id_var.get())
        self.kinds.append("BatchCheck")
        return self._answer(request)


@pytest.fixture
def fake() -> FakeSharing:
    return FakeSharing()


@pytest.fixture
def batcher(fake: FakeSharing) -> CheckBatcher:
    return CheckBatcher(fake, timeout=5.0, max_groups=3, max_group_ids=MAX_IDS)


@pytest.fixture(autouse=True)
async def loop_errors() -> AsyncIterator[None]:
    """Nothing the loop reports (such as a future's exception never retrieved)."""
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: reported.append(context))
    try:
        yield
        gc.collect()
        assert reported == []
    finally:
        loop.set_exception_handler(previous)


def _ids_sent(fake: FakeSharing) -> list[bytes]:
    return [raw for call in fake.calls for g in call.groups for raw in g.resource_ids]


async def test_concurrent_callers_share_one_call_with_their_checks_and_groups(
    fake: FakeSharing, batcher: CheckBatcher
) -> None:
    asked = [([fake.check()], [fake.group(10, user=f"user-{n}")]) for n in range(3)]
    got = await asyncio.gather(*(batcher.ask(checks, groups) for checks, groups in asked))
    assert len(fake.calls) == 1
    assert list(fake.calls[0].checks) == [c for checks, _ in asked for c in checks]
    assert list(fake.calls[0].groups) == [g for _, groups in asked for g in groups]
    assert list(got) == [fake.expected(checks, groups) for checks, groups in asked]


async def test_a_group_larger_than_a_call_goes_in_parts_and_comes_back_whole(
    fake: FakeSharing, batcher: CheckBatcher
) -> None:
    first, big, last = fake.group(30), fake.group(120), fake.group(5)
    small = [fake.group(1) for _ in range(4)]
    asked: list[tuple[list[pb.CheckRequest], list[pb.CheckGroup]]] = [
        ([], [first]),
        ([fake.check()], [big, last]),
        ([], small),
    ]
    got = await asyncio.gather(*(batcher.ask(checks, groups) for checks, groups in asked))
    assert list(got) == [fake.expected(checks, groups) for checks, groups in asked]
    # Calls are filled in order up to the limits (50 ids, 3 groups), and nothing is sent twice.
    assert [[len(g.resource_ids) for g in call.groups] for call in fake.calls] == [
        [30, 20],
        [50],
        [50],
        [5, 1, 1],
        [1, 1],
    ]
    order = [*first.resource_ids, *big.resource_ids, *last.resource_ids]
    assert _ids_sent(fake) == order + [raw for g in small for raw in g.resource_ids]
    assert {(g.user_id, g.permission) for call in fake.calls for g in call.groups} == {
        ("u", pb.PERMISSION_READ)
    }


async def test_an_error_reaches_the_callers_of_the_failed_call_and_only_them(
    fake: FakeSharing, batcher: CheckBatcher
) -> None:
    before, straddling, after = fake.group(40), fake.group(30), fake.group(45)
    fake.failing_calls = {1}  # ids 50..99: the end of `straddling` and the start of `after`
    got = await asyncio.gather(
        batcher.ask([], [before]),
        batcher.ask([], [straddling]),
        batcher.ask([], [after]),
        return_exceptions=True,
    )
    assert got[0] == fake.expected([], [before])
    for failed in got[1:]:
        assert isinstance(failed, grpc.aio.AioRpcError)
        assert failed.code() == grpc.StatusCode.UNAVAILABLE


async def test_empty_groups_need_no_call_and_get_empty_answers(
    fake: FakeSharing, batcher: CheckBatcher
) -> None:
    empty = pb.CheckGroup(user_id="u", resource_type=pb.RESOURCE_TYPE_CLASS)
    assert await batcher.ask([], [empty, empty]) == ([], [pb.CheckGroupResult()] * 2)
    assert fake.calls == []
    # Beside a lone check, an empty group leaves it a plain Check.
    check = fake.check()
    assert await batcher.ask([check], [empty]) == (
        fake.expected([check], [])[0],
        [pb.CheckGroupResult()],
    )
    assert fake.kinds == ["Check"]


async def test_a_sharing_that_predates_groups_gets_them_again_as_plain_checks(
    fake: FakeSharing, batcher: CheckBatcher
) -> None:
    fake.answer_groups = False  # a sharing that predates check groups ignores them
    checks, groups = [fake.check(), fake.check()], [fake.group(3), fake.group(2, user="v")]
    assert await batcher.ask(checks, groups) == fake.expected(checks, groups)
    # The groups' ids were asked again as checks, of the same user, type and permission.
    again = [c for request in fake.calls[1:] for c in request.checks]
    assert [(c.user_id, uuid.UUID(c.resource.id).bytes) for c in again] == [
        (g.user_id, raw) for g in groups for raw in g.resource_ids
    ]
    assert all(c.resource.type == pb.RESOURCE_TYPE_STUDENT for c in again)


async def test_answers_that_do_not_match_the_groups_fail_the_call_not_the_caller_silently(
    fake: FakeSharing, batcher: CheckBatcher
) -> None:
    fake.answer_groups = True
    real = fake._answer

    async def short(request: pb.BatchCheckRequest) -> pb.BatchCheckResponse:
        reply = await real(request)
        del reply.group_results[0].relations[-1]
        return reply

    fake._answer = short  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="check groups"):
        await batcher.ask([], [fake.group(3)])


async def test_a_caller_cancelled_during_the_call_leaves_the_others_their_answers(
    fake: FakeSharing, batcher: CheckBatcher
) -> None:
    asked = [fake.group(3) for _ in range(3)]
    fake.gate = asyncio.Event()
    tasks = [asyncio.create_task(batcher.ask([], [group])) for group in asked]
    await fake.calls_arrived(1)
    tasks[1].cancel()
    await asyncio.sleep(0)
    fake.gate.set()
    assert await tasks[0] == fake.expected([], [asked[0]])
    assert await tasks[2] == fake.expected([], [asked[2]])
    with pytest.raises(asyncio.CancelledError):
        await tasks[1]
    await batcher.aclose()


async def test_a_call_carries_the_request_id_of_its_only_caller_and_none_when_shared(
    fake: FakeSharing, batcher: CheckBatcher
) -> None:
    async def as_request(request_id: str) -> None:
        request_id_var.set(request_id)
        await batcher.ask([fake.check()], [fake.group(2)])

    await asyncio.create_task(as_request("req-alone"))
    await asyncio.gather(as_request("req-a"), as_request("req-b"))
    assert fake.request_ids == ["req-alone", ""]


async def test_groups_asked_while_calls_are_out_wait_and_leave_together(
    fake: FakeSharing,
) -> None:
    batcher = CheckBatcher(fake, timeout=5.0, max_in_flight=1, max_group_ids=MAX_IDS)
    fake.gate = asyncio.Event()
    first = asyncio.create_task(batcher.ask([], [fake.group(2)]))
    await fake.calls_arrived(1)
    later = [fake.group(n) for n in (1, 2, 3)]
    waiting = []
    for group in later:
        waiting.append(asyncio.create_task(batcher.ask([fake.check()], [group])))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
    assert len(fake.calls) == 1
    fake.gate.set()
    for task, group in zip(waiting, later, strict=True):
        _, [answer] = await task
        assert answer == fake.expected([], [group])[1][0]
    await first
    assert [list(call.groups) for call in fake.calls[1:]] == [later]
