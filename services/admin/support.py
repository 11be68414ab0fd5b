"""``trackcc-admin create-support | locked | unlock``: support staff and account lockout.

These go straight to the auth schema as the auth runtime role (never a superuser), through
the auth service's own code, so the password policy, argon2id hashing and the audit log
apply exactly as they do behind the API.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import asyncpg

from services.admin.migrating import open_local_database
from services.auth import admin_commands
from services.common.config import Env
from services.common.db import create_pool
from services.common.errors import ServiceError
from services.localstack.errors import StackError

T = TypeVar("T")


class SupportCommandError(Exception):
    """A refused support command (bad input, unknown account); one line for the operator."""


@contextlib.asynccontextmanager
async def _auth_pool(env: Env) -> AsyncIterator[asyncpg.Pool]:
    explicit = env.optional_str("TRACKCC_AUTH_DATABASE_URL")
    if explicit is not None:
        dsn = env.url("TRACKCC_AUTH_DATABASE_URL", ("postgresql", "postgres"))
        local = None
    else:
        local = open_local_database(env)
        dsn = local.runtime_dsn("auth")
    try:
        pool = await create_pool(
            dsn, schema="auth", application_name="trackcc-admin", min_size=1, max_size=2
        )
    except (OSError, asyncpg.PostgresError) as error:
        if local is not None:
            local.stop()
        raise StackError(f"cannot reach the auth database: {error}") from None
    try:
        yield pool
    finally:
        await pool.close()
        if local is not None:
            local.stop()


async def _with_pool(env: Env, work: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    async with _auth_pool(env) as pool:
        try:
            return await work(pool)
        except ServiceError as error:
            problems = "; ".join(f"{field} {text}" for field, text in error.field_violations)
            raise SupportCommandError(
                error.message + (f" ({problems})" if problems else "")
            ) from None


async def create_support_command(env: Env, email: str, password: str) -> str:
    """Creates a support account; returns the line to print."""
    account_id = await _with_pool(
        env, lambda pool: admin_commands.create_support(pool, email, password)
    )
    return f"created support account {account_id}\n"


async def locked_command(env: Env) -> str:
    """The locked accounts, one per line (id, email, locked at, failed attempts)."""
    accounts = await _with_pool(env, admin_commands.list_locked)
    if not accounts:
        return "no locked accounts\n"
    lines = ["id\temail\tlocked_at\tfailed_attempts"]
    for account in accounts:
        locked_at = account.locked_at.isoformat() if account.locked_at else ""
        lines.append(f"{account.id}\t{account.email}\t{locked_at}\t{account.failed_attempts}")
    return "\n".join(lines) + "\n"


async def unlock_command(env: Env, email: str, reason: str) -> str:
    """Unlocks an account and audits the reason; returns the line to print."""
    account_id = await _with_pool(
        env, lambda pool: admin_commands.unlock(pool, email, reason, actor="cli")
    )
    return f"unlocked account {account_id}\n"
