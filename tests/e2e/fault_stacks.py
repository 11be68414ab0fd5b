"""One stack to break, on containers where a Docker engine answers, else on local processes.

The fault tests (tests/e2e/test_faults.py) are written once against :class:`FaultStack`:
stop or SIGTERM one component, start it again, freeze the database, restart PostgreSQL, stop
and start the SMTP server, read a component's log or metrics. :class:`ContainerFaults` does it
with the engine (tests/support/containers.py); :class:`LocalFaults` with the local
supervisor's control socket (services/localstack/control.py) and signals to the embedded
PostgreSQL's processes. A network partition has no local form: locally, the test freezes a
process instead (:meth:`LocalFaults.frozen`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import urllib.request
from collections.abc import Iterator
from typing import Any

import psutil

from services.localstack.control import request as control_request
from tests.e2e.container_stack import STOP_GRACE_SECONDS, ContainerStack
from tests.e2e.stack import HttpsClient, RunningStack
from tests.support import containers

# How long a component may take from SIGTERM to exit (its drain included).
EXIT_SECONDS = 30.0


class FaultStack(HttpsClient):
    """What the fault tests do to a stack, whatever runs it."""

    kind: str  # "containers" or "local processes", for the figures

    def sigterm(self, name: str) -> None:
        """Sends SIGTERM to one component and returns at once."""
        raise NotImplementedError

    def wait_exited(self, name: str) -> int:
        """Waits for the component to exit after ``sigterm``; its exit status."""
        raise NotImplementedError

    def stop(self, name: str) -> int:
        """SIGTERM, waits for the exit; its exit status."""
        raise NotImplementedError

    def start(self, name: str) -> None:
        """Starts a stopped component again (readiness is the caller's to await)."""
        raise NotImplementedError

    def frozen_database(self) -> contextlib.AbstractContextManager[None]:
        """PostgreSQL takes no step while the block runs: queries wait, nothing fails."""
        raise NotImplementedError

    def log_lines(self, name: str) -> list[dict[str, Any]]:
        """The component's JSON log lines, every run of it, oldest first."""
        raise NotImplementedError

    def restart_postgres(self) -> None:
        """Stops PostgreSQL for real (its clients cut off) and starts it again on the same
        data; the services are left running, to reconnect by themselves."""
        raise NotImplementedError

    def stop_smtp(self) -> None:
        """Closes the mail server: the services' deliveries fail until ``start_smtp``."""
        raise NotImplementedError

    def start_smtp(self) -> None:
        """Opens the mail server again, at the same address."""
        raise NotImplementedError

    def metrics(self, service: str) -> str:
        """A service's ``/metrics``, as Prometheus would scrape it."""
        raise NotImplementedError


def _json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(line[line.find("{") :])
            if isinstance(entry, dict):
                lines.append(entry)
    return lines


class ContainerFaults(FaultStack):
    """The container stack, broken through the engine."""

    kind = "containers"

    def __init__(self, stack: ContainerStack) -> None:
        self.stack = stack
        self.data_dir = stack.data_dir

    @property
    def base_url(self) -> str:
        return self.stack.base_url

    def sigterm(self, name: str) -> None:
        self.stack.containers[name].kill(signal="SIGTERM")

    def wait_exited(self, name: str) -> int:
        return int(self.stack.containers[name].wait(timeout=EXIT_SECONDS)["StatusCode"])

    def stop(self, name: str) -> int:
        containers.stop(self.stack.containers[name], STOP_GRACE_SECONDS)
        return containers.exit_code(self.stack.containers[name])

    def start(self, name: str) -> None:
        containers.restart(self.stack.containers[name])

    @contextlib.contextmanager
    def frozen_database(self) -> Iterator[None]:
        postgres = self.stack.containers["postgres"]
        containers.pause(postgres)
        try:
            yield
        finally:
            containers.unpause(postgres)

    def log_lines(self, name: str) -> list[dict[str, Any]]:
        return _json_lines(self.stack.containers[name].logs().decode(errors="replace"))

    def restart_postgres(self) -> None:
        containers.restart(self.stack.containers["postgres"], STOP_GRACE_SECONDS)

    def stop_smtp(self) -> None:
        containers.stop(self.stack.containers["smtp"], STOP_GRACE_SECONDS)

    def start_smtp(self) -> None:
        containers.restart(self.stack.containers["smtp"])

    def metrics(self, service: str) -> str:
        return self.stack.metrics(service)


class LocalFaults(FaultStack):
    """The stack of ``make run``, broken through its control socket and with signals."""

    kind = "local processes"

    def __init__(self, stack: RunningStack) -> None:
        self.stack = stack
        self.data_dir = stack.data_dir
        self._socket = stack.data_dir / "run" / "control.sock"
        self._pending: dict[str, socket.socket] = {}

    @property
    def base_url(self) -> str:
        return self.stack.base_url

    def _command(self, command: str) -> str:
        answer = control_request(self._socket, command)
        assert answer.startswith("ok "), answer
        return answer

    def sigterm(self, name: str) -> None:
        # The answer comes once the component has exited: read it in wait_exited.
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(EXIT_SECONDS)
        connection.connect(str(self._socket))
        connection.sendall(f"stop {name}\n".encode())
        self._pending[name] = connection

    def wait_exited(self, name: str) -> int:
        with self._pending.pop(name) as connection:
            answer = connection.makefile().readline().strip()
        assert answer.startswith("ok "), answer
        return int(answer.rsplit(" ", 1)[1])

    def stop(self, name: str) -> int:
        return int(self._command(f"stop {name}").rsplit(" ", 1)[1])

    def start(self, name: str) -> None:
        self._command(f"start {name}")

    def _postgres(self) -> list[psutil.Process]:
        pid_file = self.data_dir / "pg" / "postmaster.pid"
        postmaster = psutil.Process(int(pid_file.read_text().splitlines()[0]))
        return [postmaster, *postmaster.children(recursive=True)]

    @contextlib.contextmanager
    def frozen_database(self) -> Iterator[None]:
        # SIGSTOP to the postmaster and every backend: what the cgroup freezer does to the
        # container. Always thawed, or the stack could not stop PostgreSQL afterwards.
        processes = self._postgres()
        try:
            for process in processes:
                process.send_signal(signal.SIGSTOP)
            yield
        finally:
            for process in processes:
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.send_signal(signal.SIGCONT)

    def log_lines(self, name: str) -> list[dict[str, Any]]:
        return _json_lines((self.data_dir / "log" / f"{name}.log").read_text(errors="replace"))

    def restart_postgres(self) -> None:
        # pg_ctl stop -m fast, then start, on the same socket and data: a new postmaster.
        before = self._postgres()[0].pid
        self._command("restart postgres")
        assert self._postgres()[0].pid != before, "PostgreSQL was not restarted"

    def stop_smtp(self) -> None:
        self._command("stop smtp")

    def start_smtp(self) -> None:
        self._command("start smtp")

    def metrics(self, service: str) -> str:
        ports = self.stack.ports()
        url = f"http://{ports['host']}:{ports['metrics'][service]}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our own URL
            text: str = response.read().decode(errors="replace")
        return text

    def pid(self, name: str) -> int:
        """The process id of a component (the leader of its process group)."""
        module = f"services.{name}"
        for child in psutil.Process(self.stack.process.pid).children():
            if module in child.cmdline():
                return int(child.pid)
        raise AssertionError(f"{name} is not running")

    @contextlib.contextmanager
    def frozen(self, name: str) -> Iterator[None]:
        """SIGSTOP to a component's processes while the block runs, SIGCONT after: the
        component keeps its sockets open and its connections established, but accepts,
        reads and answers nothing, as a peer behind a partition would."""
        group = self.pid(name)
        os.killpg(group, signal.SIGSTOP)
        try:
            yield
        finally:
            os.killpg(group, signal.SIGCONT)
