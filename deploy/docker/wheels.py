"""The locked dependencies as wheels, downloaded on the host for an offline image build.

The image build never reaches a package index: pip inside the builder stage installs with
``--no-index`` from the folder this module fills. Only binary wheels for CPython 3.11 on
glibc x86_64 are taken, so nothing is compiled and no compiler enters an image.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

# Debian 12's glibc is 2.36: every manylinux tag up to it runs on both bases.
_PLATFORMS = (
    "manylinux_2_36_x86_64",
    "manylinux_2_34_x86_64",
    "manylinux_2_28_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux2014_x86_64",
)


class WheelDownloadError(RuntimeError):
    """pip could not fetch a locked wheel; the message holds pip's last lines."""


def _pins(locks: list[Path]) -> set[tuple[str, str]]:
    pins = set()
    for lock in locks:
        for line in lock.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                name, version = line.split("==")
                pins.add((_normalized(name), version.strip()))
    return pins


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _present(destination: Path) -> set[tuple[str, str]]:
    # A wheel's file name starts with "<name>-<version>-", the name normalized with "_".
    return {
        (_normalized(wheel.name.split("-")[0]), wheel.name.split("-")[1])
        for wheel in destination.glob("*.whl")
    }


def download_wheels(locks: list[Path], destination: Path, log: Path) -> list[Path]:
    """Fetches exactly the pinned distributions of ``locks`` unless they are all there."""
    destination.mkdir(parents=True, exist_ok=True)
    wanted = _pins(locks)
    if wanted <= _present(destination):
        return _selected(destination, wanted)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "--no-deps",  # the locks list every distribution; nothing may be resolved anew
        "--only-binary=:all:",
        "--implementation=cp",
        "--python-version=3.11",
        "--dest",
        str(destination),
    ]
    for platform in _PLATFORMS:
        command.append(f"--platform={platform}")
    for lock in locks:
        command += ["-r", str(lock)]
    with log.open("ab") as out:
        result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-5:]
        raise WheelDownloadError("pip download failed:\n" + "\n".join(tail))
    return _selected(destination, wanted)


def _selected(destination: Path, wanted: set[tuple[str, str]]) -> list[Path]:
    """The wheels of the current pins only: an old pin's wheel left in the folder is ignored."""
    return sorted(
        wheel
        for wheel in destination.glob("*.whl")
        if (_normalized(wheel.name.split("-")[0]), wheel.name.split("-")[1]) in wanted
    )
