"""HTTP load against the gateway: wrk when installed, else keep-alive aiohttp connections.

Either way the generator runs on the same two cores as the stack, so it takes a share of the
CPU that the stack would otherwise have; every result says which generator made it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import re
import ssl
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench.stats import LatencySummary, summarize

WRK = Path("/usr/bin/wrk")
# A request that takes longer than this is counted as an error, so a stuck call cannot hold a
# connection (and the bench) beyond its duration by much.
REQUEST_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Request:
    """One request a connection sends; connections cycle through a list of them."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True)
class LoadResult:
    """What the load produced, and by which generator."""

    summary: LatencySummary
    generator: str
    connections: int
    statuses: dict[int, int]
    # Warm-up included: what the servers really handled between start and end, for figures
    # such as CPU time per request that cannot tell the two apart.
    sent_in_all: int


def wrk_available() -> bool:
    """wrk is used only where the Debian package put it; nothing is downloaded."""
    return WRK.is_file()


def generator_name() -> str:
    return "wrk" if wrk_available() else "aiohttp+uvloop"


def connector(ssl_context: ssl.SSLContext, connections: int) -> aiohttp.TCPConnector:
    # One pool sized to the connection count; keep-alive so TLS handshakes are not measured.
    return aiohttp.TCPConnector(ssl=ssl_context, limit=connections, limit_per_host=connections)


async def _worker(
    http: aiohttp.ClientSession,
    base_url: str,
    requests: Sequence[Request],
    start_index: int,
    stop_at: float,
    interval: float,
    latencies: list[float],
    statuses: dict[int, int],
    max_requests: int,
) -> None:
    plan = itertools.islice(itertools.cycle(requests), start_index, None)
    next_send = time.perf_counter()
    for _ in range(max_requests):
        if interval > 0:
            # Paced (open-loop) probes: a fixed schedule, so a slow answer does not lower
            # the offered rate and hide the latency it would have caused (coordinated omission
            # is still possible when the probe falls behind; we then send at once).
            delay = next_send - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            next_send += interval
        if time.perf_counter() >= stop_at:
            return
        request = next(plan)
        began = time.perf_counter()
        try:
            async with http.request(
                request.method, base_url + request.path, headers=request.headers, data=request.body
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, OSError, TimeoutError):
            status = 0
        elapsed = time.perf_counter() - began
        statuses[status] = statuses.get(status, 0) + 1
        if 200 <= status < 300:
            latencies.append(elapsed)


async def run_aiohttp(
    base_url: str,
    ssl_context: ssl.SSLContext,
    requests: Sequence[Request],
    *,
    connections: int,
    seconds: float,
    rate_per_connection: float = 0.0,
    warmup_seconds: float = 1.0,
) -> LoadResult:
    """``connections`` keep-alive connections send ``requests`` for ``seconds``.

    With ``rate_per_connection`` each connection paces itself (a latency probe); without, each
    sends its next request as soon as the last is answered (a throughput test).
    """
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
    interval = 1.0 / rate_per_connection if rate_per_connection > 0 else 0.0
    cap = 10_000_000 if interval == 0 else int(seconds * rate_per_connection) + 2
    async with aiohttp.ClientSession(
        connector=connector(ssl_context, connections), timeout=timeout
    ) as http:
        warmup_sent = 0
        if warmup_seconds > 0:
            # Opens every connection (TLS handshakes) and warms caches before timing starts.
            _, warm, _ = await _phase(
                http, base_url, requests, connections, warmup_seconds, interval, cap
            )
            warmup_sent = sum(warm.values())
        latencies, statuses, elapsed = await _phase(
            http, base_url, requests, connections, seconds, interval, cap
        )
    errors = sum(n for status, n in statuses.items() if not 200 <= status < 300)
    summary = summarize(latencies, errors, elapsed)
    sent = warmup_sent + sum(statuses.values())
    return LoadResult(summary, "aiohttp+uvloop", connections, statuses, sent)


