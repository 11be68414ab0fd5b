"""Photo upload, download and deletion over gRPC streams, for students and the account."""

from __future__ import annotations

import io

import aiohttp
import grpc
import pytest
from PIL import Image

from tests.support.photo_uploads import upload
from tests.support.roster_service import Person, Stack
from tests.support.rpc_errors import reason
from trackcc.roster.v1 import roster_service_pb2 as pb


def jpeg_with_gps(size: tuple[int, int] = (2400, 1600)) -> bytes:
    image = Image.new("RGB", size, (180, 40, 40))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=80)
    return buffer.getvalue()


def png_bomb() -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buffer, "PNG")
    return buffer.getvalue()


async def download(
    stack: Stack,
    who: Person,
    subject: pb.PhotoSubject,
    size: pb.PhotoSize.ValueType = pb.PHOTO_SIZE_FULL,
    etag: str = "",
) -> tuple[pb.DownloadPhotoMetadata, bytes]:
    metadata = None
    data = b""
    async for part in stack.roster.DownloadPhoto(
        pb.DownloadPhotoRequest(subject=subject, size=size, if_none_match=etag),
        metadata=who.metadata,
    ):
        if part.HasField("metadata"):
            metadata = part.metadata
        else:
            data += part.chunk
    assert metadata is not None
    return metadata, data


async def _metrics(stack: Stack) -> str:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{stack.metrics_port}/metrics") as response:
            return await response.text()


async def test_a_jpeg_with_gps_comes_back_upright_without_metadata(stack: Stack) -> None:
    owner = stack.person()
    student = await stack.new_student(owner)
    subject = pb.PhotoSubject(student_id=student.id)
    stored = await upload(stack, owner, subject, jpeg_with_gps())
    assert (stored.width, stored.height) == (683, 1024)  # turned upright, then scaled

    meta, data = await download(stack, owner, subject)
    assert meta.content_type == "image/jpeg" and meta.etag == stored.etag
    assert meta.content_length == len(data)
    image = Image.open(io.BytesIO(data))
    assert image.size == (683, 1024)
    assert not image.getexif() and "exif" not in image.info and "icc_profile" not in image.info

    thumb_meta, thumb = await download(stack, owner, subject, pb.PHOTO_SIZE_THUMB)
    assert max(Image.open(io.BytesIO(thumb)).size) <= 128 and thumb_meta.etag != meta.etag

    cached, nothing = await download(stack, owner, subject, etag=f'"{stored.etag}"')
    assert cached.not_modified and nothing == b""
    got = await stack.roster.GetStudent(
        pb.GetStudentRequest(student_id=student.id), metadata=owner.metadata
    )
    assert got.has_photo
    assert "trackcc_roster_photo_bytes_count 1.0" in await _metrics(stack)


@pytest.mark.parametrize(
    ("data", "declared", "code", "why"),
    [
        (
            b"just some text, renamed to photo.jpg\n" * 10,
            "image/jpeg",
            grpc.StatusCode.INVALID_ARGUMENT,
            "unsupported_media_type",
        ),
        (
            b"GIF89a" + b"\x00" * 100,
            "image/png",
            grpc.StatusCode.INVALID_ARGUMENT,
            "unsupported_media_type",
        ),
        (
            jpeg_with_gps((200, 200))[:600],
            "image/jpeg",
            grpc.StatusCode.INVALID_ARGUMENT,
            "invalid_image",
        ),
        (
            b"\xff" * (5 * 1024 * 1024 + 1),
            "image/jpeg",
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "photo_too_large",
        ),
        (b"<svg/>", "image/svg+xml", grpc.StatusCode.INVALID_ARGUMENT, "unsupported_media_type"),
    ],
)
async def test_uploads_that_are_not_acceptable_photos_are_refused(
    stack: Stack, data: bytes, declared: str, code: grpc.StatusCode, why: str
) -> None:
    owner = stack.person()
    student = await stack.new_student(owner)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await upload(stack, owner, pb.PhotoSubject(student_id=student.id), data, declared)
    assert refused.value.code() == code
    assert reason(refused.value) == why
    assert f'trackcc_roster_photo_rejections_total{{reason="{why}"}} 1.0' in await _metrics(stack)


async def test_a_png_bomb_is_refused_and_the_service_keeps_answering(stack: Stack) -> None:
    owner = stack.person()
    student = await stack.new_student(owner)
    bomb = png_bomb()
    assert len(bomb) < 5 * 1024 * 1024
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await upload(stack, owner, pb.PhotoSubject(student_id=student.id), bomb, "image/png")
    assert reason(refused.value) == "invalid_image"
    again = await stack.roster.GetStudent(
        pb.GetStudentRequest(student_id=student.id), metadata=owner.metadata
    )
    assert not again.has_photo


async def test_viewers_download_editors_upload_strangers_see_nothing(stack: Stack) -> None:
    owner, viewer, editor, stranger = (stack.person(n) for n in ("O", "V", "E", "S"))
    student = await stack.new_student(owner)
    subject = pb.PhotoSubject(student_id=student.id)
    await stack.grant("student", student.id, viewer, "viewer")
    await stack.grant("student", student.id, editor, "editor")
    await upload(stack, editor, subject, jpeg_with_gps((300, 200)))
    meta, _ = await download(stack, viewer, subject)
    assert meta.content_type == "image/jpeg"
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await upload(stack, viewer, subject, jpeg_with_gps((300, 200)))
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as hidden:
        await download(stack, stranger, subject)
    assert hidden.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as no_delete:
        await stack.roster.DeletePhoto(
            pb.DeletePhotoRequest(subject=subject), metadata=viewer.metadata
        )
    assert no_delete.value.code() == grpc.StatusCode.PERMISSION_DENIED
    await stack.roster.DeletePhoto(pb.DeletePhotoRequest(subject=subject), metadata=editor.metadata)
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await download(stack, owner, subject)
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND


async def test_the_account_photo_uses_the_same_pipeline(stack: Stack) -> None:
    me, someone = stack.person(), stack.person()
    mine = pb.PhotoSubject(caller_account=True)
    buffer = io.BytesIO()
    Image.new("RGBA", (2000, 500), (0, 0, 255, 128)).save(buffer, "WEBP")
    stored = await upload(stack, me, mine, buffer.getvalue(), "image/webp")
    assert (stored.width, stored.height) == (1024, 256)
    meta, data = await download(stack, me, mine)
    assert meta.content_type == "image/webp" and Image.open(io.BytesIO(data)).format == "WEBP"
    with pytest.raises(grpc.aio.AioRpcError) as theirs:
        await download(stack, someone, mine)
    assert theirs.value.code() == grpc.StatusCode.NOT_FOUND
    await stack.roster.DeletePhoto(pb.DeletePhotoRequest(subject=mine), metadata=me.metadata)
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await download(stack, me, mine)
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
