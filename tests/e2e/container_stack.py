"""The four images, PostgreSQL and the SMTP sink as containers on a private Docker network.

This is the deployment of the Helm chart in miniature: every component runs from the image
that SREs deploy, as its non-root user, on a read-only root filesystem, configured only by
environment variables (the same ones ``make run`` passes, from
``services.localstack.components``), talking mutual TLS by container name. Only the
gateway's HTTPS port is published, on the host's loopback.

Three networks, as the chart's NetworkPolicies split who may call whom, so that the fault
tests can cut roster off from sharing alone while roster still reaches PostgreSQL and the
gateway still reaches roster: sharing is not on the main network; it is reached on
``sharing_network``, where its callers (gateway, auth, roster) have no name of their own, and
it reaches PostgreSQL and SMTP on ``sharing_data_network``, where roster is not.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker.errors
import pytest
from docker.models.containers import Container
from docker.models.networks import Network

from services.common.devcerts import DevPki
from services.localstack.components import (
    CALLEES,
    SERVICES,
    Ports,
    Wiring,
    gateway_environment,
    service_environment,
)
from services.localstack.database import LocalDatabase
from services.localstack.layout import DataLayout, prepare
from services.localstack.settings import StackSettings
from tests.e2e.mail import mail_link, token_of
from tests.e2e.stack import PASSWORD, HttpsClient, Response
from tests.support.engine import TEST_LABELS, ContainerEngine, NoEngine
from tests.support.ports import free_port
from tests.support.postgres import MEMORY_DATA

IMAGE_DATA = "/var/lib/postgresql/data"  # PGDATA of deploy/docker/postgres/Dockerfile
CALLERS_OF_SHARING = ("gateway", *(name for name, calls in CALLEES.items() if "sharing" in calls))
GRPC_PORTS = {"auth": 50051, "roster": 50052, "sharing": 50053}
METRICS_PORT = 9464
SMTP_PORT = 2525
# Where the read-only mounts appear inside the containers.
INSIDE = Path("/trackcc")
READY_TIMEOUT_SECONDS = 180.0
# The services' own shutdown grace (SHUTDOWN_GRACE_SECONDS) is 3 s; the engine's SIGKILL
# comes this long after SIGTERM, as terminationGracePeriodSeconds in the chart.
STOP_GRACE_SECONDS = 15
# Every container: non-root (the image's user), read-only root, nothing more than it needs.
_HARDENED: Mapping[str, Any] = {
    "read_only": True,
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges"],
    "tmpfs": {"/tmp": "size=64m,mode=1777"},
    "labels": TEST_LABELS,
}


@dataclass
class ContainerStack(HttpsClient):
    """The running containers, their networks, and how a client reaches the gateway."""

    engine: ContainerEngine
    network: Network  # every component but sharing
    sharing_network: Network  # sharing and its callers
    sharing_data_network: Network  # sharing, PostgreSQL and SMTP
    data_dir: Path  # on the host: tls/ca.pem to trust, mail/ where the sink writes
    https_port: int
    containers: dict[str, Container] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"https://localhost:{self.https_port}"

    def ready(self) -> bool:
        with contextlib.suppress(OSError):
            return self.request("GET", "/readyz")[0] == 200
        return False

    def metrics(self, service: str) -> str:
        """``/metrics`` of a service, fetched from inside the network (its port is not
        published): what Prometheus in the cluster would scrape."""
        url = f"http://{service}:{METRICS_PORT}/metrics"
        code = (
            "import urllib.request; "
            f"print(urllib.request.urlopen({url!r}, timeout=10).read().decode())"
        )
        exit_code, output = self.containers["gateway"].exec_run(["python", "-c", code])
        assert exit_code == 0 and isinstance(output, bytes), output
        return output.decode(errors="replace")

    def aliases(self, name: str) -> list[str]:
        return [name]

    def sharing_aliases(self, name: str) -> list[str]:
        """The names of a component on ``sharing_network``: sharing's own, no other."""
        return self.aliases(name) if name == "sharing" else []

    def logs(self) -> str:
        parts = []
        for name, container in self.containers.items():
            with contextlib.suppress(docker.errors.APIError):
                tail = container.logs(tail=15).decode(errors="replace")
                parts.append(f"--- {name}\n{tail}")
        return "\n".join(parts)


