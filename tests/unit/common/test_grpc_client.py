"""Outgoing calls carry the request id being served, the gateway's default deadline on unary
calls, and end before the deadline of the call being served; unary and streaming alike."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from services.common import deadlines
from services.common.grpc_client import CallerChannel
from services.common.logs import request_id_var
from trackcc.roster.v1 import roster_service_pb2 as pb
from trackcc.roster.v1 import roster_service_pb2_grpc as pb_grpc


class _Recorder:
    """Stands in for one of grpc's multicallables: keeps what it was called with."""

    def __init__(self, calls: list[dict[str, Any]], method: str) -> None:
        self._calls = calls
        self._method = method

    def __call__(self, request: Any, **options: Any) -> str:
        self._calls.append({"method": self._method, "request": request, **options})
        return "call"


class _FakeChannel:
    """The grpc.aio channel under the CallerChannel; records every call made on it."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.registered: list[bool] = []

    def _multicallable(self, method: str, *args: Any, **kwargs: Any) -> _Recorder:
        self.registered.append(bool(kwargs.get("_registered_method")))
        return _Recorder(self.calls, method)

    unary_unary = unary_stream = stream_unary = stream_stream = _multicallable


class _Served:
    def __init__(self, remaining: float) -> None:
        self._remaining = remaining

    def time_remaining(self) -> float:
        return self._remaining


def _stub(default: float | None = 5.0) -> tuple[Any, _FakeChannel]:
    fake = _FakeChannel()
    return pb_grpc.RosterServiceStub(CallerChannel(fake, unary_timeout=default)), fake


@pytest.fixture
def request_id() -> Iterator[str]:
    token = request_id_var.set("req-42")
    yield "req-42"
    request_id_var.reset(token)


def test_the_stub_calls_grpcs_own_multicallables(request_id: str) -> None:
    stub, fake = _stub()
    assert stub.GetClass(pb.GetClassRequest(class_id="c")) == "call"
    (call,) = fake.calls
    assert call["method"] == "/trackcc.roster.v1.RosterService/GetClass"
    assert call["request"] == pb.GetClassRequest(class_id="c")
    assert all(fake.registered)  # the generated stub's registered methods stay registered


def test_unary_calls_get_the_request_id_and_the_default_deadline(request_id: str) -> None:
    stub, fake = _stub()
    stub.GetClass(pb.GetClassRequest(), metadata=(("authorization", "Bearer t"),))
    stub.GetClass(pb.GetClassRequest(), timeout=60.0)
    stub.GetClass(pb.GetClassRequest(), timeout=1.0, wait_for_ready=True)
    first, longer, shorter = fake.calls
    assert dict(first["metadata"]) == {"authorization": "Bearer t", "x-request-id": "req-42"}
    assert first["timeout"] == 5.0
    assert longer["timeout"] == 5.0  # a longer deadline is capped
    assert (shorter["timeout"], shorter["wait_for_ready"]) == (1.0, True)


def test_the_request_id_is_not_repeated_nor_invented(request_id: str) -> None:
    stub, fake = _stub(default=None)
    stub.GetClass(pb.GetClassRequest(), metadata=(("x-request-id", "own"),))
    stub.GetClass(pb.GetClassRequest(), metadata=grpc.aio.Metadata(("authorization", "t")))
    request_id_var.set("")
    stub.GetClass(pb.GetClassRequest())
    own, from_metadata, without = fake.calls
    assert list(own["metadata"]) == [("x-request-id", "own")]
    assert dict(from_metadata["metadata"]) == {"authorization": "t", "x-request-id": "req-42"}
    assert without["metadata"] is None
    assert without["timeout"] is None  # no default, no served call: no deadline


def test_streaming_calls_carry_the_request_id_without_the_unary_default(
    request_id: str,
) -> None:
    stub, fake = _stub()
    stub.DownloadPhoto(pb.DownloadPhotoRequest(), timeout=30.0)
    stub.UploadPhoto(iter(()), timeout=60.0)
    stub.DownloadPhoto(pb.DownloadPhotoRequest())
    download, upload, unbounded = fake.calls
    assert (download["timeout"], upload["timeout"], unbounded["timeout"]) == (30.0, 60.0, None)
    assert all(dict(call["metadata"])["x-request-id"] == "req-42" for call in fake.calls)


def test_every_call_ends_before_the_served_calls_deadline() -> None:
    stub, fake = _stub()

    def serve() -> None:
        deadlines.bind(_Served(3.0))
        stub.GetClass(pb.GetClassRequest())
        stub.DownloadPhoto(pb.DownloadPhotoRequest())
        stub.UploadPhoto(iter(()), timeout=60.0)

    contextvars.Context().run(serve)
    expected = 3.0 - deadlines.MARGIN_SECONDS
    assert [call["timeout"] for call in fake.calls] == [pytest.approx(expected, abs=0.05)] * 3
