"""What the sharing flow tests share: the stack with an SMTP sink, users, owned resources,
and the tokens from invitation mails.

Until roster lands, a class or student exists for sharing once its owner tuple is written the
way roster will write it: over gRPC with roster's certificate.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote

from services.auth.service import DEFINITION as AUTH
from services.common.devcerts import DevPki
from services.localstack.postgres import PostgresEndpoint
from services.localstack.smtp_sink import start_smtp_sink
from services.roster.service import DEFINITION as ROSTER
from services.sharing.service import DEFINITION as SHARING
from tests.support.gateway import RunningGateway, gateway_env, running_gateway
from tests.support.postgres import create_test_database
from tests.support.services import (
    StartedService,
    client_channel,
    make_jwt_keys,
    service_env,
    started_service,
)
from trackcc.sharing.v1 import sharing_service_pb2 as pb
from trackcc.sharing.v1 import sharing_service_pb2_grpc as pb_grpc

PASSWORD = "correct horse battery staple 42"
MAIL_WAIT_SECONDS = 15.0
_TOKEN = re.compile(r"/invitations/accept\?token=([A-Za-z0-9_.~%-]+)")


@dataclass(frozen=True)
class SharingStack:
    """A gateway over real auth, roster and sharing whose mail lands in ``mail_dir``."""

    gateway: RunningGateway
    sharing: StartedService
    pki: DevPki
    mail_dir: Path


@dataclass(frozen=True)
class User:
    id: str
    email: str
    headers: dict[str, str]


def new_email() -> str:
    return f"t-{uuid.uuid4().hex[:10]}@example.org"


@contextlib.asynccontextmanager
async def sharing_stack(
    pg_endpoint: PostgresEndpoint, pki: DevPki, directory: Path, clients: Any
) -> AsyncIterator[SharingStack]:
    """Starts the SMTP sink, the three services and the gateway (``clients``: its factory)."""
    mail_dir = directory / "mail"
    mail_dir.mkdir()
    sink = await start_smtp_sink(mail_dir)
    database = await create_test_database(pg_endpoint)
    keys = make_jwt_keys(directory)
    mail = {
        "TRACKCC_SMTP_HOST": "127.0.0.1",
        "TRACKCC_SMTP_PORT": str(sink.port),
        "TRACKCC_SHARING_OUTBOX_POLL_SECONDS": "0.05",
    }
    try:
        async with contextlib.AsyncExitStack() as services:
            auth, roster, sharing = [
                await services.enter_async_context(
                    started_service(definition, service_env(definition, database, pki, keys, mail))
                )
                for definition in (AUTH, ROSTER, SHARING)
            ]
            targets = {"auth": auth.target, "roster": roster.target, "sharing": sharing.target}
            env = gateway_env(pki, keys.jwks_file, targets)
            async with running_gateway(env, pki, clients=clients) as gateway:
                yield SharingStack(gateway, sharing, pki, mail_dir)
    finally:
        await sink.stop()


async def signed_up_user(stack: SharingStack, role: str = "teacher", address: str = "") -> User:
    """A new account (display name "Ms. K"), signed in through the gateway."""
    address = address or new_email()
    http = stack.gateway.http
    body = {"email": address, "password": PASSWORD, "role": role, "display_name": "Ms. K"}
    async with http.post("/v1/accounts", json=body) as response:
        assert response.status == 201, await response.text()
    async with http.post("/v1/sessions", json={"email": address, "password": PASSWORD}) as r:
        assert r.status == 200, await r.text()
        tokens = await r.json()
    return User(
        tokens["account"]["id"], address, {"Authorization": f"Bearer {tokens['access_token']}"}
    )


async def owned_resource(
    stack: SharingStack, owner: User, resource_type: pb.ResourceType.ValueType
) -> str:
    """A new resource id whose owner tuple roster would have written."""
    resource_id = str(uuid.uuid4())
    async with client_channel(stack.sharing, stack.pki, as_name="roster") as channel:
        stub = cast(Any, pb_grpc.SharingServiceStub(channel))
        await stub.WriteTuples(
            pb.WriteTuplesRequest(
                tuples=[
                    pb.Tuple(
                        resource=pb.Resource(type=resource_type, id=resource_id),
                        relation=pb.RELATION_OWNER,
                        subject_id=owner.id,
                    )
                ]
            )
        )
    return resource_id


async def mailed_token(stack: SharingStack, address: str, skip: int = 0) -> str:
    """The accept token of the ``skip``-th (0: first) invitation mail to ``address``."""
    async with asyncio.timeout(MAIL_WAIT_SECONDS):
        while True:
            tokens = []
            for path in sorted(stack.mail_dir.glob("*.eml")):
                message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                if message["To"] == address:
                    body = message.get_body(("plain",))
                    found = _TOKEN.search(body.get_content() if body else "")
                    if found:
                        tokens.append(unquote(found.group(1)))
            if len(tokens) > skip:
                return tokens[skip]
            await asyncio.sleep(0.05)  # the outbox worker delivers on its own schedule
