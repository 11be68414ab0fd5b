"""The supervisor: forwards output, reports the child that died, and leaves no child behind."""

from __future__ import annotations

import asyncio
import io
import os
import sys
import time
from pathlib import Path

from services.localstack.supervisor import ChildSpec, Supervisor


def _python(code: str, name: str = "child") -> ChildSpec:
    return ChildSpec(name, (sys.executable, "-c", code), dict(os.environ))


def _log_has(path: Path, text: str) -> bool:
    return path.exists() and text in path.read_text()


async def _wait_for_line(path: Path, text: str) -> None:
    # Bounded (10 s): a child that never prints fails the test instead of hanging it.
    for _ in range(200):
        if _log_has(path, text):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in {path}")


async def test_a_dying_child_is_reported_by_name_with_its_status(tmp_path: Path) -> None:
    echo = io.StringIO()
    supervisor = Supervisor(tmp_path, echo=echo)
    await supervisor.start(_python("import time; time.sleep(30)", "sleeper"))
    await supervisor.start(_python("import sys; print('bad config'); sys.exit(3)", "broken"))

    dead = await asyncio.wait_for(supervisor.first_exit(), timeout=20)
    await supervisor.stop()

    assert dead.name == "broken"
    assert dead.describe_exit() == "exited with status 3"
    assert _log_has(tmp_path / "broken.log", "bad config\n")
    assert "broken   | bad config\n" in echo.getvalue()
    assert supervisor.running() == []


async def test_stop_sends_sigterm_first(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path, echo=None, stop_timeout=10)
    code = (
        "import signal, sys, time\n"
        "def on_term(*_):\n"
        "    print('got SIGTERM', flush=True)\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, on_term)\n"
        "print('ready', flush=True)\n"
        "time.sleep(30)\n"
    )
    child = await supervisor.start(_python(code, "polite"))
    await _wait_for_line(child.log_path, "ready")

    await supervisor.stop()

    assert child.process.returncode == 0
    assert _log_has(child.log_path, "got SIGTERM")


async def test_a_child_ignoring_sigterm_is_killed_after_the_timeout(tmp_path: Path) -> None:
    echo = io.StringIO()
    supervisor = Supervisor(tmp_path, echo=echo, stop_timeout=0.5)
    code = (
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(30)\n"
    )
    child = await supervisor.start(_python(code, "stubborn"))
    await _wait_for_line(child.log_path, "ready")

    started = time.monotonic()
    await supervisor.stop()

    assert time.monotonic() - started < 10
    assert child.describe_exit() == "was killed by SIGKILL"
    assert "stubborn did not stop within 0.5 s; killing it" in echo.getvalue()


async def test_a_child_stopped_on_purpose_is_no_death_and_starts_again(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path, echo=None, stop_timeout=10)
    await supervisor.start(_python("import time; time.sleep(30)", "steady"))
    await supervisor.start(_python("print('up', flush=True); import time; time.sleep(30)", "svc"))
    died = asyncio.ensure_future(supervisor.first_exit())
    try:
        stopped = await supervisor.stop_one("svc")
        assert stopped.describe_exit() == "was killed by SIGTERM"
        again = await supervisor.start_again("svc")
        assert again.process.pid != stopped.process.pid
        assert not died.done()
        # A death of the new child is still noticed: the watch follows the children.
        again.process.kill()
        dead = await asyncio.wait_for(died, timeout=20)
        assert dead is again
    finally:
        died.cancel()
        await supervisor.stop()
    assert supervisor.running() == []
