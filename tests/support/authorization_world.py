"""The people and resources of the authorization matrix (test_authorization_matrix.py).

One owner has a class with one enrolled student and one student of its own outside the class.
Four grantees reach them: a viewer and an editor of the class (and so of the enrolled
student), and a viewer and an editor of the outside student. A stranger, a support account
and an anonymous caller complete the cast. Everything is made through the gateway, so the
tuples and grants are the ones roster and sharing really write.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.support.auth_stack import (
    AuthStack,
    Mail,
    Session,
    mails_to,
    new_email,
    new_user,
    sign_in,
    support_session,
)
from tests.support.roster_calls import small_png

INVITATION_PATH = "/invitations/accept"

# The matrix's columns, in the order each row lists its expected statuses.
ANONYMOUS = "anonymous"
STRANGER = "stranger"
CLASS_VIEWER = "class_viewer"
CLASS_EDITOR = "class_editor"
STUDENT_VIEWER = "student_viewer"
STUDENT_EDITOR = "student_editor"
OWNER = "owner"
SUPPORT = "support"
ACTORS = (
    ANONYMOUS,
    STRANGER,
    CLASS_VIEWER,
    CLASS_EDITOR,
    STUDENT_VIEWER,
    STUDENT_EDITOR,
    OWNER,
    SUPPORT,
)
# Who holds which grant, on what.
CLASS_GRANTEES = {CLASS_VIEWER: "viewer", CLASS_EDITOR: "editor"}
STUDENT_GRANTEES = {STUDENT_VIEWER: "viewer", STUDENT_EDITOR: "editor"}


@dataclass
class World:
    """The stack, every actor's headers and the ids the rows aim at (grants change as rows
    revoke and the resets give them back)."""

    stack: AuthStack
    emails: dict[str, str]
    sessions: dict[str, Session]
    account_ids: dict[str, str]
    class_id: str
    enrolled_id: str
    direct_id: str
    grants: dict[str, str] = field(default_factory=dict)
    pending_invitation: str = ""
    foreign_token: str = ""
    spare_session: str = ""

    def headers(self, actor: str) -> dict[str, str]:
        return {} if actor == ANONYMOUS else self.sessions[actor].headers

    def shared_id(self, actor: str) -> str:
        """The resource ``actor`` holds its grant on."""
        return self.class_id if actor in CLASS_GRANTEES else self.direct_id

    async def json(self, method: str, path: str, actor: str, body: Any, status: int) -> Any:
        async with self.stack.http.request(
            method, path, json=body, headers=self.headers(actor)
        ) as response:
            text = await response.text()
            assert response.status == status, f"{method} {path} as {actor}: {text}"
            return await response.json(content_type=None) if text else None

    # --- the steps that put back what a successful row took away ----------------------

    async def grant(self, actor: str) -> None:
        """Invites ``actor`` (as its column says) and accepts as ``actor``."""
        relation = CLASS_GRANTEES.get(actor) or STUDENT_GRANTEES[actor]
        collection = "classes" if actor in CLASS_GRANTEES else "students"
        address = self.emails[actor]
        before = len(mails_to(self.stack, address))
        body = {"email": address, "relation": relation, "role": "teacher"}
        path = f"/v1/{collection}/{self.shared_id(actor)}/invitations"
        await self.json("POST", path, OWNER, body, 201)
        token = (await mail_after(self.stack, address, before)).token(INVITATION_PATH)
        grant = await self.json("POST", "/v1/invitations/accept", actor, {"token": token}, 200)
        self.grants[actor] = grant["id"]

    async def enroll(self) -> None:
        path = f"/v1/classes/{self.class_id}/students/{self.enrolled_id}"
        await self.json("PUT", path, OWNER, None, 204)

    async def upload_photo(self, student_id: str) -> None:
        async with self.stack.http.put(
            f"/v1/students/{student_id}/photo",
            data=small_png(),
            headers=self.headers(OWNER) | {"Content-Type": "image/png"},
        ) as response:
            assert response.status == 200, await response.text()

    async def upload_my_photo(self, actor: str) -> None:
        async with self.stack.http.put(
            "/v1/me/photo",
            data=small_png(),
            headers=self.headers(actor) | {"Content-Type": "image/png"},
        ) as response:
            assert response.status == 200, await response.text()

    async def invite_pending(self) -> None:
        """A pending invitation on the class to an address nobody signed up with."""
        body = {"email": new_email("pending"), "relation": "viewer", "role": "guardian"}
        path = f"/v1/classes/{self.class_id}/invitations"
        self.pending_invitation = (await self.json("POST", path, OWNER, body, 201))["id"]

    async def new_spare_session(self) -> None:
        """Another session of the owner, for the rows that end a session by id."""
        self.spare_session = (await sign_in(self.stack, self.emails[OWNER])).id


async def mail_after(stack: AuthStack, address: str, seen: int) -> Mail:
    """The newest mail to ``address`` once there are more than ``seen``."""
    async with asyncio.timeout(15):
        while True:
            found = mails_to(stack, address)
            if len(found) > seen:
                return found[-1]
            await asyncio.sleep(0.05)


async def build_world(stack: AuthStack) -> World:
    """Signs everyone up, makes the owner's class and students and shares them."""
    people = [a for a in ACTORS if a not in (ANONYMOUS, SUPPORT)]
    # One at a time: each costs two argon2 hashes, and a burst on two busy cores can pass
    # the gateway's gRPC deadline.
    signed_up = [await new_user(stack, actor) for actor in people]
    support = await support_session(stack)
    emails = {actor: address for actor, (address, _) in zip(people, signed_up, strict=True)}
    sessions = {actor: session for actor, (_, session) in zip(people, signed_up, strict=True)}
    sessions[SUPPORT] = support
    emails[SUPPORT] = support.account["email"]
    owner = sessions[OWNER].headers
    http = stack.http

    async def created(path: str, body: dict[str, Any]) -> str:
        async with http.post(path, json=body, headers=owner) as response:
            assert response.status == 201, await response.text()
            return str((await response.json())["id"])

    class_id = await created("/v1/classes", {"name": "7B", "term": "2026/27"})
    enrolled_id = await created("/v1/students", {"display_name": "Ana B.", "class_ids": [class_id]})
    direct_id = await created("/v1/students", {"display_name": "Sam R."})
    world = World(
        stack,
        emails,
        sessions,
        {actor: session.account["id"] for actor, session in sessions.items()},
        class_id,
        enrolled_id,
        direct_id,
    )
    for actor in (*CLASS_GRANTEES, *STUDENT_GRANTEES):
        await world.grant(actor)
    await world.upload_photo(enrolled_id)
    await world.upload_photo(direct_id)
    await world.invite_pending()
    # An invitation to someone else: accepting or declining it is never anyone's but theirs.
    address = new_email("foreign")
    body = {"email": address, "relation": "viewer", "role": "guardian"}
    await world.json("POST", f"/v1/classes/{class_id}/invitations", OWNER, body, 201)
    world.foreign_token = (await mail_after(stack, address, 0)).token(INVITATION_PATH)
    await world.new_spare_session()
    return world


def fresh_email() -> str:
    return f"m-{uuid.uuid4().hex[:12]}@example.org"
