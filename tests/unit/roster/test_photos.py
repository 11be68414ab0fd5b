"""The photo pipeline on real images made here: type by decoding, bombs, metadata, sizes."""

from __future__ import annotations

import io
import struct
import time
import zlib

import pytest
from PIL import Image

from services.roster.config import PhotoLimits
from services.roster.photos import PhotoRejected, ProcessedPhoto, process, process_in_thread

LIMITS = PhotoLimits(max_bytes=5 * 1024 * 1024, max_pixels=40_000_000, full_px=1024, thumb_px=128)


def _encode(image: Image.Image, format_name: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format_name, **options)
    return buffer.getvalue()


def _gps_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    return exif


def _assert_no_metadata(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert not image.getexif()
    for key in ("exif", "icc_profile", "xmp", "XML:com.adobe.xmp", "comment", "photoshop"):
        assert key not in image.info, key
    assert b"PhoneMaker" not in data and b"GPS" not in data
    return image


def _crafted_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height: its pixel data is never there."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def test_a_jpeg_with_gps_exif_comes_back_with_none() -> None:
    source = _encode(
        Image.new("RGB", (800, 600), (200, 30, 30)),
        "JPEG",
        exif=_gps_exif(),
        icc_profile=b"\x00" * 128,
        comment=b"taken at home",
    )
    assert b"PhoneMaker" in source
    photo = process(source, LIMITS)
    assert photo.content_type == "image/jpeg"
    _assert_no_metadata(photo.full.data)
    _assert_no_metadata(photo.thumb.data)
    assert b"taken at home" not in photo.full.data


def test_the_exif_orientation_is_applied_before_it_is_dropped() -> None:
    # A landscape sensor image that the camera marks "rotate 90 clockwise to view".
    image = Image.new("RGB", (400, 200), (0, 0, 0))
    image.paste((255, 255, 255), (0, 0, 200, 200))  # left half white
    photo = process(_encode(image, "JPEG", exif=_gps_exif(orientation=6)), LIMITS)
    upright = Image.open(io.BytesIO(photo.full.data)).convert("L")
    assert upright.size == (200, 400)
    # After turning clockwise, the white left half is on top.
    assert upright.getpixel((100, 50)) > 200 and upright.getpixel((100, 350)) < 50  # type: ignore[operator]


def test_a_20000_by_20000_png_bomb_is_refused_without_decoding() -> None:
    bomb = _encode(Image.new("1", (20000, 20000)), "PNG")
    assert len(bomb) < LIMITS.max_bytes  # small on disk, 400 megapixels decoded
    started = time.monotonic()
    with pytest.raises(PhotoRejected) as refused:
        process(bomb, LIMITS)
    assert refused.value.reason == "invalid_image"
    assert time.monotonic() - started < 0.5  # decoding it would take seconds and gigabytes


@pytest.mark.parametrize("size", [(7000, 6000), (100_000, 1)])
def test_over_40_megapixels_is_refused_on_the_header(size: tuple[int, int]) -> None:
    with pytest.raises(PhotoRejected) as refused:
        process(_crafted_png(*size), LIMITS)
    assert refused.value.reason == "invalid_image"


def test_a_renamed_text_file_is_refused() -> None:
    with pytest.raises(PhotoRejected) as refused:
        process(b"name,birth\nAna,2016-04-02\n" * 20, LIMITS)
    assert refused.value.reason == "unsupported_media_type"


@pytest.mark.parametrize("format_name", ["GIF", "BMP", "TIFF"])
def test_other_image_types_are_refused(format_name: str) -> None:
    with pytest.raises(PhotoRejected) as refused:
        process(_encode(Image.new("RGB", (50, 50)), format_name), LIMITS)
    assert refused.value.reason == "unsupported_media_type"


def test_a_truncated_jpeg_is_invalid() -> None:
    data = _encode(Image.effect_noise((300, 300), 50).convert("RGB"), "JPEG")
    with pytest.raises(PhotoRejected) as refused:
        process(data[: len(data) // 3], LIMITS)
    assert refused.value.reason == "invalid_image"


def test_webp_with_transparency_is_kept_as_webp() -> None:
    photo = process(_encode(Image.new("RGBA", (300, 200), (0, 0, 255, 100)), "WEBP"), LIMITS)
    assert photo.content_type == "image/webp"
    image = _assert_no_metadata(photo.full.data)
    assert image.format == "WEBP" and image.mode == "RGBA"


def test_png_keeps_its_type_and_drops_its_text_chunks() -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "home address")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>GPS</x:xmpmeta>")
    photo = process(_encode(Image.new("RGB", (64, 64)), "PNG", pnginfo=info), LIMITS)
    assert photo.content_type == "image/png"
    _assert_no_metadata(photo.full.data)
    assert b"home address" not in photo.full.data


@pytest.mark.parametrize(
    ("size", "full", "thumb"),
    [((3000, 1500), (1024, 512), (128, 64)), ((90, 60), (90, 60), (90, 60))],
)
def test_sizes_are_at_most_1024_and_128(
    size: tuple[int, int], full: tuple[int, int], thumb: tuple[int, int]
) -> None:
    photo = process(_encode(Image.new("RGB", size, (9, 9, 9)), "JPEG"), LIMITS)
    assert (photo.full.width, photo.full.height) == full
    assert Image.open(io.BytesIO(photo.full.data)).size == full
    assert Image.open(io.BytesIO(photo.thumb.data)).size == thumb


def test_the_etag_is_the_content_hash() -> None:
    source = _encode(Image.new("RGB", (64, 64), (1, 2, 3)), "PNG")
    first, second = process(source, LIMITS), process(source, LIMITS)
    other = process(_encode(Image.new("RGB", (64, 64), (3, 2, 1)), "PNG"), LIMITS)
    assert first.full.etag == second.full.etag != other.full.etag
    assert first.full.etag != first.thumb.etag or first.full.data == first.thumb.data


def test_over_5_mib_is_refused_before_decoding() -> None:
    with pytest.raises(Exception) as refused:
        process(b"\xff\xd8" + b"\x00" * (5 * 1024 * 1024), LIMITS)
    assert getattr(refused.value, "reason", None) == "photo_too_large"


async def test_processing_runs_off_the_event_loop() -> None:
    photo = await process_in_thread(_encode(Image.new("RGB", (64, 64)), "JPEG"), LIMITS)
    assert isinstance(photo, ProcessedPhoto)
