"""The caller's account: profile update, export, and deletion through the durable job."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2, field_mask_pb2

from services.auth.deletion import DeletionWorker
from services.auth.purge_clients import GrpcPurgeClients
from services.common.devcerts import DevPki
from services.common.tls import GrpcTarget, peer_component
from services.sharing.service import DEFINITION as SHARING
from tests.support.auth_calls import (
    EMAIL,
    PASSWORD,
    bearer,
    fetch,
    fetchval,
    sign_in,
    sign_up,
)
from tests.support.auth_service import MailSink, RunningAuth, running_auth
from tests.support.postgres import TestDatabase
from tests.support.rpc_errors import failure_of
from tests.support.services import service_env, started_service
from trackcc.auth.v1 import auth_service_pb2 as pb
from trackcc.roster.v1 import roster_service_pb2, roster_service_pb2_grpc
from trackcc.sharing.v1 import sharing_service_pb2, sharing_service_pb2_grpc


def _mask(*paths: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=list(paths))


async def test_update_account_sets_and_clears_masked_fields(auth: RunningAuth) -> None:
    await sign_up(auth)
    token = bearer((await sign_in(auth)).access_token)
    updated = await auth.stub.UpdateAccount(
        pb.UpdateAccountRequest(
            account=pb.Account(display_name="Ms. A", birth_date="1990-04-01", gender="f"),
            update_mask=_mask("display_name", "birth_date", "gender"),
        ),
        metadata=token,
    )
    assert (updated.display_name, updated.birth_date, updated.gender) == (
        "Ms. A",
        "1990-04-01",
        "f",
    )
    cleared = await auth.stub.UpdateAccount(
        pb.UpdateAccountRequest(account=pb.Account(), update_mask=_mask("gender")), metadata=token
    )
    assert not cleared.HasField("gender") and cleared.display_name == "Ms. A"
    bad = await failure_of(
        auth.stub.UpdateAccount(
            pb.UpdateAccountRequest(
                account=pb.Account(email="x@example.org", birth_date="2999-01-01"),
                update_mask=_mask("email", "birth_date"),
            ),
            metadata=token,
        )
    )
    assert bad.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {field for field, _ in bad.field_violations} == {"update_mask", "birth_date"}


async def test_export_holds_the_account_and_its_sessions(auth: RunningAuth) -> None:
    await sign_up(auth)
    await sign_in(auth, user_agent="Old/1")
    current = await sign_in(auth, user_agent="New/2")
    export = await auth.stub.ExportAccount(
        pb.ExportAccountRequest(), metadata=bearer(current.access_token)
    )
    assert export.account.email == EMAIL
    assert sorted((s.user_agent, s.current) for s in export.sessions) == [
        ("New/2", True),
        ("Old/1", False),
    ]


class FakeRoster(roster_service_pb2_grpc.RosterServiceServicer):
    """Answers UNIMPLEMENTED (as roster does today) until ``ready``."""

    def __init__(self) -> None:
        self.ready = False
        self.callers: list[str | None] = []

    async def PurgeUser(
        self, request: roster_service_pb2.PurgeUserRequest, context: grpc.aio.ServicerContext
    ) -> roster_service_pb2.PurgeUserResponse:
        self.callers.append(peer_component(context))
        if not self.ready:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not yet")
        return roster_service_pb2.PurgeUserResponse(classes_deleted=2, students_deleted=31)


class FakeSharing(sharing_service_pb2_grpc.SharingServiceServicer):
    def __init__(self) -> None:
        self.purged: list[tuple[str, str]] = []

    async def PurgeUser(
        self, request: sharing_service_pb2.PurgeUserRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        self.purged.append((request.user_id, request.email))
        return empty_pb2.Empty()


@contextlib.asynccontextmanager
async def _fake_server(pki: DevPki, name: str, add: object) -> AsyncIterator[GrpcTarget]:
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    add(server)  # type: ignore[operator]
    port = server.add_secure_port("127.0.0.1:0", pki.leaf(name).server_credentials())
    await server.start()
    try:
        yield GrpcTarget(f"127.0.0.1:{port}", name)
    finally:
        await server.stop(0)


@pytest.fixture
async def fakes(
    pki: DevPki,
) -> AsyncIterator[tuple[FakeRoster, FakeSharing, GrpcTarget, GrpcTarget]]:
    # The generated bases are abstract only in the .pyi stubs.
    roster = FakeRoster()  # type: ignore[abstract]
    sharing = FakeSharing()  # type: ignore[abstract]
    async with (
        _fake_server(
            pki,
            "roster",
            lambda s: roster_service_pb2_grpc.add_RosterServiceServicer_to_server(roster, s),
        ) as roster_target,
        _fake_server(
            pki,
            "sharing",
            lambda s: sharing_service_pb2_grpc.add_SharingServiceServicer_to_server(sharing, s),
        ) as sharing_target,
    ):
        yield roster, sharing, roster_target, sharing_target


async def test_deletion_stops_sign_in_at_once_and_the_job_retries_until_purged(
    auth: RunningAuth, pki: DevPki, fakes: tuple[FakeRoster, FakeSharing, GrpcTarget, GrpcTarget]
) -> None:
    roster, sharing, roster_target, sharing_target = fakes
    account = await sign_up(auth)
    tokens = await sign_in(auth)
    wrong = await failure_of(
        auth.stub.DeleteAccount(
            pb.DeleteAccountRequest(password="wrong wrong 12"), metadata=bearer(tokens.access_token)
        )
    )
    assert wrong.reason == "invalid_credentials"
    await auth.stub.DeleteAccount(
        pb.DeleteAccountRequest(password=PASSWORD), metadata=bearer(tokens.access_token)
    )
    refused = await failure_of(
        auth.stub.CreateSession(pb.CreateSessionRequest(email=EMAIL, password=PASSWORD))
    )
    assert refused.reason == "invalid_credentials"
    ended = await failure_of(
        auth.stub.GetAccount(pb.GetAccountRequest(), metadata=bearer(tokens.access_token))
    )
    assert ended.code == grpc.StatusCode.UNAUTHENTICATED

    worker = DeletionWorker(
        auth.pool, GrpcPurgeClients(roster_target, sharing_target, pki.leaf("auth")), auth.clock
    )
    try:
        assert await worker.run_once() == 0  # roster answers UNIMPLEMENTED: retry later
        job = (await fetch(auth, "SELECT last_error, finished_at FROM deletion_jobs"))[0]
        assert job["last_error"] == "roster: UNIMPLEMENTED" and job["finished_at"] is None
        # sharing was purged meanwhile and is not asked again.
        assert sharing.purged == [(account.id, EMAIL)]
        assert await worker.run_once() == 0  # not due yet: backoff
        assert roster.callers == ["auth"]
        roster.ready = True
        auth.clock.advance(seconds=3)
        assert await worker.run_once() == 1
    finally:
        await worker.aclose()
    assert sharing.purged == [(account.id, EMAIL)]
    assert await fetchval(auth, "SELECT count(*) FROM accounts") == 0
    assert await fetchval(auth, "SELECT count(*) FROM sessions") == 0
    assert await fetchval(auth, "SELECT email FROM deletion_jobs") == ""
    events = [r["event"] for r in await fetch(auth, "SELECT event FROM audit_log ORDER BY id")]
    assert events == ["account_deletion_requested", "account_deleted"]
    await auth.deliver_mail()
    receipt = auth.sink.to(EMAIL)[-1]
    assert (
        "deleted" in receipt.subject and "2 class" in receipt.body and "31 student" in receipt.body
    )


async def test_the_background_worker_deletes_everything_within_a_minute(
    database: TestDatabase,
    pki: DevPki,
    tmp_path: Path,
    mail_sink: MailSink,
    fakes: tuple[FakeRoster, FakeSharing, GrpcTarget, GrpcTarget],
) -> None:
    roster, _, roster_target, sharing_target = fakes
    roster.ready = True
    extra = {
        "TRACKCC_AUTH_DELETION_WORKER_ENABLED": "true",
        "TRACKCC_AUTH_ROSTER_TARGET": roster_target.address,
        "TRACKCC_AUTH_SHARING_TARGET": sharing_target.address,
    }
    async with running_auth(database, pki, tmp_path, mail_sink, extra) as auth:
        await sign_up(auth)
        tokens = await sign_in(auth)
        await auth.stub.DeleteAccount(
            pb.DeleteAccountRequest(password=PASSWORD), metadata=bearer(tokens.access_token)
        )
        async with asyncio.timeout(60):
            # The service's own worker has no hook to await; its result is in the database.
            while await fetchval(auth, "SELECT count(*) FROM accounts"):  # noqa: ASYNC110
                await asyncio.sleep(0.05)


async def test_the_worker_purges_through_the_real_sharing_service(
    auth: RunningAuth, pki: DevPki, fakes: tuple[FakeRoster, FakeSharing, GrpcTarget, GrpcTarget]
) -> None:
    roster, _, roster_target, _ = fakes
    roster.ready = True
    env = service_env(SHARING, auth.database, pki, auth.keys)
    await sign_up(auth)
    tokens = await sign_in(auth)
    await auth.stub.DeleteAccount(
        pb.DeleteAccountRequest(password=PASSWORD), metadata=bearer(tokens.access_token)
    )
    async with started_service(SHARING, env) as sharing:
        purge = GrpcPurgeClients(roster_target, sharing.grpc_target, pki.leaf("auth"))
        worker = DeletionWorker(auth.pool, purge, auth.clock)
        try:
            assert await worker.run_once() == 1
        finally:
            await worker.aclose()
    assert await fetchval(auth, "SELECT count(*) FROM accounts") == 0
