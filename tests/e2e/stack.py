"""The local stack as a user starts it (``python -m services.localstack``), for e2e tests.

It runs in its own data directory on free ports; tests talk to it only as a client would,
trusting the stack's own CA, and find its internal ports in ``<data dir>/run/ports.json``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.support.ports import free_port

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple 42!"
# The first start runs initdb and every migration; a loaded CI machine is slow at both.
READY_TIMEOUT_SECONDS = 180.0
STOP_TIMEOUT_SECONDS = 60.0

Response = tuple[int, dict[str, str], bytes]


class HttpsClient:
    """Calls a stack's gateway as a client does, trusting only the stack's own CA."""

    data_dir: Path  # holds tls/ca.pem

    @property
    def base_url(self) -> str:
        raise NotImplementedError

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        token: str | None = None,
        *,
        raw: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """One HTTPS call; ``body`` is sent as JSON, ``raw`` as is (with its own headers)."""
        context = ssl.create_default_context(cafile=str(self.data_dir / "tls" / "ca.pem"))
        sent = {"Accept": "application/json"}
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        sent.update(headers or {})
        request = urllib.request.Request(
            self.base_url + path, data=data, headers=sent, method=method
        )
        try:
            with urllib.request.urlopen(request, context=context, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()


@contextlib.contextmanager
def temporary_data_dir() -> Iterator[Path]:
    # Short on purpose: PostgreSQL's unix socket lives under it, and socket paths are limited.
    path = Path(tempfile.mkdtemp(prefix="tcc"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def stack_env(
    data_dir: Path, https_port: int, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        {
            "TRACKCC_DATA_DIR": str(data_dir),
            "TRACKCC_HTTPS_PORT": str(https_port),
            "TRACKCC_METRICS_PORT": str(free_port()),
        }
    )
    env.update(extra or {})
    return env


@dataclass
class RunningStack(HttpsClient):
    """One ``python -m services.localstack`` process and how to reach it."""

    process: subprocess.Popen[bytes]
    data_dir: Path
    port: int
    output: Path

    @property
    def base_url(self) -> str:
        return f"https://localhost:{self.port}"

    def tail(self) -> str:
        return self.output.read_text(errors="replace")[-4000:]

    def ports(self) -> dict[str, Any]:
        """The stack's ``run/ports.json``: gRPC and metrics ports of every process."""
        document: dict[str, Any] = json.loads((self.data_dir / "run" / "ports.json").read_text())
        return document

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the stack exited with {self.process.returncode}:\n{self.tail()}")
            with contextlib.suppress(OSError):
                if self.request("GET", "/readyz")[0] == 200:
                    return
            time.sleep(0.5)
        pytest.fail(f"not ready within {READY_TIMEOUT_SECONDS} s:\n{self.tail()}")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            pytest.fail(f"the stack did not stop within {STOP_TIMEOUT_SECONDS} s:\n{self.tail()}")


@contextlib.contextmanager
def running_stack(
    data_dir: Path, log_name: str, extra_env: Mapping[str, str] | None = None
) -> Iterator[RunningStack]:
    port = free_port()
    output = data_dir.parent / f"{data_dir.name}-{log_name}.out"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.localstack"],
            cwd=REPO,
            env=stack_env(data_dir, port, extra_env),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    stack = RunningStack(process, data_dir, port, output)
    try:
        stack.wait_until_ready()
        yield stack
    finally:
        if process.poll() is None:  # a failed assertion must not leave the stack running
            stack.stop()
        output.unlink(missing_ok=True)


def _processes_of(data_dir: Path) -> list[str]:
    """Live processes that belong to this stack: started with its data directory in their
    environment (every child inherits it), on their command line (postgres -D) or as their
    working directory (postgres and its workers)."""
    marker = str(data_dir)
    found = []
    for proc in psutil.process_iter(["pid", "name", "cmdline", "status"]):
        if proc.pid == os.getpid() or proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        try:
            mine = (
                marker in " ".join(proc.info["cmdline"] or ())
                or proc.cwd().startswith(marker)
                or proc.environ().get("TRACKCC_DATA_DIR") == marker
            )
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        if mine:
            found.append(f"{proc.pid} {proc.info['name']} {' '.join(proc.info['cmdline'] or ())}")
    return found


def assert_nothing_left(data_dir: Path) -> None:
    # Exited processes can take a moment to be reaped by init; bounded, not a blind sleep.
    deadline = time.monotonic() + 15
    left = _processes_of(data_dir)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = _processes_of(data_dir)
    assert left == []


def sign_up(stack: RunningStack, email: str) -> dict[str, Any]:
    status, _, body = stack.request(
        "POST", "/v1/accounts", {"email": email, "password": PASSWORD, "role": "teacher"}
    )
    assert status == 201, body
    account: dict[str, Any] = json.loads(body)
    return account


def sign_in(stack: RunningStack, email: str) -> str:
    status, _, body = stack.request("POST", "/v1/sessions", {"email": email, "password": PASSWORD})
    assert status == 200, body
    session = json.loads(body)
    assert session["token_type"] == "Bearer"
    assert session["account"]["email"] == email
    return str(session["access_token"])
