"""Photo RPCs: upload (client stream), download (server stream), delete.

One pipeline (:mod:`photos`) for student photos and an account's own photo.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import grpc
from google.protobuf import empty_pb2

from services.common import fields, reasons
from services.common.errors import NotFound
from services.common.photo_limits import UPLOAD_DEADLINE_SECONDS, UPLOAD_SLOT_WAIT_SHARE
from services.roster import photo_store, photos
from services.roster.photo_store import Subject
from services.roster.rpc_base import RpcBase
from services.roster.sharing_client import Permission
from trackcc.roster.v1 import roster_service_pb2 as pb

CHUNK_BYTES = 64 * 1024
DECLARED_TYPES = frozenset({"", "image/jpeg", "image/png", "image/webp"})


def photo_not_found() -> NotFound:
    return NotFound("photo not found", reason=reasons.NOT_FOUND)


def etags_of(header: str) -> list[str]:
    """The entity tags of an If-None-Match value: quotes and weak prefixes removed."""
    tags = []
    for part in header.split(","):
        tag = part.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        tag = tag.strip('"')
        if tag:
            tags.append(tag)
    return tags


class PhotoRpcs(RpcBase):
    """Photos: every change needs write access to the student, every read needs read access."""

    async def _subject(
        self, user: uuid.UUID, subject: pb.PhotoSubject, permission: Permission
    ) -> Subject:
        which = subject.WhichOneof("subject")
        if which == "student_id":
            student_id = fields.parse_uuid(subject.student_id, "student_id")
            await self._student_access(user, student_id, permission)
            return Subject(student_id=student_id)
        if which == "caller_account" and subject.caller_account:
            # Only ever the caller's own account, taken from the token.
            return Subject(account_id=user)
        raise fields.invalid("subject", "name a student or the caller's account")

    def _rejected(self, reason: str) -> None:
        self._deps.metrics.photo_rejections.labels(reason).inc()

    @staticmethod
    def _slot_wait_seconds(context: grpc.aio.ServicerContext) -> float:
        """How long an upload may wait for a slot: a share of the time its caller gave it, so
        that the rest is left to send and decode the image (services/common/photo_limits.py)."""
        remaining = context.time_remaining()
        budget = UPLOAD_DEADLINE_SECONDS if remaining is None else remaining
        return budget * UPLOAD_SLOT_WAIT_SHARE

    async def _received(
        self, request_iterator: AsyncIterator[pb.UploadPhotoRequest], max_bytes: int
    ) -> bytes:
        """The image bytes that follow the metadata, refused once past ``max_bytes``."""
        # Chunks joined once at the end: a growing buffer would be copied again at every
        # reallocation, and bytes hand Pillow the image without a further copy.
        chunks: list[bytes] = []
        size = 0
        async for part in request_iterator:
            if not part.HasField("chunk"):
                raise fields.invalid("metadata", "only the first message carries metadata")
            chunks.append(part.chunk)
            size += len(chunks[-1])
            if size > max_bytes:
                # Refused as soon as the limit is passed: the rest is never read or held.
                self._rejected(photos.TOO_LARGE)
                raise photos.too_large(max_bytes)
        return b"".join(chunks)

    async def UploadPhoto(  # noqa: N802 - gRPC method name
        self,
        request_iterator: AsyncIterator[pb.UploadPhotoRequest],
        context: grpc.aio.ServicerContext,
    ) -> pb.Photo:
        user = self._user(context)
        limits = self._deps.photo_limits
        first = await anext(aiter(request_iterator), None)
        if first is None or not first.HasField("metadata"):
            raise fields.invalid("metadata", "the first message must carry the metadata")
        if first.metadata.content_type.lower() not in DECLARED_TYPES:
            self._rejected(photos.UNSUPPORTED)
            raise photos.PhotoRejected(
                "only image/jpeg, image/png and image/webp are accepted",
                reason=photos.UNSUPPORTED,
            )
        # Authorized before a single byte of the image is read.
        subject = await self._subject(user, first.metadata.subject, Permission.WRITE)
        # A slot before the "go ahead": the image bytes of an upload that waits here stay
        # unread in the gateway (flow control), so only the uploads holding a slot are in memory.
        async with self._deps.photo_slots.held(self._slot_wait_seconds(context)):
            # "Go ahead": the gateway sends image bytes only after this, so a refusal above is
            # never lost to a write racing the end of the call (grpc/grpc#36066).
            await context.send_initial_metadata((("trackcc-upload-ready", "1"),))
            received = await self._received(request_iterator, limits.max_bytes)
            self._deps.metrics.photo_bytes.observe(len(received))
            try:
                processed = await photos.process_in_thread(
                    received,
                    limits,
                    self._deps.photo_executor,
                    self._deps.photo_decode_budget,
                )
            except photos.PhotoRejected as rejected:
                self._rejected(rejected.reason)
                raise
            finally:
                # The upload leaves memory with its slot, not when the stored rows are written.
                del received
        async with self._deps.pool.acquire() as connection:
            if not await photo_store.save(connection, subject, processed):
                raise NotFound("student not found", reason=reasons.NOT_FOUND)
        return pb.Photo(
            width=processed.full.width, height=processed.full.height, etag=processed.full.etag
        )

    async def DownloadPhoto(  # noqa: N802
        self, request: pb.DownloadPhotoRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.DownloadPhotoResponse]:
        user = self._user(context)
        subject = await self._subject(user, request.subject, Permission.READ)
        async with self._deps.pool.acquire() as connection:
            stored = await photo_store.load(
                connection,
                subject,
                thumb=request.size == pb.PHOTO_SIZE_THUMB,
                known_etags=etags_of(request.if_none_match),
            )
        if stored is None:
            raise photo_not_found()
        yield pb.DownloadPhotoResponse(
            metadata=pb.DownloadPhotoMetadata(
                content_type=stored.content_type,
                content_length=stored.length if stored.data is not None else 0,
                etag=stored.etag,
                not_modified=stored.data is None,
            )
        )
        if stored.data is not None:
            view = memoryview(stored.data)
            for start in range(0, len(view), CHUNK_BYTES):
                yield pb.DownloadPhotoResponse(chunk=bytes(view[start : start + CHUNK_BYTES]))

    async def DeletePhoto(  # noqa: N802
        self, request: pb.DeletePhotoRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        user = self._user(context)
        subject = await self._subject(user, request.subject, Permission.WRITE)
        async with self._deps.pool.acquire() as connection:
            if not await photo_store.delete(connection, subject):
                raise photo_not_found()
        return empty_pb2.Empty()
