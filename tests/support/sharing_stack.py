"""What the sharing flow tests share: the stack with an SMTP sink, users, owned resources,
and the tokens from invitation mails.

Classes and students are made through the gateway, so sharing sees the tuples roster writes.
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
from typing import Any
from urllib.parse import unquote

from services.auth.service import DEFINITION as AUTH
from services.common.devcerts import DevPki
from services.localstack.postgres import PostgresEndpoint
from services.localstack.smtp_sink import start_smtp_sink
from services.roster.service import DEFINITION as ROSTER
from services.sharing.service import DEFINITION as SHARING
from tests.support.clocks import WallClock, clocked_sharing
from tests.support.gateway import RunningGateway, gateway_env, running_gateway, wait_ready
from tests.support.postgres import create_test_database
from tests.support.services import (
    StartedService,
    make_jwt_keys,
    service_env,
    started_service,
)
from trackcc.sharing.v1 import sharing_service_pb2 as pb

PASSWORD = "correct horse battery staple 42"
MAIL_WAIT_SECONDS = 15.0


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
    pg_endpoint: PostgresEndpoint,
    pki: DevPki,
    directory: Path,
    *,
    sharing_clock: WallClock | None = None,
) -> AsyncIterator[SharingStack]:
    """Starts the SMTP sink, the three services and the gateway, and yields once the gateway
    is ready; with ``sharing_clock``, sharing takes its now from that clock."""
    sharing_definition = clocked_sharing(sharing_clock) if sharing_clock else SHARING
    mail_dir = directory / "mail"
    mail_dir.mkdir()
    sink = await start_smtp_sink(mail_dir)
    database = await create_test_database(pg_endpoint)
    keys = make_jwt_keys(directory)
    mail = {
        "TRACKCC_SMTP_HOST": "127.0.0.1",
        "TRACKCC_SMTP_PORT": str(sink.port),
        "TRACKCC_SHARING_OUTBOX_POLL_SECONDS": "0.05",
        "TRACKCC_AUTH_OUTBOX_POLL_SECONDS": "0.05",
    }
    try:
        async with contextlib.AsyncExitStack() as services:
            auth, sharing = [
                await services.enter_async_context(
                    started_service(definition, service_env(definition, database, pki, keys, mail))
                )
                for definition in (AUTH, sharing_definition)
            ]
            # roster asks sharing on every call: sharing first, and roster told where it is.
            roster_env = service_env(
                ROSTER, database, pki, keys, {"TRACKCC_ROSTER_SHARING_TARGET": sharing.target}
            )
            roster = await services.enter_async_context(started_service(ROSTER, roster_env))
            targets = {"auth": auth.target, "roster": roster.target, "sharing": sharing.target}
            env = gateway_env(pki, keys.jwks_file, targets)
            async with running_gateway(env, pki) as gateway:
                await wait_ready(gateway)
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
    return await signed_in_user(stack, address)


async def signed_in_user(stack: SharingStack, address: str) -> User:
    """A new session of an existing account (another device of the same person)."""
    body = {"email": address, "password": PASSWORD}
    async with stack.gateway.http.post("/v1/sessions", json=body) as response:
        assert response.status == 200, await response.text()
        tokens = await response.json()
    return User(
        tokens["account"]["id"], address, {"Authorization": f"Bearer {tokens['access_token']}"}
    )


async def owned_resource(
    stack: SharingStack, owner: User, resource_type: pb.ResourceType.ValueType
) -> str:
    """A new class or student of ``owner``, made through the gateway (roster writes the
    owner tuple in sharing)."""
    if resource_type == pb.RESOURCE_TYPE_CLASS:
        path, body = "/v1/classes", {"name": "7B"}
    else:
        path, body = "/v1/students", {"display_name": "Sam R."}
    async with stack.gateway.http.post(path, json=body, headers=owner.headers) as response:
        assert response.status == 201, await response.text()
        created: dict[str, Any] = await response.json()
    resource_id: str = created["id"]
    return resource_id


async def mailed_token(
    stack: SharingStack, address: str, skip: int = 0, purpose: str = "invitations/accept"
) -> str:
    """The token of the ``skip``-th (0: first) mail to ``address`` whose link has the path
    ``/{purpose}`` (invitations: ``invitations/accept``; email verification: ``verify``)."""
    pattern = re.compile(rf"/{re.escape(purpose)}\?token=([A-Za-z0-9_.~%-]+)")
    async with asyncio.timeout(MAIL_WAIT_SECONDS):
        while True:
            tokens = []
            for path in sorted(stack.mail_dir.glob("*.eml")):
                message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                if message["To"] == address:
                    body = message.get_body(("plain",))
                    found = pattern.search(body.get_content() if body else "")
                    if found:
                        tokens.append(unquote(found.group(1)))
            if len(tokens) > skip:
                return tokens[skip]
            await asyncio.sleep(0.05)  # the outbox worker delivers on its own schedule