def _readable_copy(source: Path, target: Path) -> Path:
    # The services run as uid 10001; the host's files are root's and private. This copy, in a
    # test's temporary folder, is what the cluster's Secret volume would be.
    shutil.copytree(source, target)
    target.chmod(0o755)
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


def _networks_of(stack: ContainerStack, name: str) -> list[tuple[Network, list[str]]]:
    """The networks of a component, each with the names it has there: only on the network
    where it is called, so that no lookup of a name ever leads across another network."""
    on_sharing = (stack.sharing_network, stack.sharing_aliases(name))
    on_data = (stack.sharing_data_network, stack.aliases(name))
    if name == "sharing":
        return [on_sharing, (stack.sharing_data_network, [])]
    if name in ("postgres", "smtp"):
        return [(stack.network, stack.aliases(name)), on_data]
    if name in CALLERS_OF_SHARING:
        return [(stack.network, stack.aliases(name)), on_sharing]
    return [(stack.network, stack.aliases(name))]


def _run(stack: ContainerStack, name: str, image: str, **options: Any) -> Container:
    (first, aliases), *others = _networks_of(stack, name)
    network = str(first.name)
    # The others find it by its short name, as a Service name in the cluster.
    endpoint = stack.engine.client.api.create_endpoint_config(aliases=aliases)
    container: Container = stack.engine.client.containers.create(
        image,
        name=f"{stack.network.name}-{name}",
        network=network,
        networking_config={network: endpoint},
        **{**_HARDENED, **options},
    )
    stack.containers[name] = container
    for other, other_aliases in others:  # before it starts: never half connected
        other.connect(container, aliases=other_aliases)
    container.start()
    return container


def _wait_for_postgres(container: Container, password: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        container.reload()
        if container.status == "exited":
            raise AssertionError("postgres exited:\n" + container.logs().decode(errors="replace"))
        code, _ = container.exec_run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-c", "select 1"],
            environment={"PGPASSWORD": password},
        )
        if code == 0:
            return
        time.sleep(0.3)
    raise AssertionError("postgres not ready in its container")


def require_engine(engine: ContainerEngine | NoEngine) -> ContainerEngine:
    """The engine, or the test reported as not run with the reason (never as passed)."""
    if isinstance(engine, NoEngine):
        pytest.skip(f"container tests not run: {engine.reason}")
    return engine


