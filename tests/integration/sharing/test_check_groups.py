"""Check groups (BatchCheck's compact form for many resources of one user): the same answers
and the same access log as one Check per resource."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import grpc
import pytest

from tests.support.sharing_service import (
    DELETE,
    READ,
    SHARE,
    WRITE,
    Person,
    Sharing,
    resource_of,
    tuple_of,
)
from trackcc.sharing.v1 import sharing_service_pb2 as pb


def _group(
    who: Person,
    resources: list[pb.Resource],
    permission: pb.Permission.ValueType = READ,
    **fields: bool,
) -> pb.CheckGroup:
    return pb.CheckGroup(
        user_id=who.id,
        resource_type=resources[0].type if resources else pb.RESOURCE_TYPE_STUDENT,
        permission=permission,
        resource_ids=[uuid.UUID(r.id).bytes for r in resources],
        **fields,
    )


async def _accepted_grant(
    sharing: Sharing,
    owner: Person,
    resource: pb.Resource,
    grantee: Person,
    relation: pb.Relation.ValueType,
) -> pb.Grant:
    _, token = await sharing.invite_and_token(owner, resource, grantee.email, relation=relation)
    grant: pb.Grant = await sharing.gateway.AcceptInvitation(
        pb.AcceptInvitationRequest(token=token), metadata=grantee.metadata
    )
    return grant


async def test_group_answers_equal_one_check_each_for_every_kind_of_grant(
    sharing: Sharing,
) -> None:
    owner, reader, stranger = (
        sharing.person("t@school.test"),
        sharing.person("r@home.test"),
        sharing.person("x@else.test"),
    )
    school_class, other_class = [await sharing.own(owner, "class") for _ in range(2)]
    through_class, direct_editor, expired, ends_now, unrelated = [
        await sharing.own(owner) for _ in range(5)
    ]
    await sharing.roster.WriteTuples(
        pb.WriteTuplesRequest(
            tuples=[
                tuple_of(through_class, pb.RELATION_ENROLLED_IN, school_class.id),
                tuple_of(direct_editor, pb.RELATION_ENROLLED_IN, school_class.id),
                tuple_of(school_class, pb.RELATION_VIEWER, reader.id),
                tuple_of(direct_editor, pb.RELATION_EDITOR, reader.id),
            ]
        )
    )
    now = sharing.clock.now
    connection = await sharing.db()
    try:  # grant tuples that have ended: a minute ago, and at this very instant
        for resource, end in ((expired, now - timedelta(minutes=1)), (ends_now, now)):
            await connection.execute(
                "INSERT INTO relation_tuples (resource_type, resource_id, relation, subject_id,"
                " grant_id, expires_at) VALUES ('student', $1, 'editor', $2, $3, $4)",
                uuid.UUID(resource.id),
                uuid.UUID(reader.id),
                uuid.uuid4(),
                end,
            )
    finally:
        await connection.close()
    students = [through_class, direct_editor, expired, ends_now, unrelated, through_class]
    classes = [school_class, other_class]

    for who in (owner, reader, stranger):
        for permission in (READ, WRITE, SHARE, DELETE):
            for resources in (students, classes):
                batch = await sharing.roster.BatchCheck(
                    pb.BatchCheckRequest(groups=[_group(who, resources, permission)])
                )
                one_by_one = [
                    await sharing.roster.Check(
                        pb.CheckRequest(user_id=who.id, resource=r, permission=permission)
                    )
                    for r in resources
                ]
                [answer] = batch.group_results
                assert list(zip(answer.relations, answer.allowed, strict=True)) == [
                    (r.relation, r.allowed) for r in one_by_one
                ], (who.email, permission, resources[0].type)

    # And the answers themselves: owner; the class viewer reaching students, beaten by a
    # direct editor grant; ended grants give nothing.
    batch = await sharing.roster.BatchCheck(
        pb.BatchCheckRequest(
            checks=[pb.CheckRequest(user_id=reader.id, resource=school_class, permission=READ)],
            groups=[_group(reader, students, WRITE), _group(owner, students, DELETE)],
        )
    )
    assert [(r.allowed, r.relation) for r in batch.results] == [(True, pb.RELATION_VIEWER)]
    reader_answer, owner_answer = batch.group_results
    assert list(reader_answer.relations) == [
        pb.RELATION_VIEWER,
        pb.RELATION_EDITOR,
        pb.RELATION_UNSPECIFIED,
        pb.RELATION_UNSPECIFIED,
        pb.RELATION_UNSPECIFIED,
        pb.RELATION_VIEWER,
    ]
    assert list(reader_answer.allowed) == [False, True, False, False, False, False]
    assert list(owner_answer.relations) == [pb.RELATION_OWNER] * 6
    assert all(owner_answer.allowed)
    empty = await sharing.roster.BatchCheck(pb.BatchCheckRequest(groups=[_group(reader, [])]))
    assert [list(g.relations) for g in empty.group_results] == [[]]


async def _log(
    sharing: Sharing, owner: Person, resource: pb.Resource, start: datetime
) -> list[tuple[int, timedelta, str, str, str]]:
    reply = await sharing.gateway.ListAccessLog(
        pb.ListAccessLogRequest(resource=resource), metadata=owner.metadata
    )
    return [
        (e.action, e.time.ToDatetime(start.tzinfo) - start, e.actor_id, e.actor_email, e.grant_id)
        for e in reply.entries
        if e.action in (pb.ACCESS_ACTION_VIEWED, pb.ACCESS_ACTION_CHANGED)
    ]


async def test_a_group_logs_views_once_per_hour_and_changes_always_exactly_as_checks_do(
    sharing: Sharing,
) -> None:
    async def world(by_group: bool) -> list[list[tuple[int, timedelta, str, str, str]]]:
        owner, guardian = sharing.person("t@school.test"), sharing.person("g@home.test")
        school_class = await sharing.own(owner, "class")
        kim, lee, own = [await sharing.own(owner) for _ in range(3)]
        await sharing.roster.WriteTuples(
            pb.WriteTuplesRequest(
                tuples=[
                    tuple_of(kim, pb.RELATION_ENROLLED_IN, school_class.id),
                    tuple_of(lee, pb.RELATION_ENROLLED_IN, school_class.id),
                    tuple_of(own, pb.RELATION_OWNER, guardian.id),
                ]
            )
        )
        class_grant = await _accepted_grant(
            sharing, owner, school_class, guardian, pb.RELATION_VIEWER
        )
        lee_grant = await _accepted_grant(sharing, owner, lee, guardian, pb.RELATION_EDITOR)
        start = sharing.clock.now

        async def read(
            resources: list[pb.Resource],
            permission: pb.Permission.ValueType = READ,
            skip: bool = False,
        ) -> None:
            if by_group:
                await sharing.roster.BatchCheck(
                    pb.BatchCheckRequest(
                        groups=[_group(guardian, resources, permission, skip_access_log=skip)]
                    )
                )
            else:
                await sharing.roster.BatchCheck(
                    pb.BatchCheckRequest(
                        checks=[
                            pb.CheckRequest(
                                user_id=guardian.id,
                                resource=r,
                                permission=permission,
                                skip_access_log=skip,
                            )
                            for r in resources
                        ]
                    )
                )

        page = [kim, lee, own, kim]
        await read([kim, lee], skip=True)  # only filtering: not logged
        for minutes in (1, 10, 49):  # within the hour of the first view
            sharing.clock.advance(timedelta(minutes=minutes))
            await read(page)
        await read([lee, lee], WRITE)  # each allowed change is logged
        await read([kim], WRITE)  # refused: not logged
        sharing.clock.advance(timedelta(minutes=1))  # 60 minutes after the first view
        await read(page)
        sharing.clock.advance(timedelta(minutes=30))
        await read(page)
        logs = [await _log(sharing, owner, r, start) for r in (kim, lee)]
        logs.append(await _log(sharing, guardian, own, start))
        names = {guardian.id: "guardian", class_grant.id: "class grant", lee_grant.id: "lee grant"}
        # Ids differ between the two worlds; who and which grant must not.
        return [
            [(a, t, names[actor], email, names[g]) for a, t, actor, email, g in log] for log in logs
        ]

    by_check, by_group = await world(by_group=False), await world(by_group=True)
    assert by_group == by_check
    minute, hour = timedelta(minutes=1), timedelta(hours=1)
    viewed, changed = pb.ACCESS_ACTION_VIEWED, pb.ACCESS_ACTION_CHANGED
    assert by_group == [
        [
            (viewed, minute + hour, "guardian", "g@home.test", "class grant"),
            (viewed, minute, "guardian", "g@home.test", "class grant"),
        ],
        [
            (viewed, minute + hour, "guardian", "g@home.test", "lee grant"),
            (changed, hour, "guardian", "g@home.test", "lee grant"),
            (changed, hour, "guardian", "g@home.test", "lee grant"),
            (viewed, minute, "guardian", "g@home.test", "lee grant"),
        ],
        [],  # the guardian's own student: an owner's reads are never logged
    ]  # fmt: skip


async def test_group_views_and_check_views_coalesce_together_and_the_database_decides(
    sharing: Sharing,
) -> None:
    owner, guardian = sharing.person("t@school.test"), sharing.person("g@home.test")
    kim, lee = [await sharing.own(owner) for _ in range(2)]
    for student in (kim, lee):
        await _accepted_grant(sharing, owner, student, guardian, pb.RELATION_VIEWER)
    start = sharing.clock.now
    assert await sharing.check(guardian, kim, READ)
    sharing.clock.advance(timedelta(minutes=5))
    # Another replica, which remembers no view: the guarded upsert alone decides.
    sharing.parts.servicer._deps.recent_views._logged_at.clear()
    for _ in range(2):
        await sharing.roster.BatchCheck(pb.BatchCheckRequest(groups=[_group(guardian, [kim, lee])]))
    sharing.clock.advance(timedelta(minutes=5))
    assert await sharing.check(guardian, lee, READ)
    assert [t for _, t, *_ in await _log(sharing, owner, kim, start)] == [timedelta(0)]
    assert [t for _, t, *_ in await _log(sharing, owner, lee, start)] == [timedelta(minutes=5)]


def _write_skipping_log(group: pb.CheckGroup) -> None:
    group.permission = WRITE
    group.skip_access_log = True


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda g: g.resource_ids.append(b"short"), "groups[0].resource_ids[1]"),
        (lambda g: g.resource_ids.append(uuid.uuid4().hex.encode()), "groups[0].resource_ids[1]"),
        (lambda g: setattr(g, "user_id", "nobody"), "groups[0].user_id"),
        (lambda g: setattr(g, "resource_type", 0), "groups[0].resource_type"),
        (lambda g: setattr(g, "permission", 0), "groups[0].permission"),
        (_write_skipping_log, "groups[0].skip_access_log"),
        (lambda g: g.resource_ids.extend([uuid.uuid4().bytes] * 1000), "groups"),
    ],
)
async def test_malformed_groups_are_invalid_arguments_naming_the_field(
    sharing: Sharing, change: Callable[[pb.CheckGroup], None], field: str
) -> None:
    group = _group(sharing.person("r@home.test"), [resource_of("student", str(uuid.uuid4()))])
    change(group)
    with pytest.raises(grpc.aio.AioRpcError) as invalid:
        await sharing.roster.BatchCheck(pb.BatchCheckRequest(groups=[group]))
    assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert str(invalid.value.details()).startswith(f"{field}:")


async def test_only_roster_may_ask_groups(sharing: Sharing) -> None:
    reader = sharing.person("r@home.test")
    request = pb.BatchCheckRequest(
        groups=[_group(reader, [resource_of("student", str(uuid.uuid4()))])]
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await sharing.gateway.BatchCheck(request)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
