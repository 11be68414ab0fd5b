"""Issue 3: sign-ins per second through the whole stack against the bare argon2id rate, and
what a sign-in storm does to the latency of an ordinary read (``GET /v1/me``).

Issue 15: the efficiency, the bare verify's CPU time over the whole stack's CPU time per
sign-in. It is set against the bare verify of the implementation auth uses (libsodium), so it
says what the stack adds around the hash; the same ratio against argon2-cffi's bare verify is
printed beside it, because that was the reference before auth changed implementation.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from bench.argon2_rate import (
    SERVICE_IMPLEMENTATION,
    Argon2Rate,
    Implementation,
    measure_argon2_rate,
)
from bench.client import PASSWORD, api_client
from bench.cpu import cpu_ms_per_request, snapshot, stack_processes
from bench.loadgen import Request, run_aiohttp, run_load
from bench.report import Reporter, Result, machine_context
from bench.stack import BenchStack


@dataclass(frozen=True)
class SigninSizes:
    """How long each phase runs and how hard it pushes."""

    seconds: float
    argon2_seconds: float
    accounts: int = 8
    storm_connections: int = 16
    # The probe is paced, a latency measurement rather than load: 4 x 25 = 100 reads/s.
    probe_connections: int = 4
    probe_rate_per_connection: float = 25.0


QUICK = SigninSizes(seconds=5.0, argon2_seconds=3.0)
FULL = SigninSizes(seconds=15.0, argon2_seconds=10.0)


def _sign_in_requests(emails: list[str]) -> list[Request]:
    return [
        Request(
            "POST",
            "/v1/sessions",
            {"Content-Type": "application/json"},
            json.dumps({"email": email, "password": PASSWORD}).encode(),
        )
        for email in emails
    ]


def _efficiency(bare: Argon2Rate, cpu: dict[str, float]) -> float:
    """Bare hash CPU per verify over the whole stack's CPU per sign-in (1.0: no overhead)."""
    stack_ms = cpu.get("stack_cpu_ms", 0.0)
    return round(bare.cpu_ms_per_verify / stack_ms, 3) if stack_ms > 0 else 0.0


async def run_signin(stack: BenchStack, reporter: Reporter, sizes: SigninSizes) -> None:
    emails = [f"bench-signin-{i}@example.org" for i in range(sizes.accounts)]
    async with api_client(stack) as api:
        for email in emails:
            await api.sign_up(email, "teacher", "Bench Teacher")
        token = await api.sign_in(emails[0])
    ssl_context = stack.ssl_context()
    storm = _sign_in_requests(emails)
    me = [Request("GET", "/v1/me", {"Authorization": f"Bearer {token}"})]

    # Same run, same machine, stack up and idle: the ceiling sign-in is compared with, for
    # the implementation auth uses and for argon2-cffi (before, and the Django peer's).
    bare: dict[Implementation, Argon2Rate] = {}
    for implementation in (SERVICE_IMPLEMENTATION, "argon2-cffi"):
        rate = await asyncio.to_thread(
            measure_argon2_rate, sizes.argon2_seconds, 2, implementation=implementation
        )
        bare[implementation] = rate
        reporter.add(
            Result(
                "signin",
                f"bare argon2id verify, {implementation}"
                f"{' (as auth)' if implementation == SERVICE_IMPLEMENTATION else ''}, 2 threads",
                {
                    "per_second": round(rate.per_second, 1),
                    "ms_each": round(rate.ms_per_verify, 1),
                    "cpu_ms_each": round(rate.cpu_ms_per_verify, 2),
                },
                "OWASP minimum as services/auth/passwords.py: 19 MiB, t=2, p=1; the same "
                "string; cpu = the threads' user+system time",
                machine_context(),
            )
        )
    argon2 = bare[SERVICE_IMPLEMENTATION]

    processes = stack_processes(stack)
    cpu_before = snapshot(processes)
    alone = await run_load(
        stack.base_url,
        ssl_context,
        storm,
        connections=sizes.storm_connections,
        seconds=sizes.seconds,
    )
    cpu = cpu_ms_per_request(cpu_before, snapshot(stack_processes(stack)), alone.sent_in_all)
    ratio = alone.summary.per_second / argon2.per_second if argon2.per_second else 0.0
    reporter.add(
        Result(
            "signin",
            f"POST /v1/sessions, {sizes.storm_connections} conns",
            {
                **alone.summary.as_metrics(),
                "of_argon2_pct": round(100 * ratio, 1),
                "efficiency": _efficiency(argon2, cpu),
                "efficiency_vs_argon2_cffi": _efficiency(bare["argon2-cffi"], cpu),
            },
            f"correct passwords; goal >= 90 % of bare argon2id; efficiency = bare "
            f"{SERVICE_IMPLEMENTATION} verify cpu ms / stack cpu ms per sign-in, goal >= 0.90; "
            f"{alone.generator}, generator shares the 2 cores",
            machine_context(),
        )
    )
    reporter.add(Result("signin", "  cpu ms per sign-in", cpu, "user+system, psutil"))

    async def probe() -> tuple[float, float, int]:
        result = await run_aiohttp(
            stack.base_url,
            ssl_context,
            me,
            connections=sizes.probe_connections,
            seconds=sizes.seconds,
            rate_per_connection=sizes.probe_rate_per_connection,
        )
        return result.summary.p50_ms, result.summary.p99_ms, result.summary.errors

    quiet_p50, quiet_p99, quiet_errors = await probe()
    storm_task = asyncio.create_task(
        run_aiohttp(
            stack.base_url,
            ssl_context,
            storm,
            connections=sizes.storm_connections,
            seconds=sizes.seconds + 2.0,
            warmup_seconds=0.0,
        )
    )
    await asyncio.sleep(1.0)  # the storm is at full strength before the probe starts
    busy_p50, busy_p99, busy_errors = await probe()
    during = await storm_task
    probe_rate = sizes.probe_connections * sizes.probe_rate_per_connection
    reporter.add(
        Result(
            "signin",
            "GET /v1/me p99, quiet vs storm",
            {
                "quiet_p50_ms": round(quiet_p50, 2),
                "quiet_p99_ms": round(quiet_p99, 2),
                "storm_p50_ms": round(busy_p50, 2),
                "storm_p99_ms": round(busy_p99, 2),
                "x": round(busy_p99 / quiet_p99, 2) if quiet_p99 else 0.0,
                "errors": quiet_errors + busy_errors,
                "storm_signins_per_s": round(during.summary.per_second, 1),
            },
            f"paced probe {probe_rate:g} req/s on {sizes.probe_connections} conns, storm "
            f"{sizes.storm_connections} conns, both aiohttp+uvloop sharing the 2 cores; "
            "goal storm p99 <= 2x quiet",
            machine_context(),
        )
    )
