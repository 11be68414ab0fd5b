"""The invitation flow: mail, accept, email binding, the state machine, expiry, races."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import grpc
import pytest
from google.protobuf import timestamp_pb2

from tests.support.rpc_errors import reason
from tests.support.sharing_service import PUBLIC_URL, Sharing, body, token_from
from trackcc.sharing.v1 import sharing_service_pb2 as pb

READ, WRITE = pb.PERMISSION_READ, pb.PERMISSION_WRITE


def _ts(value: object) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)  # type: ignore[arg-type]
    return stamp


async def _fails(call: object, code: grpc.StatusCode, why: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await call  # type: ignore[misc]
    assert failed.value.code() == code
    assert reason(failed.value) == why


async def test_invite_mail_accept_gives_a_viewer_grant(sharing: Sharing) -> None:
    owner = sharing.person("teacher@school.test", "Ms Rivera")
    guardian = sharing.person("guardian@home.test", "Sam", verified=False, role="guardian")
    student = await sharing.own(owner)

    invitation = await sharing.invite(owner, student, " Guardian@Home.test ", message="Hello!")
    assert invitation.email == "guardian@home.test"
    assert invitation.status == pb.INVITATION_STATUS_PENDING
    assert invitation.expire_time.ToDatetime() - invitation.create_time.ToDatetime() == timedelta(
        days=14
    )
    assert not await sharing.check(guardian, student, READ)

    [mail] = await sharing.deliver()
    assert mail["To"] == "guardian@home.test"
    text = body(mail)
    assert "Ms Rivera" in text and "a student record" in text and "Hello!" in text
    assert f"{PUBLIC_URL}/invitations/accept?token=" in text
    assert student.id not in text and "teacher@school.test" not in text
    token = token_from(mail)

    grant = await sharing.gateway.AcceptInvitation(
        pb.AcceptInvitationRequest(token=token), metadata=guardian.metadata
    )
    assert grant.grantee_id == guardian.id
    assert grant.grantee_email == "guardian@home.test"
    assert grant.relation == pb.RELATION_VIEWER
    assert grant.role == pb.GRANTEE_ROLE_GUARDIAN
    assert grant.proven_email == "guardian@home.test"
    assert await sharing.check(guardian, student, READ)
    assert not await sharing.check(guardian, student, WRITE)

    listed = await sharing.gateway.ListGrants(
        pb.ListGrantsRequest(resource=student), metadata=owner.metadata
    )
    assert [(g.id, g.grantee_email) for g in listed.grants] == [(grant.id, "guardian@home.test")]
    sent = await sharing.gateway.ListInvitations(
        pb.ListInvitationsRequest(direction=pb.INVITATION_DIRECTION_SENT), metadata=owner.metadata
    )
    assert [i.status for i in sent.invitations] == [pb.INVITATION_STATUS_ACCEPTED]
    await _fails(
        sharing.gateway.AcceptInvitation(
            pb.AcceptInvitationRequest(token=token), metadata=guardian.metadata
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "invitation_used",
    )


async def test_another_account_cannot_accept(sharing: Sharing) -> None:
    owner, other = sharing.person("t@school.test"), sharing.person("other@home.test")
    student = await sharing.own(owner)
    _, token = await sharing.invite_and_token(owner, student, "guardian@home.test")
    await _fails(
        sharing.gateway.AcceptInvitation(
            pb.AcceptInvitationRequest(token=token), metadata=other.metadata
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "email_mismatch",
    )
    assert not await sharing.check(other, student, READ)
    await _fails(
        sharing.gateway.AcceptInvitation(
            pb.AcceptInvitationRequest(token="made-up"), metadata=other.metadata
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "invalid_token",
    )


async def test_inviting_an_address_with_access_is_already_shared(sharing: Sharing) -> None:
    owner, guardian = sharing.person("t@school.test"), sharing.person("g@home.test")
    student = await sharing.own(owner)
    _, token = await sharing.invite_and_token(owner, student, "g@home.test")
    await _fails(
        sharing.invite(owner, student, "g@home.test"),
        grpc.StatusCode.ALREADY_EXISTS,
        "already_invited",
    )
    await sharing.gateway.AcceptInvitation(
        pb.AcceptInvitationRequest(token=token), metadata=guardian.metadata
    )
    for email in ("G@home.test", "t@school.test"):
        await _fails(
            sharing.invite(owner, student, email), grpc.StatusCode.ALREADY_EXISTS, "already_shared"
        )


async def test_only_the_owner_invites(sharing: Sharing) -> None:
    owner, guardian = sharing.person("t@school.test"), sharing.person("g@home.test")
    stranger = sharing.person("s@else.test")
    student = await sharing.own(owner)
    _, token = await sharing.invite_and_token(owner, student, "g@home.test")
    await sharing.gateway.AcceptInvitation(
        pb.AcceptInvitationRequest(token=token), metadata=guardian.metadata
    )
    await _fails(
        sharing.invite(stranger, student, "x@y.test"), grpc.StatusCode.NOT_FOUND, "not_found"
    )
    await _fails(
        sharing.invite(guardian, student, "x@y.test"),
        grpc.StatusCode.PERMISSION_DENIED,
        "not_owner",
    )
    for person in (stranger, guardian):
        await _fails(
            sharing.gateway.ListGrants(
                pb.ListGrantsRequest(resource=student), metadata=person.metadata
            ),
            grpc.StatusCode.NOT_FOUND,
            "not_found",
        )
    await _fails(
        sharing.roster.CreateInvitation(
            pb.CreateInvitationRequest(resource=student, email="x@y.test"),
            metadata=owner.metadata,
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "caller_not_allowed",
    )
    await _fails(
        sharing.gateway.CreateInvitation(pb.CreateInvitationRequest(resource=student)),
        grpc.StatusCode.UNAUTHENTICATED,
        "unauthenticated",
    )


async def test_two_concurrent_accepts_of_one_token_make_one_grant(sharing: Sharing) -> None:
    owner, guardian = sharing.person("t@school.test"), sharing.person("g@home.test")
    student = await sharing.own(owner)
    _, token = await sharing.invite_and_token(owner, student, "g@home.test")
    results = await asyncio.gather(
        *(
            sharing.gateway.AcceptInvitation(
                pb.AcceptInvitationRequest(token=token), metadata=guardian.metadata
            )
            for _ in range(2)
        ),
        return_exceptions=True,
    )
    wins = [r for r in results if isinstance(r, pb.Grant)]
    losses = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(wins) == 1 and len(losses) == 1
    assert reason(losses[0]) == "invitation_used"
    grants = await sharing.gateway.ListGrants(
        pb.ListGrantsRequest(resource=student), metadata=owner.metadata
    )
    assert len(grants.grants) == 1


async def test_resend_kills_the_old_token(sharing: Sharing) -> None:
    owner, guardian = sharing.person("t@school.test"), sharing.person("g@home.test")
    student = await sharing.own(owner)
    invitation, old = await sharing.invite_and_token(owner, student, "g@home.test")
    await sharing.gateway.ResendInvitation(
        pb.ResendInvitationRequest(invitation_id=invitation.id), metadata=owner.metadata
    )
    messages = await sharing.deliver()
    assert len(messages) == 2
    new = token_from(messages[-1])
    assert new != old
    await _fails(
        sharing.gateway.AcceptInvitation(
            pb.AcceptInvitationRequest(token=old), metadata=guardian.metadata
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "invalid_token",
    )
    await sharing.gateway.AcceptInvitation(
        pb.AcceptInvitationRequest(token=new), metadata=guardian.metadata
    )
    assert await sharing.check(guardian, student, READ)


async def test_revoked_and_declined_invitations_cannot_be_accepted(sharing: Sharing) -> None:
    owner, guardian = sharing.person("t@school.test"), sharing.person("g@home.test")
    stranger = sharing.person("s@else.test")
    student = await sharing.own(owner)
    invitation, token = await sharing.invite_and_token(owner, student, "g@home.test")
    await _fails(
        sharing.gateway.RevokeInvitation(
            pb.RevokeInvitationRequest(invitation_id=invitation.id), metadata=stranger.metadata
        ),
        grpc.StatusCode.NOT_FOUND,
        "not_found",
    )
    await sharing.gateway.RevokeInvitation(
        pb.RevokeInvitationRequest(invitation_id=invitation.id), metadata=owner.metadata
    )
    await _fails(
        sharing.gateway.AcceptInvitation(
            pb.AcceptInvitationRequest(token=token), metadata=guardian.metadata
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "invitation_revoked",
    )

    sharing.clock.advance(timedelta(minutes=1))
    _, token = await sharing.invite_and_token(owner, student, "g@home.test")
    await sharing.gateway.DeclineInvitation(
        pb.DeclineInvitationRequest(token=token), metadata=guardian.metadata
    )
    await _fails(
        sharing.gateway.AcceptInvitation(
            pb.AcceptInvitationRequest(token=token), metadata=guardian.metadata
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "invitation_used",
    )
    received = await sharing.gateway.ListInvitations(
        pb.ListInvitationsRequest(direction=pb.INVITATION_DIRECTION_RECEIVED),
        metadata=guardian.metadata,
    )
    assert [i.status for i in received.invitations] == [
        pb.INVITATION_STATUS_DECLINED,
        pb.INVITATION_STATUS_REVOKED,
    ]
    assert not await sharing.check(guardian, student, READ)


async def test_an_invitation_expires_after_fourteen_days(sharing: Sharing) -> None:
    owner, guardian = sharing.person("t@school.test"), sharing.person("g@home.test")
    student = await sharing.own(owner)
    _, token = await sharing.invite_and_token(owner, student, "g@home.test")
    sharing.clock.advance(timedelta(days=14))
    await _fails(
        sharing.gateway.AcceptInvitation(
            pb.AcceptInvitationRequest(token=token), metadata=guardian.metadata
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "invitation_expired",
    )
    sent = await sharing.gateway.ListInvitations(
        pb.ListInvitationsRequest(direction=pb.INVITATION_DIRECTION_SENT), metadata=owner.metadata
    )
    assert [i.status for i in sent.invitations] == [pb.INVITATION_STATUS_EXPIRED]
    # An expired invitation no longer blocks a new one.
    await sharing.invite(owner, student, "g@home.test")


async def test_a_grant_ends_at_its_expiry_instant(sharing: Sharing) -> None:
    owner, guardian = sharing.person("t@school.test"), sharing.person("g@home.test")
    student = await sharing.own(owner)
    end = sharing.clock.now + timedelta(days=30)
    invitation, token = await sharing.invite_and_token(
        owner, student, "g@home.test", grant_expire_time=_ts(end)
    )
    assert invitation.grant_expire_time.ToDatetime() == end.replace(tzinfo=None)
    grant = await sharing.gateway.AcceptInvitation(
        pb.AcceptInvitationRequest(token=token), metadata=guardian.metadata
    )
    assert grant.expire_time.ToDatetime() == end.replace(tzinfo=None)
    sharing.clock.now = end - timedelta(microseconds=1)
    assert await sharing.check(guardian, student, READ)
    sharing.clock.now = end
    assert not await sharing.check(guardian, student, READ)
    log = await sharing.gateway.ListAccessLog(
        pb.ListAccessLogRequest(resource=student), metadata=owner.metadata
    )
    assert log.entries[0].action == pb.ACCESS_ACTION_EXPIRED
    assert log.entries[0].grant_id == grant.id
    assert log.entries[0].time.ToDatetime() == end.replace(tzinfo=None)


@pytest.mark.parametrize(("first_days", "second_days"), [(None, 7), (7, None), (7, 30)], ids=str)
async def test_invited_again_at_a_new_address_widens_the_grant_they_hold(
    sharing: Sharing, first_days: int | None, second_days: int | None
) -> None:
    """One grant per resource, relation and person: accepting never narrows access, and
    revoking the one grant ends it."""
    owner = sharing.person("t@school.test")
    guardian = sharing.person("old@home.test")
    moved = sharing.person("new@home.test", user_id=guardian.id)  # the same account, new email
    student = await sharing.own(owner)
    grants = []
    for person, days in ((guardian, first_days), (moved, second_days)):
        end = (
            {}
            if days is None
            else {"grant_expire_time": _ts(sharing.clock.now + timedelta(days=days))}
        )
        _, token = await sharing.invite_and_token(owner, student, person.email, **end)
        grants.append(
            await sharing.gateway.AcceptInvitation(
                pb.AcceptInvitationRequest(token=token), metadata=person.metadata
            )
        )

    held, again = grants
    assert again.id == held.id
    later = None if None in (first_days, second_days) else max(first_days or 0, second_days or 0)
    assert again.HasField("expire_time") is (later is not None)
    listed = await sharing.gateway.ListGrants(
        pb.ListGrantsRequest(resource=student), metadata=owner.metadata
    )
    assert [(g.id, g.grantee_email) for g in listed.grants] == [(held.id, "new@home.test")]
    # The address it is held under now is "already shared".
    await _fails(
        sharing.invite(owner, student, "new@home.test"),
        grpc.StatusCode.ALREADY_EXISTS,
        "already_shared",
    )
    sharing.clock.advance(timedelta(days=(later or 60) - 1))
    assert await sharing.check(moved, student, READ)

    await sharing.gateway.DeleteGrant(
        pb.DeleteGrantRequest(grant_id=held.id), metadata=owner.metadata
    )
    assert not await sharing.check(moved, student, READ)


async def test_a_request_id_replays_the_first_invitation(sharing: Sharing) -> None:
    owner = sharing.person("t@school.test")
    student = await sharing.own(owner)
    first = await sharing.invite(owner, student, "g@home.test", request_id="k1")
    again = await sharing.invite(owner, student, "g@home.test", request_id="k1")
    assert again == first
    assert len(await sharing.deliver()) == 1
    await _fails(
        sharing.invite(owner, student, "other@home.test", request_id="k1"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "idempotency_key_reused",
    )
