"""Photos of students and of the caller's own account: upload, download, delete.

Uploads are streamed: each chunk of the request body goes to roster's ``UploadPhoto`` client
stream as it arrives, so the gateway holds at most one chunk of an upload, and it stops reading
once the body passes the contract's limit (``services/common/photo_limits.py``, the one roster's
settings may only lower). These routes have no JSON body, so they skip the JSON checks and
their 64 KiB limit. roster decides what the bytes are by decoding them; the gateway only refuses
a declared type that could never be accepted.

Downloads are streamed the other way, with a quoted ``ETag`` and ``Cache-Control: private`` (the
one response type a client may keep), and ``304`` when ``If-None-Match`` matches.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import grpc
from aiohttp import web

from services.common import reasons
from services.common.photo_limits import (
    MAX_PHOTO_BYTES,
    MAX_PHOTO_PIXELS,
    MIB,
    UPLOAD_DEADLINE_SECONDS,
)
from services.gateway.errors import FieldError, ProblemError
from services.gateway.json_text import clean_header
from services.gateway.routes.common import path_uuid
from services.gateway.routes.roster_json import (
    PHOTO_SCHEMA,
    account_photo_url,
    photo_json,
    quoted_etag,
    student_photo_url,
)
from services.gateway.routes.spec import Call, Handler, RouteSpec, empty_response, json_response
from trackcc.auth.v1 import auth_service_pb2
from trackcc.roster.v1 import roster_service_pb2 as pb

logger = logging.getLogger(__name__)

PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
CHUNK_BYTES = 64 * 1024
# Longer than the unary deadline: an upload may wait for one of roster's upload slots, and a
# 5 MiB upload from a phone on a slow network takes a while (services/common/photo_limits.py);
# these streaming calls do not pass through the channel's unary deadline interceptor.
UPLOAD_TIMEOUT_SECONDS = UPLOAD_DEADLINE_SECONDS
DOWNLOAD_TIMEOUT_SECONDS = 60.0
SIZES = {"full": pb.PHOTO_SIZE_FULL, "thumb": pb.PHOTO_SIZE_THUMB}
# The initial metadata key with which roster accepts an upload's first message.
UPLOAD_READY = "trackcc-upload-ready"
PHOTO_CACHE_HEADERS = {"Cache-Control": "private", "Vary": "Authorization"}

# Whose photo a route is about, and the URL that serves it.
SubjectOf = Callable[[Call], tuple[pb.PhotoSubject, str]]


def student_subject(call: Call) -> tuple[pb.PhotoSubject, str]:
    student_id = path_uuid(call.request.match_info["id"])
    return (
        pb.PhotoSubject(student_id=student_id),
        student_photo_url(call.settings.public_url, student_id),
    )


def account_subject(call: Call) -> tuple[pb.PhotoSubject, str]:
    # roster takes the account from the forwarded token; no id travels in the request.
    return pb.PhotoSubject(caller_account=True), account_photo_url(call.settings.public_url)


def declared_type(request: web.Request) -> str:
    """The body's declared image type, or ``415`` before a byte of it is read."""
    content_type = request.content_type.lower()
    if content_type not in PHOTO_TYPES:
        raise ProblemError(
            415,
            reasons.UNSUPPORTED_MEDIA_TYPE,
            "A photo must be sent as image/jpeg, image/png or image/webp.",
        )
    return content_type


def _too_large() -> ProblemError:
    return ProblemError(413, reasons.PHOTO_TOO_LARGE)


