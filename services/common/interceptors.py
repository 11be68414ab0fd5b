"""Server interceptors shared by every gRPC service.

- :class:`MetricsInterceptor`: ``grpc_server_handled_total`` and ``grpc_server_handling_seconds``
  (go-grpc-prometheus names and labels), and how many calls are being handled and how many
  a stop cut off (``grpc_server.RunningServer.stop`` logs both).
- :class:`ErrorInterceptor`: takes the request id from metadata for the logs (and the deadline
  for the calls it makes, ``deadlines.py``), turns
  :class:`~services.common.errors.ServiceError` into a rich gRPC status and any other
  exception into ``INTERNAL`` without leaking its text (a lost database connection into
  ``UNAVAILABLE``).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from grpc_status import rpc_status
from prometheus_client import CollectorRegistry, Counter, Histogram

from services.common import deadlines
from services.common.db import is_connection_loss
from services.common.errors import ServiceError
from services.common.logs import REQUEST_ID_METADATA, accept_request_id, request_id_var

logger = logging.getLogger(__name__)

Behavior = Callable[..., Any]


def _split_method(full_method: str) -> tuple[str, str]:
    _, _, rest = full_method.partition("/")
    service, _, method = rest.partition("/")
    return service, method


def _grpc_type(handler: grpc.RpcMethodHandler) -> str:
    if handler.request_streaming and handler.response_streaming:
        return "bidi_stream"
    if handler.request_streaming:
        return "client_stream"
    if handler.response_streaming:
        return "server_stream"
    return "unary"


def _replace_behavior(
    handler: grpc.RpcMethodHandler,
    unary_wrap: Callable[[Behavior], Behavior],
    stream_wrap: Callable[[Behavior], Behavior],
) -> grpc.RpcMethodHandler:
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(
            unary_wrap(handler.unary_unary),
            handler.request_deserializer,
            handler.response_serializer,
        )
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(
            unary_wrap(handler.stream_unary),
            handler.request_deserializer,
            handler.response_serializer,
        )
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            stream_wrap(handler.unary_stream),
            handler.request_deserializer,
            handler.response_serializer,
        )
    return grpc.stream_stream_rpc_method_handler(
        stream_wrap(handler.stream_stream),
        handler.request_deserializer,
        handler.response_serializer,
    )


class _WrappingInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Runs :meth:`around` around every call, unary or streaming."""

    async def around(
        self,
        call: Callable[[], Awaitable[Any]],
        context: grpc.aio.ServicerContext,
        method: str,
        grpc_type: str,
    ) -> Any:
        raise NotImplementedError

    async def around_stream(
        self,
        stream: Callable[[], AsyncIterator[Any]],
        context: grpc.aio.ServicerContext,
        method: str,
        grpc_type: str,
    ) -> AsyncIterator[Any]:
        raise NotImplementedError
        yield  # pragma: no cover

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method: str = handler_call_details.method
        kind = _grpc_type(handler)

        def unary_wrap(behavior: Behavior) -> Behavior:
            async def wrapped(request: Any, context: grpc.aio.ServicerContext) -> Any:
                return await self.around(lambda: behavior(request, context), context, method, kind)

            return wrapped

        def stream_wrap(behavior: Behavior) -> Behavior:
            async def wrapped(request: Any, context: grpc.aio.ServicerContext) -> Any:
                async def produce() -> AsyncIterator[Any]:
                    result = behavior(request, context)
                    if inspect.isasyncgen(result):
                        async for item in result:
                            yield item
                    else:  # a coroutine that writes with context.write()
                        await result

                async for item in self.around_stream(produce, context, method, kind):
                    yield item

            return wrapped

        return _replace_behavior(handler, unary_wrap, stream_wrap)


