"""Coalesces the checks of concurrent RPCs into few sharing calls, like a group commit.

A gRPC call costs far more CPU on both sides (about 0.5-1 ms each) than the checks it carries.
Requests seldom reach their checks in the same loop iteration (each arrives on a turn of its
own), so batching by turn alone sent one call per request. Instead, while ``max_in_flight``
calls are out, new checks wait in the open batch and leave together as soon as one of those
calls ends: under load each call carries what arrived during the last one, and a request that
finds nothing in flight is sent on the loop's next turn (``call_soon``), at once. Nothing
waits on a timer, so a lone request pays no delay.

Besides single checks a caller may ask check groups (one user's checks of many resources of
one type, sharing's compact form for a page of students): they ride in the same calls, a
group too large for what is left of a call goes in parts, and the caller gets one answer per
group, as if it had gone whole.
"""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, cast

from services.common import deadlines
from trackcc.sharing.v1 import sharing_service_pb2 as pb

# sharing's limits per BatchCheck (services/sharing/tuple_rpcs.py); more go as several calls.
MAX_CHECKS = 100
MAX_GROUPS = 100
MAX_GROUP_IDS = 1000
# Batches out at once; more checks wait for one of them to end. Two keep sharing busy while
# an answer travels back, without splitting the load into many small calls.
MAX_IN_FLIGHT = 2

Answers = list[pb.CheckResponse]
GroupAnswers = list[pb.CheckGroupResult]
# Where a piece of a caller's work went: (call, position in that call's checks or groups).
_Place = tuple[int, int]


class CheckStub(Protocol):
    """What the batcher calls on sharing's stub; tests pass a small fake."""

    def Check(  # noqa: N802 - gRPC method name
        self, request: pb.CheckRequest, *, timeout: float, wait_for_ready: bool
    ) -> Awaitable[pb.CheckResponse]: ...

    def BatchCheck(  # noqa: N802
        self, request: pb.BatchCheckRequest, *, timeout: float, wait_for_ready: bool
    ) -> Awaitable[pb.BatchCheckResponse]: ...


@dataclass
class _Waiter:
    checks: Sequence[pb.CheckRequest]
    groups: Sequence[pb.CheckGroup]
    future: asyncio.Future[tuple[Answers, GroupAnswers]]
    context: contextvars.Context


@dataclass
class _Batch:
    loop: asyncio.AbstractEventLoop
    waiters: list[_Waiter] = field(default_factory=list)
    scheduled: bool = False


@dataclass
class _Call:
    """What one call to sharing carries."""

    checks: list[pb.CheckRequest] = field(default_factory=list)
    groups: list[pb.CheckGroup] = field(default_factory=list)
    ids: int = 0


@dataclass
class _Placement:
    """Where one caller's checks went, and the parts of each of its groups."""

    checks: list[_Place] = field(default_factory=list)
    groups: list[list[_Place]] = field(default_factory=list)

    def calls(self) -> list[int]:
        return sorted({c for c, _ in self.checks} | {c for parts in self.groups for c, _ in parts})


