"""Roster data for the e2e tests, through the public API only (docs/api.md, "Classes and students").

A ``RosterSnapshot`` is everything one teacher's class and student look like from outside,
photo bytes and ETags included, so a restore drill compares before and after in one equality.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

from PIL import Image

from tests.e2e.stack import RunningStack


def jpeg_photo() -> bytes:
    """A real JPEG with some structure (a gradient), so re-encoding keeps distinct bytes."""
    image = Image.new("RGB", (640, 480))
    image.putdata([(x % 256, y % 256, (x * y) % 256) for y in range(480) for x in range(640)])
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


@dataclass(frozen=True)
class Photo:
    """One downloaded rendition."""

    etag: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class RosterSnapshot:
    """Everything the drill wrote, as read back."""

    school_class: dict[str, Any]
    student: dict[str, Any]
    enrolled: tuple[str, ...]
    full: Photo
    thumb: Photo


def _json(response: tuple[int, dict[str, str], bytes], expected: int) -> dict[str, Any]:
    status, _, body = response
    assert status == expected, body
    document: dict[str, Any] = json.loads(body)
    return document


@dataclass(frozen=True)
class RosterApi:
    """The gateway's roster routes, as one teacher calls them."""

    stack: RunningStack

    def create_class(self, token: str, name: str, term: str) -> str:
        body = {"name": name, "term": term}
        return str(_json(self.stack.request("POST", "/v1/classes", body, token), 201)["id"])

    def create_student(self, token: str, display_name: str, birth_date: str, notes: str) -> str:
        body = {"display_name": display_name, "birth_date": birth_date, "notes": notes}
        return str(_json(self.stack.request("POST", "/v1/students", body, token), 201)["id"])

    def enroll(self, token: str, class_id: str, student_id: str) -> None:
        path = f"/v1/classes/{class_id}/students/{student_id}"
        status, _, body = self.stack.request("PUT", path, token=token)
        assert status == 204, body

    def upload_photo(self, token: str, student_id: str, jpeg: bytes) -> str:
        response = self.stack.request(
            "PUT",
            f"/v1/students/{student_id}/photo",
            token=token,
            raw=jpeg,
            headers={"Content-Type": "image/jpeg"},
        )
        return str(_json(response, 200)["etag"])

    def _photo(self, token: str, student_id: str, size: str) -> Photo:
        path = f"/v1/students/{student_id}/photo?size={size}"
        status, headers, body = self.stack.request("GET", path, token=token)
        assert status == 200, body
        return Photo(headers["ETag"], headers["Content-Type"], body)

    def snapshot(self, token: str, class_id: str, student_id: str) -> RosterSnapshot:
        school_class = _json(self.stack.request("GET", f"/v1/classes/{class_id}", None, token), 200)
        student = _json(self.stack.request("GET", f"/v1/students/{student_id}", None, token), 200)
        listed = _json(
            self.stack.request("GET", f"/v1/classes/{class_id}/students", None, token), 200
        )
        return RosterSnapshot(
            school_class,
            student,
            tuple(item["id"] for item in listed["items"]),
            self._photo(token, student_id, "full"),
            self._photo(token, student_id, "thumb"),
        )

    def photo_not_modified(self, token: str, student_id: str, etag: str) -> bool:
        status, _, _ = self.stack.request(
            "GET",
            f"/v1/students/{student_id}/photo?size=full",
            token=token,
            headers={"If-None-Match": etag},
        )
        return status == 304
