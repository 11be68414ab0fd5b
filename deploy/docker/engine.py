"""Whether a Docker engine answers here, and why not when it does not."""

from __future__ import annotations

import os
from pathlib import Path

import docker


def connect() -> tuple[docker.DockerClient | None, str]:
    """A client of the engine that answers a ping, or None and the reason in a few words."""
    if not os.environ.get("DOCKER_HOST") and not Path("/var/run/docker.sock").exists():
        return None, "no Docker engine: neither DOCKER_HOST nor /var/run/docker.sock"
    try:
        client = docker.from_env(timeout=10)
        client.ping()
    except Exception as error:  # noqa: BLE001 - whatever fails, the engine does not answer
        return None, f"the Docker engine does not answer ({type(error).__name__})"
    return client, "a Docker engine answers"
