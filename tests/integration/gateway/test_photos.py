"""Student photos and the account photo through the gateway: streaming upload, the photo rules
of docs/api.md, conditional downloads and caching headers."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
from multidict import CIMultiDict
from PIL import Image

from services.gateway.appkeys import SETTINGS
from tests.support.gateway import RunningGateway
from tests.support.http_checks import SECURITY_HEADERS, problem_of
from tests.support.roster_calls import (
    call,
    create_class,
    create_student,
    jpeg_with_gps,
    new_user,
    png_bomb,
    problem,
    signed_in,
    small_png,
)
from tests.support.sharing_stack import User

MIB = 1024 * 1024


@pytest.fixture(scope="module")
async def owner(gateway: RunningGateway) -> User:
    return await new_user(gateway)


async def _student_photo_path(gateway: RunningGateway, owner: User) -> str:
    student = await create_student(gateway, owner)
    return f"/v1/students/{student['id']}/photo"


async def _put(
    gateway: RunningGateway, path: str, user: User, data: Any, content_type: str
) -> tuple[int, dict[str, Any]]:
    headers = user.headers | {"Content-Type": content_type}
    if isinstance(data, bytes):
        data = io.BytesIO(data)  # aiohttp warns about large raw bytes bodies
    async with gateway.http.put(path, data=data, headers=headers) as response:
        body: dict[str, Any] = await response.json(content_type=None)
        return response.status, body


async def _get_image(
    gateway: RunningGateway, path: str, user: User, headers: dict[str, str] | None = None
) -> tuple[bytes, CIMultiDict[str]]:
    async with gateway.http.get(path, headers=user.headers | (headers or {})) as response:
        assert response.status == 200, await response.text()
        return await response.read(), response.headers.copy()


async def test_a_jpeg_with_gps_comes_back_upright_without_any_metadata(
    gateway: RunningGateway, owner: User
) -> None:
    path = await _student_photo_path(gateway, owner)
    original = jpeg_with_gps((1600, 1200))
    assert Image.open(io.BytesIO(original)).getexif()  # the test image does carry EXIF
    status, stored = await _put(gateway, path, owner, original, "image/jpeg")
    assert status == 200, stored
    public_url = gateway.app[SETTINGS].public_url
    assert stored["photo_url"] == public_url + path
    # Turned upright by the EXIF orientation (6: rotated), then at most 1024 px.
    assert (stored["width"], stored["height"]) == (768, 1024)
    assert stored["etag"].startswith('"') and stored["etag"].endswith('"')

    data, headers = await _get_image(gateway, path, owner)
    assert headers["Content-Type"] == "image/jpeg"
    assert headers["ETag"] == stored["etag"]
    assert headers["Cache-Control"] == "private"
    assert int(headers["Content-Length"]) == len(data)
    for name, value in SECURITY_HEADERS.items():
        if name != "Cache-Control":
            assert headers[name] == value, name
    image = Image.open(io.BytesIO(data))
    assert image.size == (768, 1024)
    assert not image.getexif()
    assert not {"exif", "icc_profile", "xmp", "comment"} & set(image.info)
    assert b"PhoneMaker" not in data and b"Exif" not in data

    student_id = path.split("/")[3]
    student = await call(gateway, "GET", f"/v1/students/{student_id}", owner, 200)
    assert student["photo_url"] == public_url + path


async def test_conditional_downloads_and_the_thumbnail(
    gateway: RunningGateway, owner: User
) -> None:
    path = await _student_photo_path(gateway, owner)
    status, stored = await _put(gateway, path, owner, jpeg_with_gps((900, 600)), "image/jpeg")
    assert status == 200, stored
    for tag in (stored["etag"], f'"other", W/{stored["etag"]}', "*"):
        conditional = owner.headers | {"If-None-Match": tag}
        async with gateway.http.get(path, headers=conditional) as response:
            assert response.status == 304, tag
            assert await response.read() == b""
            assert response.headers["ETag"] == stored["etag"]
            assert response.headers["Cache-Control"] == "private"
    stale = {"If-None-Match": '"not-the-current-one"'}
    data, _ = await _get_image(gateway, path, owner, stale)
    assert Image.open(io.BytesIO(data)).size == (600, 900)

    thumb, headers = await _get_image(gateway, path + "?size=thumb", owner)
    assert max(Image.open(io.BytesIO(thumb)).size) <= 128
    assert headers["ETag"] != stored["etag"]  # another representation, another tag
    full, _ = await _get_image(gateway, path + "?size=full", owner)
    assert full == data
    await problem(gateway, "GET", path + "?size=huge", owner, 422, "validation_failed")

    async with gateway.http.head(path, headers=owner.headers) as response:
        assert response.status == 200
        assert response.headers["ETag"] == stored["etag"]
        assert await response.read() == b""


async def test_a_png_bomb_is_refused_and_the_stack_keeps_answering(
    gateway: RunningGateway, owner: User
) -> None:
    path = await _student_photo_path(gateway, owner)
    bomb = png_bomb()
    assert len(bomb) < MIB
    status, body = await _put(gateway, path, owner, bomb, "image/png")
    assert (status, body["code"]) == (422, "invalid_image"), body
    await problem(gateway, "GET", path, owner, 404, "not_found")  # nothing was stored
    async with gateway.http.get("/readyz") as response:
        assert response.status == 200
    status, body = await _put(gateway, path, owner, small_png(), "image/png")
    assert status == 200, body
    assert (body["width"], body["height"]) == (64, 48)


async def test_files_that_are_not_accepted_images_are_refused(
    gateway: RunningGateway, owner: User
) -> None:
    path = await _student_photo_path(gateway, owner)
    text = b"name,grade\nSam,A\n" * 20
    # A text file renamed photo.png: the bytes decide, not the declared type.
    status, body = await _put(gateway, path, owner, text, "image/png")
    assert (status, body["code"]) == (415, "unsupported_media_type"), body
    # A GIF is an image, but not one of the three types.
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, "GIF")
    status, body = await _put(gateway, path, owner, gif.getvalue(), "image/jpeg")
    assert (status, body["code"]) == (415, "unsupported_media_type"), body
    # A truncated JPEG.
    status, body = await _put(gateway, path, owner, jpeg_with_gps((200, 200))[:600], "image/jpeg")
    assert (status, body["code"]) == (422, "invalid_image"), body
    # A declared type that can never be accepted is refused before the body is read.
    for content_type in ("text/plain", "image/gif", "application/json"):
        status, body = await _put(gateway, path, owner, small_png(), content_type)
        assert (status, body["code"]) == (415, "unsupported_media_type"), content_type
    await problem(gateway, "GET", path, owner, 404, "not_found")


async def test_a_stranger_uploading_is_refused_before_the_body_is_used(
    gateway: RunningGateway, owner: User
) -> None:
    path = await _student_photo_path(gateway, owner)
    stranger = await new_user(gateway)
    # roster refuses on the first message (who and what), while the body is still coming.
    status, body = await _put(gateway, path, stranger, bytes(3 * MIB), "image/jpeg")
    assert (status, body["code"]) == (404, "not_found"), body
    await problem(gateway, "GET", path, owner, 404, "not_found")
    async with gateway.http.get("/healthz") as response:
        assert response.status == 200  # the connection pool and the gateway are fine


async def test_uploads_over_5_mib_answer_413(gateway: RunningGateway, owner: User) -> None:
    path = await _student_photo_path(gateway, owner)
    oversized = b"\xff\xd8\xff" + bytes(5 * MIB)
    # Declared by Content-Length: refused before reading.
    status, body = await _put(gateway, path, owner, oversized, "image/jpeg")
    assert (status, body["code"]) == (413, "photo_too_large"), body

    async def chunked() -> AsyncIterator[bytes]:
        for start in range(0, len(oversized), 256 * 1024):
            yield oversized[start : start + 256 * 1024]

    # Sent chunked, without a length: counted while streaming.
    status, body = await _put(gateway, path, owner, chunked(), "image/jpeg")
    assert (status, body["code"]) == (413, "photo_too_large"), body
    # The JSON routes keep their own, much smaller limit.
    async with gateway.http.post(
        "/v1/classes",
        data=b'{"name": "' + b"x" * (70 * 1024) + b'"}',
        headers=owner.headers | {"Content-Type": "application/json"},
    ) as response:
        await problem_of(response, 413, "payload_too_large")


async def test_a_large_photo_under_the_limit_is_streamed_through(
    gateway: RunningGateway, owner: User
) -> None:
    path = await _student_photo_path(gateway, owner)
    noisy = Image.effect_noise((700, 700), 80).convert("RGB")
    buffer = io.BytesIO()
    noisy.save(buffer, "PNG")
    assert MIB < len(buffer.getvalue()) <= 5 * MIB  # many 64 KiB chunks
    status, body = await _put(gateway, path, owner, buffer.getvalue(), "image/png")
    assert status == 200, body
    assert (body["width"], body["height"]) == (700, 700)


async def test_delete_photo_and_delete_student(gateway: RunningGateway, owner: User) -> None:
    school_class = await create_class(gateway, owner)
    student = await create_student(gateway, owner, (school_class["id"],))
    path = f"/v1/students/{student['id']}/photo"
    assert (await _put(gateway, path, owner, small_png(), "image/png"))[0] == 200
    await call(gateway, "DELETE", path, owner, 204)
    await problem(gateway, "GET", path, owner, 404, "not_found")
    await problem(gateway, "DELETE", path, owner, 404, "not_found")
    read = await call(gateway, "GET", f"/v1/students/{student['id']}", owner, 200)
    assert read["photo_url"] is None

    assert (await _put(gateway, path, owner, small_png(), "image/png"))[0] == 200
    await call(gateway, "DELETE", f"/v1/students/{student['id']}", owner, 204)
    await problem(gateway, "GET", path, owner, 404, "not_found")
    status, body = await _put(gateway, path, owner, small_png(), "image/png")
    assert (status, body["code"]) == (404, "not_found")
    enrolled = await call(gateway, "GET", f"/v1/classes/{school_class['id']}/students", owner, 200)
    assert enrolled["items"] == []


async def test_my_photo_uses_the_same_pipeline(gateway: RunningGateway) -> None:
    me = await new_user(gateway)
    other = await new_user(gateway)
    await problem(gateway, "GET", "/v1/me/photo", me, 404, "not_found")
    status, stored = await _put(
        gateway, "/v1/me/photo", me, jpeg_with_gps((400, 300)), "image/jpeg"
    )
    assert status == 200, stored
    assert stored["photo_url"] == gateway.app[SETTINGS].public_url + "/v1/me/photo"
    assert (stored["width"], stored["height"]) == (300, 400)
    data, headers = await _get_image(gateway, "/v1/me/photo", me)
    assert headers["ETag"] == stored["etag"] and headers["Cache-Control"] == "private"
    assert not Image.open(io.BytesIO(data)).getexif()
    thumb, _ = await _get_image(gateway, "/v1/me/photo?size=thumb", me)
    assert max(Image.open(io.BytesIO(thumb)).size) <= 128
    # Everyone's /v1/me/photo is their own.
    await problem(gateway, "GET", "/v1/me/photo", other, 404, "not_found")
    await problem(gateway, "DELETE", "/v1/me/photo", other, 404, "not_found")
    status, body = await _put(gateway, "/v1/me/photo", me, b"GIF89a", "image/png")
    assert (status, body["code"]) == (415, "unsupported_media_type")
    await call(gateway, "DELETE", "/v1/me/photo", me, 204)
    await problem(gateway, "GET", "/v1/me/photo", me, 404, "not_found")


async def test_my_account_shows_my_photo_url(gateway: RunningGateway) -> None:
    me = await new_user(gateway)
    url = gateway.app[SETTINGS].public_url + "/v1/me/photo"
    assert (await call(gateway, "GET", "/v1/me", me, 200))["photo_url"] is None
    status, stored = await _put(gateway, "/v1/me/photo", me, small_png(), "image/png")
    assert status == 200, stored
    assert (await call(gateway, "GET", "/v1/me", me, 200))["photo_url"] == url
    export = await call(gateway, "GET", "/v1/me/export", me, 200)
    assert export["account"]["photo_url"] == url
    # A new session's account says the same.
    again = await signed_in(gateway, me.email)
    assert (await call(gateway, "GET", "/v1/me", again, 200))["photo_url"] == url
    await call(gateway, "DELETE", "/v1/me/photo", me, 204)
    assert (await call(gateway, "GET", "/v1/me", me, 200))["photo_url"] is None
    export = await call(gateway, "GET", "/v1/me/export", me, 200)
    assert export["account"]["photo_url"] is None


@pytest.mark.parametrize("method", ["PUT", "GET", "DELETE"])
@pytest.mark.parametrize("path", ["/v1/me/photo", "/v1/students/{id}/photo"])
async def test_photo_routes_require_a_token(
    gateway: RunningGateway, method: str, path: str
) -> None:
    headers = {"Content-Type": "image/png"}
    url = path.replace("{id}", "0b4f6f0e-0000-4000-8000-000000000000")
    async with gateway.http.request(method, url, data=small_png(), headers=headers) as response:
        await problem_of(response, 401, "unauthenticated")
