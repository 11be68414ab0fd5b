"""CPU time each part of the stack spends per request during a phase (user + system).

On a 2-core machine that all parts share, CPU per request is the figure that says what to
make cheaper: throughput is roughly 2 cores divided by the sum of these.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import psutil

from bench.stack import COMPONENTS, BenchStack

# name -> {pid: cpu seconds}
Snapshot = dict[str, dict[int, float]]


def _postgres(pg_dir: Path) -> list[psutil.Process]:
    """The stack's postmaster (pgserver daemonizes it) and its backends."""
    wanted = str(pg_dir)
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info.get("cmdline") or []
        if "-D" in cmdline and wanted in cmdline:
            try:
                return [process, *process.children(recursive=True)]
            except psutil.Error:
                return [process]
    return []


def stack_processes(stack: BenchStack) -> dict[str, list[psutil.Process]]:
    """Every process whose CPU counts: the four components (with their worker processes),
    PostgreSQL and this bench."""
    groups: dict[str, list[psutil.Process]] = {}
    for name in COMPONENTS:
        try:
            component = stack.component(name)
        except RuntimeError:
            continue
        # A component's child processes (auth's password hash workers) are counted apart, as
        # `<name>_workers`: beside the hash, what a sign-in costs auth's own process is the
        # figure that says where the stack's overhead goes.
        groups[name] = [component]
        try:
            children = component.children(recursive=True)
        except psutil.Error:
            children = []
        if children:
            groups[f"{name}_workers"] = children
    groups["postgres"] = _postgres(stack.layout.pg)
    groups["loadgen"] = [psutil.Process(os.getpid())]
    return groups


def snapshot(groups: Mapping[str, list[psutil.Process]]) -> Snapshot:
    taken: Snapshot = {}
    for name, processes in groups.items():
        taken[name] = {}
        for process in processes:
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            taken[name][process.pid] = times.user + times.system
    return taken


def cpu_ms_per_request(before: Snapshot, after: Snapshot, requests: int) -> dict[str, float]:
    """``<name>_cpu_ms`` per request. Take ``after`` with a fresh :func:`stack_processes`:
    a process that appeared during the phase (a PostgreSQL backend for a pool that grew under
    load, a hash worker) counts with all of its CPU; one that ended is not counted."""
    if requests <= 0:
        return {}
    result: dict[str, float] = {}
    stack_ms = 0.0
    for name, pids in after.items():
        spent = sum(t - before.get(name, {}).get(pid, 0.0) for pid, t in pids.items())
        per_request = 1000 * spent / requests
        result[f"{name}_cpu_ms"] = round(per_request, 3)
        if name != "loadgen":
            stack_ms += per_request
    result["stack_cpu_ms"] = round(stack_ms, 3)
    if stack_ms > 0:
        # What the stack alone could serve if it had every core and waited on nothing: less
        # sensitive to other people's load on a shared machine than the measured rate.
        result["cpu_bound_ceiling_per_s"] = round(1000 * (os.cpu_count() or 1) / stack_ms)
    return result
