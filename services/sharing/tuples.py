"""Repository of relation tuples: batched idempotent writes, Check's one query, the lists.

The student-to-class step of "who may see a student" is :data:`_THROUGH_CLASS`, used by Check
(:func:`candidates_many`, :func:`group_candidates`) and the lists (:func:`list_resources`);
``permissions.py`` tells the whole rule."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from services.common.db import DbConnection
from services.sharing import permissions
from services.sharing.permissions import Candidate, Permission, Relation

_USER_RELATIONS = [r.value for r in Relation]

# How a grant on a class reaches a student, written once for Check and for the lists: ``e`` is
# the student's enrolled_in link (student, id, enrolled_in, class id), ``c`` a tuple on that
# class. permissions.py says what such a tuple allows (class_relations_for, effective).
_THROUGH_CLASS = (
    "e.resource_type = 'student' AND e.relation = 'enrolled_in'"
    " AND c.resource_type = 'class' AND c.resource_id = e.subject_id"
)


@dataclass(frozen=True)
class ResourceRef:
    """A class or a student."""

    type: str
    id: uuid.UUID


@dataclass(frozen=True)
class TupleRow:
    """(resource, relation, subject); the subject is a class id for enrolled_in links."""

    resource: ResourceRef
    relation: str
    subject_id: uuid.UUID


def _columns(
    tuples: Sequence[TupleRow],
) -> tuple[list[str], list[uuid.UUID], list[str], list[uuid.UUID]]:
    return (
        [t.resource.type for t in tuples],
        [t.resource.id for t in tuples],
        [t.relation for t in tuples],
        [t.subject_id for t in tuples],
    )


async def write(connection: DbConnection, tuples: Sequence[TupleRow]) -> None:
    """Writes tuples in one statement; existing ones stay as they are."""
    if not tuples:
        return
    await connection.execute(
        """
        INSERT INTO relation_tuples (resource_type, resource_id, relation, subject_id)
        SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::uuid[])
        ON CONFLICT DO NOTHING
        """,
        *_columns(tuples),
    )


async def delete(connection: DbConnection, tuples: Sequence[TupleRow]) -> bool:
    """Deletes tuples in one statement; missing ones are ignored. Returns whether it deleted
    anything but owner tuples (an enrollment link or a grant: someone's access narrowed)."""
    if not tuples:
        return False
    narrowed = await connection.fetchval(
        """
        WITH gone AS (
            DELETE FROM relation_tuples AS t
             USING unnest($1::text[], $2::uuid[], $3::text[], $4::uuid[]) AS d(rt, rid, rel, sid)
             WHERE t.resource_type = d.rt AND t.resource_id = d.rid
               AND t.relation = d.rel AND t.subject_id = d.sid
            RETURNING t.relation
        )
        SELECT EXISTS (SELECT 1 FROM gone WHERE relation <> 'owner')
        """,
        *_columns(tuples),
    )
    return bool(narrowed)


async def delete_resource(connection: DbConnection, resource: ResourceRef) -> bool:
    """Every tuple of a resource, and the enrollment links that name it as the class.

    Returns whether this narrowed anyone's access to another resource: a class's grants
    reached its students through the links. (What only reached the deleted resource needs no
    wait for decision leases: roster finds its row gone first.)"""
    narrowed = await connection.fetchval(
        """
        WITH gone AS (
            DELETE FROM relation_tuples WHERE resource_type = $1 AND resource_id = $2
            RETURNING relation
        )
        SELECT EXISTS (SELECT 1 FROM gone WHERE relation NOT IN ('owner', 'enrolled_in'))
        """,
        resource.type,
        resource.id,
    )
    if resource.type != permissions.CLASS:
        return False
    await connection.execute(
        "DELETE FROM relation_tuples WHERE subject_id = $1 AND resource_type = 'student'"
        " AND relation = 'enrolled_in'",
        resource.id,
    )
    return bool(narrowed)


async def grant_tuple(
    connection: DbConnection,
    resource: ResourceRef,
    relation: str,
    user_id: uuid.UUID,
    grant_id: uuid.UUID,
    expires_at: datetime | None,
) -> None:
    """The tuple a grant gives; it carries the grant's id and end."""
    await connection.execute(
        """
        INSERT INTO relation_tuples
            (resource_type, resource_id, relation, subject_id, grant_id, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (resource_type, resource_id, relation, subject_id) DO UPDATE
           SET grant_id = EXCLUDED.grant_id, expires_at = EXCLUDED.expires_at
         WHERE relation_tuples.grant_id IS NOT NULL
        """,
        resource.type,
        resource.id,
        relation,
        user_id,
        grant_id,
        expires_at,
    )


async def candidates(
    connection: DbConnection, user_id: uuid.UUID, resource: ResourceRef
) -> list[Candidate]:
    """The user's tuples on the resource and, for a student, on the classes it is enrolled in:
    :func:`candidates_many` of one resource."""
    return (await candidates_many(connection, user_id, [resource]))[0]


async def candidates_many(
    connection: DbConnection, user_id: uuid.UUID, resources: Sequence[ResourceRef]
) -> list[list[Candidate]]:
    """:func:`candidates` for several resources of one user in one statement, in order.

    A page of students is checked at once (BatchCheck); one round trip instead of one per
    student, with the same primary-key lookups per resource.
    """
    rows = await connection.fetch(
        f"""
        WITH asked AS (
            SELECT t.type, t.id, t.n
              FROM unnest($2::text[], $3::uuid[]) WITH ORDINALITY AS t(type, id, n)
        )
        SELECT a.n, r.relation, false AS through_class, r.grant_id, r.expires_at
          FROM asked AS a
          JOIN relation_tuples AS r
            ON r.resource_type = a.type AND r.resource_id = a.id
           AND r.relation = ANY($4::text[]) AND r.subject_id = $1
        UNION ALL
        SELECT a.n, c.relation, true, c.grant_id, c.expires_at
          FROM asked AS a
          JOIN relation_tuples AS e ON e.resource_id = a.id
          JOIN relation_tuples AS c
            ON {_THROUGH_CLASS}
           AND c.relation = ANY($4::text[]) AND c.subject_id = $1
         WHERE a.type = 'student'
        """,
        user_id,
        [r.type for r in resources],
        [r.id for r in resources],
        _USER_RELATIONS,
    )
    found: list[list[Candidate]] = [[] for _ in resources]
    for row in rows:
        found[row["n"] - 1].append(
            Candidate(
                relation=Relation(row["relation"]),
                through_class=row["through_class"],
                grant_id=str(row["grant_id"]) if row["grant_id"] else None,
                expires_at=row["expires_at"],
            )
        )
    return found


# (index into the ids asked, relation, through_class, expires_at, grant_id, resource_id)
GroupCandidate = tuple[int, str, bool, datetime | None, uuid.UUID | None, uuid.UUID]


async def group_candidates(
    connection: DbConnection, user_id: uuid.UUID, resource_type: str, ids: Sequence[bytes]
) -> list[GroupCandidate]:
    """:func:`candidates_many` for many resources of one type, given as 16-byte ids, in one
    statement: the rows come raw (no Candidate per tuple) for
    :func:`~services.sharing.permissions.effective_each`.

    The ids go as bytea and become uuids in the statement, so the service builds no UUID
    object per id asked.
    """
    rows = await connection.fetch(
        f"""
        WITH asked AS (
            SELECT encode(t.raw, 'hex')::uuid AS id, t.n - 1 AS i
              FROM unnest($2::bytea[]) WITH ORDINALITY AS t(raw, n)
        )
        SELECT a.i, r.relation, false AS through_class, r.expires_at, r.grant_id, r.resource_id
          FROM asked AS a
          JOIN relation_tuples AS r
            ON r.resource_type = $3 AND r.resource_id = a.id
           AND r.relation = ANY($4::text[]) AND r.subject_id = $1
        UNION ALL
        SELECT a.i, c.relation, true, c.expires_at, c.grant_id, e.resource_id
          FROM asked AS a
          JOIN relation_tuples AS e ON e.resource_id = a.id
          JOIN relation_tuples AS c
            ON {_THROUGH_CLASS}
           AND c.relation = ANY($4::text[]) AND c.subject_id = $1
         WHERE $3 = 'student'
        """,
        user_id,
        ids,
        resource_type,
        _USER_RELATIONS,
    )
    return [cast(GroupCandidate, tuple(row)) for row in rows]


async def list_resources(
    connection: DbConnection,
    user_id: uuid.UUID,
    resource_type: str,
    permission: Permission,
    now: datetime,
    after: uuid.UUID | None,
    limit: int,
) -> list[tuple[uuid.UUID, Relation]]:
    """Resources of a type on which the user has the permission, by id, after ``after``."""
    rows = await connection.fetch(
        f"""
        WITH candidates AS (
            SELECT resource_id, relation, false AS through_class
              FROM relation_tuples
             WHERE subject_id = $1 AND resource_type = $2 AND relation = ANY($3::text[])
               AND (expires_at IS NULL OR expires_at > $5)
               AND ($6::uuid IS NULL OR resource_id > $6::uuid)
            UNION ALL
            SELECT e.resource_id, c.relation, true
              FROM relation_tuples AS c
              JOIN relation_tuples AS e ON {_THROUGH_CLASS}
             WHERE $2 = 'student' AND c.subject_id = $1 AND c.resource_type = 'class'
               AND c.relation = ANY($4::text[])
               AND (c.expires_at IS NULL OR c.expires_at > $5)
               AND ($6::uuid IS NULL OR e.resource_id > $6::uuid)
        )
        SELECT resource_id, array_agg(relation) AS relations,
               array_agg(through_class) AS through
          FROM candidates
         GROUP BY resource_id
         ORDER BY resource_id
         LIMIT $7
        """,
        user_id,
        resource_type,
        permissions.direct_relations_for(permission),
        permissions.class_relations_for(permission),
        now,
        after,
        limit,
    )
    result: list[tuple[uuid.UUID, Relation]] = []
    for row in rows:
        access = permissions.effective(
            (
                Candidate(Relation(rel), through, None, None)
                for rel, through in zip(row["relations"], row["through"], strict=True)
            ),
            now,
        )
        if access is not None:
            result.append((row["resource_id"], access.relation))
    return result


async def list_subjects(
    connection: DbConnection,
    resource: ResourceRef,
    now: datetime,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
) -> list[tuple[str, uuid.UUID]]:
    """(relation, subject) pairs naming the resource, active ones only, in key order."""
    rows = await connection.fetch(
        """
        SELECT relation, subject_id FROM relation_tuples
         WHERE resource_type = $1 AND resource_id = $2
           AND (expires_at IS NULL OR expires_at > $3)
           AND ($4::text IS NULL OR (relation, subject_id) > ($4::text, $5::uuid))
         ORDER BY relation, subject_id
         LIMIT $6
        """,
        resource.type,
        resource.id,
        now,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [(row["relation"], row["subject_id"]) for row in rows]


async def owned_resources(connection: DbConnection, user_id: uuid.UUID) -> list[ResourceRef]:
    """Every resource the user owns (purge)."""
    rows = await connection.fetch(
        "SELECT resource_type, resource_id FROM relation_tuples"
        " WHERE subject_id = $1 AND relation = 'owner'",
        user_id,
    )
    return [ResourceRef(row["resource_type"], row["resource_id"]) for row in rows]


async def delete_subject(connection: DbConnection, user_id: uuid.UUID) -> None:
    """Every tuple naming the user (purge)."""
    await connection.execute(
        "DELETE FROM relation_tuples WHERE subject_id = $1 AND relation = ANY($2::text[])",
        user_id,
        _USER_RELATIONS,
    )


async def delete_by_grant(connection: DbConnection, grant_ids: Sequence[uuid.UUID]) -> None:
    """The tuples that grants gave."""
    if grant_ids:
        await connection.execute(
            "DELETE FROM relation_tuples WHERE grant_id = ANY($1::uuid[])", list(grant_ids)
        )
