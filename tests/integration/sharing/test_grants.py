"""Grants: the owner revokes, the grantee leaves, strangers see nothing; shared-with-me."""

from __future__ import annotations

import grpc
import pytest

from tests.support.rpc_errors import reason
from tests.support.sharing_service import Person, Sharing
from trackcc.sharing.v1 import sharing_service_pb2 as pb

READ = pb.PERMISSION_READ


async def _granted(sharing: Sharing) -> tuple[Person, Person, pb.Resource, pb.Grant]:
    owner = sharing.person("t@school.test", "Ms Rivera")
    guardian = sharing.person("g@home.test")
    student = await sharing.own(owner)
    _, token = await sharing.invite_and_token(owner, student, "g@home.test")
    grant = await sharing.gateway.AcceptInvitation(
        pb.AcceptInvitationRequest(token=token), metadata=guardian.metadata
    )
    return owner, guardian, student, grant


async def _actions(sharing: Sharing, owner: Person, resource: pb.Resource) -> list[int]:
    log = await sharing.gateway.ListAccessLog(
        pb.ListAccessLogRequest(resource=resource), metadata=owner.metadata
    )
    return [e.action for e in log.entries]


async def test_the_owner_revokes_a_grant_and_it_stops_at_once(sharing: Sharing) -> None:
    owner, guardian, student, grant = await _granted(sharing)
    assert await sharing.check(guardian, student, READ)
    await sharing.gateway.DeleteGrant(
        pb.DeleteGrantRequest(grant_id=grant.id), metadata=owner.metadata
    )
    assert not await sharing.check(guardian, student, READ)
    assert (await _actions(sharing, owner, student))[0] == pb.ACCESS_ACTION_REVOKED
    listed = await sharing.gateway.ListGrants(
        pb.ListGrantsRequest(resource=student), metadata=owner.metadata
    )
    assert list(listed.grants) == []


async def test_the_grantee_leaves(sharing: Sharing) -> None:
    owner, guardian, student, grant = await _granted(sharing)
    shared = await sharing.gateway.ListSharedWithMe(
        pb.ListSharedWithMeRequest(), metadata=guardian.metadata
    )
    assert [
        (r.resource.id, r.relation, r.owner_id, r.owner_display_name, r.grant_id)
        for r in shared.resources
    ] == [(student.id, pb.RELATION_VIEWER, owner.id, "Ms Rivera", grant.id)]
    await sharing.gateway.DeleteGrant(
        pb.DeleteGrantRequest(grant_id=grant.id), metadata=guardian.metadata
    )
    assert not await sharing.check(guardian, student, READ)
    assert (await _actions(sharing, owner, student))[0] == pb.ACCESS_ACTION_LEFT
    shared = await sharing.gateway.ListSharedWithMe(
        pb.ListSharedWithMeRequest(), metadata=guardian.metadata
    )
    assert list(shared.resources) == []


async def test_a_stranger_cannot_end_or_see_a_grant(sharing: Sharing) -> None:
    _, guardian, student, grant = await _granted(sharing)
    stranger = sharing.person("s@else.test")
    for grant_id in (grant.id, "00000000-0000-0000-0000-000000000000"):
        with pytest.raises(grpc.aio.AioRpcError) as hidden:
            await sharing.gateway.DeleteGrant(
                pb.DeleteGrantRequest(grant_id=grant_id), metadata=stranger.metadata
            )
        assert hidden.value.code() == grpc.StatusCode.NOT_FOUND
        assert reason(hidden.value) == "not_found"
    assert await sharing.check(guardian, student, READ)
