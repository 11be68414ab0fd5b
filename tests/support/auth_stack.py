"""What the auth-through-the-gateway tests share: a whole stack whose mail lands in a folder,
a gateway clock that can jump ahead, users, support staff, and the links from mails.

The stack is real: PostgreSQL, the three gRPC services over mTLS, the gateway over HTTPS and
the local SMTP sink writing ``.eml`` files, with the outbox and deletion workers polling fast.
Mail is awaited with bounded polls on the sink's folder, never fixed sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import re
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import aiohttp
import asyncpg

from services.auth import admin_commands
from services.auth.service import DEFINITION as AUTH
from services.common.db import create_pool
from services.common.devcerts import DevPki
from services.localstack.postgres import PostgresEndpoint
from services.localstack.smtp_sink import start_smtp_sink
from services.roster.service import DEFINITION as ROSTER
from services.sharing.service import DEFINITION as SHARING
from tests.support.clocks import WallClock, clocked_auth, clocked_sharing
from tests.support.gateway import RunningGateway, gateway_env, running_gateway
from tests.support.postgres import TestDatabase, create_test_database
from tests.support.services import StartedService, make_jwt_keys, service_env, started_service

# Links in mails must start with this, whatever Host the request that caused them named.
PUBLIC_URL = "https://trackcc.test"
PASSWORD = "violet tundra marmalade 47"
NEW_PASSWORD = "copper lantern oatmeal 93"
# How long the gateway trusts auth's "session active" answer in these stacks.
CACHE_SECONDS = 30
MAIL_WAIT_SECONDS = 15.0


class GatewayClock:
    """The gateway's monotonic clock, which a test can move ahead (caches, rate windows)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass(frozen=True)
class AuthStack:
    """The gateway in front of real services, the sink's folder and auth's runtime pool."""

    gateway: RunningGateway
    clock: GatewayClock
    mail_dir: Path
    database: TestDatabase
    # Logged in as auth's runtime role, as ``trackcc-admin`` is (creates support staff).
    auth_pool: asyncpg.Pool
    # The auth service itself (its metrics port).
    auth: StartedService

    @property
    def http(self) -> aiohttp.ClientSession:
        return self.gateway.http


@contextlib.asynccontextmanager
async def auth_stack(
    pg_endpoint: PostgresEndpoint,
    pki: DevPki,
    directory: Path,
    gateway_extra: Mapping[str, str] | None = None,
    *,
    auth_clock: WallClock | None = None,
    sharing_clock: WallClock | None = None,
) -> AsyncIterator[AuthStack]:
    """Starts the sink, sharing, roster, auth (which purges through both) and the gateway.

    With ``auth_clock`` or ``sharing_clock``, that service takes its now from the clock.
    """
    auth_definition = clocked_auth(auth_clock) if auth_clock else AUTH
    sharing_definition = clocked_sharing(sharing_clock) if sharing_clock else SHARING
    mail_dir = directory / "mail"
    mail_dir.mkdir()
    sink = await start_smtp_sink(mail_dir)
    database = await create_test_database(pg_endpoint)
    keys = make_jwt_keys(directory)
    common = {
        "TRACKCC_PUBLIC_URL": PUBLIC_URL,
        "TRACKCC_SMTP_HOST": "127.0.0.1",
        "TRACKCC_SMTP_PORT": str(sink.port),
        "TRACKCC_AUTH_OUTBOX_POLL_SECONDS": "0.05",
        "TRACKCC_SHARING_OUTBOX_POLL_SECONDS": "0.05",
        "TRACKCC_AUTH_DELETION_POLL_SECONDS": "0.1",
    }
    pool = await create_pool(database.runtime_dsn("auth"), schema="auth", application_name="test")
    clock = GatewayClock()
    try:
        async with contextlib.AsyncExitStack() as services:
            sharing = await services.enter_async_context(
                started_service(
                    sharing_definition, service_env(sharing_definition, database, pki, keys, common)
                )
            )
            roster_extra = {**common, "TRACKCC_ROSTER_SHARING_TARGET": sharing.target}
            roster = await services.enter_async_context(
                started_service(ROSTER, service_env(ROSTER, database, pki, keys, roster_extra))
            )
            auth_extra = {
                **common,
                "TRACKCC_AUTH_ROSTER_TARGET": roster.target,
                "TRACKCC_AUTH_SHARING_TARGET": sharing.target,
            }
            auth = await services.enter_async_context(
                started_service(
                    auth_definition, service_env(auth_definition, database, pki, keys, auth_extra)
                )
            )
            targets = {"auth": auth.target, "roster": roster.target, "sharing": sharing.target}
            env = gateway_env(
                pki,
                keys.jwks_file,
                targets,
                {
                    "TRACKCC_PUBLIC_URL": PUBLIC_URL,
                    "TRACKCC_GATEWAY_SESSION_CACHE_SECONDS": str(CACHE_SECONDS),
                    **(gateway_extra or {}),
                },
            )
            async with running_gateway(env, pki, clock=clock) as gateway:
                yield AuthStack(gateway, clock, mail_dir, database, pool, auth)
    finally:
        await pool.close()
        await sink.stop()


