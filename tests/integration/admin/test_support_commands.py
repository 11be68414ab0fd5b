"""trackcc-admin create-support, locked and unlock against a real auth schema."""

from __future__ import annotations

import io
from pathlib import Path

import asyncpg
import pytest

from services.admin import cli
from services.admin.support import (
    SupportCommandError,
    create_support_command,
    locked_command,
    unlock_command,
)
from services.common.config import Env
from services.common.migrations import migrate_dsn
from tests.support.postgres import TestDatabase

AUTH_MIGRATIONS = Path(__file__).parents[3] / "services" / "auth" / "migrations"
STRONG = "violet kettle marches slowly 83!"


@pytest.fixture
async def env(database: TestDatabase) -> Env:
    await migrate_dsn(database.owner_dsn("auth"), "auth", AUTH_MIGRATIONS)
    return Env({"TRACKCC_AUTH_DATABASE_URL": database.runtime_dsn("auth")})


async def _lock(database: TestDatabase, email: str) -> None:
    # State set-up only: the lockout rule itself is tested through the gateway.
    owner = await asyncpg.connect(database.owner_dsn("auth"))
    try:
        await owner.execute(
            "UPDATE accounts SET failed_attempts = 10, locked_at = now() WHERE email = $1", email
        )
    finally:
        await owner.close()


async def test_support_account_is_hashed_verified_and_role_support(
    env: Env, database: TestDatabase
) -> None:
    line = await create_support_command(env, "Help@School.example", STRONG)
    assert line.startswith("created support account ")
    owner = await asyncpg.connect(database.owner_dsn("auth"))
    try:
        row = await owner.fetchrow(
            "SELECT role, email, email_verified, password_hash FROM accounts"
        )
    finally:
        await owner.close()
    assert row is not None
    assert (row["role"], row["email"], row["email_verified"]) == (
        "support",
        "help@school.example",
        True,
    )
    assert row["password_hash"].startswith("$argon2id$")
    assert STRONG not in row["password_hash"]


async def test_weak_password_and_duplicate_are_refused_in_one_line(env: Env) -> None:
    with pytest.raises(SupportCommandError, match="password"):
        await create_support_command(env, "help@school.example", "password123")
    await create_support_command(env, "help@school.example", STRONG)
    with pytest.raises(SupportCommandError, match="exists"):
        await create_support_command(env, "HELP@school.example", STRONG)


async def test_locked_lists_and_unlock_clears_with_an_audit_entry(
    env: Env, database: TestDatabase
) -> None:
    await create_support_command(env, "locked@school.example", STRONG)
    assert await locked_command(env) == "no locked accounts\n"
    await _lock(database, "locked@school.example")
    listing = await locked_command(env)
    assert "locked@school.example" in listing and "\t10\n" in listing
    line = await unlock_command(env, "Locked@School.example", "called from the school office")
    assert line.startswith("unlocked account ")
    assert await locked_command(env) == "no locked accounts\n"
    owner = await asyncpg.connect(database.owner_dsn("auth"))
    try:
        audit = await owner.fetchrow(
            "SELECT actor, reason FROM audit_log WHERE event LIKE '%unlock%'"
        )
    finally:
        await owner.close()
    assert audit is not None
    assert (audit["actor"], audit["reason"]) == ("cli", "called from the school office")


async def test_unlock_of_unknown_email_is_refused(env: Env) -> None:
    with pytest.raises(SupportCommandError, match="no account"):
        await unlock_command(env, "nobody@school.example", "because")


def test_cli_reads_the_password_from_standard_input(
    database: TestDatabase, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRACKCC_AUTH_DATABASE_URL", database.runtime_dsn("auth"))
    monkeypatch.setattr("sys.stdin", io.StringIO(STRONG + "\n"))
    # Migrations were applied by the env fixture in the other tests; do it here through the CLI.
    monkeypatch.setenv("TRACKCC_AUTH_MIGRATE_DATABASE_URL", database.owner_dsn("auth"))
    monkeypatch.setenv("TRACKCC_ROSTER_MIGRATE_DATABASE_URL", database.owner_dsn("roster"))
    monkeypatch.setenv("TRACKCC_SHARING_MIGRATE_DATABASE_URL", database.owner_dsn("sharing"))
    cli.main(["migrate"])
    cli.main(["create-support", "--email", "desk@school.example"])
    out = capsys.readouterr().out
    assert "created support account" in out
    assert STRONG not in out
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["unlock", "--email", "ghost@school.example", "--reason", "x"])
    assert exit_info.value.code == 1
    assert capsys.readouterr().err.startswith("trackcc-admin: ")
