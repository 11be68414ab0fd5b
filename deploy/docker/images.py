"""``make images``: the four service images and the test PostgreSQL image, built offline.

The steps, each cached on this machine:

1. base images from Debian's packages (``rootfs.py``), tagged by their package list;
2. the locked wheels downloaded on the host (``wheels.py``);
3. a staged build context (code, protos, locks, wheels, Dockerfile), hashed: an image whose
   tag is that hash already exists when nothing changed, and is not built again;
4. checks of every image: it runs as a non-root user and holds no compiler.

Run ``python -m deploy.docker.images --help``.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import docker
import docker.errors

from deploy.docker.engine import connect
from deploy.docker.rootfs import POSTGRES_BASE, PYTHON_BASE, ensure_bases, image_exists
from deploy.docker.wheels import download_wheels

REPO = Path(__file__).resolve().parents[2]
DOCKER_DIR = REPO / "deploy" / "docker"
COMPONENTS = ("auth", "roster", "sharing", "gateway")
LOCKS = ("requirements.lock", "build-tools.lock")
CONTENT_LABEL = "org.trackcc.content"
# Any of these on PATH means a compiler or assembler reached a runtime image.
COMPILERS = ("cc", "gcc", "g++", "c++", "clang", "tcc", "cpp", "as", "ld", "rustc", "go")
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


class TextSink(Protocol):
    """Where progress lines go: a stream, or pytest's terminal."""

    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...


class ImageCheckError(RuntimeError):
    """A built image breaks a rule (root user, a compiler inside)."""


@dataclass(frozen=True)
class Images:
    """Tags of the images of one build."""

    components: Mapping[str, str]
    postgres: str