async def _phase(
    http: aiohttp.ClientSession,
    base_url: str,
    requests: Sequence[Request],
    connections: int,
    seconds: float,
    interval: float,
    cap: int,
) -> tuple[list[float], dict[int, int], float]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(
        *(
            _worker(http, base_url, requests, i, stop_at, interval, latencies, statuses, cap)
            for i in range(connections)
        )
    )
    return latencies, statuses, time.perf_counter() - started


async def run_load(
    base_url: str,
    ssl_context: ssl.SSLContext,
    requests: Sequence[Request],
    *,
    connections: int,
    seconds: float,
) -> LoadResult:
    """A closed-loop throughput test with the preferred generator."""
    if wrk_available():
        return await asyncio.to_thread(run_wrk, base_url, requests, connections, seconds)
    return await run_aiohttp(
        base_url, ssl_context, requests, connections=connections, seconds=seconds
    )


# ---------------------------------------------------------------------------------------------
# wrk: a C generator costs the stack far less CPU than Python does, when it is installed.


def wrk_script(requests: Sequence[Request]) -> str:
    """Lua that cycles through ``requests`` and counts non-2xx answers as errors."""
    entries = []
    for request in requests:
        pairs = request.headers.items()
        headers = ", ".join(f"[{json.dumps(k)}]={json.dumps(v)}" for k, v in pairs)
        body = json.dumps(request.body.decode("utf-8")) if request.body is not None else "nil"
        method, path = json.dumps(request.method), json.dumps(request.path)
        entries.append(f"{{method={method}, path={path}, headers={{{headers}}}, body={body}}}")
    # JSON string literals are valid Lua string literals for the ASCII we send.
    return (
        "local plan = {" + ", ".join(entries) + "}\n"
        "local i = 0\n"
        "request = function()\n"
        "  i = i % #plan + 1\n"
        "  local r = plan[i]\n"
        "  return wrk.format(r.method, r.path, r.headers, r.body)\n"
        "end\n"
    )


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str, connections: int) -> LoadResult:
    """Reads ``wrk --latency`` output: requests, duration, the 50 % and 99 % latencies."""
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    if done is None:
        raise ValueError("wrk printed no request count")
    seconds = _ms(done.group(2) + done.group(3)) / 1000
    p50 = re.search(r"^\s*50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s*99%\s+(\S+)", output, re.MULTILINE)
    maximum = re.search(r"^\s*Latency\s+\S+\s+\S+\s+(\S+)", output, re.MULTILINE)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = int(non2xx.group(1)) if non2xx else 0
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    total = int(done.group(1))
    summary = LatencySummary(
        ok=total - (int(non2xx.group(1)) if non2xx else 0),
        errors=errors,
        seconds=seconds,
        p50_ms=_ms(p50.group(1)) if p50 else 0.0,
        p99_ms=_ms(p99.group(1)) if p99 else 0.0,
        max_ms=_ms(maximum.group(1)) if maximum else 0.0,
    )
    return LoadResult(summary, "wrk", connections, {}, total)


def run_wrk(
    base_url: str, requests: Sequence[Request], connections: int, seconds: float
) -> LoadResult:
    """Runs wrk on 1 thread (the machine has 2 cores and the stack needs them); blocking."""
    with tempfile.TemporaryDirectory(prefix="tccwrk") as directory:
        script = Path(directory) / "plan.lua"
        script.write_text(wrk_script(requests))
        # Warm-up run first, as with aiohttp: connections and caches, not timed.
        argv = [str(WRK), "-t1", f"-c{connections}", "--latency", "-s", str(script), base_url]
        warmup = subprocess.run(
            [*argv, "-d1s"], capture_output=True, text=True, check=True, timeout=60
        )
        completed = subprocess.run(
            [*argv, f"-d{max(1, round(seconds))}s"],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        )
    result = parse_wrk(completed.stdout, connections)
    warm = parse_wrk(warmup.stdout, connections)
    return dataclasses.replace(result, sent_in_all=result.sent_in_all + warm.sent_in_all)
