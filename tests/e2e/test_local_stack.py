"""``make run`` end to end: the stack as a user starts it, used over HTTPS, stopped, restarted.

The stack runs exactly as ``make run`` runs it (``python -m services.localstack``) in a fresh
data directory; the test talks to it only as a client would, trusting the stack's own CA.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.stack import (
    PASSWORD,
    REPO,
    assert_nothing_left,
    running_stack,
    sign_in,
    stack_env,
    temporary_data_dir,
)
from tests.support.ports import free_port

pytestmark = pytest.mark.e2e


@pytest.fixture
def data_dir() -> Iterator[Path]:
    with temporary_data_dir() as path:
        yield path


def test_the_stack_serves_stops_cleanly_and_keeps_data_across_restarts(data_dir: Path) -> None:
    email = f"e2e-{uuid.uuid4().hex[:10]}@example.com"

    with running_stack(data_dir, "first") as stack:
        status, headers, body = stack.request(
            "POST", "/v1/accounts", {"email": email, "password": PASSWORD, "role": "teacher"}
        )
        assert status == 201, body
        assert json.loads(body)["email"] == email
        assert "max-age=" in headers.get("Strict-Transport-Security", "")

        token = sign_in(stack, email)
        status, _, body = stack.request("GET", "/v1/me", token=token)
        assert status == 200, body
        assert json.loads(body)["email"] == email

        status, _, body = stack.request("GET", "/robots.txt")
        assert status == 200
        assert "User-agent: *" in body.decode() and "Disallow: /" in body.decode()

        status, _, _ = stack.request("GET", "/v1/me")
        assert status == 401

        assert stack.stop() == 0
    assert_nothing_left(data_dir)
    assert (data_dir / "tls" / "ca.pem").is_file()
    assert (data_dir / "pg" / "PG_VERSION").is_file()

    with running_stack(data_dir, "second") as stack:
        token = sign_in(stack, email)
        status, _, body = stack.request("GET", "/v1/me", token=token)
        assert status == 200, body
        assert json.loads(body)["email"] == email
        assert stack.stop() == 0
    assert_nothing_left(data_dir)


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

        result = _run_to_exit(data_dir, stack_env(data_dir, port))

    assert result.returncode != 0
    assert result.stderr.splitlines() == [f"trackcc: port {port} is in use; set TRACKCC_HTTPS_PORT"]
    assert list(data_dir.iterdir()) == []  # no database, certificate or key was made


def test_a_bad_environment_value_stops_naming_the_variable(data_dir: Path) -> None:
    env = stack_env(data_dir, free_port(), {"TRACKCC_HTTPS_PORT": "abc"})

    result = _run_to_exit(data_dir, env)

    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "TRACKCC_HTTPS_PORT" in lines[0] and "'abc'" in lines[0]
    assert "Traceback" not in result.stderr
    assert list(data_dir.iterdir()) == []
