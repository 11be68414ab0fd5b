"""Every outgoing call carries the request id being served and ends before the deadline of
the call being served (``deadlines.py``); the gateway's calls also get its default deadline.

Both are set where the call is made, by the channel that :func:`services.common.tls.
secure_channel` returns, not by client interceptors: with any interceptor on a channel,
grpc.aio runs every call as an ``InterceptedUnaryUnaryCall`` whose chain runs in a Task of
its own, which cost the gateway about a fifth of its CPU per request. :class:`CallerChannel`
hands the generated stubs multicallables that fill in the metadata and the timeout and
then call grpc's plain multicallable, so each call is grpc's own ``UnaryUnaryCall``.
"""

from __future__ import annotations

import types
from collections.abc import Iterable
from typing import Any

import grpc

from services.common.deadlines import within_serving_deadline
from services.common.logs import REQUEST_ID_METADATA, request_id_var

Metadata = Iterable[tuple[str, str | bytes]]


def with_request_id(metadata: Metadata | None) -> Metadata | None:
    """``metadata`` with ``x-request-id`` added, unless there is none or it is set."""
    request_id = request_id_var.get()
    if not request_id:
        return metadata
    if not metadata:
        return ((REQUEST_ID_METADATA, request_id),)
    pairs = tuple(metadata)  # grpc.aio.Metadata iterates as (key, value) pairs too
    if any(key == REQUEST_ID_METADATA for key, _ in pairs):
        return pairs
    return (*pairs, (REQUEST_ID_METADATA, request_id))


def call_timeout(timeout: float | None, default: float | None = None) -> float | None:
    """The timeout a call is sent with: its own, at most ``default`` (``default`` when it has
    none), and ending before the deadline of the call being served."""
    if default is not None:
        timeout = default if timeout is None else min(timeout, default)
    return within_serving_deadline(timeout)


class _UnaryUnary:
    """Adds the request id and the timeout, then makes grpc's plain unary call."""

    __slots__ = ("_call", "_default")

    def __init__(self, call: Any, default: float | None) -> None:
        self._call = call
        self._default = default

    def __call__(
        self,
        request: Any,
        *,
        timeout: float | None = None,
        metadata: Metadata | None = None,
        credentials: grpc.CallCredentials | None = None,
        wait_for_ready: bool | None = None,
        compression: grpc.Compression | None = None,
    ) -> Any:
        return self._call(
            request,
            timeout=call_timeout(timeout, self._default),
            metadata=with_request_id(metadata),
            credentials=credentials,
            wait_for_ready=wait_for_ready,
            compression=compression,
        )


class _Streaming:
    """The same for streaming calls, which take no default deadline (each sets its own)."""

    __slots__ = ("_call",)

    def __init__(self, call: Any) -> None:
        self._call = call

    def __call__(
        self,
        request: Any = None,
        timeout: float | None = None,
        metadata: Metadata | None = None,
        credentials: grpc.CallCredentials | None = None,
        wait_for_ready: bool | None = None,
        compression: grpc.Compression | None = None,
    ) -> Any:
        return self._call(
            request,
            timeout=call_timeout(timeout),
            metadata=with_request_id(metadata),
            credentials=credentials,
            wait_for_ready=wait_for_ready,
            compression=compression,
        )


class CallerChannel(grpc.aio.Channel):  # type: ignore[misc]
    """A ``grpc.aio`` channel (without interceptors) whose calls forward the request id and
    end in time; ``unary_timeout`` is the default deadline of unary calls (none if None)."""

    def __init__(self, channel: grpc.aio.Channel, unary_timeout: float | None = None) -> None:
        self._channel = channel
        self._unary_timeout = unary_timeout

    def unary_unary(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """grpc's multicallable behind one that sets the request id and the deadline."""
        return _UnaryUnary(self._channel.unary_unary(method, *args, **kwargs), self._unary_timeout)

    def unary_stream(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """As :meth:`unary_unary`, for server-streaming calls."""
        return _Streaming(self._channel.unary_stream(method, *args, **kwargs))

    def stream_unary(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """As :meth:`unary_unary`, for client-streaming calls."""
        return _Streaming(self._channel.stream_unary(method, *args, **kwargs))

    def stream_stream(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """As :meth:`unary_unary`, for bidirectional calls."""
        return _Streaming(self._channel.stream_stream(method, *args, **kwargs))

    async def close(self, grace: float | None = None) -> None:
        """Closes the underlying channel."""
        await self._channel.close(grace)

    def get_state(self, try_to_connect: bool = False) -> grpc.ChannelConnectivity:
        """The underlying channel's connectivity."""
        return self._channel.get_state(try_to_connect)

    async def wait_for_state_change(self, last_observed_state: grpc.ChannelConnectivity) -> None:
        """Waits for the underlying channel's state to change."""
        await self._channel.wait_for_state_change(last_observed_state)

    async def channel_ready(self) -> None:
        """Waits until the underlying channel is ready."""
        await self._channel.channel_ready()

    async def __aenter__(self) -> CallerChannel:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: types.TracebackType | None,
    ) -> None:
        await self._channel.close()
