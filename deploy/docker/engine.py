"""Whether a Docker engine answers here, and why not when it does not."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from urllib.parse import urlsplit

import docker

# A fixed API version (Docker 20.10's, which every later engine still serves): "auto" would
# ask the engine inside the client's constructor.
API_VERSION = "1.41"
_DEFAULT_HOST = "unix:///var/run/docker.sock"


def _unreachable(host: str) -> str | None:
    """Why the engine's socket does not accept a connection, or None when it does.

    Checked with a plain socket first: docker-py leaves its own socket open when the
    connection fails, which the tests' strict warnings would report.
    """
    parts = urlsplit(host)
    try:
        if parts.scheme == "unix":
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.settimeout(5)
                probe.connect(parts.path)
        elif parts.scheme in ("tcp", "http", "https") and parts.hostname:
            socket.create_connection((parts.hostname, parts.port or 2375), timeout=5).close()
    except OSError as error:
        return f"no Docker engine at {host} ({error.strerror or type(error).__name__})"
    return None


def connect(
    environ: Mapping[str, str] = os.environ,
) -> tuple[docker.DockerClient | None, str]:
    """A client of the engine that answers a ping, or None and the reason in a few words."""
    host = environ.get("DOCKER_HOST") or _DEFAULT_HOST
    reason = _unreachable(host)
    if reason is not None:
        return None, reason
    try:
        # from_env also reads DOCKER_TLS_VERIFY and DOCKER_CERT_PATH for a remote engine.
        client = docker.from_env(version=API_VERSION, timeout=10, environment=dict(environ))
    except Exception as error:  # noqa: BLE001 - whatever fails, the engine does not answer
        return None, f"the Docker engine does not answer ({type(error).__name__})"
    try:
        client.ping()
    except Exception as error:  # noqa: BLE001
        client.close()
        return None, f"the Docker engine does not answer ({type(error).__name__})"
    return client, "a Docker engine answers"