def _digest(root: Path, extra: Iterable[str] = ()) -> str:
    digest = hashlib.sha256()
    for item in extra:
        digest.update(item.encode() + b"\0")
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(oct(path.stat().st_mode & 0o777).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def stage_context(context: Path, wheels: list[Path]) -> None:
    """Copies exactly what the Dockerfile reads into ``context`` (and nothing else)."""
    shutil.rmtree(context, ignore_errors=True)
    context.mkdir(parents=True)
    shutil.copy2(DOCKER_DIR / "Dockerfile", context / "Dockerfile")
    for lock in LOCKS:
        shutil.copy2(DOCKER_DIR / lock, context / lock)
    shutil.copytree(REPO / "protos", context / "protos", ignore=_IGNORED)
    shutil.copytree(REPO / "services", context / "services", ignore=_IGNORED)
    (context / "wheels").mkdir()
    for wheel in wheels:
        # A hard link where the file system allows: the wheels weigh about 100 MiB.
        try:
            (context / "wheels" / wheel.name).hardlink_to(wheel)
        except OSError:
            shutil.copy2(wheel, context / "wheels" / wheel.name)


def _build(
    client: docker.DockerClient,
    context: Path,
    tag: str,
    content: str,
    log: TextSink,
    *,
    target: str | None = None,
    buildargs: Mapping[str, str] | None = None,
) -> None:
    stream: Iterable[dict[str, Any]] = client.api.build(
        path=str(context),
        dockerfile="Dockerfile",
        target=target,
        tag=tag,
        buildargs=dict(buildargs or {}),
        labels={CONTENT_LABEL: content},
        rm=True,
        forcerm=True,
        pull=False,
        decode=True,
    )
    for chunk in stream:
        if "stream" in chunk:
            log.write(str(chunk["stream"]))
        if "error" in chunk:
            log.flush()
            raise docker.errors.BuildError(str(chunk["error"]), iter([]))
    log.flush()


def check_image(client: docker.DockerClient, tag: str) -> None:
    """Refuses an image whose user is root or that has a compiler on its PATH."""
    user = str(client.images.get(tag).attrs["Config"].get("User") or "")
    if user.split(":")[0] in ("", "0", "root"):
        raise ImageCheckError(f"{tag} runs as root (USER is {user or 'unset'})")
    probe = "id -u; for c in " + " ".join(COMPILERS) + "; do command -v $c || true; done"
    output = client.containers.run(
        tag, ["-c", probe], entrypoint="sh", remove=True, network_disabled=True
    )
    lines = output.decode().split()
    if not lines or lines[0] == "0":
        raise ImageCheckError(f"{tag} runs as uid 0")
    if lines[1:]:
        raise ImageCheckError(f"{tag} contains a compiler: {', '.join(lines[1:])}")


def _prune(client: docker.DockerClient, repository: str, keep: str) -> None:
    """Removes this repository's older builds, so a developer's disk does not fill up."""
    for image in client.images.list(name=repository):
        if keep not in image.tags:
            for tag in image.tags:
                try:
                    client.images.remove(tag, noprune=False)
                except docker.errors.APIError:
                    pass  # still used by a container; the next build tries again


def _size(client: docker.DockerClient, tag: str) -> str:
    return f"{client.images.get(tag).attrs['Size'] / 2**20:.0f} MiB"


def ensure_images(
    client: docker.DockerClient,
    *,
    production_base: bool = False,
    work_dir: Path = REPO / "build" / "images",
    out: TextSink = sys.stdout,
) -> Images:
    """Builds what is missing, checks every image, prints sizes and the time it took."""
    started = time.monotonic()
    work_dir.mkdir(parents=True, exist_ok=True)
    log_path = work_dir / "build.log"
    recipes = [POSTGRES_BASE] if production_base else [PYTHON_BASE, POSTGRES_BASE]
    ensure_bases(client, recipes, work_dir / "rootfs", log_path)
    if production_base:
        base = _production_base()
        if not image_exists(client, base):
            raise ImageCheckError(f"{base} is not in the engine: docker pull it first")
    else:
        base = PYTHON_BASE.tag
    base_id = str(client.images.get(base).id)

    wheels = download_wheels([DOCKER_DIR / lock for lock in LOCKS], work_dir / "wheels", log_path)
    context = work_dir / "context"
    stage_context(context, wheels)
    content = _digest(context, [base_id])
    tags = {name: f"trackcc-{name}:{content[:12]}" for name in COMPONENTS}

    postgres_dir = DOCKER_DIR / "postgres"
    postgres_base_id = str(client.images.get(POSTGRES_BASE.tag).id)
    postgres_content = _digest(postgres_dir, [postgres_base_id])
    postgres_tag = f"trackcc-postgres:{postgres_content[:12]}"

    built: list[str] = []
    with log_path.open("a") as log:
        for name, tag in tags.items():
            if not image_exists(client, tag):
                _build(client, context, tag, content, log, target=name,
                       buildargs={"PYTHON_IMAGE": base})  # fmt: skip
                built.append(tag)
        if not image_exists(client, postgres_tag):
            _build(client, postgres_dir, postgres_tag, postgres_content, log,
                   buildargs={"POSTGRES_BASE": POSTGRES_BASE.tag})  # fmt: skip
            built.append(postgres_tag)
    for tag in [*tags.values(), postgres_tag]:
        # A cached image passed these checks when it was built: its tag is its content.
        if tag in built:
            try:
                check_image(client, tag)
            except ImageCheckError:
                client.images.remove(tag)  # never left behind to be taken as "cached"
                raise
            _prune(client, tag.split(":")[0], keep=tag)
        state = "built" if tag in built else "cached"
        out.write(f"image {tag}: {_size(client, tag)} ({state}, non-root, no compiler)\n")
    out.write(f"images ready in {time.monotonic() - started:.1f} s (build log: {log_path})\n")
    out.flush()
    return Images(tags, postgres_tag)


def _production_base() -> str:
    text = (DOCKER_DIR / "Dockerfile").read_text()
    for line in text.splitlines():
        if line.startswith("ARG PYTHON_IMAGE="):
            return line.split("=", 1)[1].strip()
    raise ImageCheckError("the Dockerfile has no ARG PYTHON_IMAGE")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.docker.images",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--production-base",
        action="store_true",
        help="build on the Dockerfile's pinned python:3.11-slim (must be in the engine already)",
    )
    args = parser.parse_args(argv)
    client, reason = connect()
    if client is None:
        sys.stderr.write(f"images not built: {reason}\n")
        return 1
    try:
        ensure_images(client, production_base=args.production_base)
    except (ImageCheckError, docker.errors.BuildError, RuntimeError) as error:
        sys.stderr.write(f"images: {error}\n")
        return 1
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
