"""What the roster tests through the gateway share: users, JSON calls, classes, students and
test images."""

from __future__ import annotations

import io
import struct
import uuid
import zlib
from typing import Any

from PIL import Image

from tests.support.gateway import RunningGateway
from tests.support.http_checks import assert_security_headers
from tests.support.sharing_stack import PASSWORD, User, new_email

CLASS_FIELDS = {
    "id",
    "name",
    "term",
    "owner_id",
    "access",
    "student_count",
    "created_at",
    "updated_at",
}
STUDENT_FIELDS = {
    "id",
    "display_name",
    "birth_date",
    "gender",
    "notes",
    "class_ids",
    "photo_url",
    "owner_id",
    "access",
    "created_at",
    "updated_at",
}


async def new_user(gateway: RunningGateway, role: str = "teacher", address: str = "") -> User:
    """A new account, signed in through the gateway."""
    address = address or new_email()
    body = {"email": address, "password": PASSWORD, "role": role, "display_name": "Ms. K"}
    async with gateway.http.post("/v1/accounts", json=body) as response:
        assert response.status == 201, await response.text()
    return await signed_in(gateway, address)


async def signed_in(gateway: RunningGateway, address: str) -> User:
    """A new session of an existing account."""
    credentials = {"email": address, "password": PASSWORD}
    async with gateway.http.post("/v1/sessions", json=credentials) as response:
        assert response.status == 200, await response.text()
        tokens = await response.json()
    return User(
        tokens["account"]["id"], address, {"Authorization": f"Bearer {tokens['access_token']}"}
    )


async def call(
    gateway: RunningGateway,
    method: str,
    path: str,
    user: User,
    status: int,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """One JSON request; asserts the status and returns the JSON body (None for no body)."""
    async with gateway.http.request(
        method, path, json=body, headers=user.headers | (headers or {})
    ) as response:
        text = await response.text()
        assert response.status == status, f"{method} {path}: {response.status} {text}"
        assert_security_headers(response)
        if status == 204:
            assert text == ""
            return None
        return await response.json(content_type=None)


async def problem(
    gateway: RunningGateway,
    method: str,
    path: str,
    user: User,
    status: int,
    code: str,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A request that must fail with this status and problem code."""
    answer: dict[str, Any] = await call(gateway, method, path, user, status, body, headers)
    assert answer["code"] == code, answer
    assert answer["status"] == status
    return answer


async def create_class(gateway: RunningGateway, owner: User, name: str = "7B") -> dict[str, Any]:
    created: dict[str, Any] = await call(
        gateway, "POST", "/v1/classes", owner, 201, {"name": name, "term": "2026/27 autumn"}
    )
    return created


async def create_student(
    gateway: RunningGateway, owner: User, class_ids: tuple[str, ...] = (), **fields: Any
) -> dict[str, Any]:
    body = {"display_name": "Sam R.", "class_ids": list(class_ids), **fields}
    created: dict[str, Any] = await call(gateway, "POST", "/v1/students", owner, 201, body)
    return created


def random_id() -> str:
    return str(uuid.uuid4())


# --- images ----------------------------------------------------------------------------


def jpeg_with_gps(size: tuple[int, int] = (1600, 1200)) -> bytes:
    """A JPEG whose EXIF says where it was taken and that it is rotated."""
    image = Image.new("RGB", size, (180, 40, 40))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=80)
    return buffer.getvalue()


def small_png(size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def png_bomb(width: int = 20000, height: int = 20000) -> bytes:
    """A valid 1-bit PNG of 400 megapixels in about 50 KB: gigabytes once decoded.

    Written chunk by chunk with zlib, which takes a fraction of the time Pillow needs to
    encode the same image."""
    row = b"\x00" + bytes((width + 7) // 8)  # filter type 0, all pixels black
    compressor = zlib.compressobj(9)
    pixels = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, grayscale
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )
