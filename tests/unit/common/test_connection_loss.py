"""A database that went away is UNAVAILABLE (retry), not a failure of the call."""

from __future__ import annotations

import asyncpg
import pytest

from services.common.db import is_connection_loss


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(),
        ConnectionResetError(),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
    ],
)
def test_a_lost_or_refused_connection_is_connection_loss(error: BaseException) -> None:
    assert is_connection_loss(error)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("bad value"),
        FileNotFoundError("a file the code needs"),
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
        asyncpg.exceptions.InterfaceError("cannot perform operation: another one is in progress"),
    ],
)
def test_a_failed_statement_is_not(error: BaseException) -> None:
    assert not is_connection_loss(error)
