"""Requests as bytes on a TLS socket: what aiohttp's client will not send (bytes that are not
UTF-8 in a header, a malformed request line) but an attacker will."""

from __future__ import annotations

import asyncio
import json
import ssl
from dataclasses import dataclass
from typing import Any

from tests.support.gateway import RunningGateway, client_ssl_context

READ_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class RawResponse:
    """A parsed HTTP/1.1 answer."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def raw_request(gateway: RunningGateway, request: bytes) -> RawResponse:
    """Sends ``request`` as is (it should say ``Connection: close``) and reads the answer."""
    context: ssl.SSLContext = client_ssl_context(gateway.ca)
    reader, writer = await asyncio.open_connection(
        "localhost", gateway.port, ssl=context, server_hostname="localhost"
    )
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(READ_TIMEOUT_SECONDS):
            data = await reader.read()
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, ssl.SSLError):
            pass  # the server may close first; the answer is already read
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = _unchunk(body)
    return RawResponse(status, headers, body)


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return out


def request_bytes(
    method: str,
    path: str,
    headers: dict[str, bytes] | None = None,
    body: bytes = b"",
) -> bytes:
    """An HTTP/1.1 request for ``localhost`` closing the connection after the answer."""
    lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: localhost", b"Connection: close"]
    for name, value in (headers or {}).items():
        lines.append(name.encode() + b": " + value)
    if body:
        lines.append(f"Content-Length: {len(body)}".encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
