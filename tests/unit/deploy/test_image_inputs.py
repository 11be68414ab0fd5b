"""What goes into an image build: the mirror, the wheels, the staged context and its hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.docker import images, rootfs, wheels


def test_the_mirror_comes_from_the_environment_first() -> None:
    assert rootfs.debian_mirror({rootfs.MIRROR_ENV: "http://mirror.test/debian"}) == (
        "http://mirror.test/debian"
    )


@pytest.mark.parametrize(
    "sources",
    [
        "Types: deb\nURIs: http://security.test/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nURIs: http://archive.test/debian\nSuites: bookworm\n",
        "deb http://security.test/debian-security bookworm-security main\n"
        "deb [arch=amd64] http://archive.test/debian bookworm main\n",
    ],
    ids=["deb822", "one-line"],
)
def test_the_mirror_is_the_hosts_apt_source_never_the_security_archive(
    sources: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "debian.sources"
    source.write_text(sources)
    monkeypatch.setattr(rootfs, "_APT_SOURCES", (source,))
    assert rootfs.debian_mirror({}) == "http://archive.test/debian"


def test_no_mirror_anywhere_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rootfs, "_APT_SOURCES", (tmp_path / "missing",))
    with pytest.raises(rootfs.BaseImageError, match=rootfs.MIRROR_ENV):
        rootfs.debian_mirror({})


def test_a_base_tag_changes_with_its_package_list() -> None:
    one = rootfs.BaseRecipe("trackcc-base", ("python3",))
    assert one.tag == rootfs.BaseRecipe("trackcc-base", ("python3",)).tag
    assert one.tag != rootfs.BaseRecipe("trackcc-base", ("python3", "curl")).tag


def test_only_the_wheels_of_the_current_pins_are_used(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.lock"
    lock.write_text("# comment\nGrpcio-Status==1.85.1\npyjwt==2.15.1  # pinned\n")
    folder = tmp_path / "wheels"
    folder.mkdir()
    for name in (
        "grpcio_status-1.85.1-py3-none-any.whl",
        "pyjwt-2.15.1-py3-none-any.whl",
        "pyjwt-2.14.0-py3-none-any.whl",  # an older pin's wheel, left behind
    ):
        (folder / name).write_bytes(b"")
    # Everything pinned is present: nothing is downloaded (the log stays empty).
    found = wheels.download_wheels([lock], folder, tmp_path / "log")
    assert [p.name for p in found] == [
        "grpcio_status-1.85.1-py3-none-any.whl",
        "pyjwt-2.15.1-py3-none-any.whl",
    ]
    assert not (tmp_path / "log").exists()


def test_the_context_holds_what_the_dockerfile_copies_and_no_bytecode(tmp_path: Path) -> None:
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    wheel.write_bytes(b"wheel")
    context = tmp_path / "context"
    images.stage_context(context, [wheel])
    top = sorted(p.name for p in context.iterdir())
    assert top == [
        "Dockerfile",
        "build-tools.lock",
        "protos",
        "requirements.lock",
        "services",
        "wheels",
    ]
    assert (context / "services" / "gateway" / "web").is_dir()
    assert not list(context.rglob("__pycache__")) and not list(context.rglob("*.pyc"))
    assert (context / "wheels" / wheel.name).read_bytes() == b"wheel"


def test_the_content_hash_sees_a_change_of_bytes_mode_or_base(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    first = images._digest(tmp_path, ["base-1"])
    assert images._digest(tmp_path, ["base-1"]) == first
    assert images._digest(tmp_path, ["base-2"]) != first
    (tmp_path / "a.py").chmod(0o755)
    moded = images._digest(tmp_path, ["base-1"])
    assert moded != first
    (tmp_path / "a.py").write_text("x = 2\n")
    assert images._digest(tmp_path, ["base-1"]) not in (first, moded)
