"""The whole local stack as ``make run`` starts it, in a throw-away data directory.

``python -m services.localstack`` runs as a subprocess, so PostgreSQL, auth, roster, sharing
and the gateway each run in their own processes, configured by the same components.py as a
developer's stack: the figures are those of the real wiring, not of an in-process shortcut.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil

from services.common.devcerts import DevPki
from services.common.tls import GrpcTarget
from services.localstack.database import LocalDatabase, open_database
from services.localstack.layout import DataLayout

REPO = Path(__file__).resolve().parents[1]
READY_TIMEOUT_SECONDS = 180.0
STOP_TIMEOUT_SECONDS = 60.0
COMPONENTS = ("auth", "roster", "sharing", "gateway")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BenchStack:
    """A running stack and everything a bench needs to reach it."""

    process: subprocess.Popen[bytes]
    data_dir: Path
    port: int
    output: Path
    _database: LocalDatabase | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return f"https://localhost:{self.port}"

    @property
    def layout(self) -> DataLayout:
        return DataLayout(self.data_dir)

    @property
    def pki(self) -> DevPki:
        return DevPki(self.layout.tls)

    def ssl_context(self) -> ssl.SSLContext:
        """Trusts only the stack's CA and checks the host name, as a real client does."""
        return ssl.create_default_context(cafile=str(self.layout.ca))

    def tail(self) -> str:
        return self.output.read_text(errors="replace")[-3000:]

    def component(self, name: str) -> psutil.Process:
        """The process of ``services.<name>`` (a child of the stack's supervisor)."""
        wanted = f"services.{name}"
        for child in psutil.Process(self.process.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if wanted in child.cmdline():
                    return child
        raise RuntimeError(f"{wanted} is not running under the stack")

    def grpc_target(self, service: str) -> GrpcTarget:
        """Where a service answers on loopback, and its name (what its leaf certificate
        names)."""
        # Newer stacks write their ports to <data dir>/run/ports.json; older ones only hand
        # them to the child in its environment, which psutil can read (same user).
        ports_file = self.data_dir / "run" / "ports.json"
        if ports_file.is_file():
            port = int(json.loads(ports_file.read_text())["grpc"][service])
        else:
            listen = self.component(service).environ()[f"TRACKCC_{service.upper()}_LISTEN"]
            port = int(listen.rpartition(":")[2])
        return GrpcTarget(f"127.0.0.1:{port}", service)

    def database(self) -> LocalDatabase:
        """Joins the stack's embedded PostgreSQL (pgserver counts us as one more user)."""
        if self._database is None:
            password = self.layout.role_password.read_text().strip()
            self._database = open_database(self.layout, None, password, create=False)
        return self._database

    def owner_dsn(self, service: str) -> str:
        """The schema owner's DSN: bulk seeding writes as the role that owns the tables."""
        return self.database().owner_dsn(service)

    def release_database(self) -> None:
        if self._database is not None:
            self._database.stop()  # only leaves: the stack still uses the server
            self._database = None


async def _ready(stack: BenchStack) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    timeout = aiohttp.ClientTimeout(total=3)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        while time.monotonic() < deadline:
            if stack.process.poll() is not None:
                raise RuntimeError(f"the stack exited early:\n{stack.tail()}")
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                async with http.get(
                    f"{stack.base_url}/readyz", ssl=stack.ssl_context()
                ) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.5)
    raise RuntimeError(f"the stack was not ready within {READY_TIMEOUT_SECONDS:g} s")


def _stop(stack: BenchStack) -> None:
    stack.release_database()
    if stack.process.poll() is None:
        # SIGTERM to the supervisor only: it stops its children and PostgreSQL itself.
        stack.process.send_signal(signal.SIGTERM)
        try:
            stack.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            stack.process.kill()
            stack.process.wait(timeout=10)


def _spawn(env: dict[str, str], output: Path) -> subprocess.Popen[bytes]:
    with output.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "services.localstack"],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


@contextlib.asynccontextmanager
async def running_stack(extra_env: dict[str, str] | None = None) -> AsyncIterator[BenchStack]:
    """Starts the stack in a fresh temporary data directory; stops it and deletes the data."""
    # Short path on purpose: PostgreSQL's unix socket lives under it, and socket paths are
    # limited to about 100 characters.
    data_dir = Path(tempfile.mkdtemp(prefix="tccb"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        {
            "TRACKCC_DATA_DIR": str(data_dir),
            "TRACKCC_HTTPS_PORT": str(port),
            "TRACKCC_METRICS_PORT": str(free_port()),
            # Every bench client comes from 127.0.0.1, so the per-address limit (30/min by
            # default) would measure the rate limiter, not the service.
            "TRACKCC_RATE_LIMIT_PER_MINUTE": "10000000",
            # The local supervisor re-writes every child log line to its own stderr and a
            # file, work that production's log shipping does elsewhere; per-request INFO
            # lines would charge that to the stack.
            "TRACKCC_LOG_LEVEL": "WARNING",
        }
    )
    env.update(extra_env or {})
    output = data_dir.parent / f"{data_dir.name}-stack.out"
    process = await asyncio.to_thread(_spawn, env, output)
    stack = BenchStack(process, data_dir, port, output)
    try:
        await _ready(stack)
        yield stack
    finally:
        await asyncio.to_thread(_stop, stack)
        output.unlink(missing_ok=True)
        shutil.rmtree(data_dir, ignore_errors=True)
