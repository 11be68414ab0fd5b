"""Roster messages as docs/api.md's JSON, the export document, and the photo route's own checks."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import make_mocked_request
from google.protobuf.timestamp_pb2 import Timestamp
from PIL import Image

from services.gateway.errors import ProblemError
from services.gateway.routes.export_json import (
    EXPORT_SCHEMA,
    ExportParts,
    export_json,
    media_type,
)
from services.gateway.routes.photos import declared_type, photo_size
from services.gateway.routes.roster_json import (
    CLASS_SCHEMA,
    STUDENT_SCHEMA,
    class_json,
    photo_json,
    student_json,
)
from services.gateway.validation import validate
from trackcc.auth.v1 import auth_service_pb2 as apb
from trackcc.roster.v1 import roster_service_pb2 as pb

ID = "6f1c1f49-5f2e-4a55-9a3e-2b1e7d3c9a10"
OTHER = "0b4f6f0e-0000-4000-8000-000000000000"
URL = "https://trackcc.example"


def _ts(text: str) -> Timestamp:
    value = Timestamp()
    value.FromJsonString(text)
    return value


def _class(**fields: object) -> pb.Class:
    message = pb.Class(
        id=ID,
        name="7B",
        owner_id=OTHER,
        access=pb.ACCESS_EDITOR,
        student_count=3,
        create_time=_ts("2026-11-28T16:00:00Z"),
        update_time=_ts("2026-11-28T17:00:00Z"),
    )
    for name, value in fields.items():
        setattr(message, name, value)
    return message


def _student(**fields: object) -> pb.Student:
    message = pb.Student(
        id=ID,
        display_name="Sam R.",
        class_ids=[OTHER],
        owner_id=OTHER,
        access=pb.ACCESS_VIEWER,
        create_time=_ts("2026-11-28T16:00:00Z"),
        update_time=_ts("2026-11-28T16:00:00Z"),
    )
    for name, value in fields.items():
        setattr(message, name, value)
    return message


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "PNG")
    return buffer.getvalue()


def test_class_json_has_exactly_the_contract_fields() -> None:
    body = class_json(_class())
    validate(body, CLASS_SCHEMA)
    assert body == {
        "id": ID,
        "name": "7B",
        "term": None,
        "owner_id": OTHER,
        "access": "editor",
        "student_count": 3,
        "created_at": "2026-11-28T16:00:00Z",
        "updated_at": "2026-11-28T17:00:00Z",
    }
    assert class_json(_class(term="spring"))["term"] == "spring"


def test_student_json_unset_fields_are_null_and_the_photo_is_a_public_link() -> None:
    body = student_json(_student(), URL)
    validate(body, STUDENT_SCHEMA)
    assert (body["birth_date"], body["gender"], body["notes"], body["photo_url"]) == (
        None,
        None,
        None,
        None,
    )
    assert (body["access"], body["class_ids"]) == ("viewer", [OTHER])
    full = student_json(_student(birth_date="2014-03-02", notes="", has_photo=True), URL)
    validate(full, STUDENT_SCHEMA)
    assert full["birth_date"] == "2014-03-02"
    assert full["notes"] == ""  # present but empty is not null
    assert full["photo_url"] == f"{URL}/v1/students/{ID}/photo"


def test_photo_json_quotes_the_etag_like_the_header() -> None:
    body = photo_json(pb.Photo(width=10, height=20, etag="abc"), f"{URL}/v1/me/photo")
    assert body == {"photo_url": f"{URL}/v1/me/photo", "width": 10, "height": 20, "etag": '"abc"'}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xff\xd8\xff\xe0rest", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\nrest", "image/png"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"GIF89a", "application/octet-stream"),
    ],
)
def test_media_type_from_the_first_bytes(data: bytes, expected: str) -> None:
    assert media_type(data) == expected


def test_export_json_matches_its_schema() -> None:
    png = _png()
    parts = ExportParts(
        auth=apb.AccountExport(
            account=apb.Account(
                id=OTHER,
                email="t@example.org",
                role=apb.ROLE_TEACHER,
                create_time=_ts("2026-11-28T16:00:00Z"),
            ),
            sessions=[apb.Session(id=ID, create_time=_ts("2026-11-28T16:00:00Z"), current=True)],
        ),
        roster=pb.UserDataExport(
            classes=[_class(access=pb.ACCESS_OWNER)],
            students=[_student(access=pb.ACCESS_OWNER, has_photo=True)],
            photos={ID: png, "me": png},
        ),
        invitations_sent=[],
        invitations_received=[],
        shared_with_me=[],
    )
    body = export_json(parts, URL, now=datetime(2026, 11, 28, 18, 0, tzinfo=UTC))
    validate(body, EXPORT_SCHEMA)
    assert body["exported_at"] == "2026-11-28T18:00:00Z"
    assert body["account"]["photo_url"] == f"{URL}/v1/me/photo"
    assert [(p["subject"], p["student_id"]) for p in body["photos"]] == [
        ("student", ID),
        ("account", None),
    ]
    assert base64.b64decode(body["photos"][0]["data_base64"]) == png
    assert body["photos"][0]["media_type"] == "image/png"


@pytest.mark.parametrize("content_type", ["image/jpeg", "IMAGE/PNG", "image/webp"])
def test_declared_image_types_are_accepted(content_type: str) -> None:
    request = make_mocked_request("PUT", "/v1/me/photo", headers={"Content-Type": content_type})
    assert declared_type(request) == content_type.lower()


@pytest.mark.parametrize("content_type", ["image/gif", "text/plain", "application/json", ""])
def test_other_declared_types_are_415(content_type: str) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    request = make_mocked_request("PUT", "/v1/me/photo", headers=headers)
    with pytest.raises(ProblemError) as caught:
        declared_type(request)
    assert (caught.value.status, caught.value.code) == (415, "unsupported_media_type")


def test_photo_size_defaults_to_full_and_refuses_others() -> None:
    assert photo_size(make_mocked_request("GET", "/v1/me/photo")) == pb.PHOTO_SIZE_FULL
    assert photo_size(make_mocked_request("GET", "/v1/me/photo?size=thumb")) == pb.PHOTO_SIZE_THUMB
    with pytest.raises(ProblemError) as caught:
        photo_size(make_mocked_request("GET", "/v1/me/photo?size=large"))
    assert caught.value.status == 422
    assert [e.field for e in caught.value.errors] == ["size"]