@contextlib.contextmanager
def running_container_stack(
    engine: ContainerEngine, work: Path, *, durable_postgres: bool = False
) -> Iterator[ContainerStack]:
    """Starts everything, waits until the gateway is ready, removes everything afterwards.

    With ``durable_postgres`` the database lives on a Docker volume (and fsyncs), so it
    survives a restart of its container; otherwise in memory, as throwaway test data may.
    """
    layout = DataLayout(work / "data")
    _, role_password = prepare(layout)
    layout.mail.chmod(0o777)  # the sink writes as uid 10001
    tls = _readable_copy(layout.tls, work / "mount" / "tls")
    keys = _readable_copy(layout.keys, work / "mount" / "keys")
    secrets_mounts = {
        str(tls): {"bind": str(INSIDE / "tls"), "mode": "ro"},
        str(keys): {"bind": str(INSIDE / "keys"), "mode": "ro"},
    }
    suffix = secrets.token_hex(4)
    network = engine.client.networks.create(
        f"trackcc-e2e-{suffix}", driver="bridge", labels=TEST_LABELS
    )
    sharing_network, sharing_data_network = (
        engine.client.networks.create(
            f"trackcc-e2e-{suffix}-{part}", driver="bridge", labels=TEST_LABELS
        )
        for part in ("sharing", "sharing-data")
    )
    stack = ContainerStack(
        engine, network, sharing_network, sharing_data_network, layout.root, free_port()
    )
    images = engine.images.components
    volume = None
    try:
        admin_password = secrets.token_urlsafe(18)
        # The root is read-only: the socket goes to the tmpfs (clients use TCP anyway).
        postgres_flags = ["-c", "unix_socket_directories=/tmp"]
        if durable_postgres:
            volume = engine.client.volumes.create(f"{network.name}-pgdata", labels=TEST_LABELS)
            # A new volume takes the image's folder (the postgres user's, mode 0700).
            storage: dict[str, Any] = {
                "volumes": {str(volume.name): {"bind": IMAGE_DATA, "mode": "rw"}},
                "environment": {"POSTGRES_PASSWORD": admin_password, "PGDATA": IMAGE_DATA},
            }
        else:
            storage = {
                "tmpfs": {MEMORY_DATA: "size=1g,mode=1777", "/tmp": "size=16m,mode=1777"},
                "environment": {
                    "POSTGRES_PASSWORD": admin_password,
                    "PGDATA": f"{MEMORY_DATA}/pg",
                },
            }
            postgres_flags += ["-c", "fsync=off"]
        postgres = _run(
            stack, "postgres", engine.images.postgres, command=postgres_flags, **storage
        )
        _run(
            stack,
            "smtp",
            images["gateway"],
            entrypoint=["python", "-m", "services.localstack.smtp_sink"],
            command=["--dir", str(INSIDE / "mail"), "--host", "0.0.0.0", "--port", str(SMTP_PORT)],
            volumes={str(layout.mail): {"bind": str(INSIDE / "mail"), "mode": "rw"}},
        )
        _wait_for_postgres(postgres, admin_password)
        admin_url = f"postgresql://postgres:{admin_password}@postgres:5432/postgres"
        # The chart's migration Job does this with the same command.
        engine.client.containers.run(
            images["gateway"],
            entrypoint=["sh", "-c"],
            command=[
                'printf "%s\\n" "$ROLE_PASSWORD" | trackcc-admin provision '
                '--admin-url "$ADMIN_URL" --role-password-stdin'
            ],
            environment={"ROLE_PASSWORD": role_password, "ADMIN_URL": admin_url},
            network=network.name,
            remove=True,
            **_HARDENED,
        )
        wiring = Wiring(
            # Tests sign in far more often than one school's address would.
            StackSettings(stack.https_port, METRICS_PORT, INSIDE, None, 100_000, "INFO"),
            DataLayout(INSIDE),
            DevPki(INSIDE / "tls"),
            LocalDatabase(admin_url, role_password, None),
            {name: Ports(GRPC_PORTS[name], METRICS_PORT) for name in SERVICES},
            SMTP_PORT,
            listen_host="0.0.0.0",
            smtp_host="smtp",
            service_hosts={name: name for name in SERVICES},
        )
        for name in SERVICES:
            _run(stack, name, images[name], environment=service_environment(name, wiring),
                 volumes=secrets_mounts)  # fmt: skip
        _run(
            stack,
            "gateway",
            images["gateway"],
            environment=gateway_environment(wiring),
            volumes=secrets_mounts,
            ports={f"{stack.https_port}/tcp": ("127.0.0.1", stack.https_port)},
        )
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not stack.ready():
            if time.monotonic() > deadline:
                raise AssertionError("the container stack is not ready:\n" + stack.logs())
            time.sleep(0.5)
        yield stack
    finally:
        for container in stack.containers.values():
            with contextlib.suppress(docker.errors.APIError):
                container.remove(force=True)
        for created in (network, sharing_network, sharing_data_network):
            created.remove()
        if volume is not None:
            volume.remove(force=True)


def expect_json(response: Response, expected: int) -> Any:
    """The JSON body of an answer that must have status ``expected``."""
    status, _, body = response
    assert status == expected, body
    return json.loads(body) if body else None


def verified_account(stack: HttpsClient, email: str, role: str) -> str:
    """Signs up, follows the verification mail, signs in; returns the access token."""
    expect_json(
        stack.request("POST", "/v1/accounts", {"email": email, "password": PASSWORD, "role": role}),
        201,
    )
    link = mail_link(stack, email, "/verify")
    expect_json(stack.request("POST", "/v1/accounts/verify", {"token": token_of(link)}), 204)
    session = expect_json(
        stack.request("POST", "/v1/sessions", {"email": email, "password": PASSWORD}), 200
    )
    assert session["account"]["email_verified"] is True
    return str(session["access_token"])
