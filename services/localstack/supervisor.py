"""Runs child processes, forwards their output, notices when one dies, and stops them all.

Each child gets its own session, so Ctrl-C reaches only the supervisor, which then stops the
children itself (SIGTERM, then SIGKILL after a timeout) instead of every process racing its
own shutdown. Output goes to ``<log dir>/<name>.log`` and, prefixed with the name, to our
standard error.

A child that dies unasked stops the whole stack (``first_exit``); one stopped on purpose
(``stop_one``, from ``services/localstack/control.py``) does not, and ``start_again`` runs it
anew with the same command and environment, so on the same ports.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

# Service log lines are JSON and can be long (an exception with its traceback); the default
# 64 KiB line limit of asyncio streams would cut them.
_LINE_LIMIT = 1024 * 1024


@dataclass(frozen=True)
class ChildSpec:
    """What to run, under which name, with which environment."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str]


@dataclass
class Child:
    """A started child."""

    spec: ChildSpec
    process: asyncio.subprocess.Process
    exited: asyncio.Task[int]
    pump: asyncio.Task[None]
    log_path: Path
    # Set before the signal of stop_one, so that its exit is not taken for a death.
    stopped_on_purpose: bool = False

    @property
    def name(self) -> str:
        return self.spec.name

    def describe_exit(self) -> str:
        code = self.process.returncode
        if code is None:
            return "is running"
        if code < 0:
            return f"was killed by {signal.Signals(-code).name}"
        return f"exited with status {code}"


class Supervisor:
    """Owns the children; ``stop`` leaves none behind."""

    def __init__(
        self, log_dir: Path, *, echo: TextIO | None = None, stop_timeout: float = 20.0
    ) -> None:
        self._log_dir = log_dir
        self._echo = echo
        self._stop_timeout = stop_timeout
        # Every child ever started, in order; a component started again appears twice.
        self.children: list[Child] = []
        self._width = 8
        self._changed = asyncio.Event()

    async def start(self, spec: ChildSpec) -> Child:
        """Starts one child; its output is forwarded until it closes."""
        self._log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self._log_dir / f"{spec.name}.log"
        process = await asyncio.create_subprocess_exec(
            *spec.argv,
            env=dict(spec.env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            limit=_LINE_LIMIT,
        )
        self._width = max(self._width, len(spec.name))
        assert process.stdout is not None
        child = Child(
            spec=spec,
            process=process,
            exited=asyncio.create_task(process.wait(), name=f"wait-{spec.name}"),
            pump=asyncio.create_task(
                self._forward(spec.name, process.stdout, log_path), name=f"log-{spec.name}"
            ),
            log_path=log_path,
        )
        self.children.append(child)
        self._changed.set()
        return child

    async def _forward(self, name: str, stream: asyncio.StreamReader, log_path: Path) -> None:
        with log_path.open("ab", buffering=0) as log:
            while True:
                try:
                    line = await stream.readline()
                except ValueError:  # a line longer than the limit: pass it on in pieces
                    line = await stream.read(_LINE_LIMIT)
                if not line:
                    return
                log.write(line)
                if self._echo is not None:
                    text = line.decode("utf-8", errors="replace").rstrip("\n")
                    try:
                        self._echo.write(f"{name:<{self._width}} | {text}\n")
                        self._echo.flush()
                    except (OSError, ValueError):
                        # Our terminal or pipe went away; the log file still gets every line,
                        # and the child must keep being drained or it would block on writes.
                        self._echo = None

    async def first_exit(self) -> Child:
        """Waits until a child exits that was not stopped on purpose, and returns it."""
        while True:
            # Children come and go (stop_one, start_again): look again whenever they do.
            watched = {c.exited: c for c in self.children if not c.stopped_on_purpose}
            changed = asyncio.ensure_future(self._changed.wait())
            try:
                done, _ = await asyncio.wait(
                    {*watched, changed}, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                changed.cancel()
            self._changed.clear()
            for task in done:
                child = watched.get(task)
                if child is not None and not child.stopped_on_purpose:
                    return child

    def running(self) -> list[Child]:
        return [child for child in self.children if child.process.returncode is None]

    def current(self, name: str) -> Child:
        """The latest child started under ``name``."""
        for child in reversed(self.children):
            if child.name == name:
                return child
        raise KeyError(name)

    async def stop_one(self, name: str, sig: signal.Signals = signal.SIGTERM) -> Child:
        """Stops one running child on purpose (``sig``, then SIGKILL after the timeout); the
        others, and the stack, keep running."""
        child = self.current(name)
        if child.process.returncode is not None:
            raise ValueError(f"{name} is not running")
        child.stopped_on_purpose = True
        self._changed.set()
        _signal_group(child.process.pid, sig)
        try:
            await asyncio.wait_for(asyncio.shield(child.exited), self._stop_timeout)
        except TimeoutError:
            _signal_group(child.process.pid, signal.SIGKILL)
            await child.exited
        return child

    async def start_again(self, name: str) -> Child:
        """Starts a stopped child anew, with the same command and environment."""
        child = self.current(name)
        if child.process.returncode is None:
            raise ValueError(f"{name} is running")
        return await self.start(child.spec)

    async def stop(self) -> None:
        """SIGTERM to every running child, SIGKILL to those still there after the timeout."""
        for child in self.running():
            _signal_group(child.process.pid, signal.SIGTERM)
        waits = [child.exited for child in self.children]
        if waits:
            _, pending = await asyncio.wait(waits, timeout=self._stop_timeout)
            if pending:
                for child in self.running():
                    if self._echo is not None:
                        self._echo.write(
                            f"trackcc: {child.name} did not stop within "
                            f"{self._stop_timeout:g} s; killing it\n"
                        )
                    _signal_group(child.process.pid, signal.SIGKILL)
                await asyncio.wait(waits)
        # Whatever is left in the pipes is still worth reading: it explains the exit.
        pumps = [child.pump for child in self.children]
        if pumps:
            await asyncio.wait(pumps, timeout=5)
        for pump in pumps:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Runs in the child between fork and exec. The children have sessions of their own, so
    # if the supervisor itself is killed (SIGKILL, OOM) nothing else would ever stop them;
    # the kernel sends them SIGTERM instead, which they handle as a normal shutdown.
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    # The child leads its own process group, so this reaches anything it started as well.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def python_module(module: str, *args: str) -> tuple[str, ...]:
    """argv running ``python -m module`` with this interpreter (the project's venv)."""
    return (sys.executable, "-m", module, *args)
