"""What aiohttp's parser refuses before the app runs is answered like every other error:
problem+json with the security headers, 400 / 414 / 431, and no log line quotes the request
(issue 11, item 6)."""

from __future__ import annotations

import logging
import re

import pytest

from services.gateway.http_errors import MAX_HEADER_FIELD_BYTES, MAX_REQUEST_LINE_BYTES
from tests.support.gateway import RunningGateway
from tests.support.http_checks import SECURITY_HEADERS
from tests.support.raw_http import RawResponse, raw_request, request_bytes

# Stands for a token or password in the refused request: it must not reach any log line.
SECRET = "s3cr3t-Zq9"

REQUESTS = {
    "bad method": (b"GE\x01T /v1/me?token=" + SECRET.encode() + b" HTTP/1.1\r\n", 400),
    "bad header name": (b"GET / HTTP/1.1\r\nBad Header: " + SECRET.encode() + b"\r\n", 400),
    "long url": (
        b"GET /v1/me?token=" + SECRET.encode() + b"a" * MAX_REQUEST_LINE_BYTES + b" HTTP/1.1\r\n",
        414,
    ),
    "long header": (
        b"GET / HTTP/1.1\r\nX-Long: " + SECRET.encode() + b"b" * MAX_HEADER_FIELD_BYTES + b"\r\n",
        431,
    ),
    "many headers": (
        b"GET / HTTP/1.1\r\n"
        + b"".join(b"X-H%d: %s\r\n" % (i, SECRET.encode()) for i in range(300)),
        431,
    ),
}


def assert_problem(answer: RawResponse, status: int) -> None:
    assert answer.status == status, answer.body
    assert answer.headers["content-type"].startswith("application/problem+json")
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers.get(name.lower()) == value, name
    assert re.fullmatch(r"[A-Za-z0-9._:-]{1,128}", answer.headers["x-request-id"])
    body = answer.json()
    assert body["status"] == status and body["code"] and body["title"] and body["detail"]
    assert SECRET not in answer.body.decode("utf-8", "replace")


@pytest.mark.parametrize("name", list(REQUESTS))
async def test_http_layer_errors_are_problems_and_leave_no_request_bytes_in_logs(
    gateway: RunningGateway, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    head, status = REQUESTS[name]
    caplog.set_level(logging.DEBUG)
    answer = await raw_request(gateway, head + b"Host: localhost\r\nConnection: close\r\n\r\n")
    assert_problem(answer, status)
    assert caplog.records, "the refusal is logged"
    for record in caplog.records:
        text = caplog.handler.format(record)
        assert SECRET not in text, text


async def test_the_gateway_still_answers_after_refusals(gateway: RunningGateway) -> None:
    answer = await raw_request(gateway, request_bytes("GET", "/healthz"))
    assert answer.status == 200
