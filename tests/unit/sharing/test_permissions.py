"""The rule table: relations to permissions, class grants to students, expiry at the instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.sharing.permissions import (
    Access,
    Candidate,
    Permission,
    Relation,
    allows,
    class_relations_for,
    direct_relations_for,
    effective,
)

NOW = datetime(2026, 9, 1, tzinfo=UTC)
R, W, S, D = Permission.READ, Permission.WRITE, Permission.SHARE, Permission.DELETE


@pytest.mark.parametrize(
    ("relation", "granted"),
    [
        (Relation.OWNER, {R, W, S, D}),
        (Relation.EDITOR, {R, W}),
        (Relation.VIEWER, {R}),
        (None, set()),
    ],
)
def test_each_relation_gives_exactly_its_permissions(
    relation: Relation | None, granted: set[Permission]
) -> None:
    assert {p for p in Permission if allows(relation, p)} == granted


def test_the_strongest_active_relation_wins() -> None:
    candidates = [
        Candidate(Relation.VIEWER, False, "g1", None),
        Candidate(Relation.EDITOR, False, "g2", NOW + timedelta(days=1)),
    ]
    assert effective(candidates, NOW) == Access(Relation.EDITOR, "g2")


def test_a_grant_stops_counting_at_its_expiry_instant() -> None:
    ends = [Candidate(Relation.EDITOR, False, "g", NOW)]
    assert effective(ends, NOW - timedelta(microseconds=1)) == Access(Relation.EDITOR, "g")
    assert effective(ends, NOW) is None


@pytest.mark.parametrize(
    ("on_class", "on_student"),
    [
        (Relation.VIEWER, Relation.VIEWER),
        (Relation.EDITOR, Relation.EDITOR),
        # Owning a class is not owning its students: no delete or share through the class.
        (Relation.OWNER, Relation.EDITOR),
    ],
)
def test_a_class_relation_reaches_enrolled_students(
    on_class: Relation, on_student: Relation
) -> None:
    access = effective([Candidate(on_class, True, None, None)], NOW)
    assert access is not None and access.relation is on_student
    assert not access.is_owner


def test_list_filters_match_the_rule_table() -> None:
    assert direct_relations_for(W) == ["owner", "editor"]
    assert class_relations_for(W) == ["owner", "editor"]
    assert direct_relations_for(D) == ["owner"]
    assert class_relations_for(D) == []
    assert class_relations_for(R) == ["owner", "editor", "viewer"]
