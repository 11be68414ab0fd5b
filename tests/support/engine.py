"""The Docker engine of a test run: answered or not, and the images built here for it.

Decided once per run: where an engine answers, PostgreSQL runs in the project's own
container image and the container tests run; elsewhere the embedded pgserver serves, and the
container tests report themselves as not run, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import docker

from deploy.docker.engine import connect
from deploy.docker.images import Images, TextSink, ensure_images

# On every container a test starts, so that a run killed half-way can be cleaned up by hand:
#   docker rm -f $(docker ps -aq --filter label=org.trackcc.test)
TEST_LABELS = {"org.trackcc.test": "1"}


@dataclass
class ContainerEngine:
    """An engine that answers, with the images of this checkout built (or found cached)."""

    client: docker.DockerClient
    images: Images


@dataclass(frozen=True)
class NoEngine:
    """Why there is no engine for this run, in a few words."""

    reason: str


def open_engine(out: TextSink) -> ContainerEngine | NoEngine:
    """Connects and builds what is missing (prints sizes and the build time to ``out``)."""
    client, reason = connect()
    if client is None:
        return NoEngine(reason)
    return ContainerEngine(client, ensure_images(client, out=out))


def describe_backend() -> str:
    """One line for the start of the run: which PostgreSQL the tests use."""
    client, reason = connect()
    if client is None:
        return f"PostgreSQL: embedded pgserver ({reason}; the container tests will not run)"
    client.close()
    return "PostgreSQL: the trackcc-postgres container image built here (a Docker engine answers)"