class CheckBatcher:
    """Sends the checks asked within one loop iteration together; each caller gets exactly
    its own answers, in order, or the error of a call that carried one of its checks."""

    def __init__(
        self,
        stub: CheckStub,
        *,
        timeout: float,
        max_checks: int = MAX_CHECKS,
        max_in_flight: int = MAX_IN_FLIGHT,
        max_groups: int = MAX_GROUPS,
        max_group_ids: int = MAX_GROUP_IDS,
    ) -> None:
        self._stub = stub
        self._timeout = timeout
        self._max_checks = max_checks
        self._max_in_flight = max_in_flight
        self._max_groups = max_groups
        self._max_group_ids = max_group_ids
        self._open: _Batch | None = None
        # The loop holds tasks only weakly; these are the calls in flight.
        self._sending: set[asyncio.Task[None]] = set()

    async def check(self, checks: Sequence[pb.CheckRequest]) -> Answers:
        """The answers to ``checks``, in order."""
        if not checks:
            return []
        return (await self._join(checks, ()))[0]

    async def ask(
        self, checks: Sequence[pb.CheckRequest], groups: Sequence[pb.CheckGroup]
    ) -> tuple[Answers, GroupAnswers]:
        """The answers to ``checks`` and to ``groups``, each in order."""
        if not checks and not any(group.resource_ids for group in groups):
            return [], [pb.CheckGroupResult() for _ in groups]
        return await self._join(checks, groups)

    async def _join(
        self, checks: Sequence[pb.CheckRequest], groups: Sequence[pb.CheckGroup]
    ) -> tuple[Answers, GroupAnswers]:
        loop = asyncio.get_running_loop()
        batch = self._open
        if batch is None or batch.loop is not loop:
            batch = self._open = _Batch(loop)
        if not batch.scheduled and len(self._sending) < self._max_in_flight:
            batch.scheduled = True
            loop.call_soon(self._flush, batch)
        waiter = _Waiter(checks, groups, loop.create_future(), contextvars.copy_context())
        batch.waiters.append(waiter)
        # A cancelled caller cancels only its own future; the batch goes on for the others.
        return await waiter.future

    async def aclose(self) -> None:
        """Waits for the calls in flight, so none is cut off by closing the channel."""
        while self._sending:
            await asyncio.wait(set(self._sending))

    def _flush(self, batch: _Batch) -> None:
        if self._open is batch:
            self._open = None
        # A caller cancelled before the flush needs no answer.
        waiters = [waiter for waiter in batch.waiters if not waiter.future.done()]
        if waiters:
            # The call runs in its caller's context (the request id goes along, as without
            # batching) only when it has one caller; a shared call belongs to no one request,
            # and ends before the earliest of their deadlines.
            context = (
                waiters[0].context
                if len(waiters) == 1
                else deadlines.shared_context([waiter.context for waiter in waiters])
            )
            task = batch.loop.create_task(self._send(waiters), context=context)
            self._sending.add(task)
            task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        # The checks that arrived while the calls were out leave now, together.
        batch = self._open
        if batch is not None and not batch.scheduled and batch.waiters:
            batch.scheduled = True
            batch.loop.call_soon(self._flush, batch)

    async def _send(self, waiters: list[_Waiter]) -> None:
        calls, placements = self._pack(waiters)
        try:
            # return_exceptions: every outcome is retrieved, and one failed call does not
            # stop the others, whose callers may not depend on it.
            outcomes = await asyncio.gather(
                *(self._call(call) for call in calls), return_exceptions=True
            )
            for waiter, placement in zip(waiters, placements, strict=True):
                if not waiter.future.done():
                    _settle(waiter.future, outcomes, placement)
        finally:
            # Only when this task itself was cancelled (shutdown): no caller waits forever.
            for waiter in waiters:
                if not waiter.future.done():
                    waiter.future.cancel()

    def _pack(self, waiters: list[_Waiter]) -> tuple[list[_Call], list[_Placement]]:
        """Fills calls in the callers' order up to sharing's limits; a group that does not
        fit in what is left of a call goes in parts."""
        calls: list[_Call] = []
        placements: list[_Placement] = []

        def call_with_room(full: Callable[[_Call], bool]) -> int:
            if not calls or full(calls[-1]):
                calls.append(_Call())
            return len(calls) - 1

        for waiter in waiters:
            placement = _Placement()
            for check in waiter.checks:
                at = call_with_room(lambda call: len(call.checks) >= self._max_checks)
                placement.checks.append((at, len(calls[at].checks)))
                calls[at].checks.append(check)
            for group in waiter.groups:
                parts: list[_Place] = []
                ids = group.resource_ids
                start = 0
                while start < len(ids):
                    at = call_with_room(
                        lambda call: (
                            len(call.groups) >= self._max_groups or call.ids >= self._max_group_ids
                        )
                    )
                    call = calls[at]
                    end = min(len(ids), start + self._max_group_ids - call.ids)
                    part = group if start == 0 and end == len(ids) else _part(group, start, end)
                    parts.append((at, len(call.groups)))
                    call.groups.append(part)
                    call.ids += end - start
                    start = end
                placement.groups.append(parts)
            placements.append(placement)
        return calls, placements

    async def _call(self, call: _Call) -> tuple[Answers, GroupAnswers]:
        # A lone check goes as a plain Check: at low load roster then asks exactly what it
        # asked before batching, and sharing runs its single-resource path.
        if len(call.checks) == 1 and not call.groups:
            answer = await self._stub.Check(
                call.checks[0], timeout=self._timeout, wait_for_ready=True
            )
            return [answer], []
        reply = await self._stub.BatchCheck(
            pb.BatchCheckRequest(checks=call.checks, groups=call.groups),
            timeout=self._timeout,
            wait_for_ready=True,
        )
        if len(reply.results) != len(call.checks):
            raise RuntimeError(
                f"sharing answered {len(reply.results)} of {len(call.checks)} checks"
            )
        if call.groups and not reply.group_results:
            # A sharing that predates check groups (a rolling upgrade) ignores them: the same
            # questions go again as plain checks, which it answers and logs alike.
            return list(reply.results), await self._groups_as_checks(call.groups)
        if len(reply.group_results) != len(call.groups) or any(
            len(result.relations) != len(group.resource_ids)
            or len(result.allowed) != len(group.resource_ids)
            for result, group in zip(reply.group_results, call.groups, strict=True)
        ):
            raise RuntimeError("sharing's answers do not match the check groups asked")
        return list(reply.results), list(reply.group_results)

    async def _groups_as_checks(self, groups: Sequence[pb.CheckGroup]) -> GroupAnswers:
        checks = [
            pb.CheckRequest(
                user_id=group.user_id,
                resource=pb.Resource(type=group.resource_type, id=str(uuid.UUID(bytes=raw))),
                permission=group.permission,
                skip_access_log=group.skip_access_log,
            )
            for group in groups
            for raw in group.resource_ids
        ]
        size = MAX_CHECKS
        replies = await asyncio.gather(
            *(
                self._stub.BatchCheck(
                    pb.BatchCheckRequest(checks=checks[i : i + size]),
                    timeout=self._timeout,
                    wait_for_ready=True,
                )
                for i in range(0, len(checks), size)
            )
        )
        answers = [answer for reply in replies for answer in reply.results]
        if len(answers) != len(checks):
            raise RuntimeError(f"sharing answered {len(answers)} of {len(checks)} checks")
        results: GroupAnswers = []
        start = 0
        for group in groups:
            end = start + len(group.resource_ids)
            results.append(
                pb.CheckGroupResult(
                    relations=[a.relation for a in answers[start:end]],
                    allowed=[a.allowed for a in answers[start:end]],
                )
            )
            start = end
        return results


