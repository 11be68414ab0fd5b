"""Where the time goes: mean server-side time per gRPC method and per gateway route during a
phase, from the Prometheus histograms every process already exports (``_sum`` / ``_count``).

Client-side figures say how fast the stack is; these say which hop to look at first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

# (process, label) -> (count, seconds)
Totals = dict[tuple[str, str], tuple[float, float]]

_HISTOGRAMS = {
    "grpc_server_handling_seconds": "grpc_method",
    "http_server_request_duration_seconds": "route",
}


def metrics_ports(data_dir: Path) -> dict[str, int]:
    """Metrics port of each process, from the stack's ports file (empty when it has none)."""
    ports_file = data_dir / "run" / "ports.json"
    if not ports_file.is_file():
        return {}
    return {str(k): int(v) for k, v in json.loads(ports_file.read_text())["metrics"].items()}


def _parse(process: str, text: str, into: Totals) -> None:
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        label = _HISTOGRAMS.get(family.name)
        if label is None:
            continue
        for sample in family.samples:
            key = sample.labels.get(label, "")
            if sample.name.endswith("_sum"):
                sums[key] = sums.get(key, 0.0) + sample.value
            elif sample.name.endswith("_count"):
                counts[key] = counts.get(key, 0.0) + sample.value
    for key, count in counts.items():
        into[(process, key)] = (count, sums.get(key, 0.0))


async def scrape(ports: Mapping[str, int]) -> Totals:
    """Current totals of every process; a process that does not answer is left out."""
    totals: Totals = {}
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        for process, port in ports.items():
            try:
                async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                    _parse(process, await response.text(), totals)
            except (aiohttp.ClientError, OSError, TimeoutError):
                continue
    return totals


def mean_ms_between(before: Totals, after: Totals, min_calls: int = 10) -> dict[str, float]:
    """``process.method`` -> mean milliseconds of the calls made between the two scrapes."""
    means: dict[str, float] = {}
    for key, (count, seconds) in after.items():
        count0, seconds0 = before.get(key, (0.0, 0.0))
        calls = count - count0
        if calls >= min_calls:
            means[f"{key[0]}.{key[1]}"] = round(1000 * (seconds - seconds0) / calls, 2)
    return means
