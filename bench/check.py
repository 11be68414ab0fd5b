"""Issue 4: Check latency and throughput with a small and a large relation_tuples table.

Check is called over gRPC exactly as roster calls it: mTLS with roster's certificate, to the
sharing process of the running stack, one long-lived channel. The table is filled straight in
PostgreSQL (bench/seed.py); the same kinds of checks then run at each size, so the figures
differ only by table size.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

import grpc

from bench.report import Reporter, Result, machine_context
from bench.seed import (
    STUDENTS_PER_CLASS,
    TUPLES_PER_GROUP,
    bench_uuid,
    count_rows,
    seed_tuple_groups,
)
from bench.stats import LatencySummary, summarize
from services.common.devcerts import DevPki
from services.common.tls import GrpcTarget, secure_channel
from trackcc.sharing.v1 import sharing_service_pb2 as pb
from trackcc.sharing.v1 import sharing_service_pb2_grpc as pb_grpc

CALL_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class CheckSizes:
    """Table sizes (tuples) to measure at, and how long each phase runs."""

    tuples: tuple[int, ...]
    seconds: float
    callers: int = 16


QUICK = CheckSizes(tuples=(10_000, 100_000), seconds=3.0)
FULL = CheckSizes(tuples=(10_000, 1_000_000), seconds=10.0)
SMOKE = CheckSizes(tuples=(2_000,), seconds=0.5, callers=4)


@dataclass(frozen=True)
class CheckCall:
    """One question and the answer it must get."""

    request: pb.CheckRequest
    allowed: bool


def _student(group: int, member: int) -> pb.Resource:
    return pb.Resource(type=pb.RESOURCE_TYPE_STUDENT, id=str(bench_uuid("s", group, member)))


def owner_calls(groups: int, count: int, rng: random.Random) -> list[CheckCall]:
    """A teacher reads one of their students: the direct tuple."""
    calls = []
    for _ in range(count):
        group = rng.randrange(groups)
        request = pb.CheckRequest(
            user_id=str(bench_uuid("t", group)),
            resource=_student(group, rng.randrange(STUDENTS_PER_CLASS)),
            permission=pb.PERMISSION_READ,
        )
        calls.append(CheckCall(request, True))
    return calls


def guardian_calls(groups: int, count: int, rng: random.Random) -> list[CheckCall]:
    """A guardian with a class grant reads a student of that class: the inherited path."""
    calls = []
    for _ in range(count):
        group = rng.randrange(groups)
        request = pb.CheckRequest(
            user_id=str(bench_uuid("g", group)),
            resource=_student(group, rng.randrange(STUDENTS_PER_CLASS)),
            permission=pb.PERMISSION_READ,
        )
        calls.append(CheckCall(request, True))
    return calls


async def drive(
    stub: pb_grpc.SharingServiceStub, calls: Sequence[CheckCall], callers: int, seconds: float
) -> LatencySummary:
    """``callers`` concurrent callers, each calling as soon as its last call returned."""
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds

    async def caller(offset: int) -> None:
        nonlocal errors
        # Bounded by count as well as by time.
        for n in range(1_000_000):
            if time.perf_counter() >= stop_at:
                return
            call = calls[(offset + n * callers) % len(calls)]
            began = time.perf_counter()
            try:
                response = await stub.Check(call.request, timeout=CALL_TIMEOUT_SECONDS)
            except grpc.aio.AioRpcError:
                errors += 1
                continue
            elapsed = time.perf_counter() - began
            if response.allowed != call.allowed:
                errors += 1  # a wrong answer fast is no result
            else:
                latencies.append(elapsed)

    started = time.perf_counter()
    await asyncio.gather(*(caller(i) for i in range(callers)))
    return summarize(latencies, errors, time.perf_counter() - started)


async def measure_checks(
    target: GrpcTarget, pki: DevPki, groups: int, sizes: CheckSizes, rng: random.Random
) -> list[tuple[str, LatencySummary]]:
    """The phases at the current table size."""
    channel = secure_channel(target, pki.leaf("roster"))
    try:
        stub = pb_grpc.SharingServiceStub(channel)
        owners = owner_calls(groups, 5000, rng)
        guardians = guardian_calls(groups, 5000, rng)
        # Warm-up: the channel's connection, the server's prepared statements on every pool
        # connection, the index pages in shared buffers.
        await drive(stub, owners, sizes.callers, min(1.0, sizes.seconds))
        await drive(stub, guardians, sizes.callers, min(1.0, sizes.seconds))
        return [
            ("owner, 1 caller", await drive(stub, owners, 1, sizes.seconds)),
            (
                f"owner, {sizes.callers} callers",
                await drive(stub, owners, sizes.callers, sizes.seconds),
            ),
            (
                f"guardian via class, {sizes.callers} callers",
                await drive(stub, guardians, sizes.callers, sizes.seconds),
            ),
        ]
    finally:
        await channel.close()


async def run_check_against(
    target: GrpcTarget, pki: DevPki, sharing_owner_dsn: str, reporter: Reporter, sizes: CheckSizes
) -> None:
    """Fills the table up to each size in turn and measures; works on any sharing service."""
    reporter.note(
        "check: gRPC Check as roster (mTLS) to the sharing process, one channel, Python "
        "grpc.aio client in the bench process sharing the 2 cores"
    )
    rng = random.Random(4)
    groups = 0
    for wanted in sizes.tuples:
        new_groups = max(groups + 1, wanted // TUPLES_PER_GROUP)
        began = time.perf_counter()
        await seed_tuple_groups(sharing_owner_dsn, groups, new_groups)
        seeded_in = time.perf_counter() - began
        groups = new_groups
        total = await count_rows(sharing_owner_dsn, "relation_tuples")
        for case, summary in await measure_checks(target, pki, groups, sizes, rng):
            reporter.add(
                Result(
                    "check",
                    f"{total:>9,} tuples: {case}",
                    summary.as_metrics(),
                    f"table filled in {seeded_in:.1f} s",
                    {**machine_context(), "tuples": total},
                )
            )
