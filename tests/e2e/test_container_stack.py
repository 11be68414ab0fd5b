"""The images SREs deploy, run as containers: the user journey, hardening, faults, shutdown.

Everything here runs from the images of ``make images`` on a private Docker network (see
``container_stack.py``). Where no Docker engine answers, these tests are reported as not run,
with the reason; they never pass without running.
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from deploy.docker.images import ImageCheckError, check_image, ensure_images
from deploy.docker.rootfs import PYTHON_BASE
from tests.e2e.container_stack import (
    GRPC_PORTS,
    STOP_GRACE_SECONDS,
    ContainerStack,
    expect_json,
    require_engine,
    running_container_stack,
    verified_account,
)
from tests.e2e.mail import mail_link, token_of
from tests.e2e.stack import PASSWORD
from tests.support import containers
from tests.support.engine import TEST_LABELS, ContainerEngine, NoEngine

pytestmark = pytest.mark.e2e

# A service that is gone must show in /readyz; gRPC's reconnect back-off sets how fast a
# service that is back shows again.
FAULT_TIMEOUT_SECONDS = 90.0


@pytest.fixture(scope="module")
def stack(
    container_engine: ContainerEngine | NoEngine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ContainerStack]:
    engine = require_engine(container_engine)
    with running_container_stack(engine, tmp_path_factory.mktemp("containers")) as s:
        yield s


def test_a_teacher_shares_a_class_that_a_guardian_then_reads(stack: ContainerStack) -> None:
    teacher_email = f"teacher-{uuid.uuid4().hex[:8]}@example.com"
    guardian_email = f"guardian-{uuid.uuid4().hex[:8]}@example.com"
    teacher = verified_account(stack, teacher_email, "teacher")

    school_class = expect_json(
        stack.request(
            "POST", "/v1/classes", {"name": "Year 5 Robins", "term": "2026 autumn"}, teacher
        ),  # fmt: skip
        201,
    )
    class_id = school_class["id"]
    invitation = {"email": guardian_email, "relation": "viewer", "role": "guardian"}
    expect_json(
        stack.request("POST", f"/v1/classes/{class_id}/invitations", invitation, teacher), 201
    )

    guardian = verified_account(stack, guardian_email, "guardian")
    # Not shared yet: the class does not exist for the guardian.
    assert stack.request("GET", f"/v1/classes/{class_id}", None, guardian)[0] == 404
    link = mail_link(stack, guardian_email, "/invitations/accept")
    grant = expect_json(stack.request("POST", "/v1/invitations/accept", {"token": token_of(link)},
                                guardian), 200)  # fmt: skip
    assert grant["relation"] == "viewer"

    seen = expect_json(stack.request("GET", f"/v1/classes/{class_id}", None, guardian), 200)
    assert (seen["name"], seen["access"]) == ("Year 5 Robins", "viewer")
    listed = expect_json(stack.request("GET", "/v1/classes", None, guardian), 200)
    assert [item["id"] for item in listed["items"]] == [class_id]


def test_metrics_are_served_on_each_services_port_inside_the_network(
    stack: ContainerStack,
) -> None:
    for service in GRPC_PORTS:
        text = stack.metrics(service)
        assert "grpc_server_handled_total" in text or "grpc_server_started_total" in text, text
    # The sign-ins of the journey were counted where they happened.
    assert 'trackcc_auth_logins_total{result="success"}' in stack.metrics("auth")


def test_only_the_gateways_https_port_reaches_the_host(stack: ContainerStack) -> None:
    for name, container in stack.containers.items():
        container.reload()
        published = {
            port: bindings
            for port, bindings in container.attrs["NetworkSettings"]["Ports"].items()
            if bindings
        }
        if name == "gateway":
            assert list(published) == [f"{stack.https_port}/tcp"]
            assert [b["HostIp"] for b in published[f"{stack.https_port}/tcp"]] == ["127.0.0.1"]
        else:
            assert published == {}, name


def test_every_process_runs_as_a_non_root_user_on_a_read_only_root(stack: ContainerStack) -> None:
    for name, container in stack.containers.items():
        container.reload()
        assert container.attrs["HostConfig"]["ReadonlyRootfs"] is True, name
        processes = container.top(ps_args="-o uid,pid,comm")["Processes"]
        assert processes, name
        assert all(uid != "0" for uid, _, _ in processes), (name, processes)
        # The read-only root is real: nothing can be written outside the tmpfs mounts.
        code, output = container.exec_run(["sh", "-c", "touch /opt/written-at-run-time"])
        assert code != 0 and b"Read-only file system" in output, (name, output)


def test_faults_of_one_container_show_and_heal(stack: ContainerStack) -> None:
    network = stack.sharing_network  # where sharing is called
    roster, sharing, auth = (stack.containers[n] for n in ("roster", "sharing", "auth"))

    def kill_auth() -> None:
        containers.kill(auth)
        assert containers.exit_code(auth) == 137  # SIGKILL: no chance to clean up

    faults: list[tuple[str, Callable[[], None], Callable[[], None]]] = [
        ("pause roster", lambda: containers.pause(roster), lambda: containers.unpause(roster)),
        (
            "partition sharing",
            lambda: containers.disconnect(sharing, network),
            lambda: containers.reconnect(sharing, network, stack.aliases("sharing")),
        ),
        ("kill auth", kill_auth, lambda: containers.restart(auth)),
        (
            "stop roster",
            lambda: containers.stop(roster, STOP_GRACE_SECONDS),
            lambda: containers.restart(roster),
        ),
    ]
    figures = [""]
    for what, fault, heal in faults:
        fault()
        gone = containers.wait_until(lambda: not stack.ready(), FAULT_TIMEOUT_SECONDS, what)
        heal()
        back = containers.wait_until(stack.ready, FAULT_TIMEOUT_SECONDS, f"{what} healed")
        figures.append(f"{what}: not ready after {gone:.1f} s, ready again {back:.1f} s after")
    print("\n".join(figures))  # noqa: T201 - the figures are the point of the test

    # Data written before the faults is still there, and the stack takes new writes.
    email = f"after-faults-{uuid.uuid4().hex[:8]}@example.com"
    expect_json(
        stack.request(
            "POST", "/v1/accounts", {"email": email, "password": PASSWORD, "role": "teacher"}
        ),  # fmt: skip
        201,
    )


def test_sigterm_stops_every_container_within_its_grace_without_sigkill(
    stack: ContainerStack,
) -> None:
    # The gateway first, then the services, then what they depend on: the order of a
    # rolling shutdown.
    order = ["gateway", "auth", "roster", "sharing", "smtp", "postgres"]
    for name in order:
        container = stack.containers[name]
        started = time.monotonic()
        containers.stop(container, STOP_GRACE_SECONDS)
        took = time.monotonic() - started
        container.reload()
        state = container.attrs["State"]
        # 137 would be the engine's SIGKILL at the end of the grace period.
        assert (state["ExitCode"], state["OOMKilled"]) == (0, False), (name, state, took)
        assert took < STOP_GRACE_SECONDS, (name, took)


@pytest.fixture
def engine(container_engine: ContainerEngine | NoEngine) -> ContainerEngine:
    return require_engine(container_engine)


def test_a_second_build_of_unchanged_content_builds_nothing(engine: ContainerEngine) -> None:
    # Built (or found) again here rather than compared with the session's images: a file
    # edited while the suite runs is new content, and rightly a new tag.
    first = ensure_images(engine.client, out=io.StringIO())
    out = io.StringIO()
    again = ensure_images(engine.client, out=out)
    assert again == first
    lines = out.getvalue().splitlines()
    assert sum("(cached, non-root, no compiler)" in line for line in lines) == 5, lines


def _image_from(engine: ContainerEngine, folder: Path, dockerfile: str) -> str:
    (folder / "Dockerfile").write_text(dockerfile)
    tag = f"trackcc-check-probe:{uuid.uuid4().hex[:8]}"
    engine.client.images.build(path=str(folder), tag=tag, rm=True, pull=False, labels=TEST_LABELS)
    return tag


@pytest.mark.parametrize(
    ("lines", "refused_for"),
    [
        ("", "runs as root"),
        ("USER 0:0", "runs as root"),
        (
            "RUN printf '#!/bin/sh\\n' > /usr/local/bin/gcc && chmod 0755 /usr/local/bin/gcc\n"
            "USER 10001:10001",
            "contains a compiler: /usr/local/bin/gcc",
        ),
    ],
    ids=["no-user", "root-user", "compiler"],
)
def test_the_image_check_refuses_root_and_compilers(
    engine: ContainerEngine, tmp_path: Path, lines: str, refused_for: str
) -> None:
    base = engine.client.images.get(engine.images.components["gateway"]).attrs["Config"]
    assert base["User"] == "10001:10001"  # the real images pass the same check
    tag = _image_from(engine, tmp_path, f"FROM {PYTHON_BASE.tag}\n{lines}\n")
    try:
        with pytest.raises(ImageCheckError, match=refused_for):
            check_image(engine.client, tag)
    finally:
        engine.client.images.remove(tag, force=True)
