"""The few API calls that set up realistic data, made as a client would make them (docs/api.md)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from bench.stack import BenchStack

PASSWORD = "correct horse battery staple 42!"
MAIL_WAIT_SECONDS = 30.0


class ApiError(RuntimeError):
    """A set-up call did not answer as docs/api.md says it should."""


class ApiClient:
    """JSON over HTTPS against the stack, trusting only its CA."""

    def __init__(self, http: aiohttp.ClientSession, stack: BenchStack) -> None:
        self._http = http
        self._stack = stack

    async def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        token: str | None = None,
        expect: int = 200,
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self._http.request(
            method, self._stack.base_url + path, json=body, headers=headers
        ) as response:
            text = await response.text()
            if response.status != expect:
                raise ApiError(f"{method} {path}: {response.status}, expected {expect}: {text}")
            return (
                await response.json() if text and response.content_type.endswith("json") else None
            )

    async def call_status(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        token: str | None = None,
    ) -> tuple[int, Any]:
        """Any answer, never raising for its status: the status and the JSON body (or None)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self._http.request(
            method, self._stack.base_url + path, json=body, headers=headers
        ) as response:
            text = await response.text()
            parsed = json.loads(text) if text and response.content_type.endswith("json") else None
            return response.status, parsed

    async def route_exists(self, method: str, template: str) -> bool:
        """Whether the gateway's OpenAPI document lists ``method template``."""
        document = await self.call("GET", "/v1/openapi.json")
        operation = document.get("paths", {}).get(template, {})
        return method.lower() in operation

    async def sign_up(self, email: str, role: str, name: str) -> dict[str, Any]:
        body = {"email": email, "password": PASSWORD, "role": role, "display_name": name}
        account: dict[str, Any] = await self.call("POST", "/v1/accounts", body, expect=201)
        return account

    async def sign_in(self, email: str) -> str:
        session = await self.call("POST", "/v1/sessions", {"email": email, "password": PASSWORD})
        return str(session["access_token"])


@asynccontextmanager
async def api_client(stack: BenchStack) -> AsyncIterator[ApiClient]:
    connector = aiohttp.TCPConnector(ssl=stack.ssl_context(), limit=8)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        yield ApiClient(http, stack)


def _mail_text(path: Path) -> str:
    """Headers and decoded text parts: links may be quoted-printable encoded in the file."""
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    texts = [str(message.get("To", ""))]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                texts.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    return "\n".join(texts)


_TOKEN = re.compile(r"token=([A-Za-z0-9_\-]+)")


async def mailed_token(mail_dir: Path, recipient: str, purpose_path: str) -> str:
    """The token of the newest link to ``purpose_path`` in a mail to ``recipient``.

    The outbox worker delivers asynchronously, so this polls the SMTP sink's directory for a
    bounded time.
    """
    deadline = time.monotonic() + MAIL_WAIT_SECONDS
    while time.monotonic() < deadline:
        token = await asyncio.to_thread(_find_token, mail_dir, recipient, purpose_path)
        if token is not None:
            return token
        await asyncio.sleep(0.25)
    raise ApiError(f"no mail with {purpose_path} to {recipient} within {MAIL_WAIT_SECONDS:g} s")


def _find_token(mail_dir: Path, recipient: str, purpose_path: str) -> str | None:
    # Newest first: file names sort by arrival time (services/localstack/smtp_sink.py).
    for path in sorted(mail_dir.glob("*.eml"), reverse=True):
        text = _mail_text(path)
        if recipient in text and purpose_path in text:
            match = _TOKEN.search(text[text.index(purpose_path) :])
            if match:
                return match.group(1)
    return None
