"""Finding the Docker engine: a missing one is a reason in one line, never a crash."""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path

from deploy.docker.engine import connect


def test_no_engine_at_the_socket_gives_the_reason(tmp_path: Path) -> None:
    host = f"unix://{tmp_path}/docker.sock"
    client, reason = connect({"DOCKER_HOST": host})
    assert client is None
    assert reason == f"no Docker engine at {host} (No such file or directory)"


def test_a_socket_that_is_not_an_engine_does_not_answer(tmp_path: Path) -> None:
    path = tmp_path / "not-docker.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen()

        def hang_up() -> None:
            # Something listens, but it is no engine: every connection is closed unanswered.
            with contextlib.suppress(OSError):
                while True:
                    connection, _ = server.accept()
                    connection.close()

        threading.Thread(target=hang_up, daemon=True).start()
        client, reason = connect({"DOCKER_HOST": f"unix://{path}"})
        server.shutdown(socket.SHUT_RDWR)
    assert client is None
    assert reason.startswith("the Docker engine does not answer")
