"""The gateway's HTTPS, as an outside scanner sees it: sslyze against Mozilla's "intermediate".

sslyze runs from its own virtual environment (``make tools`` puts it in ``.tools/sslyze``;
it pins an older cryptography than the project). It trusts the development CA through
``--certinfo_ca_file``, so certificate path validation is checked too, against that CA.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

from cryptography import x509

from services.common.devcerts import DevPki
from tests.support.gateway import gateway_env, running_gateway

REPO = Path(__file__).resolve().parents[3]
SSLYZE = REPO / ".tools" / "sslyze" / "bin" / "sslyze"
# Nothing listens there: a TLS scan needs only the gateway's own listener.
NO_BACKENDS = {"auth": "localhost:1", "roster": "localhost:1", "sharing": "localhost:1"}
MOZILLA_INTERMEDIATE_CURVES = {"X25519", "secp256r1", "secp384r1"}


async def _scan(port: int, ca: Path, out: Path) -> tuple[int, str, dict[str, Any]]:
    assert SSLYZE.is_file(), f"{SSLYZE} is missing: run `make tools`"
    process = await asyncio.create_subprocess_exec(
        str(SSLYZE),
        "--mozilla_config=intermediate",
        f"--certinfo_ca_file={ca}",
        f"--json_out={out}",
        f"localhost:{port}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), timeout=240)
    assert process.returncode is not None
    document = json.loads(await asyncio.to_thread(out.read_text))
    report: dict[str, Any] = document["server_scan_results"][0]["scan_result"]
    return process.returncode, stdout.decode(errors="replace"), report


def _accepted(report: dict[str, Any], protocol: str) -> list[str]:
    suites = report[f"{protocol}_cipher_suites"]["result"]["accepted_cipher_suites"]
    return [suite["cipher_suite"]["name"] for suite in suites]


async def test_the_gateway_is_compliant_with_mozilla_intermediate(
    pki: DevPki, tmp_path: Path
) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    env = gateway_env(pki, jwks, NO_BACKENDS)
    async with running_gateway(env, pki) as gateway:
        code, output, report = await _scan(gateway.port, pki.ca, tmp_path / "sslyze.json")

    compliance = output[output.find("COMPLIANCE AGAINST TLS CONFIGURATION") :]
    print(compliance)  # noqa: T201 - the scanner's verdict belongs in the test output
    assert code == 0 and "OK - Compliant" in compliance, compliance

    curves = {c["name"] for c in report["elliptic_curves"]["result"]["supported_curves"]}
    assert curves == MOZILLA_INTERMEDIATE_CURVES
    for old in ("ssl_2_0", "ssl_3_0", "tls_1_0", "tls_1_1"):
        assert _accepted(report, old) == [], old
    assert _accepted(report, "tls_1_3") and _accepted(report, "tls_1_2")
    # Forward-secret AEAD suites only on TLS 1.2.
    assert all(
        "ECDHE" in s and ("GCM" in s or "CHACHA20" in s) for s in _accepted(report, "tls_1_2")
    )

    deployment = report["certificate_info"]["result"]["certificate_deployments"][0]
    supplied = [
        r
        for r in deployment["path_validation_results"]
        if r["trust_store"]["name"] == "Supplied CA file"
    ]
    assert [r["was_validation_successful"] for r in supplied] == [True], supplied


def test_development_leaves_live_at_most_397_days_and_carry_their_spiffe_id(pki: DevPki) -> None:
    for name in ("gateway", "auth", "roster", "sharing"):
        cert = x509.load_pem_x509_certificate(pki.leaf(name).cert.read_bytes())
        assert cert.not_valid_after_utc - cert.not_valid_before_utc <= dt.timedelta(days=397)
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert sans.get_values_for_type(x509.UniformResourceIdentifier) == [
            f"spiffe://trackcc/{name}"
        ]
