"""The authorization matrix: every route of the OpenAPI document, called as every kind of caller.

docs/api.md's rules, checked one cell at a time through the gateway (real PostgreSQL, real gRPC over
mTLS): ``401`` without a token, ``404`` for a resource the caller may not see (never ``403``, so
that existence does not leak), ``403`` for a write the caller may see but not do, and the
success status for what the caller may do. Only the owner invites, lists grants, reads the access
log, deletes the class or student; an editor changes students, enrollments and photos; a viewer
reads; support sees support's routes and nobody's roster.

A route of the document with no row fails the test, so a new route cannot ship without its
cells. Rows run in table order, each row's actors in column order; a row whose success takes
something away (a grant, an enrollment, a photo) names the step that puts it back. The rows that
delete the class, the students and every session come last.

The enroll case of issue 14 (an editor of a class who also holds a direct grant on a student of
the same owner enrolls that student, which shows the student to the class's other grantees):
docs/api.md's rule stands, ``editor`` "also changes students and enrollments"; see
``test_editor_of_class_and_student_may_enroll_and_the_owner_sees_it``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from services.common.devcerts import DevPki
from services.localstack.postgres import PostgresEndpoint
from tests.support.auth_stack import PASSWORD, auth_stack, mails_to, sign_in
from tests.support.authorization_world import (
    ACTORS,
    ANONYMOUS,
    CLASS_EDITOR,
    CLASS_VIEWER,
    INVITATION_PATH,
    OWNER,
    STUDENT_EDITOR,
    STUDENT_VIEWER,
    World,
    build_world,
    fresh_email,
    mail_after,
)
from tests.support.gateway import wait_ready
from tests.support.roster_calls import small_png

PROBLEM = "application/problem+json"
Reset = Callable[[World, str], Awaitable[None]]
Body = dict[str, Any] | Callable[[], dict[str, Any]] | None


async def _regrant(world: World, actor: str) -> None:
    # The grant that was ended (left by its grantee or revoked by the owner) comes back.
    for grantee, grant_id in list(world.grants.items()):
        collection = "classes" if grantee in (CLASS_VIEWER, CLASS_EDITOR) else "students"
        path = f"/v1/{collection}/{world.shared_id(grantee)}/grants"
        live = {grant["id"] for grant in (await world.json("GET", path, OWNER, None, 200))["items"]}
        if grant_id not in live:
            await world.grant(grantee)


async def _reenroll(world: World, actor: str) -> None:
    await world.enroll()


async def _unenroll_direct(world: World, actor: str) -> None:
    path = f"/v1/classes/{world.class_id}/students/{world.direct_id}"
    await world.json("DELETE", path, OWNER, None, 204)


async def _reupload(world: World, actor: str) -> None:
    await world.upload_photo(world.enrolled_id)
    await world.upload_photo(world.direct_id)


async def _reupload_mine(world: World, actor: str) -> None:
    await world.upload_my_photo(actor)


async def _reinvite(world: World, actor: str) -> None:
    await world.invite_pending()


async def _respare(world: World, actor: str) -> None:
    await world.new_spare_session()


@dataclass(frozen=True)
class Row:
    """One route aimed at one target, and the status each column expects."""

    method: str
    template: str  # the OpenAPI path
    path: str  # formatted with World ids: {cls} {enrolled} {direct} {pending} {spare} ...
    statuses: tuple[int, ...]  # in ACTORS order
    body: Body = None
    photo: bool = False  # a PNG body instead of JSON
    reset: Reset | None = None  # after a 2xx answer
    fresh_session: bool = False  # the call ends the session that makes it: use a new one

    def __post_init__(self) -> None:
        assert len(self.statuses) == len(ACTORS), self.template


# Bodies that pass validation, so that a cell's answer is the authorization decision.
CLASS_PATCH = {"term": "2026/27"}
STUDENT_PATCH = {"notes": "likes maths"}


def _invite() -> dict[str, Any]:
    return {"email": fresh_email(), "relation": "viewer", "role": "guardian"}


def _sign_up() -> dict[str, Any]:
    return {"email": fresh_email(), "password": PASSWORD, "role": "teacher"}


BOGUS_TOKEN = {"token": "not-a-token-" + "x" * 30}

# fmt: off
#   columns:   anon str  c_v  c_e  s_v  s_e  own  sup
TABLE: tuple[Row, ...] = (
    # --- operations and discovery: the same answer for everyone ---
    Row("GET", "/healthz", "/healthz", (200, 200, 200, 200, 200, 200, 200, 200)),
    Row("GET", "/readyz", "/readyz", (200, 200, 200, 200, 200, 200, 200, 200)),
    Row("GET", "/robots.txt", "/robots.txt", (200, 200, 200, 200, 200, 200, 200, 200)),
    Row("GET", "/.well-known/jwks.json", "/.well-known/jwks.json",
        (200, 200, 200, 200, 200, 200, 200, 200)),
    Row("GET", "/v1/openapi.json", "/v1/openapi.json", (200, 200, 200, 200, 200, 200, 200, 200)),
    # --- accounts, sessions, password: public routes ignore who calls ---
    Row("POST", "/v1/accounts", "/v1/accounts", (201, 201, 201, 201, 201, 201, 201, 201),
        body=_sign_up),
    Row("POST", "/v1/accounts/verify", "/v1/accounts/verify",
        (400, 400, 400, 400, 400, 400, 400, 400), body=BOGUS_TOKEN),
    Row("POST", "/v1/sessions", "/v1/sessions", (200, 200, 200, 200, 200, 200, 200, 200),
        body=lambda: {"email": _OWNER_EMAIL[0], "password": PASSWORD}),
    Row("POST", "/v1/sessions/refresh", "/v1/sessions/refresh",
        (401, 401, 401, 401, 401, 401, 401, 401), body={"refresh_token": "x" * 40}),
    Row("POST", "/v1/password/forgot", "/v1/password/forgot",
        (202, 202, 202, 202, 202, 202, 202, 202), body=lambda: {"email": fresh_email()}),
    Row("POST", "/v1/password/reset", "/v1/password/reset",
        (400, 400, 400, 400, 400, 400, 400, 400),
        body={**BOGUS_TOKEN, "new_password": "quartz meadow lantern 58"}),
    Row("POST", "/v1/unlock-requests", "/v1/unlock-requests",
        (400, 400, 400, 400, 400, 400, 400, 400), body=BOGUS_TOKEN),
    # --- my sessions and account: every signed-in caller acts on its own ---
    Row("GET", "/v1/sessions", "/v1/sessions", (401, 200, 200, 200, 200, 200, 200, 200)),
    # Another person's session id is not found; the owner ends its own spare session.
    Row("DELETE", "/v1/sessions/{id}", "/v1/sessions/{spare}",
        (401, 404, 404, 404, 404, 404, 204, 404), reset=_respare),
    Row("DELETE", "/v1/sessions/current", "/v1/sessions/current",
        (401, 204, 204, 204, 204, 204, 204, 204), fresh_session=True),
    Row("GET", "/v1/me", "/v1/me", (401, 200, 200, 200, 200, 200, 200, 200)),
    Row("PATCH", "/v1/me", "/v1/me", (401, 200, 200, 200, 200, 200, 200, 200),
        body={"gender": "f"}),
    Row("POST", "/v1/me/email", "/v1/me/email", (401, 202, 202, 202, 202, 202, 202, 202),
        body=lambda: {"new_email": fresh_email(), "password": PASSWORD}),
    # The same password again: accepted, and the caller's own session stays.
    Row("POST", "/v1/me/password", "/v1/me/password", (401, 204, 204, 204, 204, 204, 204, 204),
        body={"current_password": PASSWORD, "new_password": PASSWORD}, reset=_respare),
    Row("GET", "/v1/me/export", "/v1/me/export", (401, 200, 200, 200, 200, 200, 200, 200)),
    Row("PUT", "/v1/me/photo", "/v1/me/photo", (401, 200, 200, 200, 200, 200, 200, 200),
        photo=True),
    Row("GET", "/v1/me/photo", "/v1/me/photo", (401, 200, 200, 200, 200, 200, 200, 200)),
    Row("DELETE", "/v1/me/photo", "/v1/me/photo", (401, 204, 204, 204, 204, 204, 204, 204),
        reset=_reupload_mine),
    # --- support: only support staff, whatever else they are ---
    Row("GET", "/v1/admin/accounts", "/v1/admin/accounts?locked=true",
        (401, 403, 403, 403, 403, 403, 403, 200)),
    Row("POST", "/v1/admin/accounts/{id}/unlock", "/v1/admin/accounts/{stranger_id}/unlock",
        (401, 403, 403, 403, 403, 403, 403, 204), body={"reason": "matrix"}),
    Row("GET", "/v1/admin/unlock-requests", "/v1/admin/unlock-requests",
        (401, 403, 403, 403, 403, 403, 403, 200)),
    # --- classes ---
    Row("POST", "/v1/classes", "/v1/classes", (401, 201, 201, 201, 201, 201, 201, 201),
        body={"name": "8C"}),
    Row("GET", "/v1/classes", "/v1/classes", (401, 200, 200, 200, 200, 200, 200, 200)),
    Row("GET", "/v1/classes/{id}", "/v1/classes/{cls}", (401, 404, 200, 200, 404, 404, 200, 404)),
    Row("PATCH", "/v1/classes/{id}", "/v1/classes/{cls}",
        (401, 404, 403, 200, 404, 404, 200, 404), body=CLASS_PATCH),
    Row("GET", "/v1/classes/{id}/students", "/v1/classes/{cls}/students",
        (401, 404, 200, 200, 404, 404, 200, 404)),
    # Enroll: write on the class and on the student (already enrolled: idempotent).
    Row("PUT", "/v1/classes/{id}/students/{student_id}", "/v1/classes/{cls}/students/{enrolled}",
        (401, 404, 403, 204, 404, 404, 204, 404)),
    # A student the class's grantees cannot see, and a class the student's grantees cannot:
    # the hidden one answers 404 (NOT_FOUND wins over PERMISSION_DENIED).
    Row("PUT", "/v1/classes/{id}/students/{student_id}", "/v1/classes/{cls}/students/{direct}",
        (401, 404, 404, 404, 404, 404, 204, 404), reset=_unenroll_direct),
    Row("DELETE", "/v1/classes/{id}/students/{student_id}",
        "/v1/classes/{cls}/students/{enrolled}",
        (401, 404, 403, 204, 404, 404, 204, 404), reset=_reenroll),
    # --- students: through the class, and shared directly ---
    Row("POST", "/v1/students", "/v1/students", (401, 201, 201, 201, 201, 201, 201, 201),
        body={"display_name": "Lee T."}),
    Row("GET", "/v1/students", "/v1/students", (401, 200, 200, 200, 200, 200, 200, 200)),
    Row("GET", "/v1/students/{id}", "/v1/students/{enrolled}",
        (401, 404, 200, 200, 404, 404, 200, 404)),
    Row("GET", "/v1/students/{id}", "/v1/students/{direct}",
        (401, 404, 404, 404, 200, 200, 200, 404)),
    Row("PATCH", "/v1/students/{id}", "/v1/students/{enrolled}",
        (401, 404, 403, 200, 404, 404, 200, 404), body=STUDENT_PATCH),
    Row("PATCH", "/v1/students/{id}", "/v1/students/{direct}",
        (401, 404, 404, 404, 403, 200, 200, 404), body=STUDENT_PATCH),
    # --- photos ---
    Row("PUT", "/v1/students/{id}/photo", "/v1/students/{enrolled}/photo",
        (401, 404, 403, 200, 404, 404, 200, 404), photo=True),
    Row("PUT", "/v1/students/{id}/photo", "/v1/students/{direct}/photo",
        (401, 404, 404, 404, 403, 200, 200, 404), photo=True),
    Row("GET", "/v1/students/{id}/photo", "/v1/students/{enrolled}/photo?size=thumb",
        (401, 404, 200, 200, 404, 404, 200, 404)),
    Row("GET", "/v1/students/{id}/photo", "/v1/students/{direct}/photo",
        (401, 404, 404, 404, 200, 200, 200, 404)),
    Row("DELETE", "/v1/students/{id}/photo", "/v1/students/{enrolled}/photo",
        (401, 404, 403, 204, 404, 404, 204, 404), reset=_reupload),
    Row("DELETE", "/v1/students/{id}/photo", "/v1/students/{direct}/photo",
        (401, 404, 404, 404, 403, 204, 204, 404), reset=_reupload),
    # --- invitations: only the owner invites, resends and revokes ---
    Row("POST", "/v1/classes/{id}/invitations", "/v1/classes/{cls}/invitations",
        (401, 404, 403, 403, 404, 404, 201, 404), body=_invite),
    Row("POST", "/v1/students/{id}/invitations", "/v1/students/{direct}/invitations",
        (401, 404, 404, 404, 403, 403, 201, 404), body=_invite),
    Row("POST", "/v1/students/{id}/invitations", "/v1/students/{enrolled}/invitations",
        (401, 404, 403, 403, 404, 404, 201, 404), body=_invite),
    Row("GET", "/v1/invitations", "/v1/invitations?direction=sent",
        (401, 200, 200, 200, 200, 200, 200, 200)),
    Row("GET", "/v1/invitations", "/v1/invitations?direction=received",
        (401, 200, 200, 200, 200, 200, 200, 200)),
    # A token mailed to someone else: nobody else accepts or declines it.
    Row("POST", "/v1/invitations/accept", "/v1/invitations/accept",
        (401, 403, 403, 403, 403, 403, 403, 403), body=lambda: {"token": _FOREIGN[0]}),
    Row("POST", "/v1/invitations/decline", "/v1/invitations/decline",
        (401, 403, 403, 403, 403, 403, 403, 403), body=lambda: {"token": _FOREIGN[0]}),
    # An invitation to the class: its grantees see the class but may not share it (403).
    Row("POST", "/v1/invitations/{id}/resend", "/v1/invitations/{pending}/resend",
        (401, 404, 403, 403, 404, 404, 202, 404)),
    Row("DELETE", "/v1/invitations/{id}", "/v1/invitations/{pending}",
        (401, 404, 403, 403, 404, 404, 204, 404), reset=_reinvite),
    # --- grants and the access log: the owner's alone ---
    Row("GET", "/v1/classes/{id}/grants", "/v1/classes/{cls}/grants",
        (401, 404, 404, 404, 404, 404, 200, 404)),
    Row("GET", "/v1/students/{id}/grants", "/v1/students/{direct}/grants",
        (401, 404, 404, 404, 404, 404, 200, 404)),
    Row("GET", "/v1/classes/{id}/access-log", "/v1/classes/{cls}/access-log",
        (401, 404, 404, 404, 404, 404, 200, 404)),
    Row("GET", "/v1/students/{id}/access-log", "/v1/students/{direct}/access-log",
        (401, 404, 404, 404, 404, 404, 200, 404)),
    Row("GET", "/v1/students/{id}/access-log", "/v1/students/{enrolled}/access-log",
        (401, 404, 404, 404, 404, 404, 200, 404)),
    Row("GET", "/v1/shared-with-me", "/v1/shared-with-me",
        (401, 200, 200, 200, 200, 200, 200, 200)),
    # The owner revokes, the grantee leaves; nobody else ends a grant.
    Row("DELETE", "/v1/grants/{id}", "/v1/grants/{grant_class_viewer}",
        (401, 404, 204, 404, 404, 404, 204, 404), reset=_regrant),
    Row("DELETE", "/v1/grants/{id}", "/v1/grants/{grant_student_editor}",
        (401, 404, 404, 404, 404, 204, 204, 404), reset=_regrant),
    # --- last: the deletes that take the world away ---
    Row("DELETE", "/v1/students/{id}", "/v1/students/{enrolled}",
        (401, 404, 403, 403, 404, 404, 204, 404)),
    Row("DELETE", "/v1/students/{id}", "/v1/students/{direct}",
        (401, 404, 404, 404, 403, 403, 204, 404)),
    Row("DELETE", "/v1/classes/{id}", "/v1/classes/{cls}",
        (401, 404, 403, 403, 404, 404, 204, 404)),
    # Wrong password: every signed-in caller reaches the password check, nobody is deleted.
    Row("DELETE", "/v1/me", "/v1/me", (401, 401, 401, 401, 401, 401, 401, 401),
        body={"password": "not the password 1"}),
    Row("DELETE", "/v1/sessions", "/v1/sessions", (401, 204, 204, 204, 204, 204, 204, 204)),
)
# fmt: on

# Filled by the world fixture: values the bodies need that exist only at run time.
_OWNER_EMAIL: list[str] = [""]
_FOREIGN: list[str] = [""]


def _placeholders(world: World) -> dict[str, str]:
    return {
        "cls": world.class_id,
        "enrolled": world.enrolled_id,
        "direct": world.direct_id,
        "pending": world.pending_invitation,
        "spare": world.spare_session,
        "stranger_id": world.account_ids["stranger"],
        **{f"grant_{actor}": grant_id for actor, grant_id in world.grants.items()},
    }


@pytest.fixture(scope="module")
async def world(
    pg_endpoint: PostgresEndpoint, pki: DevPki, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    directory = tmp_path_factory.mktemp("authorization-matrix")
    async with auth_stack(pg_endpoint, pki, directory) as stack:
        await wait_ready(stack.gateway)
        built = await build_world(stack)
        _OWNER_EMAIL[0] = built.emails[OWNER]
        _FOREIGN[0] = built.foreign_token
        yield built


async def _headers_for(world: World, row: Row, actor: str) -> dict[str, str]:
    if actor == ANONYMOUS:
        return {}
    if row.fresh_session:
        return (await sign_in(world.stack, world.emails[actor])).headers
    return world.headers(actor)


async def _cell(
    world: World, row: Row, actor: str, expected: int, secured: set[tuple[str, str]]
) -> str | None:
    """Calls the row's route as ``actor``; a description of what is wrong, or None."""
    path = row.path.format(**_placeholders(world))
    headers = await _headers_for(world, row, actor)
    kwargs: dict[str, Any] = {}
    if row.photo:
        kwargs["data"] = small_png()
        headers = headers | {"Content-Type": "image/png"}
    elif row.body is not None:
        kwargs["json"] = row.body() if callable(row.body) else row.body
    async with world.stack.http.request(row.method, path, headers=headers, **kwargs) as response:
        status = response.status
        text = (await response.read()).decode(errors="replace")
        content_type = response.content_type
    where = f"{row.method} {row.path} as {actor}"
    if status != expected:
        return f"{where}: {status} (expected {expected}) {text[:200]}"
    if status >= 400 and content_type != PROBLEM:
        return f"{where}: {status} is {content_type}, not problem+json"
    if (
        (row.method, row.template) in secured
        and actor == ANONYMOUS
        and '"unauthenticated"' not in text
    ):
        return f"{where}: 401 without the code unauthenticated: {text[:200]}"
    if 200 <= status < 300 and row.reset is not None:
        await row.reset(world, actor)
    return None