async def upload(call: Call, subject: pb.PhotoSubject, photo_url: str) -> web.StreamResponse:
    request = call.request
    content_type = declared_type(request)
    if request.content_length is not None and request.content_length > MAX_PHOTO_BYTES:
        raise _too_large()
    stream = call.clients.roster.UploadPhoto(
        metadata=call.metadata(), timeout=UPLOAD_TIMEOUT_SECONDS
    )
    try:
        first = pb.UploadPhotoMetadata(subject=subject, content_type=content_type)
        await stream.write(pb.UploadPhotoRequest(metadata=first))
        # roster marks its initial metadata once it accepts who and what and has a slot for
        # the image; a refusal ends the call instead (with empty initial metadata). Waiting for
        # that before the first image byte keeps roster's answer: grpc.aio reports a write
        # that races the end of a call as INTERNAL and loses the real status
        # (grpc/grpc#36066). Meanwhile the body stays unread: aiohttp stops reading the socket
        # once its small buffer is full, so a queued upload waits in TCP, not in memory.
        if UPLOAD_READY not in dict(await stream.initial_metadata()):
            await stream  # raises roster's refusal
            raise ProblemError(500, reasons.INTERNAL)  # an upload without bytes cannot succeed
        received = 0
        async for chunk in request.content.iter_chunked(CHUNK_BYTES):
            received += len(chunk)
            if received > MAX_PHOTO_BYTES:
                raise _too_large()
            # Waits for HTTP/2 flow control: a slow roster slows the reading of the body.
            await stream.write(pb.UploadPhotoRequest(chunk=chunk))
        await stream.done_writing()
        photo = await stream
    except BaseException:
        # A refusal by roster surfaces here as its AioRpcError (mapped by the route wrapper);
        # anything else, the client going away included, ends the stream at once.
        stream.cancel()
        raise
    return json_response(photo_json(photo, photo_url))


def photo_size(request: web.Request) -> pb.PhotoSize.ValueType:
    size = SIZES.get(request.query.get("size", "full"))
    if size is None:
        raise ProblemError(
            422,
            reasons.VALIDATION_FAILED,
            errors=[FieldError("size", "must be one of: full, thumb")],
        )
    return size


async def download(call: Call, subject: pb.PhotoSubject) -> web.StreamResponse:
    request = call.request
    stream = call.clients.roster.DownloadPhoto(
        pb.DownloadPhotoRequest(
            subject=subject,
            size=photo_size(request),
            # Passed as the client wrote it (as text protobuf can carry); roster parses the
            # list and weak tags.
            if_none_match=clean_header(request.headers.get("If-None-Match", ""), 4096),
        ),
        metadata=call.metadata(),
        timeout=DOWNLOAD_TIMEOUT_SECONDS,
    )
    try:
        first = await stream.read()
    except BaseException:
        stream.cancel()
        raise
    if first is grpc.aio.EOF or not first.HasField("metadata"):
        stream.cancel()
        logger.error("photo download began without metadata")
        raise ProblemError(500, reasons.INTERNAL)
    meta = first.metadata
    headers = {"ETag": quoted_etag(meta.etag), **PHOTO_CACHE_HEADERS}
    if meta.not_modified:
        stream.cancel()
        return web.Response(status=304, headers=headers)
    response = web.StreamResponse(status=200, headers=headers)
    # Only the three stored types ever leave as an image; anything else is opaque bytes.
    response.content_type = (
        meta.content_type if meta.content_type in PHOTO_TYPES else "application/octet-stream"
    )
    response.content_length = meta.content_length
    await response.prepare(request)
    if request.method == "HEAD":
        # The headers are the whole answer; aiohttp would send written bytes even for HEAD.
        stream.cancel()
        await response.write_eof()
        return response
    try:
        while (message := await stream.read()) is not grpc.aio.EOF:
            await response.write(message.chunk)
    except (grpc.aio.AioRpcError, ConnectionError):
        stream.cancel()
        logger.warning("photo download ended early")
        # The status line is gone already: a short body on a closed connection is the only
        # signal left, and Content-Length lets the client notice it.
        if request.transport is not None:
            request.transport.close()
        return response
    await response.write_eof()
    return response


async def delete(call: Call, subject: pb.PhotoSubject) -> web.StreamResponse:
    await call.clients.roster.DeletePhoto(
        pb.DeletePhotoRequest(subject=subject), metadata=call.metadata()
    )
    return empty_response()


