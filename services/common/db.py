"""The asyncpg pool of a service, logged in as the service's own role."""

from __future__ import annotations

import asyncio
import functools
import re
import socket
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from services.common.config import Env

# --- the reset on release --------------------------------------------------------------
#
# asyncpg's pool sends a reset query (advisory unlock, CLOSE ALL, UNLISTEN *, RESET ALL) on
# every release by default: a round trip, and work for PostgreSQL, per RPC, to undo state
# that our statements almost never create. Instead, each connection notes whether a
# statement it ran could have changed the session, and only such a connection is reset.
#
# What is still always cleaned, by asyncpg itself before our hook runs (Connection._reset):
# an open or failed transaction is rolled back, and listener callbacks are dropped. This is
# what the earlier attempt lost: it overrode ``Connection.reset`` with a no-op, so a
# connection returned inside a transaction kept its row locks, the next statement on that
# row waited for ever, and ``pool.close()``, which waits for every borrowed connection,
# hung at shutdown (tests/integration/test_db_pool.py replays it). The ``reset=`` hook
# keeps asyncpg's rollback. Prepared statements stay: asyncpg's statement cache is per
# connection and wants them kept.

# Statements that may leave state in the session beyond their transaction: settings (SET,
# RESET, set_config), LISTEN, session advisory locks, cursors WITH HOLD. Read by their
# text; a false alarm only costs the reset query. The SET of an UPDATE (or of ON CONFLICT DO
# UPDATE) assigns columns, so it is taken out first: writes do not pay for it.
_ASSIGNING_SET = re.compile(
    r"""\bUPDATE\s+(?:ONLY\s+)?[\w."]+(?:\s+(?:AS\s+)?[\w"]+)?\s+SET\b|\bDO\s+UPDATE\s+SET\b""",
    re.IGNORECASE,
)
_SESSION_CHANGE = re.compile(
    r"\b(?:SET|RESET|DISCARD|LISTEN|DECLARE|set_config"
    r"|pg_(?:try_)?advisory_lock(?:_shared)?)\b",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=2048)
def may_change_session(query: str) -> bool:
    """True when ``query`` may change session state that a later borrower would inherit."""
    return _SESSION_CHANGE.search(_ASSIGNING_SET.sub(" ", query)) is not None


_T = TypeVar("_T")

if TYPE_CHECKING:
    _Connection = asyncpg.Connection[asyncpg.Record]
else:
    _Connection = asyncpg.Connection


class SessionTrackingConnection(_Connection):
    """A connection that remembers whether it ran a statement that may change its session,
    or one that failed or was cancelled midway.

    A failed operation counts as a change: a statement cancelled while PostgreSQL restarts can
    leave the protocol mid-operation, and only the reset query finds that out (it fails, and
    the pool replaces the connection). Skipping it recycled such a connection, and the next
    borrower got "another operation is in progress" (a 500), as the restart fault test found.
    """

    session_changed: bool = False

    def _note(self, query: str) -> None:
        if may_change_session(query):
            self.session_changed = True

    async def _tracked(self, operation: Awaitable[_T]) -> _T:
        try:
            return await operation
        except BaseException:
            self.session_changed = True
            raise

    # asyncpg's own signatures, timeout parameters included.
    async def execute(
        self,
        query: str,
        *args: object,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> str:
        # Without arguments asyncpg sends the text as a simple query, past _get_statement.
        if not args:
            self._note(query)
        return await self._tracked(super().execute(query, *args, timeout=timeout))

    async def _get_statement(
        self,
        query: str,
        timeout: float | None,  # noqa: ASYNC109
        **options: Any,
    ) -> Any:
        # Every prepared statement passes here: fetch*, execute with arguments,
        # executemany, prepare and cursors (asyncpg's pinned version).
        self._note(query)
        return await self._tracked(super()._get_statement(query, timeout, **options))  # type: ignore[misc]

    async def _execute(self, *args: Any, **kwargs: Any) -> Any:
        # fetch, fetchrow, fetchval and execute with arguments run here after the statement.
        return await self._tracked(super()._execute(*args, **kwargs))  # type: ignore[misc]

    async def _executemany(self, *args: Any, **kwargs: Any) -> Any:
        return await self._tracked(super()._executemany(*args, **kwargs))  # type: ignore[misc]

    # COPY goes out as a simple query too (copy_from_query wraps the caller's text).
    async def _copy_out(self, copy_stmt: str, output: Any, timeout: Any) -> Any:  # noqa: ASYNC109
        self._note(copy_stmt)
        return await self._tracked(super()._copy_out(copy_stmt, output, timeout))  # type: ignore[misc]

    async def _copy_in(self, copy_stmt: str, source: Any, timeout: Any) -> Any:  # noqa: ASYNC109
        self._note(copy_stmt)
        return await self._tracked(super()._copy_in(copy_stmt, source, timeout))  # type: ignore[misc]


async def reset_changed_session(connection: asyncpg.Connection[asyncpg.Record]) -> None:
    """The pool's reset hook: asyncpg has rolled back any transaction; the session's
    settings, listens, locks and cursors are reset only where a statement may have made
    some."""
    if getattr(connection, "session_changed", True):
        await connection.execute(connection.get_reset_query())
        # After the reset query, which names RESET itself and so marks the connection.
        if isinstance(connection, SessionTrackingConnection):
            connection.session_changed = False


class DatabaseUnreachable(ConnectionError):
    """A new connection failed at the socket: PostgreSQL is down, restarting or unreachable."""


async def _connect(*args: Any, **kwargs: Any) -> asyncpg.Connection[asyncpg.Record]:
    # A restarting server's unix socket is missing for a moment (FileNotFoundError), and a
    # connect can time out: OSErrors that are not ConnectionErrors, which would otherwise
    # answer 500. Any OSError while connecting means the same thing: not reachable now.
    try:
        connection: asyncpg.Connection[asyncpg.Record] = await asyncpg.connect(*args, **kwargs)
    except OSError as error:
        if isinstance(error, ConnectionError):
            raise
        raise DatabaseUnreachable(f"{type(error).__name__}: {error}") from error
    return connection


async def create_pool(
    dsn: str, *, schema: str, application_name: str, min_size: int = 2, max_size: int = 10
) -> asyncpg.Pool:
    """A pool whose connections see only ``schema`` first on the search path.

    The role in the DSN has privileges on that schema alone, so a query that strays into
    another service's tables fails instead of reading them. A released connection is reset
    only as far as it needs (:func:`reset_changed_session`).
    """
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": schema, "application_name": application_name},
        connection_class=SessionTrackingConnection,
        connect=_connect,
        reset=reset_changed_session,
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

    # DSNs carry passwords: never in a repr (logs, tracebacks).
    dsn: str = field(repr=False)
    migrate_dsn: str | None = field(repr=False)
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
    if isinstance(error, _CONNECTION_LOSS):
        return True
    # asyncpg tells these only by their message (asyncpg 0.32, pinned; the unit tests hold the
    # texts). A connection the server dropped (it restarted) is found closed when it is used
    # next, for example by the rollback of a transaction that another failure ended.
    if isinstance(error, asyncpg.InterfaceError) and str(error).endswith("connection is closed"):
        return True
    # An idle connection that received the server's shutdown notice waits for a "ready" that
    # never comes (protocol state 2, ERROR_CONSUME) until its socket closes; a statement sent
    # in that moment meets this. Concurrent use, a bug of ours, names another state.
    return isinstance(error, asyncpg.exceptions.InternalClientError) and (
        "another operation (2) is in progress" in str(error)
    )
