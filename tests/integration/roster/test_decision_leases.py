"""A guardian's class page with decision leases: read again within the lease, it asks sharing
nothing and answers the same; a grant's end, an account's purge and the access log's hours
are kept exactly as without leases (services/sharing/decision_leases.py says why).

Sharing's own ``grpc_server_handled_total`` counts the authorization calls it handled.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import grpc
import pytest

from services.common.devcerts import DevPki
from services.sharing.access_log import VIEW_COALESCE_WINDOW
from tests.support.clocks import WallClock
from tests.support.postgres import TestDatabase
from tests.support.roster_service import Person, Stack, running_stack
from tests.support.rpc_errors import reason
from tests.support.services import make_jwt_keys
from trackcc.roster.v1 import roster_service_pb2 as pb
from trackcc.sharing.v1 import sharing_service_pb2 as spb

LEASE = 1.0


@pytest.fixture
def clock() -> WallClock:
    return WallClock()


@pytest.fixture
async def leased(
    database: TestDatabase, pki: DevPki, tmp_path: Path, clock: WallClock
) -> AsyncIterator[Stack]:
    async with running_stack(
        database, pki, make_jwt_keys(tmp_path), decision_lease_seconds=LEASE, sharing_clock=clock
    ) as running:
        yield running


async def _page(stack: Stack, person: Person, class_id: str) -> list[tuple[str, int, list[str]]]:
    reply = await stack.roster.ListClassStudents(
        pb.ListClassStudentsRequest(class_id=class_id), metadata=person.metadata
    )
    return [(s.id, s.access, list(s.class_ids)) for s in reply.students]


async def _not_found(stack: Stack, person: Person, class_id: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _page(stack, person, class_id)
    assert (refused.value.code(), reason(refused.value)) == (grpc.StatusCode.NOT_FOUND, "not_found")


async def _class_of_two(stack: Stack) -> tuple[Person, str, list[str]]:
    owner = stack.person()
    class_id = (await stack.new_class(owner, "5A")).id
    students = [(await stack.new_student(owner, name, [class_id])).id for name in ("Kim", "Lee")]
    return owner, class_id, students


async def test_a_guardians_page_read_again_within_the_lease_asks_sharing_nothing(
    leased: Stack,
) -> None:
    _, class_id, _ = await _class_of_two(leased)
    guardian = leased.person("Guardian")
    await leased.grant("class", class_id, guardian, "viewer")
    started = time.monotonic()
    first = await _page(leased, guardian, class_id)
    calls = await leased.sharing_calls()
    again = await _page(leased, guardian, class_id)
    assert (await leased.sharing_calls() - calls, again) == (0, first)
    assert time.monotonic() - started < LEASE  # so the second read was within the lease

    await asyncio.sleep(LEASE)
    calls = await leased.sharing_calls()
    assert await _page(leased, guardian, class_id) == first
    assert await leased.sharing_calls() - calls == 1  # asked again once the lease ran out


async def test_a_grant_ending_within_the_lease_is_leased_only_until_its_end(
    leased: Stack, clock: WallClock
) -> None:
    _, class_id, _ = await _class_of_two(leased)
    guardian = leased.person("Guardian")
    ends = clock() + timedelta(seconds=0.5)
    async with leased.database_connection("sharing") as connection:
        await connection.execute(
            "INSERT INTO relation_tuples"
            " (resource_type, resource_id, relation, subject_id, grant_id, expires_at)"
            " VALUES ('class', $1, 'viewer', $2, $3, $4)",
            uuid.UUID(class_id),
            uuid.UUID(guardian.id),
            uuid.uuid4(),
            ends,
        )
    started = time.monotonic()
    await _page(leased, guardian, class_id)
    calls = await leased.sharing_calls()
    await _page(leased, guardian, class_id)
    assert await leased.sharing_calls() == calls  # leased...
    await asyncio.sleep(max(0.0, (ends - clock()).total_seconds()) + 0.05)
    assert time.monotonic() - started < LEASE  # ...but only until the grant's end
    await _not_found(leased, guardian, class_id)


async def test_a_purged_guardian_gets_not_found_on_the_very_next_page(leased: Stack) -> None:
    _, class_id, _ = await _class_of_two(leased)
    guardian = leased.person("Guardian")
    await leased.grant("class", class_id, guardian, "viewer")
    await _page(leased, guardian, class_id)
    await _page(leased, guardian, class_id)
    started = time.monotonic()
    await leased.sharing_as_auth.PurgeUser(spb.PurgeUserRequest(user_id=guardian.id))
    assert time.monotonic() - started >= LEASE
    await _not_found(leased, guardian, class_id)


async def _views(stack: Stack, actor: Person) -> dict[str, list[datetime]]:
    """When each resource's views by ``actor`` were logged, oldest first."""
    async with stack.database_connection("sharing") as connection:
        rows = await connection.fetch(
            "SELECT resource_id, at FROM access_log WHERE actor_id = $1 AND action = 'viewed'"
            " ORDER BY at",
            uuid.UUID(actor.id),
        )
    found: dict[str, list[datetime]] = {}
    for row in rows:
        found.setdefault(str(row["resource_id"]), []).append(row["at"])
    return found


async def test_with_leases_the_views_logged_are_those_logged_without_across_the_hour(
    leased: Stack, clock: WallClock
) -> None:
    _, class_id, students = await _class_of_two(leased)
    guardian = leased.person("Guardian")
    await leased.grant("class", class_id, guardian, "viewer")
    for _ in range(5):
        await _page(leased, guardian, class_id)
    views = await _views(leased, guardian)
    assert sorted(views) == sorted([class_id, *students])
    assert all(len(at) == 1 for at in views.values())  # one view an hour, however many reads
    # Without leases the first read at or after the hour's end logs each view again: move
    # sharing's clock to 0.3 s before it (no lease live across the move, as in real time,
    # where a lease cannot span a jump), then read every 20 ms across the end.
    await asyncio.sleep(LEASE * 1.1)
    hour_ends = min(at[0] for at in views.values()) + VIEW_COALESCE_WINDOW
    clock.advance(hour_ends - timedelta(seconds=0.3) - clock())
    reads: list[tuple[datetime, datetime]] = []
    while not reads or reads[-1][0] < hour_ends + timedelta(seconds=0.6):
        began = clock()
        await _page(leased, guardian, class_id)
        reads.append((began, clock()))
        await asyncio.sleep(0.02)

    first_after = next(end for began, end in reads if began >= hour_ends)
    again = await _views(leased, guardian)
    for resource_id, at in again.items():
        ends = at[0] + VIEW_COALESCE_WINDOW
        assert len(at) == 2, resource_id
        # Logged by the first read after its hour, not a lease later.
        assert ends <= at[1] <= max(first_after, ends + timedelta(milliseconds=50)), (
            resource_id,
            at[1] - ends,
        )
