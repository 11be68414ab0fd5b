"""PostgreSQL for the local stack and the tests: the embedded server from PyPI ``pgserver``.

pgserver ships real PostgreSQL binaries in a wheel, so a fresh machine with only Python gets a
real database: no SQLite, no mock. It listens on a unix socket inside its data directory.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PostgresEndpoint:
    """How to reach a PostgreSQL server as a given role and database."""

    host: str
    port: int
    admin_user: str
    admin_password: str | None

    def dsn(self, database: str, user: str | None = None, password: str | None = None) -> str:
        """A libpq URL; a host starting with ``/`` is a unix socket directory."""
        role = urllib.parse.quote(user or self.admin_user)
        secret = password if user else self.admin_password
        auth = role + (f":{urllib.parse.quote(secret)}" if secret else "")
        db = urllib.parse.quote(database)
        if self.host.startswith("/"):
            socket = urllib.parse.quote(self.host)
            return f"postgresql://{auth}@/{db}?host={socket}&port={self.port}"
        return f"postgresql://{auth}@{self.host}:{self.port}/{db}"


# pgserver counts the processes using a data directory in this file and stops the server only
# when the last one leaves. A process killed with SIGKILL never leaves, and then no later run
# would ever stop the server, so dead ids are dropped before each start.
_HANDLES_FILE = ".handle_pids.json"


def _forget_dead_handles(path: Path) -> None:
    if not path.exists():
        return
    try:
        pids = [int(pid) for pid in json.loads(path.read_text())]
    except (ValueError, TypeError, OSError):
        pids = []
    path.write_text(json.dumps([pid for pid in pids if _alive(pid)]))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0 checks existence without touching the process
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EmbeddedPostgres:
    """A pgserver instance whose data lives in ``directory`` (kept across restarts)."""

    def __init__(self, directory: Path) -> None:
        from pgserver import postgres_server

        directory.mkdir(parents=True, exist_ok=True)
        with postgres_server.PostgresServer._lock:
            _forget_dead_handles(directory / _HANDLES_FILE)
        self._server: Any = postgres_server.get_server(directory, cleanup_mode="stop")
        info = self._server.get_postmaster_info()
        self.endpoint = PostgresEndpoint(
            host=str(info.socket_dir),
            port=int(info.port or 5432),
            admin_user="postgres",
            admin_password=None,
        )

    def stop(self) -> None:
        """Stops the server (its data stays)."""
        self._server.cleanup()
