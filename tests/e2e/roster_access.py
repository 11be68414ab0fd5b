"""Roster data for the e2e tests: through the gateway's routes, or roster's gRPC API.

The public roster routes (API.md, "Roster service") are being added to the gateway; until the
running gateway's OpenAPI document lists them, the tests reach roster as the gateway does:
mTLS with the stack's ``gateway`` certificate, forwarding the user's access token. Both ways
give the same ``RosterSnapshot`` shape, so a restore drill compares like with like.
"""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
from google.protobuf.json_format import MessageToDict
from PIL import Image

from services.common.tls import TlsFiles
from tests.e2e.stack import RunningStack
from trackcc.roster.v1 import roster_service_pb2 as pb
from trackcc.roster.v1 import roster_service_pb2_grpc

CHUNK = 64 * 1024


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


class RosterApi(Protocol):
    transport: str

    def create_class(self, token: str, name: str, term: str) -> str: ...

    def create_student(self, token: str, display_name: str, birth_date: str, notes: str) -> str: ...

    def enroll(self, token: str, class_id: str, student_id: str) -> None: ...

    def upload_photo(self, token: str, student_id: str, jpeg: bytes) -> str: ...

    def snapshot(self, token: str, class_id: str, student_id: str) -> RosterSnapshot: ...

    def photo_not_modified(self, token: str, student_id: str, etag: str) -> bool: ...


def _json(response: tuple[int, dict[str, str], bytes], expected: int) -> dict[str, Any]:
    status, _, body = response
    assert status == expected, body
    document: dict[str, Any] = json.loads(body)
    return document


@dataclass(frozen=True)
class HttpRoster:
    """The public API of API.md."""

    stack: RunningStack
    transport: str = "HTTPS (gateway routes)"

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


@dataclass(frozen=True)
class GrpcRoster:
    """roster's own API over mTLS, called as the gateway calls it."""

    stack: RunningStack
    transport: str = "gRPC (roster, as the gateway)"

    @contextlib.contextmanager
    def _stub(self) -> Iterator[roster_service_pb2_grpc.RosterServiceStub]:
        tls = self.stack.data_dir / "tls"
        files = TlsFiles(tls / "gateway.pem", tls / "gateway-key.pem", tls / "ca.pem")
        target = f"localhost:{self.stack.ports()['grpc']['roster']}"
        with grpc.secure_channel(target, files.channel_credentials()) as channel:
            yield roster_service_pb2_grpc.RosterServiceStub(channel)

    @staticmethod
    def _auth(token: str) -> tuple[tuple[str, str]]:
        return (("authorization", f"Bearer {token}"),)

    def create_class(self, token: str, name: str, term: str) -> str:
        with self._stub() as roster:
            created = roster.CreateClass(
                pb.CreateClassRequest(
                    school_class=pb.Class(name=name, term=term), request_id=str(uuid.uuid4())
                ),
                metadata=self._auth(token),
                timeout=30,
            )
        return str(created.id)

    def create_student(self, token: str, display_name: str, birth_date: str, notes: str) -> str:
        student = pb.Student(display_name=display_name, birth_date=birth_date, notes=notes)
        with self._stub() as roster:
            created = roster.CreateStudent(
                pb.CreateStudentRequest(student=student, request_id=str(uuid.uuid4())),
                metadata=self._auth(token),
                timeout=30,
            )
        return str(created.id)

    def enroll(self, token: str, class_id: str, student_id: str) -> None:
        request = pb.EnrollStudentRequest(class_id=class_id, student_id=student_id)
        with self._stub() as roster:
            roster.EnrollStudent(request, metadata=self._auth(token), timeout=30)

    def upload_photo(self, token: str, student_id: str, jpeg: bytes) -> str:
        def parts() -> Iterator[pb.UploadPhotoRequest]:
            subject = pb.PhotoSubject(student_id=student_id)
            metadata = pb.UploadPhotoMetadata(subject=subject, content_type="image/jpeg")
            yield pb.UploadPhotoRequest(metadata=metadata)
            for start in range(0, len(jpeg), CHUNK):
                yield pb.UploadPhotoRequest(chunk=jpeg[start : start + CHUNK])

        with self._stub() as roster:
            stored = roster.UploadPhoto(parts(), metadata=self._auth(token), timeout=30)
        return str(stored.etag)

    def _download(
        self, token: str, student_id: str, size: pb.PhotoSize.ValueType, etag: str = ""
    ) -> tuple[pb.DownloadPhotoMetadata, bytes]:
        request = pb.DownloadPhotoRequest(
            subject=pb.PhotoSubject(student_id=student_id), size=size, if_none_match=etag
        )
        metadata = None
        data = b""
        with self._stub() as roster:
            for part in roster.DownloadPhoto(request, metadata=self._auth(token), timeout=30):
                if part.HasField("metadata"):
                    metadata = part.metadata
                else:
                    data += part.chunk
        assert metadata is not None
        return metadata, data

    def _photo(self, token: str, student_id: str, size: pb.PhotoSize.ValueType) -> Photo:
        metadata, data = self._download(token, student_id, size)
        return Photo(metadata.etag, metadata.content_type, data)

    def snapshot(self, token: str, class_id: str, student_id: str) -> RosterSnapshot:
        auth = self._auth(token)
        with self._stub() as roster:
            school_class = roster.GetClass(
                pb.GetClassRequest(class_id=class_id), metadata=auth, timeout=30
            )
            student = roster.GetStudent(
                pb.GetStudentRequest(student_id=student_id), metadata=auth, timeout=30
            )
            listed = roster.ListClassStudents(
                pb.ListClassStudentsRequest(class_id=class_id), metadata=auth, timeout=30
            )
        return RosterSnapshot(
            MessageToDict(school_class, preserving_proto_field_name=True),
            MessageToDict(student, preserving_proto_field_name=True),
            tuple(s.id for s in listed.students),
            self._photo(token, student_id, pb.PHOTO_SIZE_FULL),
            self._photo(token, student_id, pb.PHOTO_SIZE_THUMB),
        )

    def photo_not_modified(self, token: str, student_id: str, etag: str) -> bool:
        metadata, data = self._download(token, student_id, pb.PHOTO_SIZE_FULL, etag)
        return metadata.not_modified and data == b""


def roster_api(stack: RunningStack) -> RosterApi:
    """The public routes once the running gateway serves them, else roster's gRPC API."""
    status, _, body = stack.request("GET", "/v1/openapi.json")
    assert status == 200, body
    paths = json.loads(body).get("paths", {})
    if "/v1/classes" in paths and "/v1/students/{id}/photo" in paths:
        return HttpRoster(stack)
    return GrpcRoster(stack)
