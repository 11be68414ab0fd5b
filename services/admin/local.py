"""The local stack's PostgreSQL as ``backup`` and ``restore`` reach it, as a superuser.

Resolved the way ``make run`` resolves it (TRACKCC_DATA_DIR, DATABASE_URL), so the admin
command run beside a stack always means that stack's database. The embedded server is joined
if the stack runs, else started for the command and stopped after it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from services.common.config import Env
from services.localstack.database import open_database
from services.localstack.layout import DataLayout, ensure_role_password


def data_layout(env: Env) -> DataLayout:
    """The data directory of TRACKCC_DATA_DIR (default ``var``), absolute."""
    return DataLayout(Path(env.str("TRACKCC_DATA_DIR", "var")).resolve())


def database_url(env: Env) -> str | None:
    """DATABASE_URL when set (checked to be a PostgreSQL URL), else None: the embedded one."""
    if env.optional_str("DATABASE_URL") is None:
        return None
    return env.url("DATABASE_URL", ("postgresql", "postgres"))


@dataclass(frozen=True)
class Server:
    """A superuser DSN of the server, and the password the service roles get on it."""

    admin_url: str
    role_password: str | None


@contextlib.contextmanager
def existing_server(env: Env) -> Iterator[Server]:
    """The server of a stack that has run (never initialises an empty one next to it)."""
    layout = data_layout(env)
    database = open_database(layout, database_url(env), "", create=False)
    try:
        yield Server(database.admin_url, None)
    finally:
        database.stop()


@contextlib.contextmanager
def server_for_restore(env: Env) -> Iterator[Server]:
    """The server of TRACKCC_DATA_DIR, initialised if new, with the stack's role password.

    The password is the one ``make run`` will use on this data directory (made now if the
    directory is new), so the restored roles are the ones the stack logs in as.
    """
    layout = data_layout(env)
    layout.root.mkdir(parents=True, exist_ok=True)
    layout.keys.mkdir(mode=0o700, exist_ok=True)
    password = ensure_role_password(layout)
    database = open_database(layout, database_url(env), password, create=True)
    try:
        yield Server(database.admin_url, password)
    finally:
        database.stop()
