"""The owner's access log: state changes, coalesced views, changes; append-only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg
import grpc
import pytest

from tests.support.sharing_service import Sharing
from trackcc.sharing.v1 import sharing_service_pb2 as pb

READ, WRITE = pb.PERMISSION_READ, pb.PERMISSION_WRITE


async def test_views_by_others_coalesce_per_hour_and_the_owner_is_not_logged(
    sharing: Sharing,
) -> None:
    owner, guardian = sharing.person("t@school.test"), sharing.person("g@home.test")
    student = await sharing.own(owner)
    _, token = await sharing.invite_and_token(
        owner, student, "g@home.test", relation=pb.RELATION_EDITOR
    )
    sharing.clock.advance(timedelta(minutes=1))
    grant = await sharing.gateway.AcceptInvitation(
        pb.AcceptInvitationRequest(token=token), metadata=guardian.metadata
    )
    for minutes in (1, 10, 45):  # three views within the hour of the first
        sharing.clock.advance(timedelta(minutes=minutes))
        assert await sharing.check(guardian, student, READ)
        assert await sharing.check(owner, student, READ)
    sharing.clock.advance(timedelta(minutes=1))
    assert await sharing.check(guardian, student, WRITE)
    sharing.clock.advance(timedelta(minutes=5))  # 61 minutes after the first view
    assert await sharing.check(guardian, student, READ)

    log = await sharing.gateway.ListAccessLog(
        pb.ListAccessLogRequest(resource=student), metadata=owner.metadata
    )
    assert [e.action for e in log.entries] == [
        pb.ACCESS_ACTION_VIEWED,
        pb.ACCESS_ACTION_CHANGED,
        pb.ACCESS_ACTION_VIEWED,
        pb.ACCESS_ACTION_ACCEPTED,
        pb.ACCESS_ACTION_INVITED,
    ]
    times = [e.time.ToDatetime() for e in log.entries]
    assert times == sorted(times, reverse=True)
    guardian_entries = log.entries[:4]
    assert {e.actor_id for e in guardian_entries} == {guardian.id}
    assert {e.actor_email for e in guardian_entries} == {"g@home.test"}
    assert {e.grant_id for e in guardian_entries} == {grant.id}
    assert log.entries[4].actor_id == owner.id

    page = await sharing.gateway.ListAccessLog(
        pb.ListAccessLogRequest(resource=student, page_size=2), metadata=owner.metadata
    )
    rest = await sharing.gateway.ListAccessLog(
        pb.ListAccessLogRequest(resource=student, page_token=page.next_page_token),
        metadata=owner.metadata,
    )
    assert [*page.entries, *rest.entries] == list(log.entries)

    for reader in (guardian, sharing.person("s@else.test")):
        with pytest.raises(grpc.aio.AioRpcError) as hidden:
            await sharing.gateway.ListAccessLog(
                pb.ListAccessLogRequest(resource=student), metadata=reader.metadata
            )
        assert hidden.value.code() == grpc.StatusCode.NOT_FOUND


async def test_the_runtime_role_cannot_rewrite_the_log_and_it_goes_with_the_resource(
    sharing: Sharing,
) -> None:
    owner = sharing.person("t@school.test")
    student = await sharing.own(owner)
    await sharing.invite(owner, student, "g@home.test")
    connection = await sharing.db()
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute("UPDATE access_log SET action = 'viewed'")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute("DELETE FROM access_log")
        # The purge function refuses while the resource still has its owner.
        await connection.fetchval("SELECT purge_access_log('student', $1::uuid)", student.id)
        assert await connection.fetchval("SELECT count(*) FROM access_log") == 1
        await sharing.roster.DeleteTuples(pb.DeleteTuplesRequest(resources=[student]))
        assert await connection.fetchval("SELECT count(*) FROM access_log") == 0
        assert await connection.fetchval("SELECT count(*) FROM invitations") == 0
    finally:
        await connection.close()


async def test_a_check_that_only_filters_ids_is_answered_without_logging_a_use(
    sharing: Sharing,
) -> None:
    owner, guardian = sharing.person("t@school.test"), sharing.person("g@home.test")
    school_class = await sharing.own(owner, "class")
    student = await sharing.own(owner)
    await sharing.roster.WriteTuples(
        pb.WriteTuplesRequest(
            tuples=[
                pb.Tuple(
                    resource=school_class, relation=pb.RELATION_VIEWER, subject_id=guardian.id
                ),
                pb.Tuple(
                    resource=student, relation=pb.RELATION_ENROLLED_IN, subject_id=school_class.id
                ),
            ]
        )
    )

    def ask(resource: pb.Resource, **fields: Any) -> pb.CheckRequest:
        return pb.CheckRequest(user_id=guardian.id, resource=resource, permission=READ, **fields)

    async def guardian_views(resource: pb.Resource) -> int:
        log = await sharing.gateway.ListAccessLog(
            pb.ListAccessLogRequest(resource=resource), metadata=owner.metadata
        )
        return sum(e.actor_id == guardian.id for e in log.entries)

    unlogged = await sharing.roster.Check(ask(school_class, skip_access_log=True))
    assert (unlogged.allowed, unlogged.relation) == (True, pb.RELATION_VIEWER)
    both = await sharing.roster.BatchCheck(
        pb.BatchCheckRequest(
            checks=[ask(school_class, skip_access_log=True), ask(student, skip_access_log=True)]
        )
    )
    assert [(r.allowed, r.relation) for r in both.results] == [(True, pb.RELATION_VIEWER)] * 2
    assert (await guardian_views(school_class), await guardian_views(student)) == (0, 0)

    # The flag is per check: one batch may filter one id and read another resource.
    mixed = await sharing.roster.BatchCheck(
        pb.BatchCheckRequest(checks=[ask(school_class, skip_access_log=True), ask(student)])
    )
    assert all(r.allowed for r in mixed.results)
    assert (await guardian_views(school_class), await guardian_views(student)) == (0, 1)
    # Without the flag a read is logged as before.
    assert await sharing.check(guardian, school_class, READ)
    assert await guardian_views(school_class) == 1

    # A change is always logged: only a read may skip the log.
    write = pb.CheckRequest(
        user_id=guardian.id, resource=student, permission=WRITE, skip_access_log=True
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await sharing.roster.Check(write)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert str(refused.value.details()).startswith("skip_access_log:")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await sharing.roster.BatchCheck(pb.BatchCheckRequest(checks=[ask(student), write]))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert str(refused.value.details()).startswith("checks[1].skip_access_log:")
    assert await guardian_views(student) == 1
