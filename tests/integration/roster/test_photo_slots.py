"""Photo uploads in bounded memory: roster holds at most TRACKCC_ROSTER_PHOTO_CONCURRENCY uploads
at once, the others wait unread for a slot and then succeed, or are refused as busy once they
have waited half of their deadline."""

from __future__ import annotations

import asyncio
import io
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import grpc
import pytest
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from services.common.devcerts import DevPki
from tests.support.photo_uploads import CHUNK, upload
from tests.support.postgres import TestDatabase
from tests.support.roster_service import Person, Stack, running_stack
from tests.support.rpc_errors import reason
from tests.support.services import make_jwt_keys
from trackcc.roster.v1 import roster_service_pb2 as pb

WAIT_SECONDS = 30.0


@pytest.fixture
async def one_slot(database: TestDatabase, pki: DevPki, tmp_path: Path) -> AsyncIterator[Stack]:
    settings = {"TRACKCC_ROSTER_PHOTO_CONCURRENCY": "1"}
    async with running_stack(database, pki, make_jwt_keys(tmp_path), settings) as running:
        yield running


def noise_jpeg() -> bytes:
    """A few hundred KiB of noise: several chunks, and real pixels for Pillow to decode."""
    image = Image.frombytes("RGB", (640, 480), os.urandom(640 * 480 * 3))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


async def photo_gauges(stack: Stack) -> dict[str, float]:
    """The upload slot gauges as roster exports them."""
    url = f"http://127.0.0.1:{stack.metrics_port}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        text = await response.text()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("trackcc_roster_photo_uploads_")
    }


async def gauges_when(stack: Stack, wanted: dict[str, float]) -> dict[str, float]:
    """The gauges once they show ``wanted``; fails with what they showed after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        gauges = await photo_gauges(stack)
        if all(gauges.get(name) == value for name, value in wanted.items()):
            return gauges
        if time.monotonic() > deadline:
            raise AssertionError(f"gauges never showed {wanted}: {gauges}")
        await asyncio.sleep(0.05)


async def held_open(
    subject: pb.PhotoSubject, data: bytes, release: asyncio.Event
) -> AsyncIterator[pb.UploadPhotoRequest]:
    """An upload that sends its first chunk and then waits, as a slow phone would."""
    yield pb.UploadPhotoRequest(
        metadata=pb.UploadPhotoMetadata(subject=subject, content_type="image/jpeg")
    )
    yield pb.UploadPhotoRequest(chunk=data[:CHUNK])
    await release.wait()
    for start in range(CHUNK, len(data), CHUNK):
        yield pb.UploadPhotoRequest(chunk=data[start : start + CHUNK])


async def subject_of_new_student(stack: Stack, owner: Person) -> pb.PhotoSubject:
    student = await stack.new_student(owner)
    return pb.PhotoSubject(student_id=student.id)


async def test_with_one_slot_uploads_take_turns_and_all_succeed(one_slot: Stack) -> None:
    stack = one_slot
    owner = stack.person()
    photo = noise_jpeg()
    assert len(photo) > 3 * CHUNK
    subjects = [await subject_of_new_student(stack, owner) for _ in range(4)]
    release = asyncio.Event()
    slow = stack.roster.UploadPhoto(held_open(subjects[0], photo, release), metadata=owner.metadata)
    await gauges_when(stack, {"trackcc_roster_photo_uploads_in_progress": 1})

    others = [asyncio.create_task(upload(stack, owner, s, photo)) for s in subjects[1:]]
    # All three wait for the slow upload's slot, none of their bytes read: without the
    # limit they would be received and decoded beside it, and finish before it.
    queued = await gauges_when(stack, {"trackcc_roster_photo_uploads_waiting": 3})
    assert queued["trackcc_roster_photo_uploads_in_progress"] == 1
    assert not any(task.done() for task in others)

    release.set()
    stored = [await slow, *await asyncio.gather(*others)]
    assert all(photo.width == 640 and photo.height == 480 for photo in stored)
    after = await photo_gauges(stack)
    assert after["trackcc_roster_photo_uploads_in_progress_max"] == 1
    assert after["trackcc_roster_photo_uploads_in_progress"] == 0
    assert after["trackcc_roster_photo_uploads_waiting"] == 0


async def test_an_upload_that_waits_half_its_deadline_is_refused_as_busy(one_slot: Stack) -> None:
    stack = one_slot
    owner = stack.person()
    photo = noise_jpeg()
    release = asyncio.Event()
    slow = stack.roster.UploadPhoto(
        held_open(await subject_of_new_student(stack, owner), photo, release),
        metadata=owner.metadata,
    )
    await gauges_when(stack, {"trackcc_roster_photo_uploads_in_progress": 1})

    subject = await subject_of_new_student(stack, owner)

    async def parts() -> AsyncIterator[pb.UploadPhotoRequest]:
        yield pb.UploadPhotoRequest(
            metadata=pb.UploadPhotoMetadata(subject=subject, content_type="image/jpeg")
        )

    # Refused after about 2 of its 4 seconds: UNAVAILABLE (503 at the gateway), which a
    # client may retry, rather than a deadline that runs out while its bytes are being sent.
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stack.roster.UploadPhoto(parts(), metadata=owner.metadata, timeout=4.0)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert reason(refused.value) == "unavailable"

    release.set()
    assert (await slow).width == 640
    gauges = await gauges_when(stack, {"trackcc_roster_photo_uploads_waiting": 0})
    assert gauges["trackcc_roster_photo_uploads_in_progress"] == 0
