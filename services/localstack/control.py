"""Stopping and starting one component of a running local stack on purpose.

The supervisor stops everything when a component dies (``supervisor.first_exit``); a stop
asked for here is not a death, so the rest keeps running until the component is started
again, on the same ports. The stack listens on ``<data dir>/run/control.sock`` (a Unix socket,
only its owner may connect) for one command per connection, and answers one line:

    stop NAME      SIGTERM, as kubelet stops a pod; answers once it has exited
    kill NAME      SIGKILL: a crash
    start NAME     starts it again (answers at once; readiness is the caller's to await)
    restart NAME   stop, then start: a developer's code change, without restarting the stack

The stack's own servers answer too, with no exit status to give:

    restart postgres   a real stop (fast: clients cut off) and start of the embedded
                       PostgreSQL, same port and data; the services are not restarted
    stop smtp          closes the SMTP sink's port: mail waits in the outboxes
    start smtp         listens again on the same port

The fault tests (tests/e2e/fault_stacks.py) use it, as does a developer at a terminal:

    python -m services.localstack.control restart roster
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Collection, Mapping
from pathlib import Path
from typing import Protocol

from services.localstack.supervisor import Child, Supervisor

logger = logging.getLogger("services.localstack")

COMMANDS = ("stop", "kill", "start", "restart")
# A stop waits for the supervisor's own timeout (SIGTERM, then SIGKILL after 20 s).
REPLY_TIMEOUT_SECONDS = 60.0


class Switchable(Protocol):
    """A server the stack runs itself, not as a supervised child (the SMTP sink, PostgreSQL)."""

    @property
    def running(self) -> bool: ...

    async def stop(self) -> None: ...

    async def start(self) -> None: ...


def _exit_code(child: Child) -> int:
    code = child.process.returncode
    assert code is not None
    return code


async def _switch(server: Switchable, command: str, name: str) -> str:
    if command == "kill":
        raise ValueError(f"{name} cannot be killed from here")
    if command in ("stop", "restart"):
        if not server.running:
            raise ValueError(f"{name} is not running")
        await _reported(server.stop(), name)
        if command == "stop":
            return f"ok {name} stopped"
    elif server.running:
        raise ValueError(f"{name} is running")
    await _reported(server.start(), name)
    return f"ok {name} started"


async def _reported(step: Awaitable[None], name: str) -> None:
    # A server that fails to stop or start (pg_ctl, a port taken meanwhile) is an answer for
    # the one who asked, not a reason to drop the connection without one.
    try:
        await step
    except (RuntimeError, OSError) as error:
        raise ValueError(f"{name}: {error}") from None


async def _carry_out(supervisor: Supervisor, command: str, name: str) -> str:
    if command in ("stop", "restart"):
        stopped = await supervisor.stop_one(name)
        if command == "stop":
            return f"ok {name} {_exit_code(stopped)}"
    if command == "kill":
        return f"ok {name} {_exit_code(await supervisor.stop_one(name, signal.SIGKILL))}"
    started = await supervisor.start_again(name)
    return f"ok {name} pid {started.process.pid}"


def _remove(path: Path) -> None:
    # A socket left by a stack that was killed would make the bind fail.
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


@contextlib.asynccontextmanager
async def control_socket(
    path: Path,
    supervisor: Supervisor,
    names: Collection[str],
    servers: Mapping[str, Switchable] | None = None,
) -> AsyncIterator[None]:
    """Serves the commands for the children ``names`` and the ``servers`` while the block
    runs; without a socket if the path cannot hold one (too long for AF_UNIX), since the stack
    itself does not need it."""
    servers = dict(servers or {})
    known = [*names, *servers]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            words = (await reader.readline()).decode(errors="replace").split()
            if len(words) != 2 or words[0] not in COMMANDS or words[1] not in known:
                reply = f"error usage: {'|'.join(COMMANDS)} {'|'.join(known)}"
            else:
                logger.info("control: %s %s", *words)
                try:
                    if words[1] in servers:
                        reply = await _switch(servers[words[1]], words[0], words[1])
                    else:
                        reply = await _carry_out(supervisor, words[0], words[1])
                except ValueError as error:  # not running, already running, not possible
                    reply = f"error {error}"
            writer.write(reply.encode() + b"\n")
            await writer.drain()
        finally:
            writer.close()

    _remove(path)
    try:
        server = await asyncio.start_unix_server(handle, path=str(path))
    except OSError as error:
        logger.warning("no control socket at %s: %s", path, error)
        yield
        return
    try:
        os.chmod(path, 0o600)
        yield
    finally:
        server.close()
        await server.wait_closed()
        _remove(path)


def request(path: Path, command: str, timeout: float = REPLY_TIMEOUT_SECONDS) -> str:
    """Sends one command to a running stack and returns its answer line."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(timeout)
        connection.connect(str(path))
        connection.sendall(command.encode() + b"\n")
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.decode().strip()


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m services.localstack.control",
        description="Stop or start one component of the stack that `make run` runs.",
    )
    parser.add_argument("command", choices=COMMANDS)
    parser.add_argument("name", help="auth, roster, sharing, gateway, postgres or smtp")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("TRACKCC_DATA_DIR", "var")),
        help="the stack's data directory (TRACKCC_DATA_DIR, default var)",
    )
    args = parser.parse_args()
    try:
        answer = request(args.data_dir / "run" / "control.sock", f"{args.command} {args.name}")
    except OSError as error:
        sys.stderr.write(f"trackcc: no stack answers in {args.data_dir}: {error}\n")
        raise SystemExit(1) from None
    sys.stdout.write(answer + "\n")
    raise SystemExit(0 if answer.startswith("ok") else 1)


if __name__ == "__main__":
    main()
