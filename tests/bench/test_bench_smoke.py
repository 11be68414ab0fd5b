"""The bench code runs: a short argon2id rate and a tiny Check bench produce positive figures.

Only that the numbers exist and are positive is asserted: timing thresholds would fail on a
busy machine and prove nothing about the code.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from bench.argon2_rate import measure_argon2_rate
from bench.check import SMOKE, run_check_against
from bench.report import Reporter
from services.common.devcerts import DevPki
from services.sharing.service import DEFINITION
from tests.support.postgres import TestDatabase
from tests.support.services import make_jwt_keys, service_env, started_service


def test_argon2_rate_counts_verifies() -> None:
    rate = measure_argon2_rate(seconds=0.3, threads=2)

    assert rate.verifies > 0
    assert rate.per_second > 0
    assert rate.ms_per_verify > 0


async def test_check_bench_reports_positive_figures(
    database: TestDatabase, pki: DevPki, tmp_path: Path
) -> None:
    env = service_env(
        DEFINITION,
        database,
        pki,
        make_jwt_keys(tmp_path),
        # No mail is sent by Check; the outbox worker only needs somewhere to try.
        {
            "TRACKCC_PUBLIC_URL": "https://localhost:8443",
            "TRACKCC_SMTP_HOST": "127.0.0.1",
            "TRACKCC_SMTP_PORT": "9",
        },
    )
    out = io.StringIO()
    async with started_service(DEFINITION, env) as sharing:
        await run_check_against(
            sharing.grpc_target, pki, database.owner_dsn("sharing"), Reporter(out), SMOKE
        )

    results = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    assert len(results) == 3
    for result in results:
        assert result["bench"] == "check"
        assert result["context"]["tuples"] > 0
        assert result["metrics"]["ok"] > 0
        assert result["metrics"]["per_second"] > 0
        assert result["metrics"]["p50_ms"] > 0
        assert result["metrics"]["errors"] == 0
