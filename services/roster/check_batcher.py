"""Coalesces the checks of concurrent RPCs into few sharing calls, like a group commit.

A gRPC call costs far more CPU on both sides (about 0.5-1 ms each) than the checks it carries.
Requests seldom reach their checks in the same loop iteration (each arrives on a turn of its
own), so batching by turn alone sent one call per request. Instead, while ``max_in_flight``
calls are out, new checks wait in the open batch and leave together as soon as one of those
calls ends: under load each call carries what arrived during the last one, and a request that
finds nothing in flight is sent on the loop's next turn (``call_soon``), at once. Nothing
waits on a timer, so a lone request pays no delay.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from services.common import deadlines
from trackcc.sharing.v1 import sharing_service_pb2 as pb

# sharing's limit per BatchCheck (services/sharing/server.py); more go as several calls.
MAX_CHECKS = 100
# Batches out at once; more checks wait for one of them to end. Two keep sharing busy while
# an answer travels back, without splitting the load into many small calls.
MAX_IN_FLIGHT = 2

Answers = list[pb.CheckResponse]


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
    future: asyncio.Future[Answers]
    context: contextvars.Context


@dataclass
class _Batch:
    loop: asyncio.AbstractEventLoop
    waiters: list[_Waiter] = field(default_factory=list)
    scheduled: bool = False


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
    ) -> None:
        self._stub = stub
        self._timeout = timeout
        self._max_checks = max_checks
        self._max_in_flight = max_in_flight
        self._open: _Batch | None = None
        # The loop holds tasks only weakly; these are the calls in flight.
        self._sending: set[asyncio.Task[None]] = set()

    async def check(self, checks: Sequence[pb.CheckRequest]) -> Answers:
        """The answers to ``checks``, in order."""
        if not checks:
            return []
        loop = asyncio.get_running_loop()
        batch = self._open
        if batch is None or batch.loop is not loop:
            batch = self._open = _Batch(loop)
        if not batch.scheduled and len(self._sending) < self._max_in_flight:
            batch.scheduled = True
            loop.call_soon(self._flush, batch)
        waiter = _Waiter(checks, loop.create_future(), contextvars.copy_context())
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
        checks = [check for waiter in waiters for check in waiter.checks]
        size = self._max_checks
        chunks = [checks[i : i + size] for i in range(0, len(checks), size)]
        try:
            # return_exceptions: every outcome is retrieved, and one failed call does not
            # stop the others, whose callers may not depend on it.
            outcomes = await asyncio.gather(
                *(self._call(chunk) for chunk in chunks), return_exceptions=True
            )
            start = 0
            for waiter in waiters:
                end = start + len(waiter.checks)
                if not waiter.future.done():
                    _settle(
                        waiter.future,
                        outcomes[start // size : (end - 1) // size + 1],
                        start % size,
                        end - start,
                    )
                start = end
        finally:
            # Only when this task itself was cancelled (shutdown): no caller waits forever.
            for waiter in waiters:
                if not waiter.future.done():
                    waiter.future.cancel()

    async def _call(self, chunk: Sequence[pb.CheckRequest]) -> Answers:
        # A lone check goes as a plain Check: at low load roster then asks exactly what it
        # asked before batching, and sharing runs its single-resource path.
        if len(chunk) == 1:
            answer = await self._stub.Check(chunk[0], timeout=self._timeout, wait_for_ready=True)
            return [answer]
        reply = await self._stub.BatchCheck(
            pb.BatchCheckRequest(checks=chunk), timeout=self._timeout, wait_for_ready=True
        )
        if len(reply.results) != len(chunk):
            raise RuntimeError(f"sharing answered {len(reply.results)} of {len(chunk)} checks")
        return list(reply.results)


def _settle(
    future: asyncio.Future[Answers],
    outcomes: Sequence[Answers | BaseException],
    offset: int,
    count: int,
) -> None:
    """Gives a caller ``count`` answers from ``offset`` in the outcomes of the calls that
    carried its checks, or the first error among them."""
    answers: Answers = []
    for outcome in outcomes:
        if isinstance(outcome, asyncio.CancelledError):
            future.cancel()
            return
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
            return
        answers.extend(outcome)
    future.set_result(answers[offset : offset + count])
