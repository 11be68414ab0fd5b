"""The asyncpg pool of a service, logged in as the service's own role."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from services.common.config import Env


async def create_pool(
    dsn: str, *, schema: str, application_name: str, min_size: int = 2, max_size: int = 10
) -> asyncpg.Pool:
    """A pool whose connections see only ``schema`` first on the search path.

    The role in the DSN has privileges on that schema alone, so a query that strays into
    another service's tables fails instead of reading them.
    """
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": schema, "application_name": application_name},
    )
    assert pool is not None
    return pool


async def database_answers(pool: asyncpg.Pool, limit_seconds: float = 2.0) -> bool:
    """True when a trivial query succeeds within the limit (readiness)."""
    try:
        async with asyncio.timeout(limit_seconds), pool.acquire() as connection:
            await connection.fetchval("SELECT 1")
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False
    return True


@dataclass(frozen=True)
class DatabaseSettings:
    """DSNs of a service: the runtime role, and optionally the schema owner for migrations."""

    dsn: str
    migrate_dsn: str | None
    pool_min_size: int
    pool_max_size: int

    @classmethod
    def from_env(cls, env: Env, prefix: str) -> DatabaseSettings:
        """Reads ``<prefix>_DATABASE_URL``, ``<prefix>_MIGRATE_DATABASE_URL`` and pool sizes."""
        schemes = ("postgresql", "postgres")
        migrate = env.optional_str(f"{prefix}_MIGRATE_DATABASE_URL")
        if migrate is not None:
            env.url(f"{prefix}_MIGRATE_DATABASE_URL", schemes)
        return cls(
            dsn=env.url(f"{prefix}_DATABASE_URL", schemes),
            migrate_dsn=migrate,
            pool_min_size=env.int(f"{prefix}_DB_POOL_MIN_SIZE", 2, minimum=0),
            pool_max_size=env.int(f"{prefix}_DB_POOL_MAX_SIZE", 10, minimum=1),
        )


# What repositories take: a plain connection, or one borrowed from the pool.
DbConnection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"


# What a lost or refused database connection raises: the server restarting, shutting down,
# not yet accepting, or unreachable. Such a call is answered UNAVAILABLE (the gateway: 503,
# so clients retry), never INTERNAL: nothing is wrong with the request or the code.
_CONNECTION_LOSS: tuple[type[BaseException], ...] = (
    ConnectionError,  # refused, reset, aborted, broken pipe
    socket.gaierror,  # the database's host name does not resolve (yet)
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
)


def is_connection_loss(error: BaseException) -> bool:
    """True when ``error`` means the database could not be reached, not that the call failed."""
    return isinstance(error, _CONNECTION_LOSS)
