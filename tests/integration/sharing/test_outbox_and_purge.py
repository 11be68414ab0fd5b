"""Mail survives a mail server that is down; PurgeUser removes a user's traces, only for auth."""

from __future__ import annotations

import uuid
from datetime import timedelta

import grpc
import pytest

from services.common.config import Env
from services.common.devcerts import DevPki
from services.common.tokens import Principal, TokenSigner, load_signing_keys
from services.sharing.service import DEFINITION
from tests.support.services import JwtKeys, client_channel, started_service
from tests.support.sharing_service import Sharing, SmtpSink, resource_of, token_from
from trackcc.sharing.v1 import sharing_service_pb2 as pb
from trackcc.sharing.v1 import sharing_service_pb2_grpc as pb_grpc

READ = pb.PERMISSION_READ


def _pending(sharing: Sharing) -> float:
    value = sharing.registry.get_sample_value("trackcc_mail_outbox_pending")
    assert value is not None
    return value


async def test_mail_waits_for_a_server_that_is_down_then_arrives(sharing: Sharing) -> None:
    sharing.sink.stop()
    owner, guardian = sharing.person("t@school.test"), sharing.person("g@home.test")
    student = await sharing.own(owner)
    await sharing.invite(owner, student, "g@home.test")

    assert await sharing.parts.worker.run_once() == 0
    assert _pending(sharing) == 1
    connection = await sharing.db()
    try:
        row = await connection.fetchrow("SELECT attempts, last_error, sent_at FROM mail_outbox")
        assert row is not None
        assert row["attempts"] == 1 and row["last_error"] and row["sent_at"] is None
        assert "g@home.test" not in row["last_error"]
    finally:
        await connection.close()

    sharing.sink.start()
    assert await sharing.parts.worker.run_once() == 0  # backing off: not due yet
    sharing.clock.advance(timedelta(minutes=5))
    assert await sharing.parts.worker.run_once() == 1
    assert _pending(sharing) == 0
    [mail] = sharing.sink.messages
    await sharing.gateway.AcceptInvitation(
        pb.AcceptInvitationRequest(token=token_from(mail)), metadata=guardian.metadata
    )
    assert await sharing.check(guardian, student, READ)
    assert await sharing.parts.worker.run_once() == 0  # sent once, never again


async def test_purge_user_removes_owned_and_granted_access_idempotently(sharing: Sharing) -> None:
    owner, guardian = sharing.person("t@school.test"), sharing.person("g@home.test")
    other_owner = sharing.person("o@school.test")
    student = await sharing.own(owner)
    others_student = await sharing.own(other_owner)
    _, token = await sharing.invite_and_token(owner, student, "g@home.test")
    await sharing.gateway.AcceptInvitation(
        pb.AcceptInvitationRequest(token=token), metadata=guardian.metadata
    )
    _, token = await sharing.invite_and_token(other_owner, others_student, "g@home.test")
    await sharing.gateway.AcceptInvitation(
        pb.AcceptInvitationRequest(token=token), metadata=guardian.metadata
    )
    await sharing.invite(other_owner, others_student, "t@school.test")

    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await sharing.gateway.PurgeUser(pb.PurgeUserRequest(user_id=owner.id))
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED

    for _ in range(2):
        await sharing.auth.PurgeUser(pb.PurgeUserRequest(user_id=owner.id, email="t@school.test"))
    assert not await sharing.check(owner, student, READ)
    assert not await sharing.check(guardian, student, READ)
    assert await sharing.check(guardian, others_student, READ)
    received = await sharing.gateway.ListInvitations(
        pb.ListInvitationsRequest(direction=pb.INVITATION_DIRECTION_SENT),
        metadata=other_owner.metadata,
    )
    assert [i.email for i in received.invitations] == ["g@home.test"]

    await sharing.auth.PurgeUser(pb.PurgeUserRequest(user_id=guardian.id))
    assert not await sharing.check(guardian, others_student, READ)
    grants = await sharing.gateway.ListGrants(
        pb.ListGrantsRequest(resource=others_student), metadata=other_owner.metadata
    )
    assert list(grants.grants) == []


async def test_the_production_wiring_delivers_mail_in_the_background(
    sharing_env: Env, pki: DevPki, jwt_keys: JwtKeys
) -> None:
    sink = SmtpSink(int(sharing_env.values["TRACKCC_SMTP_PORT"]))
    sink.start()
    env = Env({**sharing_env.values, "TRACKCC_SHARING_OUTBOX_POLL_SECONDS": "0.05"})
    keys = load_signing_keys(jwt_keys.keys_dir)
    signer = TokenSigner(keys, keys[0].kid, "trackcc", "trackcc-api", 900)
    owner = Principal(str(uuid.uuid4()), "s", "teacher", "t@school.test", True, "Ms Rivera")
    student = resource_of("student", str(uuid.uuid4()))
    try:
        async with (
            started_service(DEFINITION, env) as service,
            client_channel(service, pki, as_name="roster") as roster_channel,
            client_channel(service, pki, as_name="gateway") as gateway_channel,
        ):
            await pb_grpc.SharingServiceStub(roster_channel).WriteTuples(
                pb.WriteTuplesRequest(
                    tuples=[
                        pb.Tuple(
                            resource=student, relation=pb.RELATION_OWNER, subject_id=owner.user_id
                        )
                    ]
                )
            )
            await pb_grpc.SharingServiceStub(gateway_channel).CreateInvitation(
                pb.CreateInvitationRequest(
                    resource=student,
                    email="g@home.test",
                    relation=pb.RELATION_VIEWER,
                    role=pb.GRANTEE_ROLE_GUARDIAN,
                ),
                metadata=(("authorization", f"Bearer {signer.issue(owner)}"),),
            )
            # The enqueue wakes the background worker; the timeout only bounds the wait.
            assert await sink.wait_for_mail(10)
        assert token_from(sink.messages[0])
    finally:
        sink.stop()
