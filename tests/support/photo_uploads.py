"""Photo uploads over roster's ``UploadPhoto`` client stream, in 64 KiB chunks."""

from __future__ import annotations

from collections.abc import AsyncIterator

from tests.support.roster_service import Person, Stack
from trackcc.roster.v1 import roster_service_pb2 as pb

CHUNK = 64 * 1024


async def _parts(
    subject: pb.PhotoSubject, data: bytes, content_type: str
) -> AsyncIterator[pb.UploadPhotoRequest]:
    yield pb.UploadPhotoRequest(
        metadata=pb.UploadPhotoMetadata(subject=subject, content_type=content_type)
    )
    for start in range(0, len(data), CHUNK):
        yield pb.UploadPhotoRequest(chunk=data[start : start + CHUNK])


async def upload(
    stack: Stack,
    who: Person,
    subject: pb.PhotoSubject,
    data: bytes,
    content_type: str = "image/jpeg",
) -> pb.Photo:
    stored: pb.Photo = await stack.roster.UploadPhoto(
        _parts(subject, data, content_type), metadata=who.metadata
    )
    return stored
