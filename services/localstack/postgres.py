"""PostgreSQL for the local stack and the tests: the embedded server from PyPI ``pgserver``.

pgserver ships real PostgreSQL binaries in a wheel, so a fresh machine with only Python gets a
real database: no SQLite, no mock. It listens on a unix socket inside its data directory.
"""

from __future__ import annotations

import logging
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


class EmbeddedPostgres:
    """A pgserver instance whose data lives in ``directory`` (kept across restarts)."""

    def __init__(self, directory: Path) -> None:
        from pgserver import postgres_server

        directory.mkdir(parents=True, exist_ok=True)
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