def _with_subject(
    subject_of: SubjectOf,
    action: Callable[[Call, pb.PhotoSubject, str], Awaitable[web.StreamResponse]],
) -> Handler:
    async def handle(call: Call) -> web.StreamResponse:
        subject, photo_url = subject_of(call)
        return await action(call, subject, photo_url)

    return handle


async def _download(call: Call, subject: pb.PhotoSubject, photo_url: str) -> web.StreamResponse:
    return await download(call, subject)


async def _delete(call: Call, subject: pb.PhotoSubject, photo_url: str) -> web.StreamResponse:
    return await delete(call, subject)


async def _record_account_photo(call: Call, has_photo: bool) -> None:
    # roster keeps the image; auth keeps the flag that every Account answer shows as
    # photo_url (sign-in, GET /v1/me), so that reading the account needs no roster call.
    await call.clients.auth.SetAccountPhoto(
        auth_service_pb2.SetAccountPhotoRequest(has_photo=has_photo), metadata=call.metadata()
    )


async def _upload_mine(call: Call, subject: pb.PhotoSubject, photo_url: str) -> web.StreamResponse:
    response = await upload(call, subject, photo_url)
    await _record_account_photo(call, True)
    return response


async def _delete_mine(call: Call, subject: pb.PhotoSubject, photo_url: str) -> web.StreamResponse:
    try:
        response = await delete(call, subject)
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.NOT_FOUND:
            await _record_account_photo(call, False)  # none there: the flag must agree
        raise
    await _record_account_photo(call, False)
    return response


SIZE_PARAMETER = {
    "name": "size",
    "in": "query",
    "required": False,
    "description": "`full` (at most 1024 px on the longest side) or `thumb` (at most 128 px).",
    "schema": {"type": "string", "enum": list(SIZES), "default": "full"},
}
IF_NONE_MATCH_PARAMETER = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "An ETag from an earlier download; a match answers 304 without the bytes.",
    "schema": {"type": "string"},
}
IMAGE_SCHEMA = {"type": "string", "description": "JPEG, PNG or WebP bytes, without metadata."}


Action = Callable[[Call, pb.PhotoSubject, str], Awaitable[web.StreamResponse]]


def _routes(
    path: str,
    noun: str,
    subject_of: SubjectOf,
    whose: str,
    upload_action: Action = upload,
    delete_action: Action = _delete,
) -> tuple[RouteSpec, ...]:
    return (
        RouteSpec(
            method="PUT",
            path=path,
            handler=_with_subject(subject_of, upload_action),
            operation_id=f"put{noun}Photo",
            summary=f"Upload {whose} photo (at most {MAX_PHOTO_BYTES // MIB} MiB and "
            f"{MAX_PHOTO_PIXELS // 1_000_000} megapixels); stored re-encoded "
            "without EXIF, GPS or any other metadata",
            tag="photos",
            response_schema=PHOTO_SCHEMA,
            auth=True,
            errors=(401, 403, 404, 413, 415, 422, 503),
            raw_body_types=PHOTO_TYPES,
        ),
        RouteSpec(
            method="GET",
            path=path,
            handler=_with_subject(subject_of, _download),
            operation_id=f"get{noun}Photo",
            summary=f"Download {whose} photo, with ETag and Cache-Control: private",
            tag="photos",
            response_schema=IMAGE_SCHEMA,
            response_content_type="image/*",
            auth=True,
            errors=(401, 404, 422),
            parameters=(SIZE_PARAMETER, IF_NONE_MATCH_PARAMETER),
            other_responses={304: "Not Modified: the ETag in If-None-Match is current"},
        ),
        RouteSpec(
            method="DELETE",
            path=path,
            handler=_with_subject(subject_of, delete_action),
            operation_id=f"delete{noun}Photo",
            summary=f"Delete {whose} photo",
            tag="photos",
            response_status=204,
            auth=True,
            errors=(401, 403, 404),
        ),
    )


ROUTES = (
    *_routes("/v1/students/{id}/photo", "Student", student_subject, "a student's"),
    *_routes("/v1/me/photo", "My", account_subject, "my account's", _upload_mine, _delete_mine),
)
