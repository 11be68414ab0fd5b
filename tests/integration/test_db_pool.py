"""The services' pool skips asyncpg's reset round trip on release, yet hands the next
borrower a clean session, and closes at shutdown without waiting for ever."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from services.common.db import DbConnection, create_pool, is_connection_loss
from tests.support.postgres import TestDatabase

# Generous: each of these closes in milliseconds; the bound only turns a hang into a failure.
CLOSE_WITHIN_SECONDS = 10.0
APP = "pool-test"


@pytest.fixture
async def pool(database: TestDatabase) -> AsyncIterator[asyncpg.Pool]:
    """One connection only, so that every acquire gets the connection released before."""
    created = await create_pool(
        database.owner_dsn("roster"), schema="roster", application_name=APP, min_size=1, max_size=1
    )
    yield created
    await asyncio.wait_for(created.close(), CLOSE_WITHIN_SECONDS)


async def _last_statement(database: TestDatabase, pid: int) -> str:
    """What the backend ran last, seen from a connection outside the pool."""
    observer = await asyncpg.connect(database.admin_dsn())
    try:
        query = await observer.fetchval("SELECT query FROM pg_stat_activity WHERE pid = $1", pid)
    finally:
        await observer.close()
    assert isinstance(query, str)
    return query


async def test_a_read_is_released_without_the_reset_query(
    database: TestDatabase, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as connection:
        pid = connection.get_server_pid()
        assert await connection.fetchval("SELECT 41 + 1") == 42
    assert await _last_statement(database, pid) == "SELECT 41 + 1"

    # asyncpg's default pool would have sent its reset query on that release.
    default = await asyncpg.create_pool(database.owner_dsn("roster"), min_size=1, max_size=1)
    try:
        async with default.acquire() as connection:
            pid = connection.get_server_pid()
            await connection.fetchval("SELECT 41 + 1")
        assert "RESET ALL" in await _last_statement(database, pid)
    finally:
        await asyncio.wait_for(default.close(), CLOSE_WITHIN_SECONDS)


async def _via_execute(connection: DbConnection) -> None:
    await connection.execute("SET statement_timeout = 1234")


async def _via_execute_arguments(connection: DbConnection) -> None:
    await connection.execute("SELECT set_config('statement_timeout', $1, false)", "1234")


async def _via_fetchval(connection: DbConnection) -> None:
    await connection.fetchval("SELECT set_config('statement_timeout', '1234', false)")


async def _via_fetchrow(connection: DbConnection) -> None:
    await connection.fetchrow("SELECT set_config('statement_timeout', '1234', false)")


async def _via_prepare(connection: DbConnection) -> None:
    statement = await connection.prepare("SELECT set_config('statement_timeout', $1, false)")
    await statement.fetchval("1234")


async def _via_executemany(connection: DbConnection) -> None:
    await connection.executemany(
        "SELECT set_config('statement_timeout', $1, false)", [("1234",), ("1234",)]
    )


async def _via_cursor(connection: DbConnection) -> None:
    async with connection.transaction():
        async for _ in connection.cursor("SELECT set_config('statement_timeout', '1234', false)"):
            pass


async def _via_copy(connection: DbConnection) -> None:
    async def ignore(_: bytes) -> None:
        return None

    await connection.copy_from_query(
        "SELECT set_config('statement_timeout', '1234', false)", output=ignore
    )


@pytest.mark.parametrize(
    "change",
    [
        _via_execute,
        _via_execute_arguments,
        _via_fetchval,
        _via_fetchrow,
        _via_prepare,
        _via_executemany,
        _via_cursor,
        _via_copy,
    ],
)
async def test_a_changed_setting_is_reset_before_the_next_borrower(
    pool: asyncpg.Pool, change: Callable[[DbConnection], Awaitable[None]]
) -> None:
    async with pool.acquire() as connection:
        await change(connection)
        assert await connection.fetchval("SHOW statement_timeout") == "1234ms"
    async with pool.acquire() as connection:
        assert await connection.fetchval("SHOW statement_timeout") == "0"
        # The connection's own start-up settings are what RESET returns to.
        assert await connection.fetchval("SHOW search_path") == "roster"
        assert await connection.fetchval("SHOW application_name") == APP


async def test_listens_and_session_locks_do_not_outlive_the_borrower(
    database: TestDatabase, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as connection:
        pid = connection.get_server_pid()
        await connection.execute("LISTEN wt_changes")
        await connection.fetchval("SELECT pg_advisory_lock(77)")
    observer = await asyncpg.connect(database.admin_dsn())
    try:
        held = await observer.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = $1", pid
        )
    finally:
        await observer.close()
    assert held == 0
    async with pool.acquire() as connection:
        assert connection.get_server_pid() == pid
        assert await connection.fetch("SELECT pg_listening_channels()") == []
    # A clean release is not reset again: the next read is released as it is.
    async with pool.acquire() as connection:
        await connection.fetchval("SELECT 'quiet'")
    assert await _last_statement(database, pid) == "SELECT 'quiet'"


async def test_a_transaction_left_open_is_rolled_back(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as connection:
        await connection.execute("CREATE TABLE left_open (id int PRIMARY KEY)")
    # An unmanaged BEGIN: asyncpg reports it to the loop's exception handler, then rolls back.
    loop = asyncio.get_running_loop()
    reported: list[str] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: reported.append(str(context["message"])))
    try:
        async with pool.acquire() as connection:
            await connection.execute("BEGIN")
            await connection.execute("INSERT INTO left_open VALUES (1)")
    finally:
        loop.set_exception_handler(previous)
    assert any("active transaction" in message for message in reported)
    async with pool.acquire() as connection:
        assert not connection.is_in_transaction()
        assert await connection.fetchval("SELECT count(*) FROM left_open") == 0


async def test_close_does_not_wait_on_a_lock_that_a_released_connection_kept(
    database: TestDatabase,
) -> None:
    """The hang of the first attempt: a connection released inside a transaction kept its row
    lock, the next writer waited on it for ever, and close() waited for that writer."""
    pool = await create_pool(
        database.owner_dsn("roster"), schema="roster", application_name=APP, min_size=2, max_size=2
    )
    try:
        await pool.execute("CREATE TABLE counter (id int PRIMARY KEY, n int)")
        await pool.execute("INSERT INTO counter VALUES (1, 0)")
        first, second = await pool.acquire(), await pool.acquire()
        loop = asyncio.get_running_loop()
        previous = loop.get_exception_handler()
        loop.set_exception_handler(lambda _, __: None)  # the unmanaged BEGIN is reported
        try:
            await first.execute("BEGIN")
            await first.execute("UPDATE counter SET n = n + 1 WHERE id = 1")
            await pool.release(first)
        finally:
            loop.set_exception_handler(previous)
        # Would wait on the row lock if the release had not rolled back.
        await asyncio.wait_for(
            second.execute("UPDATE counter SET n = n + 1 WHERE id = 1"), CLOSE_WITHIN_SECONDS
        )
        assert await second.fetchval("SELECT n FROM counter") == 1
        await pool.release(second)
        await asyncio.wait_for(pool.close(), CLOSE_WITHIN_SECONDS)
    finally:
        pool.terminate()


async def test_close_waits_for_a_borrowed_connection_and_then_completes(
    database: TestDatabase,
) -> None:
    pool = await create_pool(
        database.owner_dsn("roster"), schema="roster", application_name=APP, min_size=1, max_size=2
    )
    try:
        borrowed = await pool.acquire()
        await borrowed.execute("SET lock_timeout = '2s'")
        closing = asyncio.create_task(pool.close())
        await asyncio.sleep(0)  # close() is now waiting for the borrowed connection
        assert not closing.done()
        await borrowed.fetchval("SELECT 1")
        await pool.release(borrowed)
        await asyncio.wait_for(closing, CLOSE_WITHIN_SECONDS)
    finally:
        pool.terminate()


async def test_a_server_whose_socket_is_gone_is_unreachable_not_an_error(tmp_path: Path) -> None:
    """While PostgreSQL restarts its unix socket is missing for a moment; such a connect must
    read as a lost database (503, retry), not as a failure of the call (500)."""
    pool = await create_pool(
        f"postgresql://roster@/trackcc?host={tmp_path / 'no-server-here'}",
        schema="roster",
        application_name="test",
        min_size=0,
    )
    try:
        with pytest.raises(OSError) as failed:
            async with pool.acquire():
                pass
        assert is_connection_loss(failed.value), repr(failed.value)
    finally:
        await pool.close()


@pytest.mark.parametrize(
    "failing",
    [
        "SELECT 1 / 0",  # fails in execution
        "SELECT no_such_column FROM no_such_table",  # fails while it is prepared
    ],
)
async def test_a_connection_whose_statement_failed_is_reset_before_reuse(
    database: TestDatabase, pool: asyncpg.Pool, failing: str
) -> None:
    """An operation that failed or was cancelled may have left the protocol mid-way (it did,
    while PostgreSQL restarted): the reset query, which fails on such a connection and so
    has the pool replace it, runs instead of being skipped."""
    async with pool.acquire() as connection:
        pid = connection.get_server_pid()
        with pytest.raises(asyncpg.PostgresError):
            await connection.fetchval(failing)
    assert "RESET ALL" in await _last_statement(database, pid)
    async with pool.acquire() as connection:
        assert await connection.fetchval("SELECT 41 + 1") == 42


async def test_a_transaction_ended_by_a_dropped_connection_is_connection_loss(
    database: TestDatabase, pool: asyncpg.Pool
) -> None:
    """The server drops the connection inside a transaction (it restarts): whatever surfaces,
    the query's error or the rollback's on the closed connection, reads as a lost database."""
    observer = await asyncpg.connect(database.admin_dsn())
    try:
        with pytest.raises(Exception) as failed:  # noqa: PT011 - which one asyncpg raises varies
            async with pool.acquire() as connection, connection.transaction():
                await observer.execute(
                    "SELECT pg_terminate_backend($1)", connection.get_server_pid()
                )
                await connection.fetchval("SELECT 1")
    finally:
        await observer.close()
    assert is_connection_loss(failed.value), repr(failed.value)