class ServerMetrics:
    """The per-process gRPC server metrics, registered in the given registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.handled = Counter(
            "grpc_server_handled_total",
            "RPCs completed on the server, regardless of success or failure.",
            ["grpc_type", "grpc_service", "grpc_method", "grpc_code"],
            registry=registry,
        )
        self.handling_seconds = Histogram(
            "grpc_server_handling_seconds",
            "Response latency of RPCs handled by the server.",
            ["grpc_type", "grpc_service", "grpc_method"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        )


def _code_name(context: grpc.aio.ServicerContext, failed: bool) -> str:
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return str(code.name)
    if isinstance(code, int):
        for status in grpc.StatusCode:
            if status.value[0] == code:
                return str(status.name)
    return "UNKNOWN" if failed else "OK"


class MetricsInterceptor(_WrappingInterceptor):
    """Counts and times every call by service, method and final code; and counts the calls
    being handled and those that ended cancelled (by their client, or by a stop whose grace
    ran out), so that a graceful stop can say what it drained. One wrapper for both: every
    layer costs each call."""

    def __init__(self, metrics: ServerMetrics) -> None:
        self._metrics = metrics
        self.in_flight = 0
        self.cancelled = 0

    def _observe(
        self,
        method: str,
        grpc_type: str,
        started: float,
        context: grpc.aio.ServicerContext,
        failed: bool,
    ) -> None:
        self.in_flight -= 1
        service, name = _split_method(method)
        self._metrics.handling_seconds.labels(grpc_type, service, name).observe(
            time.perf_counter() - started
        )
        self._metrics.handled.labels(grpc_type, service, name, _code_name(context, failed)).inc()

    async def around(
        self,
        call: Callable[[], Awaitable[Any]],
        context: grpc.aio.ServicerContext,
        method: str,
        grpc_type: str,
    ) -> Any:
        started = time.perf_counter()
        self.in_flight += 1
        failed = True
        try:
            result = await call()
            failed = False
            return result
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self._observe(method, grpc_type, started, context, failed)

    async def around_stream(
        self,
        stream: Callable[[], AsyncIterator[Any]],
        context: grpc.aio.ServicerContext,
        method: str,
        grpc_type: str,
    ) -> AsyncIterator[Any]:
        started = time.perf_counter()
        self.in_flight += 1
        failed = True
        try:
            async for item in stream():
                yield item
            failed = False
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self._observe(method, grpc_type, started, context, failed)


class ErrorInterceptor(_WrappingInterceptor):
    """Sets the request id for logs and turns exceptions into gRPC statuses."""

    def _bind_request_id(self, context: grpc.aio.ServicerContext) -> None:
        incoming = dict(context.invocation_metadata() or ()).get(REQUEST_ID_METADATA)
        request_id_var.set(accept_request_id(incoming if isinstance(incoming, str) else None))
        deadlines.bind(context)  # the calls this one makes end before it does

    async def _abort(
        self, error: Exception, context: grpc.aio.ServicerContext, method: str
    ) -> None:
        if isinstance(error, ServiceError):
            status = rpc_status.to_status(error.to_status())
            await context.abort(status.code, status.details, status.trailing_metadata)
        if isinstance(error, NotImplementedError):  # generated base servicers raise it
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "method not implemented yet")
        if is_connection_loss(error):
            # A database restart or failover: the caller may retry; no traceback is needed.
            logger.warning("database unavailable in %s: %s", method, type(error).__name__)
            await context.abort(grpc.StatusCode.UNAVAILABLE, "database unavailable")
        logger.exception("unhandled error in %s", method)
        await context.abort(grpc.StatusCode.INTERNAL, "internal error")

    async def around(
        self,
        call: Callable[[], Awaitable[Any]],
        context: grpc.aio.ServicerContext,
        method: str,
        grpc_type: str,
    ) -> Any:
        self._bind_request_id(context)
        try:
            return await call()
        except grpc.aio.AbortError:
            raise
        except Exception as error:  # noqa: BLE001 - every failure must become a status
            await self._abort(error, context, method)

    async def around_stream(
        self,
        stream: Callable[[], AsyncIterator[Any]],
        context: grpc.aio.ServicerContext,
        method: str,
        grpc_type: str,
    ) -> AsyncIterator[Any]:
        self._bind_request_id(context)
        try:
            async for item in stream():
                yield item
        except grpc.aio.AbortError:
            raise
        except Exception as error:  # noqa: BLE001
            await self._abort(error, context, method)
