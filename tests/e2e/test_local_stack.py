"""``make run`` end to end: the stack as a user starts it, used over HTTPS, stopped, restarted.

The stack runs exactly as ``make run`` runs it (``python -m services.localstack``) in a fresh
data directory; the test talks to it only as a client would, trusting the stack's own CA.
"""

from __future__ import annotations

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
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple 42!"
# The first start runs initdb and every migration; a loaded CI machine is slow at both.
READY_TIMEOUT_SECONDS = 180.0
STOP_TIMEOUT_SECONDS = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Short on purpose: PostgreSQL's unix socket lives under it, and socket paths are limited.
    path = Path(tempfile.mkdtemp(prefix="tcc"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _stack_env(
    data_dir: Path, https_port: int, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        {
            "TRACKCC_DATA_DIR": str(data_dir),
            "TRACKCC_HTTPS_PORT": str(https_port),
            "TRACKCC_METRICS_PORT": str(_free_port()),
        }
    )
    env.update(extra or {})
    return env


@dataclass
class RunningStack:
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

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        token: str | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        context = ssl.create_default_context(cafile=str(self.data_dir / "tls" / "ca.pem"))
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(
            self.base_url + path, data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, context=context, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

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
def running_stack(data_dir: Path, log_name: str) -> Iterator[RunningStack]:
    port = _free_port()
    output = data_dir.parent / f"{data_dir.name}-{log_name}.out"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.localstack"],
            cwd=REPO,
            env=_stack_env(data_dir, port),
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


def _assert_nothing_left(data_dir: Path) -> None:
    # Exited processes can take a moment to be reaped by init; bounded, not a blind sleep.
    deadline = time.monotonic() + 15
    left = _processes_of(data_dir)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = _processes_of(data_dir)
    assert left == []


def _sign_in(stack: RunningStack, email: str) -> str:
    status, _, body = stack.request("POST", "/v1/sessions", {"email": email, "password": PASSWORD})
    assert status == 200, body
    session = json.loads(body)
    assert session["token_type"] == "Bearer"
    assert session["account"]["email"] == email
    return str(session["access_token"])


def test_the_stack_serves_stops_cleanly_and_keeps_data_across_restarts(data_dir: Path) -> None:
    email = f"e2e-{uuid.uuid4().hex[:10]}@example.com"

    with running_stack(data_dir, "first") as stack:
        status, headers, body = stack.request(
            "POST", "/v1/accounts", {"email": email, "password": PASSWORD, "role": "teacher"}
        )
        assert status == 201, body
        assert json.loads(body)["email"] == email
        assert "max-age=" in headers.get("Strict-Transport-Security", "")

        token = _sign_in(stack, email)
        status, _, body = stack.request("GET", "/v1/me", token=token)
        assert status == 200, body
        assert json.loads(body)["email"] == email

        status, _, body = stack.request("GET", "/robots.txt")
        assert status == 200
        assert "User-agent: *" in body.decode() and "Disallow: /" in body.decode()

        status, _, _ = stack.request("GET", "/v1/me")
        assert status == 401

        assert stack.stop() == 0
    _assert_nothing_left(data_dir)
    assert (data_dir / "tls" / "ca.pem").is_file()
    assert (data_dir / "pg" / "PG_VERSION").is_file()

    with running_stack(data_dir, "second") as stack:
        token = _sign_in(stack, email)
        status, _, body = stack.request("GET", "/v1/me", token=token)
        assert status == 200, body
        assert json.loads(body)["email"] == email
        assert stack.stop() == 0
    _assert_nothing_left(data_dir)


def _run_to_exit(data_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.localstack"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_busy_https_port_stops_with_one_line_before_starting_anything(data_dir: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = int(listener.getsockname()[1])

        result = _run_to_exit(data_dir, _stack_env(data_dir, port))

    assert result.returncode != 0
    assert result.stderr.splitlines() == [f"trackcc: port {port} is in use; set TRACKCC_HTTPS_PORT"]
    assert list(data_dir.iterdir()) == []  # no database, certificate or key was made


def test_a_bad_environment_value_stops_naming_the_variable(data_dir: Path) -> None:
    env = _stack_env(data_dir, _free_port(), {"TRACKCC_HTTPS_PORT": "abc"})

    result = _run_to_exit(data_dir, env)

    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "TRACKCC_HTTPS_PORT" in lines[0] and "'abc'" in lines[0]
    assert "Traceback" not in result.stderr
    assert list(data_dir.iterdir()) == []
