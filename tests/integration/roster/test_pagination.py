"""Keyset pagination: opaque tokens, stable while others insert, sizes clamped."""

from __future__ import annotations

import grpc
import pytest

from tests.support.roster_service import Stack
from tests.support.rpc_errors import reason
from trackcc.roster.v1 import roster_service_pb2 as pb


async def test_pages_neither_repeat_nor_skip_while_classes_are_inserted(stack: Stack) -> None:
    owner, guardian = stack.person(), stack.person("Guardian")
    original = [await stack.new_class(owner, f"Class {i}") for i in range(5)]
    shared_in = await stack.new_class(stack.person("Other"), "Shared")
    await stack.grant("class", shared_in.id, owner, "viewer")
    original.append(shared_in)
    seen: list[str] = []
    token = ""
    inserted = 0
    while True:
        page = await stack.roster.ListClasses(
            pb.ListClassesRequest(page_size=2, page_token=token), metadata=owner.metadata
        )
        seen += [c.id for c in page.classes]
        # Someone else's request adds a class between our pages.
        await stack.new_class(owner, f"Inserted {inserted}")
        inserted += 1
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen))
    assert {c.id for c in original} <= set(seen)
    assert guardian.id not in seen


async def test_class_students_are_paged_in_a_stable_order(stack: Stack) -> None:
    owner = stack.person()
    school_class = await stack.new_class(owner)
    pupils = [
        await stack.new_student(owner, f"P{i}", class_ids=[school_class.id]) for i in range(7)
    ]
    seen: list[str] = []
    token = ""
    while True:
        page = await stack.roster.ListClassStudents(
            pb.ListClassStudentsRequest(class_id=school_class.id, page_size=3, page_token=token),
            metadata=owner.metadata,
        )
        assert len(page.students) <= 3
        seen += [s.id for s in page.students]
        token = page.next_page_token
        if not token:
            break
    assert seen == [p.id for p in pupils]

    with pytest.raises(grpc.aio.AioRpcError) as foreign:
        await stack.roster.ListStudents(
            pb.ListStudentsRequest(page_token=page.next_page_token or "bm90LWEtdG9rZW4"),
            metadata=owner.metadata,
        )
    assert foreign.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason(foreign.value) == "invalid_page_token"


async def test_page_size_defaults_to_50_and_is_capped_at_200(stack: Stack) -> None:
    owner = stack.person()
    school_class = await stack.new_class(owner)
    for i in range(55):
        await stack.new_student(owner, f"S{i}", class_ids=[school_class.id])
    first = await stack.roster.ListStudents(pb.ListStudentsRequest(), metadata=owner.metadata)
    assert len(first.students) == 50 and first.next_page_token
    everything = await stack.roster.ListStudents(
        pb.ListStudentsRequest(page_size=5000), metadata=owner.metadata
    )
    assert len(everything.students) == 55 and everything.next_page_token == ""
    with pytest.raises(grpc.aio.AioRpcError) as negative:
        await stack.roster.ListStudents(
            pb.ListStudentsRequest(page_size=-1), metadata=owner.metadata
        )
    assert negative.value.code() == grpc.StatusCode.INVALID_ARGUMENT
