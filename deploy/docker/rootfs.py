"""Base images from Debian's packages: ``debootstrap`` a root filesystem, ``docker import`` it.

No registry is reachable from the machines that build and test TrackCC, so the local base
images are made from the Debian archive that the host's apt already uses. An image is tagged
with a hash of what went into it, so a second build on the same machine reuses it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

SUITE = "bookworm"  # Debian 12: its python3 is CPython 3.11, the version the project pins
# Bump when the recipe below changes in a way the package list does not show.
RECIPE_VERSION = "1"
MIRROR_ENV = "TRACKCC_DEBIAN_MIRROR"
_APT_SOURCES = (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list"))
# Documentation, manuals and apt's caches are not needed to run anything.
_TRIM = (
    "var/cache/apt/archives",
    "var/cache/apt/pkgcache.bin",
    "var/cache/apt/srcpkgcache.bin",
    "var/lib/apt/lists",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "var/log",
)


class BaseImageError(RuntimeError):
    """A base image could not be made; the message says what to do."""


@dataclass(frozen=True)
class BaseRecipe:
    """A Debian root filesystem: the packages on top of ``minbase`` and the image's tag."""

    repository: str
    packages: tuple[str, ...]

    @property
    def tag(self) -> str:
        text = "\n".join([SUITE, RECIPE_VERSION, *sorted(self.packages)])
        return f"{self.repository}:{SUITE}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


# The runtime of the four service images (and their builder stage): Debian's CPython 3.11,
# venv support for the builder, `python` on PATH as in the python:*-slim images.
PYTHON_BASE = BaseRecipe("trackcc-base", ("python3", "python3-venv", "python-is-python3"))
# PostgreSQL for the tests and the container stack: Debian's server package.
POSTGRES_BASE = BaseRecipe("trackcc-postgres-base", ("postgresql-15",))


def debian_mirror(environ: Mapping[str, str] = os.environ) -> str:
    """The Debian archive to bootstrap from: $TRACKCC_DEBIAN_MIRROR, else the host's apt source."""
    configured = environ.get(MIRROR_ENV, "").strip()
    if configured:
        return configured
    for source in _APT_SOURCES:
        if not source.exists():
            continue
        text = source.read_text(errors="replace")
        # deb822 ("URIs: ...") or one-line ("deb URL suite ...") sources; the security
        # archive has no bookworm suite of its own, so it is not a bootstrap mirror.
        for uri in re.findall(r"^URIs:\s*(\S+)", text, re.MULTILINE) + re.findall(
            r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+\S+", text, re.MULTILINE
        ):
            if "security" not in uri:
                return str(uri)
    raise BaseImageError(
        f"no Debian mirror found in the host's apt sources: set {MIRROR_ENV} to one"
    )


def _debootstrap() -> str:
    found = shutil.which("debootstrap") or (
        "/usr/sbin/debootstrap" if Path("/usr/sbin/debootstrap").exists() else None
    )
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        install = subprocess.run(
            ["apt-get", "install", "-y", "-qq", "debootstrap"], capture_output=True, check=False
        )
        if install.returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True, check=False)
            subprocess.run(
                ["apt-get", "install", "-y", "-qq", "debootstrap"], capture_output=True, check=True
            )
        return "/usr/sbin/debootstrap"
    raise BaseImageError("debootstrap is missing: as root, apt-get install debootstrap")


def bootstrap(recipe: BaseRecipe, work_dir: Path, log: Path, debootstrap: str) -> Path:
    """Runs ``debootstrap`` for ``recipe`` into a fresh folder under ``work_dir``; returns it."""
    if os.geteuid() != 0:
        raise BaseImageError("debootstrap needs root to build the base images")
    work_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=recipe.repository + "-", dir=work_dir))
    command = [
        debootstrap,
        "--variant=minbase",
        "--include=" + ",".join(recipe.packages),
        SUITE,
        str(root),
        debian_mirror(),
    ]
    with log.open("ab") as out:
        result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise BaseImageError(f"debootstrap of {recipe.repository} failed: see {log}")
    for relative in _TRIM:
        target = root / relative
        if target.is_dir():
            shutil.rmtree(target)
            target.mkdir()
        else:
            target.unlink(missing_ok=True)
    return root


def import_root(root: Path, tag: str, changes: Sequence[str] = ()) -> None:
    """``tar | docker import``: the folder becomes a one-layer image named ``tag``."""
    command = ["docker", "import"]
    for change in changes:
        command += ["--change", change]
    tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
    assert tar.stdout is not None
    imported = subprocess.run(
        [*command, "-", tag], stdin=tar.stdout, capture_output=True, check=False
    )
    tar.stdout.close()
    if tar.wait() != 0 or imported.returncode != 0:
        raise BaseImageError(f"docker import {tag} failed: {imported.stderr.decode()[-400:]}")


def image_exists(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def ensure_bases(
    client: docker.DockerClient, recipes: Sequence[BaseRecipe], work_dir: Path, log: Path
) -> list[str]:
    """Makes every base image that is not already there, in parallel; returns their tags."""
    missing = [recipe for recipe in recipes if not image_exists(client, recipe.tag)]
    if not missing:
        return [recipe.tag for recipe in recipes]
    # Installed once, before the threads: two apt-get runs at a time fight over dpkg's lock and
    # one of them fails (it did, on a fresh machine).
    debootstrap = _debootstrap()

    # Debootstrap is mostly waiting on downloads, one package at a time, so two of them run
    # side by side in about the time of one.
    def make(recipe: BaseRecipe) -> None:
        log_file = log.with_name(f"{log.stem}-{recipe.repository}.log")
        root = bootstrap(recipe, work_dir, log_file, debootstrap)
        try:
            import_root(root, recipe.tag, ["ENV LANG=C.UTF-8", 'CMD ["/bin/bash"]'])
        finally:
            shutil.rmtree(root, ignore_errors=True)

    with ThreadPoolExecutor(max_workers=max(1, len(missing))) as pool:
        for future in [pool.submit(make, recipe) for recipe in missing]:
            future.result()
    return [recipe.tag for recipe in recipes]
