"""Real classes and students shared by invitation: what viewers and editors may do, class
grants reaching enrolled students, the owner's access log, and the export.

Grants come from the real flow: invite through the gateway, read the token from the mail in
the SMTP sink, sign up with the invited address and accept through the gateway.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest

from services.common.devcerts import DevPki
from services.localstack.postgres import PostgresEndpoint
from tests.support.gateway import RunningGateway
from tests.support.grants import granted
from tests.support.roster_calls import (
    call,
    create_class,
    create_student,
    new_user,
    problem,
    random_id,
    signed_in,
    small_png,
)
from tests.support.sharing_stack import (
    SharingStack,
    User,
    mailed_token,
    new_email,
    sharing_stack,
)


@pytest.fixture(scope="module")
async def stack(
    pg_endpoint: PostgresEndpoint, pki: DevPki, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[SharingStack]:
    directory = tmp_path_factory.mktemp("roster-sharing")
    async with sharing_stack(pg_endpoint, pki, directory) as running:
        yield running


@pytest.fixture(scope="module")
def gateway(stack: SharingStack) -> RunningGateway:
    return stack.gateway


async def accepted(
    stack: SharingStack, owner: User, path: str, guest: User, relation: str, skip: int
) -> None:
    """``guest`` accepts one more invitation (their ``skip``-th mail) to ``path``."""
    body = {"email": guest.email, "relation": relation, "role": "guardian"}
    await call(stack.gateway, "POST", f"{path}/invitations", owner, 201, body)
    token = await mailed_token(stack, guest.email, skip=skip)
    await call(stack.gateway, "POST", "/v1/invitations/accept", guest, 200, {"token": token})


async def _put_photo(gateway: RunningGateway, path: str, user: User) -> int:
    headers = user.headers | {"Content-Type": "image/png"}
    async with gateway.http.put(path, data=small_png(), headers=headers) as response:
        return response.status


async def test_a_class_grant_reaches_enrolled_students_and_the_owner_sees_the_views(
    stack: SharingStack, gateway: RunningGateway
) -> None:
    owner = await new_user(gateway)
    school_class = await create_class(gateway, owner)
    class_path = f"/v1/classes/{school_class['id']}"
    kim = await create_student(gateway, owner, (school_class["id"],), display_name="Kim")
    lee = await create_student(gateway, owner, (school_class["id"],), display_name="Lee")
    other = await create_student(gateway, owner, display_name="Not in the class")
    guardian, grant = await granted(stack, owner, class_path, "viewer")
    assert (grant["relation"], grant["grantee_id"]) == ("viewer", guardian.id)

    seen = await call(gateway, "GET", class_path, guardian, 200)
    assert (seen["id"], seen["access"], seen["student_count"]) == (school_class["id"], "viewer", 2)
    listed = await call(gateway, "GET", "/v1/classes", guardian, 200)
    assert [item["id"] for item in listed["items"]] == [school_class["id"]]
    roster = await call(gateway, "GET", f"{class_path}/students", guardian, 200)
    assert sorted(s["display_name"] for s in roster["items"]) == ["Kim", "Lee"]
    assert {s["access"] for s in roster["items"]} == {"viewer"}
    mine = await call(gateway, "GET", "/v1/students", guardian, 200)
    assert sorted(s["id"] for s in mine["items"]) == sorted([kim["id"], lee["id"]])
    student = await call(gateway, "GET", f"/v1/students/{kim['id']}", guardian, 200)
    assert (student["access"], student["class_ids"]) == ("viewer", [school_class["id"]])
    await problem(gateway, "GET", f"/v1/students/{other['id']}", guardian, 404, "not_found")

    # The guardian's view is in the owner's log; the owner's own reads are not.
    await call(gateway, "GET", f"/v1/students/{kim['id']}", owner, 200)
    log = await call(gateway, "GET", f"/v1/students/{kim['id']}/access-log", owner, 200)
    views = [entry for entry in log["items"] if entry["action"] == "viewed"]
    assert views and {entry["actor_id"] for entry in views} == {guardian.id}
    assert views[0]["actor_email"] == guardian.email
    assert owner.id not in {entry["actor_id"] for entry in log["items"]}
    await problem(
        gateway, "GET", f"/v1/students/{kim['id']}/access-log", guardian, 404, "not_found"
    )

    # A viewer reads and changes nothing.
    kim_path = f"/v1/students/{kim['id']}"
    await problem(gateway, "PATCH", class_path, guardian, 403, "forbidden", {"name": "x"})
    await problem(gateway, "DELETE", class_path, guardian, 403, "forbidden")
    await problem(gateway, "PATCH", kim_path, guardian, 403, "forbidden", {"notes": "x"})
    await problem(gateway, "DELETE", kim_path, guardian, 403, "forbidden")
    await problem(
        gateway, "DELETE", f"{class_path}/students/{kim['id']}", guardian, 403, "forbidden"
    )
    await problem(gateway, "DELETE", f"{kim_path}/photo", guardian, 403, "forbidden")
    assert await _put_photo(gateway, f"{kim_path}/photo", guardian) == 403
    invite = {"email": new_email(), "relation": "viewer", "role": "guardian"}
    await problem(gateway, "POST", f"{class_path}/invitations", guardian, 403, "not_owner", invite)

    # Unenrolling ends what the class grant gave on that student, on the next request.
    await call(gateway, "DELETE", f"{class_path}/students/{kim['id']}", owner, 204)
    await problem(gateway, "GET", kim_path, guardian, 404, "not_found")
    roster = await call(gateway, "GET", f"{class_path}/students", guardian, 200)
    assert [s["id"] for s in roster["items"]] == [lee["id"]]

    # Deleting the class ends the grant; its students stay with the owner.
    await call(gateway, "DELETE", class_path, owner, 204)
    await problem(gateway, "GET", class_path, guardian, 404, "not_found")
    await problem(gateway, "GET", f"/v1/students/{lee['id']}", guardian, 404, "not_found")
    assert (await call(gateway, "GET", "/v1/shared-with-me", guardian, 200))["items"] == []
    kept = await call(gateway, "GET", "/v1/students", owner, 200)
    assert {kim["id"], lee["id"], other["id"]} <= {s["id"] for s in kept["items"]}


async def test_an_editor_changes_students_enrollments_and_photos_but_not_the_class(
    stack: SharingStack, gateway: RunningGateway
) -> None:
    owner = await new_user(gateway)
    school_class = await create_class(gateway, owner)
    class_path = f"/v1/classes/{school_class['id']}"
    student = await create_student(gateway, owner, (school_class["id"],))
    loose = await create_student(gateway, owner, display_name="Unenrolled")
    editor, _ = await granted(stack, owner, class_path, "editor", "teacher")
    student_path = f"/v1/students/{student['id']}"

    changed = await call(gateway, "PATCH", class_path, editor, 200, {"term": "spring"})
    assert (changed["term"], changed["access"]) == ("spring", "editor")
    changed = await call(gateway, "PATCH", student_path, editor, 200, {"notes": "Glasses"})
    assert (changed["notes"], changed["access"]) == ("Glasses", "editor")
    assert await _put_photo(gateway, f"{student_path}/photo", editor) == 200
    async with gateway.http.get(f"{student_path}/photo", headers=editor.headers) as response:
        assert response.status == 200
    await call(gateway, "DELETE", f"{student_path}/photo", editor, 204)
    await call(gateway, "DELETE", f"{class_path}/students/{student['id']}", editor, 204)
    # Re-enrolling needs write on the student too, which the class grant no longer gives.
    await problem(
        gateway, "PUT", f"{class_path}/students/{student['id']}", editor, 404, "not_found"
    )
    await call(gateway, "PUT", f"{class_path}/students/{student['id']}", owner, 204)
    await call(gateway, "PUT", f"{class_path}/students/{student['id']}", editor, 204)
    await problem(gateway, "PUT", f"{class_path}/students/{loose['id']}", editor, 404, "not_found")
    # The editor's own student cannot join the owner's class.
    theirs = await create_student(gateway, editor)
    await problem(
        gateway, "PUT", f"{class_path}/students/{theirs['id']}", editor, 403, "different_owner"
    )

    await problem(gateway, "DELETE", class_path, editor, 403, "forbidden")
    await problem(gateway, "DELETE", student_path, editor, 403, "forbidden")
    invite = {"email": new_email(), "relation": "viewer", "role": "guardian"}
    await problem(gateway, "POST", f"{class_path}/invitations", editor, 403, "not_owner", invite)
    await problem(gateway, "GET", f"{class_path}/grants", editor, 404, "not_found")

    log = await call(gateway, "GET", f"{student_path}/access-log", owner, 200)
    assert "changed" in {e["action"] for e in log["items"] if e["actor_id"] == editor.id}
    assert (await call(gateway, "GET", class_path, owner, 200))["term"] == "spring"


async def test_the_export_holds_everything_the_account_owns_or_entered(
    stack: SharingStack, gateway: RunningGateway
) -> None:
    owner = await new_user(gateway)
    school_class = await create_class(gateway, owner, "Export 9A")
    student = await create_student(gateway, owner, (school_class["id"],), notes="Likes chess")
    photo_path = f"/v1/students/{student['id']}/photo"
    assert await _put_photo(gateway, photo_path, owner) == 200
    assert await _put_photo(gateway, "/v1/me/photo", owner) == 200
    guest, grant = await granted(stack, owner, f"/v1/classes/{school_class['id']}", "viewer")

    async with gateway.http.get("/v1/me/export", headers=owner.headers) as response:
        assert response.status == 200, await response.text()
        assert response.headers["Cache-Control"] == "no-store"
        assert "attachment" in response.headers["Content-Disposition"]
        export = await response.json()
    assert export["account"]["id"] == owner.id and export["account"]["email"] == owner.email
    assert export["account"]["photo_url"].endswith("/v1/me/photo")
    assert export["sessions"] and any(session["current"] for session in export["sessions"])
    assert [c["id"] for c in export["classes"]] == [school_class["id"]]
    assert export["classes"][0]["name"] == "Export 9A"
    [exported_student] = export["students"]
    assert exported_student["id"] == student["id"]
    assert exported_student["notes"] == "Likes chess"
    assert exported_student["class_ids"] == [school_class["id"]]
    photos = {(p["subject"], p["student_id"]): p for p in export["photos"]}
    assert set(photos) == {("account", None), ("student", student["id"])}
    async with gateway.http.get(photo_path, headers=owner.headers) as response:
        stored = await response.read()
    assert base64.b64decode(photos[("student", student["id"])]["data_base64"]) == stored
    assert photos[("student", student["id"])]["media_type"] == "image/png"
    [sent] = export["invitations_sent"]
    assert (sent["email"], sent["status"]) == (guest.email, "accepted")
    assert export["shared_with_me"] == [] and export["invitations_received"] == []

    # Invitations addressed to me are listed once my address is verified (a fresh token says so).
    verify = await mailed_token(stack, guest.email, purpose="verify")
    async with gateway.http.post("/v1/accounts/verify", json={"token": verify}) as response:
        assert response.status == 204, await response.text()
    guest = await signed_in(gateway, guest.email)
    guest_export = await call(gateway, "GET", "/v1/me/export", guest, 200)
    assert guest_export["account"]["email_verified"] is True
    assert guest_export["classes"] == [] and guest_export["students"] == []
    assert guest_export["photos"] == []
    [shared] = guest_export["shared_with_me"]
    assert (shared["resource_id"], shared["grant_id"]) == (school_class["id"], grant["id"])
    assert [i["status"] for i in guest_export["invitations_received"]] == ["accepted"]
    async with gateway.http.get("/v1/me/export") as response:
        assert response.status == 401


async def test_a_class_viewer_with_a_student_grant_sees_each_access_and_only_readable_class_ids(
    stack: SharingStack, gateway: RunningGateway
) -> None:
    owner = await new_user(gateway)
    five_a, chess, choir = [
        (await create_class(gateway, owner, name))["id"] for name in ("5A", "Chess", "Choir")
    ]
    kim = await create_student(gateway, owner, (five_a, chess), display_name="Kim")
    lee = await create_student(gateway, owner, (five_a, choir), display_name="Lee")
    guardian, _ = await granted(stack, owner, f"/v1/classes/{five_a}", "viewer")
    await accepted(stack, owner, f"/v1/classes/{choir}", guardian, "viewer", skip=1)
    await accepted(stack, owner, f"/v1/students/{lee['id']}", guardian, "editor", skip=2)

    for _ in range(2):  # the first list, and one with the caller known as a class viewer
        roster = await call(gateway, "GET", f"/v1/classes/{five_a}/students", guardian, 200)
        assert [(s["id"], s["access"], s["class_ids"]) for s in roster["items"]] == [
            (kim["id"], "viewer", [five_a]),
            (lee["id"], "editor", sorted([five_a, choir])),
        ]

    async def viewers(path: str) -> set[str]:
        log = await call(gateway, "GET", f"{path}/access-log", owner, 200)
        return {e["actor_id"] for e in log["items"] if e["action"] == "viewed"}

    assert await viewers(f"/v1/classes/{five_a}") == {guardian.id}
    assert await viewers(f"/v1/students/{kim['id']}") == {guardian.id}
    assert await viewers(f"/v1/students/{lee['id']}") == {guardian.id}
    # The choir was only seen as an id on Lee: that is no view of the choir.
    assert await viewers(f"/v1/classes/{choir}") == set()
    assert await viewers(f"/v1/classes/{chess}") == set()

    for hidden in (chess, random_id()):
        answer = await problem(
            gateway, "GET", f"/v1/classes/{hidden}/students", guardian, 404, "not_found"
        )
        assert answer["detail"] == "class not found"
