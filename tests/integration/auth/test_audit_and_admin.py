"""The append-only audit log, the support CLI functions, and the mail worker's wiring."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from services.auth import admin_commands
from services.common.devcerts import DevPki
from services.common.errors import AlreadyExists, InvalidArgument, NotFound
from tests.support.auth_calls import EMAIL, PASSWORD, fetch, sign_in, sign_up
from tests.support.auth_service import MailSink, RunningAuth, running_auth
from tests.support.postgres import TestDatabase
from tests.support.rpc_errors import failure_of
from trackcc.auth.v1 import auth_service_pb2 as pb

WRONG = "not the password at all 1"


async def _lock(auth: RunningAuth, email: str = EMAIL) -> None:
    for _ in range(10):
        await failure_of(
            auth.stub.CreateSession(pb.CreateSessionRequest(email=email, password=WRONG))
        )


async def test_the_runtime_role_can_only_append_to_the_audit_log(auth: RunningAuth) -> None:
    await sign_up(auth)
    await _lock(auth)
    async with auth.pool.acquire() as connection:
        assert await connection.fetchval("SELECT current_user") == "trackcc_auth"
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute("UPDATE audit_log SET reason = 'edited'")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute("DELETE FROM audit_log")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute("TRUNCATE audit_log")
    rows = await fetch(auth, "SELECT at, actor, subject, event, reason FROM audit_log")
    assert [(r["actor"], r["event"]) for r in rows] == [("system", "lockout")]
    assert rows[0]["subject"] is not None and rows[0]["at"] is not None


async def test_create_support_applies_the_policy_and_can_sign_in(auth: RunningAuth) -> None:
    with pytest.raises(InvalidArgument) as weak:
        await admin_commands.create_support(auth.pool, "help@example.org", "password1")
    assert weak.value.reason == "weak_password"
    await admin_commands.create_support(auth.pool, " Help@Example.org ", PASSWORD)
    with pytest.raises(AlreadyExists):
        await admin_commands.create_support(auth.pool, "help@example.org", PASSWORD)
    tokens = await sign_in(auth, "help@example.org")
    assert tokens.account.role == pb.ROLE_SUPPORT


async def test_list_locked_and_unlock_from_the_cli(auth: RunningAuth) -> None:
    await sign_up(auth)
    await sign_up(auth, "bob@example.org")
    await _lock(auth)
    locked = await admin_commands.list_locked(auth.pool)
    assert [(a.email, a.failed_attempts) for a in locked] == [(EMAIL, 10)]
    with pytest.raises(NotFound):
        await admin_commands.unlock(auth.pool, "nobody@example.org", "asked")
    await admin_commands.unlock(auth.pool, EMAIL.upper(), "owner phoned from the school")
    assert await admin_commands.list_locked(auth.pool) == []
    await sign_in(auth)
    rows = await fetch(auth, "SELECT actor, event, reason FROM audit_log ORDER BY id")
    assert [(r["actor"], r["event"], r["reason"]) for r in rows][-1] == (
        "cli",
        "unlock",
        "owner phoned from the school",
    )


async def test_the_background_outbox_delivers_right_after_the_commit(
    database: TestDatabase, pki: DevPki, tmp_path: Path, mail_sink: MailSink
) -> None:
    extra = {"TRACKCC_AUTH_OUTBOX_ENABLED": "true", "TRACKCC_AUTH_OUTBOX_POLL_SECONDS": "30"}
    async with running_auth(database, pki, tmp_path, mail_sink, extra) as auth:
        await sign_up(auth)
        # Far sooner than the 30 s poll: the commit woke the worker.
        await mail_sink.wait_for(1, limit_seconds=10)
    assert mail_sink.messages[0].recipient == EMAIL
    assert mail_sink.messages[0].link("/verify")
