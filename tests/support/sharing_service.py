"""A sharing service in the test process with a fixed clock, an SMTP sink and typed callers."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import threading
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from typing import Any, cast

import asyncpg
import grpc
from aiosmtpd.controller import Controller
from prometheus_client import CollectorRegistry

from services.common.config import Env
from services.common.devcerts import DevPki
from services.common.tls import GrpcTarget
from services.common.tokens import Principal, TokenSigner, load_signing_keys
from services.sharing.config import SharingSettings
from services.sharing.service import DEFINITION, SharingParts, build_parts
from tests.support.services import JwtKeys, StartedService, client_channel, started_service
from trackcc.sharing.v1 import sharing_service_pb2 as pb
from trackcc.sharing.v1 import sharing_service_pb2_grpc as pb_grpc

PUBLIC_URL = "https://trackcc.test"
START = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


class FakeClock:
    """The service's notion of now; tests move it instead of sleeping."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class _Collect:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.lock = threading.Lock()
        self.arrived = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content))
        self.arrived.set()
        return "250 OK"


class SmtpSink:
    """An aiosmtpd server on a fixed port that keeps every message."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._handler = _Collect()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def wait_for_mail(self, seconds: float) -> bool:
        """True once a message has arrived (the sink runs in its own thread)."""
        return await asyncio.to_thread(self._handler.arrived.wait, seconds)

    @property
    def messages(self) -> list[Message]:
        with self._handler.lock:
            return list(self._handler.messages)


def body(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def token_from(message: Message) -> str:
    match = re.search(re.escape(PUBLIC_URL) + r"/invitations/accept\?token=([\w-]+)", body(message))
    assert match, "the mail carries the accept link"
    return match[1]


@dataclasses.dataclass
class Person:
    """A user and the metadata that carries their access token."""

    id: str
    email: str
    metadata: tuple[tuple[str, str], ...]


@dataclasses.dataclass
class Sharing:
    """A running sharing service and stubs as each caller."""

    parts: SharingParts
    registry: CollectorRegistry
    clock: FakeClock
    sink: SmtpSink
    signer: TokenSigner
    roster: pb_grpc.SharingServiceAsyncStub
    gateway: pb_grpc.SharingServiceAsyncStub
    auth: pb_grpc.SharingServiceAsyncStub
    dsn: str
    target: GrpcTarget  # where it listens, for a channel with a certificate of the test's own

    def person(
        self,
        email: str,
        name: str = "Ms Rivera",
        *,
        verified: bool = True,
        role: str = "teacher",
        user_id: str | None = None,
    ) -> Person:
        """A new user, or with ``user_id`` the same user under another address."""
        user_id = user_id or str(uuid.uuid4())
        principal = Principal(
            user_id=user_id,
            session_id=str(uuid.uuid4()),
            role=role,
            email=email,
            email_verified=verified,
            display_name=name,
        )
        return Person(
            user_id, email, (("authorization", f"Bearer {self.signer.issue(principal)}"),)
        )

    async def own(self, person: Person, kind: str = "student") -> pb.Resource:
        """A new resource owned by the person, written as roster writes it."""
        resource = resource_of(kind, str(uuid.uuid4()))
        await self.roster.WriteTuples(
            pb.WriteTuplesRequest(
                tuples=[
                    pb.Tuple(resource=resource, relation=pb.RELATION_OWNER, subject_id=person.id)
                ]
            )
        )
        return resource

    async def check(
        self, person: Person, resource: pb.Resource, permission: pb.Permission.ValueType
    ) -> bool:
        reply = await self.roster.Check(
            pb.CheckRequest(user_id=person.id, resource=resource, permission=permission)
        )
        return bool(reply.allowed)

    async def invite(
        self,
        owner: Person,
        resource: pb.Resource,
        email: str,
        relation: pb.Relation.ValueType = pb.RELATION_VIEWER,
        **fields: Any,
    ) -> pb.Invitation:
        invitation: pb.Invitation = await self.gateway.CreateInvitation(
            pb.CreateInvitationRequest(
                resource=resource,
                email=email,
                relation=relation,
                role=pb.GRANTEE_ROLE_GUARDIAN,
                **fields,
            ),
            metadata=owner.metadata,
        )
        return invitation

    async def deliver(self) -> list[Message]:
        """Runs one outbox pass and returns every message the sink has."""
        await self.parts.worker.run_once()
        return self.sink.messages

    async def invite_and_token(
        self, owner: Person, resource: pb.Resource, email: str, **fields: Any
    ) -> tuple[pb.Invitation, str]:
        before = len(self.sink.messages)
        invitation = await self.invite(owner, resource, email, **fields)
        messages = await self.deliver()
        assert len(messages) == before + 1
        return invitation, token_from(messages[-1])

    async def db(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.dsn, server_settings={"search_path": "sharing"})


def _stub(channel: grpc.aio.Channel) -> pb_grpc.SharingServiceAsyncStub:
    # grpc ships no types, so mypy cannot pick the stub's async overload by itself.
    return cast("pb_grpc.SharingServiceAsyncStub", pb_grpc.SharingServiceStub(channel))


def resource_of(kind: str, resource_id: str) -> pb.Resource:
    kinds = {"student": pb.RESOURCE_TYPE_STUDENT, "class": pb.RESOURCE_TYPE_CLASS}
    return pb.Resource(type=kinds[kind], id=resource_id)


@contextlib.asynccontextmanager
async def running_sharing(
    env: Env, pki: DevPki, jwt_keys: JwtKeys, dsn: str, *, sink_running: bool = True
) -> AsyncIterator[Sharing]:
    """The service with a fixed clock and a driven (not background) mail worker."""
    clock = FakeClock()
    sink = SmtpSink(int(env.values["TRACKCC_SMTP_PORT"]))
    built: list[tuple[SharingParts, CollectorRegistry]] = []

    async def build(env: Env, pool: asyncpg.Pool, registry: CollectorRegistry) -> SharingParts:
        parts = build_parts(
            SharingSettings.from_env(env), pool, registry, clock=clock, start_worker=False
        )
        built.append((parts, registry))
        return parts

    keys = load_signing_keys(jwt_keys.keys_dir)
    signer = TokenSigner(keys, keys[0].kid, "trackcc", "trackcc-api", 900)
    definition = dataclasses.replace(DEFINITION, build=build)
    if sink_running:
        sink.start()
    try:
        async with started_service(definition, env) as service:
            async with (
                client_channel(service, pki, as_name="roster") as roster,
                client_channel(service, pki, as_name="gateway") as gateway,
                client_channel(service, pki, as_name="auth") as auth,
            ):
                yield Sharing(
                    parts=built[0][0],
                    registry=built[0][1],
                    clock=clock,
                    sink=sink,
                    signer=signer,
                    roster=_stub(roster),
                    gateway=_stub(gateway),
                    auth=_stub(auth),
                    dsn=dsn,
                    target=service.grpc_target,
                )
    finally:
        sink.stop()


__all__ = ["StartedService", "running_sharing"]


READ, WRITE, SHARE, DELETE = (
    pb.PERMISSION_READ,
    pb.PERMISSION_WRITE,
    pb.PERMISSION_SHARE,
    pb.PERMISSION_DELETE,
)


def tuple_of(resource: pb.Resource, relation: int, subject: str) -> pb.Tuple:
    """A relation tuple as roster writes it."""
    return pb.Tuple(resource=resource, relation=relation, subject_id=subject)  # type: ignore[arg-type]