def _operations(document: dict[str, Any], secured_only: bool = False) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if operation["security"] or not secured_only
    }


async def _document(world: World) -> dict[str, Any]:
    async with world.stack.http.get("/v1/openapi.json") as response:
        document: dict[str, Any] = await response.json()
    return document


async def test_every_route_has_rows(world: World) -> None:
    document = await _document(world)
    covered = {(row.method, row.template) for row in TABLE}
    missing = _operations(document) - covered
    assert missing == set(), f"routes of the OpenAPI document without rows: {sorted(missing)}"
    assert covered - _operations(document) == set(), "rows for routes the document lacks"


# Who finds which resource in the lists (GET answers above say who may open it).
LIST_VISIBILITY = {
    "/v1/classes": {"class_id": {OWNER, CLASS_VIEWER, CLASS_EDITOR}},
    "/v1/students": {
        "enrolled_id": {OWNER, CLASS_VIEWER, CLASS_EDITOR},
        "direct_id": {OWNER, STUDENT_VIEWER, STUDENT_EDITOR},
    },
    "/v1/shared-with-me": {
        "class_id": {CLASS_VIEWER, CLASS_EDITOR},
        "direct_id": {STUDENT_VIEWER, STUDENT_EDITOR},
    },
}


async def test_lists_show_each_caller_only_what_it_may_see(world: World) -> None:
    for path, expected in LIST_VISIBILITY.items():
        for actor in ACTORS[1:]:
            items = (await world.json("GET", path, actor, None, 200))["items"]
            ids = {item.get("id") or item.get("resource_id") for item in items}
            for attribute, seers in expected.items():
                resource_id = getattr(world, attribute)
                assert (resource_id in ids) == (actor in seers), (path, actor, attribute)


