"""The one server interceptor every gRPC service runs (:class:`CallInterceptor`).

It binds the request id and the deadline of the call being served, maps exceptions to gRPC
statuses, and records ``grpc_server_handled_total`` and ``grpc_server_handling_seconds``
(go-grpc-prometheus names and labels) and how many calls are being handled and how many a
stop cut off (``grpc_server.RunningServer.stop`` logs both). One interceptor, not one per
concern: each layer re-wrapped the handler and ran its own coroutine on every call.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
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


class _MethodMetrics:
    """One method's metric children, looked up once instead of by labels on every call."""

    __slots__ = ("_grpc_type", "_handled", "_handled_by_code", "_method", "_service", "seconds")

    def __init__(self, metrics: ServerMetrics, method: str, grpc_type: str) -> None:
        self._service, self._method = _split_method(method)
        self._grpc_type = grpc_type
        self._handled = metrics.handled
        self._handled_by_code: dict[str, Any] = {}
        self.seconds = metrics.handling_seconds.labels(grpc_type, self._service, self._method)

    def handled(self, code: str) -> Any:
        counter = self._handled_by_code.get(code)
        if counter is None:
            counter = self._handled.labels(self._grpc_type, self._service, self._method, code)
            self._handled_by_code[code] = counter
        return counter


class CallInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Around every call, in one wrapper (every layer costs each call):

    - binds the request id from metadata for the logs, and the call's deadline for the calls
      it makes (``deadlines.py``);
    - turns :class:`~services.common.errors.ServiceError` into a rich gRPC status and any other
      exception into ``INTERNAL`` without leaking its text (a lost database connection into
      ``UNAVAILABLE``);
    - counts and times the call by service, method and final code, and counts the calls being
      handled and those that ended cancelled (by their client, or by a stop whose grace ran
      out), so that a graceful stop can say what it drained.

    grpc.aio asks the interceptors for a handler on every call; the wrapped handler is built
    on a method's first call and then served from a cache without resolving the method again
    (the servicers are all registered before the server starts, and never change). So this
    must be the server's only interceptor, or its last.
    """

    def __init__(self, metrics: ServerMetrics) -> None:
        self._metrics = metrics
        self._handlers: dict[str, grpc.RpcMethodHandler] = {}
        self.in_flight = 0
        self.cancelled = 0

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        method: str = handler_call_details.method
        wrapped = self._handlers.get(method)
        if wrapped is None:
            handler = await continuation(handler_call_details)
            if handler is None:  # an unknown method: not cached, grpc answers UNIMPLEMENTED
                return None
            wrapped = self._handlers[method] = self._wrap(method, handler)
        return wrapped

    def _wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        grpc_type = _grpc_type(handler)
        observed = _MethodMetrics(self._metrics, method, grpc_type)

        def unary_wrap(behavior: Behavior) -> Behavior:
            async def wrapped(request: Any, context: grpc.aio.ServicerContext) -> Any:
                started = time.perf_counter()
                self.in_flight += 1
                failed = True
                try:
                    _bind_call(context)
                    try:
                        result = await behavior(request, context)
                    except grpc.aio.AbortError:
                        raise
                    except Exception as error:  # noqa: BLE001 - every failure must become a status
                        await _abort(error, context, method)
                        raise  # not reached: _abort raises AbortError
                    failed = False
                    return result
                except asyncio.CancelledError:
                    self.cancelled += 1
                    raise
                finally:
                    self._observe(observed, started, context, failed)

            return wrapped

        def stream_wrap(behavior: Behavior) -> Behavior:
            async def wrapped(request: Any, context: grpc.aio.ServicerContext) -> Any:
                started = time.perf_counter()
                self.in_flight += 1
                failed = True
                try:
                    _bind_call(context)
                    try:
                        result = behavior(request, context)
                        if inspect.isasyncgen(result):
                            async for item in result:
                                yield item
                        else:  # a coroutine that writes with context.write()
                            await result
                    except grpc.aio.AbortError:
                        raise
                    except Exception as error:  # noqa: BLE001
                        await _abort(error, context, method)
                        raise  # not reached
                    failed = False
                except asyncio.CancelledError:
                    self.cancelled += 1
                    raise
                finally:
                    self._observe(observed, started, context, failed)

            return wrapped

        return _replace_behavior(handler, unary_wrap, stream_wrap)

    def _observe(
        self,
        observed: _MethodMetrics,
        started: float,
        context: grpc.aio.ServicerContext,
        failed: bool,
    ) -> None:
        self.in_flight -= 1
        observed.seconds.observe(time.perf_counter() - started)
        observed.handled(_code_name(context, failed)).inc()


def _bind_call(context: grpc.aio.ServicerContext) -> None:
    incoming = None
    for key, value in context.invocation_metadata() or ():
        if key == REQUEST_ID_METADATA:
            incoming = value  # the last one wins, as in a dict of the metadata
    request_id_var.set(accept_request_id(incoming if isinstance(incoming, str) else None))
    deadlines.bind(context)  # the calls this one makes end before it does


async def _abort(error: Exception, context: grpc.aio.ServicerContext, method: str) -> None:
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
