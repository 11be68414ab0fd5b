"""Faults for one container of a running stack: stop, kill, pause, restart, partition.

The hardening tests break one part and watch the rest. Each helper does one thing to one
container and returns when the engine has done it; waiting for the stack's answer to change
is the test's business (``wait_until``), never a fixed sleep.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from docker.models.containers import Container
from docker.models.networks import Network


def stop(container: Container, grace_seconds: int = 10) -> None:
    """SIGTERM (the image's stop signal), then SIGKILL after ``grace_seconds``, as kubelet does."""
    container.stop(timeout=grace_seconds)


def kill(container: Container) -> None:
    """SIGKILL at once: a crash, or a node lost."""
    container.kill()


def pause(container: Container) -> None:
    """Freezes every process (cgroup freezer): connections stay open, nothing answers."""
    container.pause()


def unpause(container: Container) -> None:
    container.unpause()


def restart(container: Container, grace_seconds: int = 10) -> None:
    """Stopped (gracefully) or not, the container runs again with the same name and volumes."""
    container.restart(timeout=grace_seconds)


def disconnect(container: Container, network: Network) -> None:
    """A partition: the container keeps running but no longer reaches, or is reached on,
    ``network``."""
    network.disconnect(container)


def reconnect(container: Container, network: Network, aliases: list[str]) -> None:
    """Ends a partition: back on ``network`` under the names the others use."""
    network.connect(container, aliases=aliases)


def exit_code(container: Container) -> int:
    container.reload()
    return int(container.attrs["State"]["ExitCode"])


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Polls ``condition`` until it holds; returns the seconds it took, or fails naming ``what``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout:g} s")
