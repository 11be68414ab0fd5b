"""The control socket: one component stopped and started on purpose, the others untouched."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.localstack.control import control_socket, request
from services.localstack.supervisor import ChildSpec, Supervisor


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[tuple[Supervisor, Path]]:
    supervisor = Supervisor(tmp_path, echo=None, stop_timeout=10)
    for name in ("roster", "sharing"):
        code = "import time; time.sleep(60)"
        await supervisor.start(ChildSpec(name, (sys.executable, "-c", code), dict(os.environ)))
    # Short: AF_UNIX paths are limited, and pytest's tmp_path can be long.
    with tempfile.TemporaryDirectory(prefix="tcc") as folder:
        path = Path(folder) / "control.sock"
        async with control_socket(path, supervisor, ["roster", "sharing"]):
            yield supervisor, path
    await supervisor.stop()


async def test_stop_and_start_one_component(running: tuple[Supervisor, Path]) -> None:
    supervisor, path = running
    died = asyncio.ensure_future(supervisor.first_exit())
    try:
        answer = await asyncio.to_thread(request, path, "stop roster")
        assert answer == f"ok roster {-15}"  # SIGTERM
        assert [c.name for c in supervisor.running()] == ["sharing"]
        answer = await asyncio.to_thread(request, path, "start roster")
        assert answer.startswith("ok roster pid ")
        assert sorted(c.name for c in supervisor.running()) == ["roster", "sharing"]
        assert not died.done()
    finally:
        died.cancel()
    assert os.stat(path).st_mode & 0o777 == 0o600


async def test_unknown_commands_and_states_are_refused(running: tuple[Supervisor, Path]) -> None:
    _, path = running
    assert (await asyncio.to_thread(request, path, "stop postgres")).startswith("error usage")
    assert (await asyncio.to_thread(request, path, "start roster")) == "error roster is running"


class FakeServer:
    """A server of the stack's own (the SMTP sink, PostgreSQL), with what was done to it."""

    def __init__(self) -> None:
        self.running = True
        self.steps: list[str] = []

    async def stop(self) -> None:
        self.steps.append("stop")
        self.running = False

    async def start(self) -> None:
        self.steps.append("start")
        self.running = True


async def test_a_server_of_the_stack_is_stopped_started_and_restarted(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path, echo=None, stop_timeout=10)
    server = FakeServer()
    with tempfile.TemporaryDirectory(prefix="tcc") as folder:
        path = Path(folder) / "control.sock"
        async with control_socket(path, supervisor, [], {"smtp": server}):
            answers = [
                await asyncio.to_thread(request, path, command)
                for command in (
                    "stop smtp",
                    "stop smtp",
                    "start smtp",
                    "start smtp",
                    "restart smtp",
                    "kill smtp",
                )
            ]
    assert answers == [
        "ok smtp stopped",
        "error smtp is not running",
        "ok smtp started",
        "error smtp is running",
        "ok smtp started",
        "error smtp cannot be killed from here",
    ]
    assert server.steps == ["stop", "start", "stop", "start"]
