"""The embedded PostgreSQL stopped and started again: a new postmaster on the same data and
socket, and a client that connected before finds its session gone, not the data."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from services.localstack.postgres import EmbeddedPostgres, PostgresSwitch


@pytest.fixture
def embedded() -> Iterator[EmbeddedPostgres]:
    # Short: PostgreSQL's unix socket lives under it, and socket paths are limited.
    with tempfile.TemporaryDirectory(prefix="tcc") as folder:
        server = EmbeddedPostgres(Path(folder) / "pg")
        try:
            yield server
        finally:
            server.stop()


def _postmaster(server: EmbeddedPostgres) -> int:
    return int((server.data_dir / "postmaster.pid").read_text().splitlines()[0])


async def test_restart_keeps_the_data_and_cuts_off_open_sessions(
    embedded: EmbeddedPostgres,
) -> None:
    dsn = embedded.endpoint.dsn("postgres")
    before = await asyncpg.connect(dsn)
    await before.execute("CREATE TABLE kept (id int); INSERT INTO kept VALUES (1)")
    first = _postmaster(embedded)
    switch = PostgresSwitch(embedded)

    await switch.stop()
    assert not switch.running
    with pytest.raises((OSError, asyncpg.PostgresError, asyncpg.InterfaceError)):
        await before.fetchval("SELECT 1")
    await switch.start()

    assert switch.running
    assert _postmaster(embedded) != first
    after = await asyncpg.connect(dsn)
    try:
        assert await after.fetchval("SELECT count(*) FROM kept") == 1
    finally:
        await asyncio.gather(after.close(), before.close(), return_exceptions=True)
