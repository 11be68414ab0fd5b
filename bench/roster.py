"""Issue 5: the class list through the whole stack at 64 connections (owner, guardian), and
its latency with a small and a very large roster table; photo uploads are in photos.py."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench.client import api_client
from bench.cpu import cpu_ms_per_request, snapshot, stack_processes
from bench.loadgen import Request, run_aiohttp, run_load
from bench.photos import PhotoSizes, run_photos
from bench.report import Reporter, Result, machine_context
from bench.roster_setup import (
    LIST_ROUTE,
    PHOTO_ROUTE,
    SETUP_ROUTES,
    Roster,
    make_roster,
    missing_routes,
)
from bench.seed import STUDENTS_PER_CLASS, count_rows, seed_roster_groups
from bench.server_time import mean_ms_between, metrics_ports, scrape
from bench.stack import BenchStack


@dataclass(frozen=True)
class RosterSizes:
    """Connections and duration of the list test, roster sizes of the scale test."""

    seconds: float
    students: tuple[int, ...]
    photos: PhotoSizes
    connections: int = 64
    # Latency at scale is taken on a few paced connections: queueing at saturation would
    # hide any growth with table size behind the load generator's own limits.
    scale_connections: int = 4
    scale_rate_per_connection: float = 25.0


QUICK = RosterSizes(seconds=5.0, students=(1_000, 20_000), photos=PhotoSizes(rounds=1))
FULL = RosterSizes(seconds=15.0, students=(1_000, 1_000_000), photos=PhotoSizes(rounds=3))


def _list_request(roster: Roster, token: str) -> list[Request]:
    return [
        Request(
            "GET", f"/v1/classes/{roster.class_id}/students", {"Authorization": f"Bearer {token}"}
        )
    ]


def _skipped(reporter: Reporter, case: str, missing: list[str]) -> None:
    reporter.add(
        Result(
            "roster",
            case,
            {"skipped": 1},
            "the gateway does not serve " + ", ".join(missing) + " yet",
            machine_context(),
        )
    )


async def _measured_phase(
    stack: BenchStack,
    reporter: Reporter,
    case: str,
    requests: list[Request],
    sizes: RosterSizes,
    note: str,
) -> None:
    """A throughput phase, then where its time went: CPU per request by process, and the
    mean server time of each hop."""
    ports = metrics_ports(stack.data_dir)
    processes = stack_processes(stack)
    scraped, cpu_before = await scrape(ports), snapshot(processes)
    result = await run_load(
        stack.base_url,
        stack.ssl_context(),
        requests,
        connections=sizes.connections,
        seconds=sizes.seconds,
    )
    cpu = cpu_ms_per_request(cpu_before, snapshot(stack_processes(stack)), result.sent_in_all)
    means = mean_ms_between(scraped, await scrape(ports))
    reporter.add(
        Result(
            "roster",
            case,
            result.summary.as_metrics(),
            f"{note}; {result.generator} on the same 2 cores",
            machine_context(),
        )
    )
    reporter.add(Result("roster", "  cpu ms per request", cpu, "user+system, psutil"))
    if means:
        reporter.add(
            Result(
                "roster",
                "  server mean ms per call",
                means,
                "the processes' own Prometheus histograms",
            )
        )


async def run_roster(stack: BenchStack, reporter: Reporter, sizes: RosterSizes) -> None:
    async with api_client(stack) as api:
        missing = await missing_routes(api, (*SETUP_ROUTES, LIST_ROUTE))
        if missing:
            _skipped(reporter, "list and photos", missing)
            return
        roster = await make_roster(api, stack)
        photo_missing = await missing_routes(api, (PHOTO_ROUTE,))
    ssl_context = stack.ssl_context()

    # Calibration: a gateway-only answer (no gRPC, no token) at the same connection count
    # shows how much of the machine the generator and TLS leave for the real request; the
    # one-hop reference shows what a single gRPC hop with one query leaves.
    goal = "goal >= 1.9 k req/s"
    phases = [
        (
            "calibration: GET /healthz",
            [Request("GET", "/healthz")],
            "gateway only, no gRPC, no token: what this generator and TLS reach here",
        ),
        (
            "reference: GET /v1/me",
            [Request("GET", "/v1/me", {"Authorization": f"Bearer {roster.owner_token}"})],
            "one authenticated hop (gateway -> auth, one row): the class list makes this hop "
            "plus roster -> sharing and carries 30 students, so it cannot be faster",
        ),
        ("GET class students (30), owner", _list_request(roster, roster.owner_token), goal),
        (
            "GET class students (30), guardian (class grant)",
            _list_request(roster, roster.guardian_token),
            goal,
        ),
    ]
    for case, requests, note in phases:
        await _measured_phase(
            stack, reporter, f"{case}, {sizes.connections} conns", requests, sizes, note
        )

    if photo_missing:
        _skipped(reporter, "photo upload", photo_missing)
    else:
        await run_photos(stack, reporter, roster, sizes.photos)

    roster_dsn, sharing_dsn = stack.owner_dsn("roster"), stack.owner_dsn("sharing")
    groups = 0
    for wanted in sizes.students:
        new_groups = max(groups + 1, wanted // STUDENTS_PER_CLASS)
        began = time.perf_counter()
        await seed_roster_groups(roster_dsn, sharing_dsn, groups, new_groups)
        seeded_in = time.perf_counter() - began
        groups = new_groups
        students = await count_rows(roster_dsn, "students")
        tuples = await count_rows(sharing_dsn, "relation_tuples")
        result = await run_aiohttp(
            stack.base_url,
            ssl_context,
            _list_request(roster, roster.owner_token),
            connections=sizes.scale_connections,
            seconds=sizes.seconds,
            rate_per_connection=sizes.scale_rate_per_connection,
        )
        rate = sizes.scale_connections * sizes.scale_rate_per_connection
        reporter.add(
            Result(
                "roster",
                f"{students:>9,} students: GET class students (30), owner",
                result.summary.as_metrics(),
                f"paced {rate:g} req/s on {sizes.scale_connections} conns (aiohttp); "
                f"{tuples:,} tuples; seeded in {seeded_in:.1f} s",
                {**machine_context(), "students": students, "tuples": tuples},
            )
        )
