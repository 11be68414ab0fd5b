"""PostgreSQL for the local stack and the tests: the embedded server from PyPI ``pgserver``.

pgserver ships real PostgreSQL binaries in a wheel, so a fresh machine with only Python gets a
real database: no SQLite, no mock. It listens on a unix socket inside its data directory.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import tempfile
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


# A fast shutdown ends at once; a start replays the WAL since the last checkpoint.
PG_CTL_TIMEOUT_SECONDS = 60.0


class EmbeddedPostgres:
    """A pgserver instance whose data lives in ``directory`` (kept across restarts)."""

    def __init__(self, directory: Path) -> None:
        from pgserver import postgres_server

        directory.mkdir(parents=True, exist_ok=True)
        with postgres_server.PostgresServer._lock:
            _forget_dead_handles(directory / _HANDLES_FILE)
        self.data_dir = directory
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

    @property
    def running(self) -> bool:
        from pgserver.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self._server.pgdata)
        return info is not None and bool(info.is_running())

    def halt(self) -> None:
        """Stops the postmaster at once, as an operator's fast shutdown does: open sessions are
        cut off, their transactions rolled back; the server can be started again."""
        self._pg_ctl("-w", "-m", "fast", "stop")

    def resume(self) -> None:
        """Starts the postmaster again on the same socket, port and data after :meth:`halt`."""
        from pgserver.utils import PostmasterInfo

        options = f'-h "" -k {self.endpoint.host} -p {self.endpoint.port}'
        self._pg_ctl("-w", "-o", options, "-l", str(self._server.log), "start")
        # pgserver stops, at the end, the postmaster it knows: tell it about the new one.
        self._server._postmaster_info = PostmasterInfo.read_from_pgdata(self._server.pgdata)

    def _pg_ctl(self, *args: str) -> None:
        from pgserver._commands import POSTGRES_BIN_PATH

        # Output to a file, not a pipe: the postmaster pg_ctl starts would inherit a pipe and
        # keep it open, and reading it would never end.
        with tempfile.TemporaryFile() as output:
            completed = subprocess.run(  # noqa: S603 - our own arguments, no shell
                [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self._server.pgdata), *args],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                user=self._server.system_user,
                timeout=PG_CTL_TIMEOUT_SECONDS,
                check=False,
            )
            if completed.returncode != 0:
                output.seek(0)
                said = output.read().decode(errors="replace").strip()
                raise RuntimeError(f"pg_ctl {args[-1]} failed ({completed.returncode}): {said}")


class PostgresSwitch:
    """The embedded server as the control socket stops and starts it, off the event loop."""

    def __init__(self, server: EmbeddedPostgres) -> None:
        self._server = server

    @property
    def running(self) -> bool:
        return self._server.running

    async def stop(self) -> None:
        await asyncio.to_thread(self._server.halt)

    async def start(self) -> None:
        await asyncio.to_thread(self._server.resume)
