"""The server interceptor: one wrapped handler per method, built once; errors become statuses;
every call is timed and counted under go-grpc-prometheus names, and calls in flight and
cancelled are counted for the graceful stop. (Over real gRPC: tests/integration/
test_interceptors.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import pytest
from prometheus_client import CollectorRegistry

from services.common import deadlines
from services.common.errors import NotFound
from services.common.interceptors import CallInterceptor, ServerMetrics
from services.common.logs import request_id_var

SERVICE = "trackcc.roster.v1.RosterService"


class _Details:
    def __init__(self, method: str) -> None:
        self.method = method
        self.invocation_metadata = ()


class _Context:
    """The parts of grpc.aio.ServicerContext the interceptor uses."""

    def __init__(self, metadata: tuple[tuple[str, str], ...] = (), remaining: float = 9.0) -> None:
        self._metadata = metadata
        self._remaining = remaining
        self._code: grpc.StatusCode | None = None
        self.details = ""
        self.written: list[Any] = []

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def time_remaining(self) -> float:
        return self._remaining

    def code(self) -> grpc.StatusCode | None:
        return self._code

    async def abort(self, code: grpc.StatusCode, details: str = "", trailing: Any = ()) -> None:
        self._code, self.details = code, details
        raise grpc.aio.AbortError("aborted")

    async def write(self, message: Any) -> None:
        self.written.append(message)


class _Server:
    """The interceptor over a fixed table of handlers, resolved as grpc.aio resolves them."""

    def __init__(self, handlers: dict[str, grpc.RpcMethodHandler]) -> None:
        self.registry = CollectorRegistry()
        self.interceptor = CallInterceptor(ServerMetrics(self.registry))
        self.resolved: list[str] = []
        self._handlers = handlers

    async def _continuation(self, details: _Details) -> grpc.RpcMethodHandler | None:
        self.resolved.append(details.method)
        return self._handlers.get(details.method)

    async def handler(self, name: str) -> Any:
        return await self.interceptor.intercept_service(
            self._continuation, _Details(f"/{SERVICE}/{name}")
        )

    def handled(self, name: str, code: str, grpc_type: str = "unary") -> float | None:
        return self.registry.get_sample_value(
            "grpc_server_handled_total",
            {
                "grpc_type": grpc_type,
                "grpc_service": SERVICE,
                "grpc_method": name,
                "grpc_code": code,
            },
        )

    def timed(self, name: str, grpc_type: str = "unary") -> float | None:
        return self.registry.get_sample_value(
            "grpc_server_handling_seconds_count",
            {"grpc_type": grpc_type, "grpc_service": SERVICE, "grpc_method": name},
        )


async def _in_task(call: Awaitable[Any]) -> Any:
    """Awaits ``call`` in a task of its own, as grpc.aio runs each RPC: what the interceptor
    binds (request id, deadline) stays in that task's context, not the test's."""

    async def run() -> Any:
        return await call

    return await asyncio.create_task(run())


def _unary(behavior: Callable[[Any, Any], Awaitable[Any]]) -> grpc.RpcMethodHandler:
    return grpc.unary_unary_rpc_method_handler(behavior)


async def _echo_request_id(request: Any, context: Any) -> str:
    return request_id_var.get()


async def _not_found(request: Any, context: Any) -> None:
    raise NotFound("no such class", reason="class_not_found")


async def test_a_method_is_resolved_and_wrapped_once() -> None:
    server = _Server({f"/{SERVICE}/GetClass": _unary(_echo_request_id)})
    first = await server.handler("GetClass")
    assert await server.handler("GetClass") is first
    assert server.resolved == [f"/{SERVICE}/GetClass"]
    # An unknown method is asked again each time (no cache of names a client made up).
    assert await server.handler("Nope") is None
    assert await server.handler("Nope") is None
    assert server.resolved[1:] == [f"/{SERVICE}/Nope"] * 2


async def test_the_request_id_and_deadline_are_bound_and_the_call_counted() -> None:
    server = _Server({f"/{SERVICE}/GetClass": _unary(_echo_request_id)})
    handler = await server.handler("GetClass")
    context = _Context(metadata=(("authorization", "t"), ("x-request-id", "req-7")))

    async def serve() -> tuple[str, float | None]:
        answer = await handler.unary_unary(object(), context)
        return answer, deadlines.within_serving_deadline(None)

    answer, left = await _in_task(serve())
    assert answer == "req-7"
    assert left == pytest.approx(9.0 - deadlines.MARGIN_SECONDS, abs=0.05)
    fresh = await _in_task(handler.unary_unary(object(), _Context()))
    assert fresh and fresh != "req-7"  # none sent: a new one
    assert server.handled("GetClass", "OK") == 2
    assert server.timed("GetClass") == 2
    assert server.interceptor.in_flight == 0


async def test_a_domain_error_becomes_its_status_and_is_counted_with_it() -> None:
    async def broken(request: Any, context: Any) -> None:
        raise RuntimeError("secret internal detail")

    server = _Server(
        {f"/{SERVICE}/GetClass": _unary(_not_found), f"/{SERVICE}/ListClasses": _unary(broken)}
    )
    context = _Context()
    with pytest.raises(grpc.aio.AbortError):
        await _in_task((await server.handler("GetClass")).unary_unary(object(), context))
    assert context.code() == grpc.StatusCode.NOT_FOUND
    hidden = _Context()
    with pytest.raises(grpc.aio.AbortError):
        await _in_task((await server.handler("ListClasses")).unary_unary(object(), hidden))
    assert (hidden.code(), hidden.details) == (grpc.StatusCode.INTERNAL, "internal error")
    assert server.handled("GetClass", "NOT_FOUND") == 1
    assert server.handled("ListClasses", "INTERNAL") == 1
    assert server.handled("GetClass", "OK") is None
    assert server.interceptor.in_flight == 0


async def test_calls_in_flight_and_cancelled_are_counted() -> None:
    release = asyncio.Event()

    async def slow(request: Any, context: Any) -> str:
        await release.wait()
        return "done"

    server = _Server({f"/{SERVICE}/UpdateClass": _unary(slow)})
    handler = await server.handler("UpdateClass")
    finishing = asyncio.ensure_future(handler.unary_unary(object(), _Context()))
    cut_off = asyncio.ensure_future(handler.unary_unary(object(), _Context()))
    await asyncio.sleep(0)
    assert server.interceptor.in_flight == 2
    cut_off.cancel()
    release.set()
    assert await finishing == "done"
    with pytest.raises(asyncio.CancelledError):
        await cut_off
    assert (server.interceptor.in_flight, server.interceptor.cancelled) == (0, 1)
    assert server.timed("UpdateClass") == 2


async def test_streams_of_both_kinds_are_wrapped() -> None:
    async def chunks(request: Any, context: Any) -> AsyncIterator[bytes]:
        yield b"abc"
        raise NotFound("photo vanished", reason="photo_not_found")

    async def writes(request: Any, context: Any) -> None:
        await context.write(request_id_var.get())

    server = _Server(
        {
            f"/{SERVICE}/DownloadPhoto": grpc.unary_stream_rpc_method_handler(chunks),
            f"/{SERVICE}/Watch": grpc.unary_stream_rpc_method_handler(writes),
        }
    )
    download = await server.handler("DownloadPhoto")
    assert download.response_streaming and not download.request_streaming
    context = _Context()
    received: list[Any] = []

    async def consume(stream: AsyncIterator[Any], into: list[Any]) -> None:
        async for item in stream:
            into.append(item)

    with pytest.raises(grpc.aio.AbortError):
        await _in_task(consume(download.unary_stream(object(), context), received))
    assert received == [b"abc"]
    assert context.code() == grpc.StatusCode.NOT_FOUND
    assert server.handled("DownloadPhoto", "NOT_FOUND", "server_stream") == 1

    watch = await server.handler("Watch")
    writer = _Context(metadata=(("x-request-id", "req-9"),))
    await _in_task(consume(watch.unary_stream(object(), writer), []))
    assert writer.written == ["req-9"]
    assert server.handled("Watch", "OK", "server_stream") == 1
    assert server.interceptor.in_flight == 0
