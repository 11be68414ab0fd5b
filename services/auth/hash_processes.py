"""The hash worker processes and one pipe to each, driven by the event loop itself.

Why not ``concurrent.futures.ProcessPoolExecutor``: it hands every job through two threads of
its own (a queue feeder and a result manager) that take the GIL from the event loop and from
gRPC's poller thread for each sign-in; profiled in a sign-in storm they were an eighth of the
auth process's CPU outside the hashes. Here a job is one small pickled message written to the
worker's pipe from the event loop, and the answer is read by a reader callback on the same
loop: no extra thread in the auth process.

Each worker answers its jobs in the order they came, so the futures waiting on a worker are a
FIFO queue. A worker that dies (killed, out of memory) fails only the jobs on its own pipe,
with :class:`WorkerDied`, and is replaced at once.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import multiprocessing
import os
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from services.auth import hash_worker
from services.auth.hash_worker import Done, Job

logger = logging.getLogger(__name__)


class WorkerDied(Exception):
    """The worker process that had this job ended before answering."""


@dataclass
class _Worker:
    process: BaseProcess
    pipe: Connection
    waiting: collections.deque[asyncio.Future[Done]] = field(default_factory=collections.deque)


class HashProcesses:
    """``count`` worker processes, spawned at once, below the event loops' priority."""

    def __init__(self, count: int, niceness: int, group_niceness: int) -> None:
        self._context = multiprocessing.get_context("spawn")  # never forked from gRPC threads
        self._niceness = niceness
        self._group_niceness = group_niceness
        self._loop: asyncio.AbstractEventLoop | None = None
        # Spawned now, not on the first sign-in: the first user does not wait for a Python
        # start-up. Readers are added on first use, on the loop that uses them.
        self._workers = [self._spawn() for _ in range(count)]
        self._closed = False

    def pids(self) -> list[int]:
        """The workers' process ids (tests, diagnostics)."""
        return [w.process.pid for w in self._workers if w.process.pid is not None]

    def submit(self, job: Job) -> asyncio.Future[Done]:
        """Hands ``job`` to the least busy worker; the future gets its answer."""
        if self._closed:
            raise RuntimeError("the hash workers are closed")
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._attach(loop)
        worker = min(self._workers, key=lambda w: len(w.waiting))
        future: asyncio.Future[Done] = loop.create_future()
        try:
            # A few hundred bytes into a pipe with room for far more: does not block.
            worker.pipe.send(job)
        except OSError:
            self._replace(worker)
            raise WorkerDied("a password hash worker died") from None
        worker.waiting.append(future)
        return future

    def close(self) -> None:
        """Stops the workers: each exits when it finds its pipe closed (shutdown)."""
        self._closed = True
        for worker in self._workers:
            self._detach(worker)
            for future in worker.waiting:
                future.cancel()
            worker.waiting.clear()

    def _spawn(self) -> _Worker:
        ours, theirs = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=hash_worker.serve,
            args=(theirs, os.getpid(), self._niceness, self._group_niceness),
            name="auth-hash-worker",
            daemon=True,
        )
        process.start()
        theirs.close()  # the child has its own copy; ours must not keep the pipe open
        worker = _Worker(process, ours)
        if self._loop is not None:
            self._loop.add_reader(ours.fileno(), self._on_readable, worker)
        return worker

    def _attach(self, loop: asyncio.AbstractEventLoop) -> None:
        # The service and its tests run one loop per PasswordHashing; a new loop (a test's)
        # takes the readers over.
        if self._loop is not None and not self._loop.is_closed():
            for worker in self._workers:
                self._loop.remove_reader(worker.pipe.fileno())
        self._loop = loop
        for worker in self._workers:
            loop.add_reader(worker.pipe.fileno(), self._on_readable, worker)

    def _on_readable(self, worker: _Worker) -> None:
        try:
            answer: Done | BaseException = worker.pipe.recv()
        except (EOFError, OSError):
            self._replace(worker)
            return
        future = worker.waiting.popleft()
        if future.done():  # its caller went away meanwhile
            return
        if isinstance(answer, BaseException):
            future.set_exception(answer)
        else:
            future.set_result(answer)

    def _replace(self, dead: _Worker) -> None:
        logger.warning("a password hash worker died; starting a new one")
        self._detach(dead)
        for future in dead.waiting:
            if not future.done():
                future.set_exception(WorkerDied("a password hash worker died"))
        dead.waiting.clear()
        dead.process.join(timeout=0)  # reaps it if it has exited already
        if not self._closed:
            self._workers[self._workers.index(dead)] = self._spawn()

    def _detach(self, worker: _Worker) -> None:
        if worker.pipe.closed:
            return
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(worker.pipe.fileno())
        worker.pipe.close()
