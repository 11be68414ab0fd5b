"""Roster and the real sharing service in the test process, with typed callers and people."""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence

import aiohttp
import asyncpg
from google.protobuf import field_mask_pb2
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from services.common.config import Env
from services.common.devcerts import DevPki
from services.common.tokens import Principal, TokenSigner, load_signing_keys
from services.roster.config import RosterSettings
from services.roster.reconciler import Reconciler
from services.roster.service import DEFINITION as ROSTER
from services.roster.service import RosterParts, build_parts
from services.roster.sharing_client import Authorizer, Ref, Tuple
from services.sharing.service import DEFINITION as SHARING
from tests.support.clocks import WallClock, clocked_sharing
from tests.support.ports import free_port
from tests.support.postgres import TestDatabase
from tests.support.services import JwtKeys, client_channel, service_env, started_service
from trackcc.roster.v1 import roster_service_pb2 as pb
from trackcc.roster.v1 import roster_service_pb2_grpc as pb_grpc
from trackcc.sharing.v1 import sharing_service_pb2 as spb
from trackcc.sharing.v1 import sharing_service_pb2_grpc as spb_grpc

AUTHORIZATION_METHODS = frozenset({"Check", "BatchCheck", "ListResources"})


class SimulatedCrash(Exception):
    """Raised where a process would have died between two steps."""


@dataclasses.dataclass
class Faults:
    """Which step of the tuple protocol fails next (each flag fires once)."""

    after_tuple_write: bool = False
    tuple_delete: bool = False


class FaultyAuthorizer(Authorizer):
    """The real client, except that it can fail the step after a tuple write or the delete."""

    def __init__(self, inner: Authorizer, faults: Faults) -> None:
        super().__init__(inner.stub, inner.checks)
        self.faults = faults

    async def write_tuples(self, tuples: Sequence[Tuple]) -> None:
        await super().write_tuples(tuples)
        if self.faults.after_tuple_write:
            self.faults.after_tuple_write = False
            raise SimulatedCrash("crashed after writing tuples, before the commit")

    async def delete_tuples(
        self, tuples: Sequence[Tuple] = (), resources: Sequence[Ref] = ()
    ) -> None:
        if self.faults.tuple_delete:
            self.faults.tuple_delete = False
            raise SimulatedCrash("crashed after the commit, before deleting tuples")
        await super().delete_tuples(tuples, resources)


@dataclasses.dataclass(frozen=True)
class Person:
    """A user and the metadata carrying their access token."""

    id: str
    metadata: tuple[tuple[str, str], ...]


@dataclasses.dataclass
class Stack:
    """Roster and sharing running, with stubs as each caller."""

    roster: pb_grpc.RosterServiceAsyncStub
    roster_as_auth: pb_grpc.RosterServiceAsyncStub
    sharing: spb_grpc.SharingServiceAsyncStub
    sharing_as_auth: spb_grpc.SharingServiceAsyncStub
    signer: TokenSigner
    faults: Faults
    parts: RosterParts
    metrics_port: int
    sharing_metrics_port: int
    database: TestDatabase

    def person(self, name: str = "Ms Rivera") -> Person:
        user_id = str(uuid.uuid4())
        principal = Principal(
            user_id=user_id,
            session_id=str(uuid.uuid4()),
            role="teacher",
            email=f"{user_id[:8]}@example.test",
            email_verified=True,
            display_name=name,
        )
        token = self.signer.issue(principal)
        return Person(user_id, (("authorization", f"Bearer {token}"),))

    async def new_class(self, owner: Person, name: str = "Year 5 Maths") -> pb.Class:
        created: pb.Class = await self.roster.CreateClass(
            pb.CreateClassRequest(school_class=pb.Class(name=name)), metadata=owner.metadata
        )
        return created

    async def new_student(
        self, owner: Person, name: str = "Ana R.", class_ids: Sequence[str] = ()
    ) -> pb.Student:
        created: pb.Student = await self.roster.CreateStudent(
            pb.CreateStudentRequest(
                student=pb.Student(display_name=name, class_ids=list(class_ids))
            ),
            metadata=owner.metadata,
        )
        return created

    async def enroll(self, owner: Person, class_id: str, student_id: str) -> None:
        await self.roster.EnrollStudent(
            pb.EnrollStudentRequest(class_id=class_id, student_id=student_id),
            metadata=owner.metadata,
        )

    async def grant(self, kind: str, resource_id: str, grantee: Person, relation: str) -> None:
        """The tuple an accepted invitation leaves in sharing."""
        await self.sharing.WriteTuples(
            spb.WriteTuplesRequest(
                tuples=[
                    spb.Tuple(
                        resource=resource(kind, resource_id),
                        relation=spb.Relation.Value(f"RELATION_{relation.upper()}"),
                        subject_id=grantee.id,
                    )
                ]
            )
        )

    async def can_read(self, person: Person, kind: str, resource_id: str) -> bool:
        reply = await self.sharing.Check(
            spb.CheckRequest(
                user_id=person.id,
                resource=resource(kind, resource_id),
                permission=spb.PERMISSION_READ,
            )
        )
        return bool(reply.allowed)

    async def owned_in_sharing(self, person: Person, kind: str) -> set[str]:
        reply = await self.sharing.ListResources(
            spb.ListResourcesRequest(
                user_id=person.id,
                resource_type=resource(kind, str(uuid.uuid4())).type,
                permission=spb.PERMISSION_READ,
                page_size=1000,
            )
        )
        return {r.resource_id for r in reply.resources}

    async def sharing_calls(self) -> int:
        """How many authorization calls (Check, BatchCheck, ListResources) sharing handled."""
        url = f"http://127.0.0.1:{self.sharing_metrics_port}/metrics"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            text = await response.text()
        return int(
            sum(
                sample.value
                for family in text_string_to_metric_families(text)
                for sample in family.samples
                if sample.name == "grpc_server_handled_total"
                and sample.labels["grpc_method"] in AUTHORIZATION_METHODS
            )
        )

    async def logged_uses(self, actor: Person) -> list[tuple[str, str, str]]:
        """(resource type, resource id, action) of the actor's entries in sharing's log."""
        async with self.database_connection("sharing") as connection:
            rows = await connection.fetch(
                "SELECT resource_type, resource_id, action FROM access_log WHERE actor_id = $1"
                " ORDER BY resource_type, resource_id, action",
                uuid.UUID(actor.id),
            )
        return [(r["resource_type"], str(r["resource_id"]), r["action"]) for r in rows]

    @contextlib.asynccontextmanager
    async def database_connection(
        self, service: str = "roster"
    ) -> AsyncIterator[asyncpg.Connection]:
        """A connection as the service's runtime role (roster's by default), to look at what
        is stored."""
        connection = await self.database.connect(service)
        try:
            yield connection
        finally:
            await connection.close()

    @contextlib.asynccontextmanager
    async def reconciler(self) -> AsyncIterator[Reconciler]:
        """A reconciler that settles every entry at once (no grace period)."""
        pool = await asyncpg.create_pool(
            self.database.runtime_dsn("roster"),
            min_size=1,
            max_size=2,
            server_settings={"search_path": "roster"},
        )
        try:
            yield Reconciler(
                pool, self.parts.sharing.authorizer, after_seconds=0, interval_seconds=3600
            )
        finally:
            await pool.close()