def _part(group: pb.CheckGroup, start: int, end: int) -> pb.CheckGroup:
    return pb.CheckGroup(
        user_id=group.user_id,
        resource_type=group.resource_type,
        permission=group.permission,
        skip_access_log=group.skip_access_log,
        resource_ids=group.resource_ids[start:end],
    )


def _settle(
    future: asyncio.Future[tuple[Answers, GroupAnswers]],
    outcomes: Sequence[tuple[Answers, GroupAnswers] | BaseException],
    placement: _Placement,
) -> None:
    """Gives a caller its answers from the calls that carried its work, or the first error
    among those calls."""
    for at in placement.calls():
        outcome = outcomes[at]
        if isinstance(outcome, asyncio.CancelledError):
            future.cancel()
            return
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
            return
    answered = cast(Sequence[tuple[Answers, GroupAnswers]], outcomes)
    answers = [answered[at][0][i] for at, i in placement.checks]
    group_answers = []
    for parts in placement.groups:
        if len(parts) == 1:
            at, i = parts[0]
            group_answers.append(answered[at][1][i])
            continue
        whole = pb.CheckGroupResult()
        pieces = [answered[at][1][i] for at, i in parts]
        for piece in pieces:
            whole.relations.extend(piece.relations)
            whole.allowed.extend(piece.allowed)
        # Leases only if every part has them (replicas of sharing may differ in a rolling
        # upgrade); otherwise none, which means no reuse.
        if all(len(piece.lease_ms) == len(piece.relations) for piece in pieces):
            for piece in pieces:
                whole.lease_ms.extend(piece.lease_ms)
        group_answers.append(whole)
    future.set_result((answers, group_answers))
