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
        asyncpg.exceptions.InterfaceError(
            "cannot call Transaction.__aexit__(): the underlying connection is closed"
        ),
        asyncpg.exceptions.InterfaceError("connection is closed"),
        # An idle connection told of the server's shutdown, before its socket closes.
        asyncpg.exceptions.InternalClientError(
            "cannot switch to state 11; another operation (2) is in progress"
        ),
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
        # Two statements at once on one connection: a bug, not a lost database.
        asyncpg.exceptions.InternalClientError(
            "cannot switch to state 12; another operation (11) is in progress"
        ),
    ],
)
def test_a_failed_statement_is_not(error: BaseException) -> None:
    assert not is_connection_loss(error)