def resource(kind: str, resource_id: str) -> spb.Resource:
    kinds = {"class": spb.RESOURCE_TYPE_CLASS, "student": spb.RESOURCE_TYPE_STUDENT}
    return spb.Resource(type=kinds[kind], id=resource_id)


def mask(*paths: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=list(paths))


@contextlib.asynccontextmanager
async def running_stack(
    database: TestDatabase,
    pki: DevPki,
    jwt_keys: JwtKeys,
    roster_settings: Mapping[str, str] | None = None,
    *,
    decision_lease_seconds: float = 0.0,
    sharing_clock: WallClock | None = None,
) -> AsyncIterator[Stack]:
    """Sharing, then roster pointed at it (with ``roster_settings`` added to its environment);
    the roster's reconciler is driven by the tests.

    Sharing leases no answers unless ``decision_lease_seconds`` says so: these tests count the
    calls each read makes when it asks (tests/integration/roster/test_decision_leases.py
    turns leases on). With ``sharing_clock``, sharing takes its now from that clock."""
    sharing_definition = clocked_sharing(sharing_clock) if sharing_clock else SHARING
    sharing_env = service_env(
        sharing_definition,
        database,
        pki,
        jwt_keys,
        {
            "TRACKCC_PUBLIC_URL": "https://trackcc.test",
            "TRACKCC_SMTP_HOST": "127.0.0.1",
            "TRACKCC_SMTP_PORT": str(free_port()),
            "TRACKCC_SHARING_DECISION_LEASE_SECONDS": str(decision_lease_seconds),
        },
    )
    faults = Faults()
    built: list[RosterParts] = []

    async def build(env: Env, pool: asyncpg.Pool, registry: CollectorRegistry) -> RosterParts:
        parts = build_parts(
            RosterSettings.from_env(env),
            pool,
            registry,
            wrap_authorizer=lambda inner: FaultyAuthorizer(inner, faults),
            start_reconciler=False,
        )
        built.append(parts)
        return parts

    keys = load_signing_keys(jwt_keys.keys_dir)
    signer = TokenSigner(keys, keys[0].kid, "trackcc", "trackcc-api", 900)
    async with started_service(sharing_definition, sharing_env) as sharing:
        roster_env = service_env(
            ROSTER,
            database,
            pki,
            jwt_keys,
            {"TRACKCC_ROSTER_SHARING_TARGET": sharing.target, **(roster_settings or {})},
        )
        definition = dataclasses.replace(ROSTER, build=build)
        async with started_service(definition, roster_env) as roster:
            async with (
                client_channel(roster, pki, as_name="gateway") as gateway_channel,
                client_channel(roster, pki, as_name="auth") as auth_channel,
                client_channel(sharing, pki, as_name="roster") as sharing_channel,
                client_channel(sharing, pki, as_name="auth") as sharing_auth_channel,
            ):
                yield Stack(
                    roster=pb_grpc.RosterServiceStub(gateway_channel),  # type: ignore[arg-type]
                    roster_as_auth=pb_grpc.RosterServiceStub(auth_channel),  # type: ignore[arg-type]
                    sharing=spb_grpc.SharingServiceStub(sharing_channel),  # type: ignore[arg-type]
                    sharing_as_auth=spb_grpc.SharingServiceStub(sharing_auth_channel),  # type: ignore[arg-type]
                    signer=signer,
                    faults=faults,
                    parts=built[0],
                    metrics_port=roster.metrics_port,
                    sharing_metrics_port=sharing.metrics_port,
                    database=database,
                )
