"""A realistic roster made through the API: a teacher, a class of 30, a guardian invited by
mail who accepted. The list and photo benches measure against it."""

from __future__ import annotations

from dataclasses import dataclass

from bench.client import ApiClient, mailed_token
from bench.stack import BenchStack

CLASS_SIZE = 30

# (method, OpenAPI path template) of each route a roster bench needs from the gateway.
SETUP_ROUTES = (
    ("post", "/v1/classes"),
    ("post", "/v1/students"),
    ("post", "/v1/classes/{id}/invitations"),
    ("post", "/v1/invitations/accept"),
)
LIST_ROUTE = ("get", "/v1/classes/{id}/students")
PHOTO_ROUTE = ("put", "/v1/students/{id}/photo")


@dataclass(frozen=True)
class Roster:
    """Ids and access tokens of the set-up data."""

    class_id: str
    student_ids: list[str]
    owner_token: str
    guardian_token: str


async def missing_routes(api: ApiClient, routes: tuple[tuple[str, str], ...]) -> list[str]:
    """Routes the gateway does not serve yet (it is still being extended)."""
    missing = []
    for method, template in routes:
        if not await api.route_exists(method, template):
            missing.append(f"{method.upper()} {template}")
    return missing


async def make_roster(api: ApiClient, stack: BenchStack) -> Roster:
    owner_email, guardian_email = "bench-owner@example.org", "bench-guardian@example.org"
    await api.sign_up(owner_email, "teacher", "Bench Owner")
    await api.sign_up(guardian_email, "guardian", "Bench Guardian")
    owner = await api.sign_in(owner_email)
    school_class = await api.call(
        "POST", "/v1/classes", {"name": "Bench 5B", "term": "2026"}, owner, expect=201
    )
    class_id = str(school_class["id"])
    student_ids = []
    for n in range(CLASS_SIZE):
        student = await api.call(
            "POST",
            "/v1/students",
            {"display_name": f"Pupil {n} B.", "class_ids": [class_id], "gender": "x"},
            owner,
            expect=201,
        )
        student_ids.append(str(student["id"]))
    await api.call(
        "POST",
        f"/v1/classes/{class_id}/invitations",
        {"email": guardian_email, "relation": "viewer", "role": "guardian"},
        owner,
        expect=201,
    )
    # The real flow: the accept token is only in the invitation mail.
    token = await mailed_token(stack.layout.mail, guardian_email, "/invitations/accept")
    guardian = await api.sign_in(guardian_email)
    await api.call("POST", "/v1/invitations/accept", {"token": token}, guardian)
    listed = await api.call("GET", f"/v1/classes/{class_id}/students", token=guardian)
    if listed is None or len(listed.get("items", [])) != CLASS_SIZE:
        raise RuntimeError("the guardian does not see the class's 30 students")
    return Roster(class_id, student_ids, owner, guardian)