# --- users ------------------------------------------------------------------------------


def new_email(prefix: str = "u") -> str:
    """A fresh address per test, so tests sharing a stack never see each other's mail."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.org"


@dataclass(frozen=True)
class Session:
    """What sign-in answered."""

    tokens: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens['access_token']}"}

    @property
    def account(self) -> dict[str, Any]:
        account: dict[str, Any] = self.tokens["account"]
        return account

    @property
    def id(self) -> str:
        session_id: str = self.tokens["session_id"]
        return session_id


async def sign_up(
    stack: AuthStack, address: str, password: str = PASSWORD, **fields: Any
) -> dict[str, Any]:
    body = {"email": address, "password": password, "role": "teacher", **fields}
    async with stack.http.post("/v1/accounts", json=body) as response:
        assert response.status == 201, await response.text()
        account: dict[str, Any] = await response.json()
    return account


async def sign_in_response(
    stack: AuthStack, address: str, password: str = PASSWORD, user_agent: str = "tests/1"
) -> tuple[int, dict[str, Any]]:
    body = {"email": address, "password": password}
    headers = {"User-Agent": user_agent}
    async with stack.http.post("/v1/sessions", json=body, headers=headers) as response:
        return response.status, await response.json(content_type=None)


async def sign_in(
    stack: AuthStack, address: str, password: str = PASSWORD, user_agent: str = "tests/1"
) -> Session:
    status, body = await sign_in_response(stack, address, password, user_agent)
    assert status == 200, body
    return Session(body)


async def new_user(stack: AuthStack, prefix: str = "u", **fields: Any) -> tuple[str, Session]:
    """A signed-up, signed-in teacher and its address."""
    address = new_email(prefix)
    await sign_up(stack, address, **fields)
    return address, await sign_in(stack, address)


async def support_session(stack: AuthStack) -> Session:
    """Support staff made as ``trackcc-admin create-support`` makes them, signed in."""
    address = new_email("support")
    await admin_commands.create_support(stack.auth_pool, address, PASSWORD)
    return await sign_in(stack, address)


async def status_of(stack: AuthStack, method: str, path: str, headers: Mapping[str, str]) -> int:
    async with stack.http.request(method, path, headers=headers) as response:
        return response.status


# --- mail -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mail:
    """One message as the sink stored it."""

    to: str
    subject: str
    body: str

    def token(self, path: str) -> str:
        """The token of the ``{PUBLIC_URL}{path}?token=T`` link; fails if there is none."""
        found = re.search(re.escape(PUBLIC_URL + path) + r"\?token=([A-Za-z0-9_.~%-]+)", self.body)
        assert found, f"no {PUBLIC_URL}{path} link in {self.subject!r}: {self.body!r}"
        return unquote(found.group(1))


def all_mails(stack: AuthStack) -> list[Mail]:
    """Every stored message, in arrival order (file names sort by time)."""
    mails = []
    for path in sorted(stack.mail_dir.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        mails.append(Mail(str(message["To"]), str(message["Subject"]), text))
    return mails


def mails_to(stack: AuthStack, address: str, subject: str = "") -> list[Mail]:
    return [m for m in all_mails(stack) if m.to == address and subject in m.subject]


async def wait_for_mails(
    stack: AuthStack, address: str, subject: str = "", count: int = 1
) -> list[Mail]:
    """The mails to ``address`` whose subject contains ``subject``, once ``count`` arrived."""
    async with asyncio.timeout(MAIL_WAIT_SECONDS):
        while True:
            found = mails_to(stack, address, subject)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.05)  # the outbox worker delivers on its own schedule


async def wait_for_mail(stack: AuthStack, address: str, subject: str) -> Mail:
    return (await wait_for_mails(stack, address, subject))[-1]


def assert_no_mail_holds(stack: AuthStack, *secrets: str) -> None:
    """No stored mail (subject or body) contains any of ``secrets``."""
    for mail in all_mails(stack):
        for secret in secrets:
            assert secret not in mail.body and secret not in mail.subject, mail.subject


# Subjects of auth's mails (services/auth/mails.py), to pick one among several.
VERIFY_SUBJECT = "Confirm your email address"
CHANGE_SUBJECT = "Confirm your new email address"
CHANGE_NOTICE_SUBJECT = "email address is about to change"
LOCKED_SUBJECT = "account is locked"
RESET_SUBJECT = "Reset your TrackCC password"
RESET_NOTICE_SUBJECT = "password was reset"
CHANGED_SUBJECT = "password was changed"
DELETION_SUBJECT = "account is being deleted"
RECEIPT_SUBJECT = "account was deleted"
