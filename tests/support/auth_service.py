"""A running auth service over mTLS against a fresh database, with a fake clock and an SMTP
sink that keeps what the outbox delivers."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email
import email.policy
import functools
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import cast

import asyncpg
from aiosmtpd.controller import Controller
from prometheus_client import CollectorRegistry

from services.auth import service as auth_service
from services.auth.service import DEFINITION as AUTH
from services.common.db import create_pool
from services.common.devcerts import DevPki
from services.common.outbox import OutboxWorker, SmtpSettings
from tests.support.ports import free_port
from tests.support.postgres import TestDatabase
from tests.support.services import (
    JwtKeys,
    StartedService,
    client_channel,
    make_jwt_keys,
    service_env,
    started_service,
)
from trackcc.auth.v1 import auth_service_pb2_grpc

PUBLIC_URL = "https://trackcc.test"


@dataclass
class SentMail:
    """One message the sink received."""

    recipient: str
    subject: str
    body: str

    def link(self, path: str) -> str:
        """The token of the ``{PUBLIC_URL}{path}?token=T`` link in the body."""
        match = re.search(re.escape(PUBLIC_URL + path) + r"\?token=([A-Za-z0-9_\-]+)", self.body)
        assert match, f"no {path} link in the mail {self.subject!r}"
        return match[1]


@dataclass
class MailSink:
    """An SMTP server on 127.0.0.1 that keeps what it receives."""

    port: int
    loop: asyncio.AbstractEventLoop
    messages: list[SentMail] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def received(self, mail: SentMail) -> None:
        """Called on the SMTP server's thread."""
        self.messages.append(mail)
        self.loop.call_soon_threadsafe(self.arrived.set)

    async def wait_for(self, count: int, limit_seconds: float = 10.0) -> None:
        """Returns once ``count`` messages arrived (a background worker delivered them)."""
        async with asyncio.timeout(limit_seconds):
            while len(self.messages) < count:
                self.arrived.clear()
                if len(self.messages) < count:
                    await self.arrived.wait()

    def to(self, recipient: str) -> list[SentMail]:
        return [m for m in self.messages if m.recipient == recipient]


class _Handler:
    def __init__(self, sink: MailSink) -> None:
        self._sink = sink

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        raw = envelope.content  # type: ignore[attr-defined]
        message = email.message_from_bytes(raw, policy=email.policy.default)
        body = message.get_body(("plain",))
        for recipient in envelope.rcpt_tos:  # type: ignore[attr-defined]
            self._sink.received(
                SentMail(recipient, str(message["Subject"]), body.get_content() if body else "")
            )
        return "250 OK"


@contextlib.asynccontextmanager
async def capturing_mail() -> AsyncIterator[MailSink]:
    """An SMTP server on a free loopback port that keeps what it receives, while open."""
    # aiosmtpd's readiness check connects to the configured port, so 0 will not do.
    sink = MailSink(port=free_port(), loop=asyncio.get_running_loop())
    controller = Controller(_Handler(sink), hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


class FakeClock:
    """A settable clock for expiry tests."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@dataclass(frozen=True)
class RunningAuth:
    """The service, a client stub presenting the gateway's certificate, and its database."""

    service: StartedService
    stub: auth_service_pb2_grpc.AuthServiceAsyncStub
    database: TestDatabase
    keys: JwtKeys
    pool: asyncpg.Pool
    clock: FakeClock
    sink: MailSink

    async def deliver_mail(self) -> int:
        """One outbox pass to the sink: deterministic, no waiting for a background loop."""
        worker = OutboxWorker(
            self.pool,
            SmtpSettings("127.0.0.1", self.sink.port, "TrackCC <no-reply@trackcc.test>"),
            CollectorRegistry(),
            clock=self.clock,
        )
        return await worker.run_once()


@contextlib.asynccontextmanager
async def running_auth(
    database: TestDatabase,
    pki: DevPki,
    tmp_path: Path,
    sink: MailSink,
    extra: Mapping[str, str] | None = None,
) -> AsyncIterator[RunningAuth]:
    """The auth service with a fake clock; background workers off unless ``extra`` enables."""
    keys = make_jwt_keys(tmp_path)
    clock = FakeClock()
    values = {
        "TRACKCC_PUBLIC_URL": PUBLIC_URL,
        "TRACKCC_SMTP_PORT": str(sink.port),
        "TRACKCC_AUTH_OUTBOX_ENABLED": "false",
        "TRACKCC_AUTH_DELETION_WORKER_ENABLED": "false",
        **(extra or {}),
    }
    env = service_env(AUTH, database, pki, keys, values)
    definition = replace(AUTH, build=functools.partial(auth_service.build, clock=clock))
    pool = await create_pool(database.runtime_dsn("auth"), schema="auth", application_name="test")
    try:
        async with (
            started_service(definition, env) as service,
            client_channel(service, pki) as channel,
        ):
            # grpc has no type information, so mypy would pick the stub's sync overload.
            stub = cast(
                "auth_service_pb2_grpc.AuthServiceAsyncStub",
                auth_service_pb2_grpc.AuthServiceStub(channel),
            )
            yield RunningAuth(service, stub, database, keys, pool, clock, sink)
    finally:
        await pool.close()
