"""``make soak``: ten minutes of mixed traffic at a fixed rate, a table every minute.

Not part of ``make test``: it takes ten minutes by design. It starts the stack as ``make run``
does (in a temporary data directory), makes a class of 30 with a guardian, then sends a fixed
mix of reads, writes and sign-ins at ``--rate`` requests per second. Every minute it prints
the requests, the errors by status, p50 and p99, and the resident memory of each process.

The verdict at the end: no 5xx answer, and no process more than 10 % larger at the end than
after the warm-up minute. The exit code is 1 when either fails.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import random
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")  # as bench/__main__.py says

import psutil  # noqa: E402
import uvloop  # noqa: E402

from bench.client import PASSWORD, ApiClient, api_client  # noqa: E402
from bench.roster_setup import Roster, make_roster  # noqa: E402
from bench.stack import BenchStack, running_stack  # noqa: E402
from bench.stats import percentile  # noqa: E402

PROCESSES = ("gateway", "auth", "roster", "sharing")
GROWTH_LIMIT = 0.10
# (weight, what): the mix of one school day, reads first.
MIX: tuple[tuple[int, str], ...] = (
    (25, "me"),
    (25, "classes"),
    (20, "class students"),
    (15, "guardian students"),
    (8, "create and delete a class"),
    (4, "rename"),
    (3, "sign in"),
)


@dataclass
class Minute:
    """What one minute of the soak saw."""

    latencies_ms: list[float] = field(default_factory=list)
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    rss_mib: dict[str, float] = field(default_factory=dict)

    def errors(self) -> dict[int, int]:
        return {status: n for status, n in sorted(self.statuses.items()) if status >= 400}


def verdict(minutes: list[Minute], warm_up: int = 1) -> list[str]:
    """What is wrong with a soak, in lines; empty when it passed."""
    problems = []
    server_errors = sum(n for m in minutes for s, n in m.statuses.items() if s >= 500)
    if server_errors:
        problems.append(f"{server_errors} answers were 5xx")
    if len(minutes) > warm_up:
        base, last = minutes[warm_up - 1].rss_mib, minutes[-1].rss_mib
        for name, before in base.items():
            after = last.get(name, before)
            if before and (after - before) / before > GROWTH_LIMIT:
                problems.append(f"{name} grew {100 * (after - before) / before:.0f} % "
                                f"({before:.0f} -> {after:.0f} MiB) after the warm-up")  # fmt: skip
    return problems


def table_row(index: int, minute: Minute) -> str:
    ordered = sorted(minute.latencies_ms)
    rss = " ".join(f"{minute.rss_mib.get(name, 0):7.0f}" for name in PROCESSES)
    errors = ",".join(f"{s}x{n}" for s, n in minute.errors().items()) or "-"
    return (
        f"{index:>6} {sum(minute.statuses.values()):>8} {errors:>14} "
        f"{percentile(ordered, 0.5):>8.1f} {percentile(ordered, 0.99):>8.1f} {rss}"
    )


TABLE_HEADER = (
    f"{'minute':>6} {'requests':>8} {'errors':>14} {'p50 ms':>8} {'p99 ms':>8} "
    + " ".join(f"{name[:7]:>7}" for name in PROCESSES)
    + "   (RSS MiB)"
)


def _rss(stack: BenchStack) -> dict[str, float]:
    sizes = {}
    for name in PROCESSES:
        try:
            process = stack.component(name)
            family = [process, *process.children(recursive=True)]  # auth's hash workers too
            sizes[name] = sum(p.memory_info().rss for p in family) / 2**20
        except (RuntimeError, psutil.Error):
            sizes[name] = 0.0
    return sizes


class Traffic:
    """The requests of the mix, each returning (status, seconds)."""

    def __init__(self, api: ApiClient, roster: Roster, email: str) -> None:
        self._api = api
        self._roster = roster
        self._email = email
        self._owner = roster.owner_token
        self._count = 0

    async def _send(
        self, method: str, path: str, token: str, body: Mapping[str, object] | None = None
    ) -> int:
        status, _ = await self._api.call_status(method, path, dict(body) if body else None, token)
        return status

    async def one(self, what: str) -> int:
        self._count += 1
        roster = self._roster
        if what == "me":
            return await self._send("GET", "/v1/me", self._owner)
        if what == "classes":
            return await self._send("GET", "/v1/classes", self._owner)
        if what == "class students":
            return await self._send("GET", f"/v1/classes/{roster.class_id}/students", self._owner)
        if what == "guardian students":
            return await self._send("GET", "/v1/students", roster.guardian_token)
        if what == "rename":
            body = {"name": f"Bench 5B ({self._count})"}
            return await self._send("PATCH", f"/v1/classes/{roster.class_id}", self._owner, body)
        if what == "create and delete a class":
            created = await self._api.call_status(
                "POST", "/v1/classes", {"name": f"Soak {self._count}"}, self._owner
            )
            if created[0] != 201:
                return created[0]
            return await self._send("DELETE", f"/v1/classes/{created[1]['id']}", self._owner)
        # A sign-in also renews the token the reads use, so a long soak never runs on an
        # expired one.
        status, session = await self._api.call_status(
            "POST", "/v1/sessions", {"email": self._email, "password": PASSWORD}, None
        )
        if status == 200:
            self._owner = str(session["access_token"])
        return status


async def soak(minutes: float, rate: float, out: Callable[[str], None]) -> list[Minute]:
    """Runs the soak and returns what each minute saw."""
    async with running_stack() as stack, api_client(stack) as api:
        roster = await make_roster(api, stack)
        traffic = Traffic(api, roster, "bench-owner@example.org")
        choices = [what for weight, what in MIX for _ in range(weight)]
        picker = random.Random(20261205)
        mix = ", ".join(f"{what} {weight} %" for weight, what in MIX)
        out(f"soak: {minutes:g} min at {rate:g} requests/s; mix: {mix}")
        out(TABLE_HEADER)
        seen: list[Minute] = [Minute()]
        started = time.monotonic()
        minute_ends = started + 60
        pending: set[asyncio.Task[None]] = set()

        async def timed(what: str, into: Minute) -> None:
            begin = time.monotonic()
            status = await traffic.one(what)
            into.latencies_ms.append((time.monotonic() - begin) * 1000)
            into.statuses[status] += 1

        sent = 0
        while time.monotonic() - started < minutes * 60:
            # A fixed schedule: request n leaves at n / rate, whatever the answers take.
            sent += 1
            await asyncio.sleep(max(0.0, started + sent / rate - time.monotonic()))
            task = asyncio.create_task(timed(picker.choice(choices), seen[-1]))
            pending.add(task)
            task.add_done_callback(pending.discard)
            if time.monotonic() >= minute_ends:
                seen[-1].rss_mib = _rss(stack)
                out(table_row(len(seen), seen[-1]))
                seen.append(Minute())
                minute_ends += 60
        await asyncio.gather(*pending)
        if seen[-1].statuses:  # a part minute at the end, unless the run ended on the minute
            seen[-1].rss_mib = _rss(stack)
            out(table_row(len(seen), seen[-1]))
        else:
            seen.pop()
        return seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=40.0, help="requests per second")
    args = parser.parse_args(argv)

    def out(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    seen = uvloop.run(soak(args.minutes, args.rate, out))
    problems = verdict(seen)
    out("verdict: " + ("passed" if not problems else "FAILED: " + "; ".join(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