async def test_editor_of_class_and_student_may_enroll_and_the_owner_sees_it(world: World) -> None:
    """Issue 14's case. docs/api.md: an editor "also changes students and enrollments", and the
    owner chose to make this person an editor of both the class and the student. The enrollment
    shows the student to the class's other grantees, so the owner sees it in the student's
    access log (who, and "changed") and can undo it (unenroll, or revoke either grant)."""
    owner, editor, viewer = OWNER, CLASS_EDITOR, CLASS_VIEWER
    student = (await world.json("POST", "/v1/students", owner, {"display_name": "Kim P."}, 201))[
        "id"
    ]
    body = {"email": world.emails[editor], "relation": "editor", "role": "teacher"}
    before = len(mails_to(world.stack, world.emails[editor]))
    await world.json("POST", f"/v1/students/{student}/invitations", owner, body, 201)
    mail = await mail_after(world.stack, world.emails[editor], before)
    token = mail.token(INVITATION_PATH)
    await world.json("POST", "/v1/invitations/accept", editor, {"token": token}, 200)
    # Before: the class's viewer cannot see the student, and a class viewer cannot enroll it.
    await world.json("GET", f"/v1/students/{student}", viewer, None, 404)
    enrollment = f"/v1/classes/{world.class_id}/students/{student}"
    await world.json("PUT", enrollment, viewer, None, 404)

    await world.json("PUT", enrollment, editor, None, 204)

    seen = await world.json("GET", f"/v1/students/{student}", viewer, None, 200)
    assert seen["access"] == "viewer" and seen["class_ids"] == [world.class_id]
    log = await world.json("GET", f"/v1/students/{student}/access-log", owner, None, 200)
    changes = [e for e in log["items"] if e["action"] == "changed"]
    assert any(e["actor_email"] == world.emails[editor] for e in changes), log
    # The owner takes it back; the viewer loses the student on the next request.
    await world.json("DELETE", enrollment, owner, None, 204)
    await world.json("GET", f"/v1/students/{student}", viewer, None, 404)


async def test_authorization_matrix(world: World) -> None:
    secured = _operations(await _document(world), secured_only=True)
    started = time.monotonic()
    wrong: list[str] = []
    slowest: list[tuple[float, str]] = []
    for row in TABLE:
        row_started = time.monotonic()
        cells = [
            _cell(world, row, actor, expected, secured)
            for actor, expected in zip(ACTORS, row.statuses, strict=True)
        ]
        if row.method == "GET":  # reads change nothing: all callers at once
            answers = await asyncio.gather(*cells)
        else:  # in column order: the owner's success comes after the others' refusals
            answers = [await cell for cell in cells]
        wrong += [answer for answer in answers if answer is not None]
        slowest.append((time.monotonic() - row_started, f"{row.method} {row.path}"))
    print(  # noqa: T201 - the figures belong in the output
        f"authorization matrix: {len(TABLE)} rows x {len(ACTORS)} callers = "
        f"{len(TABLE) * len(ACTORS)} cells "
        f"in {time.monotonic() - started:.1f} s, {len(wrong)} wrong; slowest rows: "
        + ", ".join(f"{name} {seconds:.1f} s" for seconds, name in sorted(slowest)[-3:])
    )
    assert wrong == [], "\n".join(wrong)
