"""THE photo pipeline: decide what an upload is by decoding it, refuse bombs, strip metadata.

Nothing of the uploaded file is kept: the pixels are decoded, turned upright by their EXIF
orientation, copied into a fresh image that carries no metadata at all (EXIF, GPS, XMP, ICC,
comments), and re-encoded at most ``full_px`` on the longest side plus a thumbnail. The type
comes from the bytes (Pillow is only allowed the three accepted decoders), never from the file
name or the Content-Type the client sent.

:func:`process` is CPU work: call it off the event loop (:func:`process_in_thread`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
from concurrent.futures import Executor
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from services.common import reasons
from services.common.errors import InvalidArgument, ResourceExhausted
from services.roster.config import PhotoLimits
from services.roster.decode_budget import DecodeBudget

# Pillow format name -> (stored content type, save options). Each format is kept as uploaded
# (a PNG with transparency stays a PNG); only these decoders may even look at the bytes.
FORMATS: dict[str, tuple[str, dict[str, object]]] = {
    "JPEG": ("image/jpeg", {"quality": 85, "optimize": True}),
    "PNG": ("image/png", {"optimize": True}),
    "WEBP": ("image/webp", {"quality": 85, "method": 4}),
}
ALLOWED_DECODERS = tuple(FORMATS)

TOO_LARGE = reasons.PHOTO_TOO_LARGE
UNSUPPORTED = reasons.UNSUPPORTED_MEDIA_TYPE
INVALID = reasons.INVALID_IMAGE


class PhotoRejected(InvalidArgument):
    """An upload that is not a photo we store; ``reason`` says which rule refused it."""


def too_large(limit: int) -> ResourceExhausted:
    """The error for an upload over the byte limit (RESOURCE_EXHAUSTED; HTTP 413)."""
    return ResourceExhausted(f"a photo may be at most {limit} bytes", reason=TOO_LARGE)


@dataclass(frozen=True)
class Rendition:
    """One stored size."""

    data: bytes
    etag: str
    width: int
    height: int


@dataclass(frozen=True)
class ProcessedPhoto:
    """What is stored: the re-encoded full size and thumbnail."""

    content_type: str
    full: Rendition
    thumb: Rendition


def _etag(data: bytes) -> str:
    # A strong validator of exactly these bytes; the gateway adds the quotes of RFC 9110.
    return hashlib.sha256(data).hexdigest()[:40]


def _encode(image: Image.Image, format_name: str) -> Rendition:
    buffer = io.BytesIO()
    image.save(buffer, format=format_name, **FORMATS[format_name][1])
    data = buffer.getvalue()
    return Rendition(data, _etag(data), image.width, image.height)


def _stored_mode(image: Image.Image, format_name: str) -> str:
    """The pixel mode the stored image has: grey or colour, with alpha where there was any."""
    if format_name == "JPEG":
        return "L" if image.mode in ("1", "L") else "RGB"
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    return "RGBA" if has_alpha else "RGB"


def _pixel_bytes(mode: str) -> int:
    # Pillow keeps RGB (like RGBA, LA and CMYK) in four bytes a pixel.
    if mode in ("1", "L", "P"):
        return 1
    return 2 if mode.startswith("I;16") else 4


def decode_cost(image: Image.Image, format_name: str) -> int:
    """The most bytes of pixels :func:`process` holds for an opened image: as decoded (at the
    draft scale), converted to the stored mode, and premultiplied while scaled if it has
    alpha (Pillow scales RGBA as RGBa)."""
    width, height = image.size
    mode = _stored_mode(image, format_name)
    converted = 0 if image.mode == mode else _pixel_bytes(mode)
    premultiplied = _pixel_bytes(mode) if mode == "RGBA" else 0
    return width * height * (_pixel_bytes(image.mode) + converted + premultiplied)


def _full_size(image: Image.Image, format_name: str, longest: int) -> Image.Image:
    """The stored full size: the pixels in the stored mode, at most ``longest`` px, and nothing
    else. ``info`` (ICC, XMP, comments, EXIF) is not copied, so no encoder can write any of it
    back."""
    mode = _stored_mode(image, format_name)
    # Converted and scaled down in place where possible, and copied into a fresh image only
    # once small: each extra copy of a decoded 40-megapixel image would cost up to 160 MB.
    pixels = image if image.mode == mode else image.convert(mode)
    pixels.thumbnail((longest, longest), Image.Resampling.LANCZOS)
    # Turned upright once small (the bound is square, so the size is the same): transposing
    # the decoded size would copy all of its pixels once more. Read from the EXIF and XMP in
    # ``info``, which convert() keeps.
    ImageOps.exif_transpose(pixels, in_place=True)
    return Image.frombytes(mode, pixels.size, pixels.tobytes())


def _opened(data: bytes, limits: PhotoLimits) -> Image.Image:
    """The image with only its header read; refuses other types and too many pixels."""
    try:
        image = Image.open(io.BytesIO(data), formats=ALLOWED_DECODERS)
    except UnidentifiedImageError:
        raise PhotoRejected(
            "the upload is not a JPEG, PNG or WebP image", reason=UNSUPPORTED
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own guard fires while reading the header of a huge image: a bomb.
        raise PhotoRejected("the image has too many pixels", reason=INVALID) from None
    except (OSError, SyntaxError, ValueError):
        raise PhotoRejected("the image is corrupt", reason=INVALID) from None
    width, height = image.size
    # Checked on the header, before a single pixel is decoded: a small file that declares
    # 20000x20000 pixels would otherwise take gigabytes to decode.
    if width < 1 or height < 1 or width * height > limits.max_pixels:
        image.close()
        raise PhotoRejected(
            f"the image may have at most {limits.max_pixels} pixels", reason=INVALID
        )
    return image


def process(data: bytes, limits: PhotoLimits, budget: DecodeBudget | None = None) -> ProcessedPhoto:
    """Decodes, checks and re-encodes an upload; raises :class:`PhotoRejected` or the
    too-large error. With a ``budget``, waits until the decoded pixels fit in it."""
    if len(data) > limits.max_bytes:
        raise too_large(limits.max_bytes)
    with _opened(data, limits) as image:
        format_name = str(image.format)
        if format_name == "JPEG":
            # Lets libjpeg decode at a reduced scale when the target is much smaller.
            image.draft("RGB", (limits.full_px, limits.full_px))
        reservation = (
            budget.reserved(decode_cost(image, format_name))
            if budget is not None
            else contextlib.nullcontext()
        )
        with reservation:
            try:
                image.load()
                clean = _full_size(image, format_name, limits.full_px)
            except (Image.DecompressionBombError, Image.DecompressionBombWarning):
                raise PhotoRejected("the image has too many pixels", reason=INVALID) from None
            except (OSError, SyntaxError, ValueError, EOFError):
                raise PhotoRejected("the image is corrupt", reason=INVALID) from None
            image.close()  # the decoded pixels go before the reservation does
    thumb = clean.copy()
    thumb.thumbnail((limits.thumb_px, limits.thumb_px), Image.Resampling.LANCZOS)
    return ProcessedPhoto(
        content_type=FORMATS[format_name][0],
        full=_encode(clean, format_name),
        thumb=_encode(thumb, format_name),
    )


async def process_in_thread(
    data: bytes,
    limits: PhotoLimits,
    executor: Executor | None = None,
    budget: DecodeBudget | None = None,
) -> ProcessedPhoto:
    """:func:`process` in a worker thread, so the event loop keeps serving other calls (Pillow
    releases the GIL while it decodes and encodes). A small dedicated executor also caps how
    many images are decoded at once, and ``budget`` how many bytes of pixels they hold."""
    return await asyncio.get_running_loop().run_in_executor(executor, process, data, limits, budget)
