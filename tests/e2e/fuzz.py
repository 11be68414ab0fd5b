"""schemathesis against a running stack's /v1/openapi.json, as a signed-in user.

Used by the bounded run in the suite (test_fuzz_api.py) and by ``make fuzz`` (``python -m
tests.e2e.fuzz``), which starts its own stack and runs longer. The CLI runs as a subprocess
with the project's configuration (schemathesis.toml beside this file): the run fails on any
finding, and its summary (operations, test cases, failures) is printed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.stack import PASSWORD, HttpsClient, running_stack, temporary_data_dir

CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# Operations that end the fuzzer's own session or account: the rest of the run would be 401s.
EXCLUDED = ("deleteCurrentSession", "deleteAllSessions", "deleteMe")
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "positive_data_acceptance",
)
# So that the fuzzer reaches sign-up and sign-in logic rather than 429 (still documented).
STACK_ENV = {"TRACKCC_RATE_LIMIT_PER_MINUTE": "100000"}


@dataclass(frozen=True)
class FuzzRun:
    """What the CLI answered."""

    returncode: int
    output: str

    @property
    def summary(self) -> str:
        """The CLI's closing summary: operations, phases, failures, test cases."""
        _, _, tail = self.output.rpartition(" SUMMARY ")
        return tail.strip("= \n") or self.output[-3000:]


def signed_in_token(client: HttpsClient) -> str:
    """A new teacher's access token (the fuzzer's identity)."""
    email = f"fuzz-{uuid.uuid4().hex[:10]}@example.org"
    body = {"email": email, "password": PASSWORD, "role": "teacher"}
    status, _, answer = client.request("POST", "/v1/accounts", body)
    assert status == 201, answer
    status, _, answer = client.request(
        "POST", "/v1/sessions", {"email": email, "password": PASSWORD}
    )
    assert status == 200, answer
    token: str = json.loads(answer)["access_token"]
    return token


def run_schemathesis(
    client: HttpsClient,
    *,
    max_examples: int,
    seed: int,
    workers: int = 1,
    phases: str = "examples,coverage,fuzzing,stateful",
    echo: bool = False,
) -> FuzzRun:
    """One CLI run against ``client``'s gateway; ``echo`` streams its output as it comes."""
    token = signed_in_token(client)
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{client.base_url}/v1/openapi.json",
        "--tls-verify",
        str(client.data_dir / "tls" / "ca.pem"),
        "-H",
        f"Authorization: Bearer {token}",
        "--checks",
        ",".join(CHECKS),
        *(arg for operation in EXCLUDED for arg in ("--exclude-operation-id", operation)),
        "--phases",
        phases,
        "--max-examples",
        str(max_examples),
        "--workers",
        str(workers),
        "--seed",
        str(seed),
        "--generation-database",
        "none",
    ]
    lines = []
    with subprocess.Popen(
        command,
        cwd=client.data_dir,  # its report folder, if any, goes with the stack's data
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if echo:
                sys.stdout.write(line)
    return FuzzRun(process.returncode, "".join(lines))


def main(argv: list[str] | None = None) -> int:
    """``make fuzz``: a stack of its own and a longer run than the suite's."""
    parser = argparse.ArgumentParser(prog="make fuzz", description=__doc__)
    parser.add_argument("--max-examples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=int(uuid.uuid4().int % 100000))
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    with temporary_data_dir() as data_dir, running_stack(data_dir, "fuzz", STACK_ENV) as stack:
        run = run_schemathesis(
            stack, max_examples=args.max_examples, seed=args.seed, workers=args.workers, echo=True
        )
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
