"""The outbox logs in to our own mail server only over STARTTLS, and delivers there."""

from __future__ import annotations

import ssl
import threading
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from prometheus_client import CollectorRegistry

from services.common.config import ConfigError, Env
from services.common.db import create_pool
from services.common.devcerts import DevPki
from services.common.migrations import migrate_dsn
from services.common.outbox import OutboxWorker, SmtpSettings, enqueue
from tests.support.ports import free_port
from tests.support.postgres import TestDatabase

SHARING_MIGRATIONS = Path(__file__).parents[2] / "services" / "sharing" / "migrations"


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.logins: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"trackcc",
            b"s3cret-relay",
        )
        if ok:
            with self.lock:
                self.logins.append(data.login.decode())
        return AuthResult(success=ok)


def test_credentials_require_starttls_and_come_in_pairs() -> None:
    base = {"TRACKCC_SMTP_HOST": "mail.school.example"}
    settings = SmtpSettings.from_env(
        Env(base | {"TRACKCC_SMTP_USERNAME": "u", "TRACKCC_SMTP_PASSWORD": "pw-9f2c"})
    )
    assert settings.start_tls and settings.username == "u"
    assert "pw-9f2c" not in repr(settings)
    with pytest.raises(ConfigError, match="TRACKCC_SMTP_PASSWORD"):
        SmtpSettings.from_env(Env(base | {"TRACKCC_SMTP_USERNAME": "u"}))
    with pytest.raises(ConfigError, match="TRACKCC_SMTP_STARTTLS"):
        SmtpSettings.from_env(
            Env(
                base
                | {
                    "TRACKCC_SMTP_USERNAME": "u",
                    "TRACKCC_SMTP_PASSWORD": "p",
                    "TRACKCC_SMTP_STARTTLS": "false",
                }
            )
        )
    assert not SmtpSettings.from_env(Env(base)).start_tls


async def test_worker_logs_in_over_starttls_and_delivers(
    database: TestDatabase, pki: DevPki
) -> None:
    await migrate_dsn(database.owner_dsn("sharing"), "sharing", SHARING_MIGRATIONS)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    # A leaf of the dev CA that vouches for localhost, as the operator's relay's does for its name.
    leaf = pki.leaf("gateway")
    server_tls.load_cert_chain(leaf.cert, leaf.key)
    inbox = _Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        server_hostname="localhost",
        tls_context=server_tls,
        require_starttls=True,
        auth_required=True,
        authenticator=inbox.authenticate,
    )
    controller.start()
    pool = await create_pool(
        database.runtime_dsn("sharing"), schema="sharing", application_name="t", min_size=1
    )
    try:
        env = Env(
            {
                "TRACKCC_SMTP_HOST": "localhost",
                "TRACKCC_SMTP_PORT": str(port),
                "TRACKCC_SMTP_USERNAME": "trackcc",
                "TRACKCC_SMTP_PASSWORD": "s3cret-relay",
            }
        )
        client_tls = ssl.create_default_context(cafile=str(pki.ca))
        worker = OutboxWorker(
            pool, SmtpSettings.from_env(env), CollectorRegistry(), smtp_tls_context=client_tls
        )
        async with pool.acquire() as connection:
            await enqueue(
                connection,
                recipient="guardian@home.example",
                subject="You are invited",
                body="hello",
                now=datetime.now(UTC),
            )
        assert await worker.run_once() == 1
        assert inbox.logins == ["trackcc"]
        assert [m["Subject"] for m in inbox.messages] == ["You are invited"]

        wrong = SmtpSettings.from_env(Env({**env.values, "TRACKCC_SMTP_PASSWORD": "guess"}))
        refused = OutboxWorker(pool, wrong, CollectorRegistry(), smtp_tls_context=client_tls)
        async with pool.acquire() as connection:
            await enqueue(
                connection,
                recipient="x@home.example",
                subject="kept",
                body="b",
                now=datetime.now(UTC),
            )
        assert await refused.run_once() == 0  # kept for a retry, not lost
        assert [m["Subject"] for m in inbox.messages] == ["You are invited"]
    finally:
        await pool.close()
        controller.stop()
