"""The photo limits of the contract: what an upload may be at most.

Roster enforces them (``roster/photos.py``, with ``TRACKCC_ROSTER_PHOTO_*`` settings that may
only lower them, ``roster/config.py``); the gateway stops reading a body past
:data:`MAX_PHOTO_BYTES` (``gateway/routes/photos.py``) and writes the ``photo_too_large``
detail from it (``gateway/errors.py``). The whole pipeline is told in ``roster/photos.py``.
"""

from __future__ import annotations

from typing import Final

MIB: Final = 1024 * 1024

# API contract: a photo is at most 5 MiB and 40 megapixels.
MAX_PHOTO_BYTES: Final = 5 * MIB
MAX_PHOTO_PIXELS: Final = 40_000_000
# Side lengths of what is stored: the full image and its thumbnail.
MAX_FULL_PX: Final = 1024
MAX_THUMB_PX: Final = 128

# How long an upload may take end to end, from the gateway's first message to roster's answer
# (the gateway's gRPC deadline). roster lets an upload wait for one of its decoding slots for at
# most UPLOAD_SLOT_WAIT_SHARE of the time the call has left, so that a queued upload always
# keeps the rest (here 120 s, enough for 5 MiB from a phone on a slow network) to send its
# bytes and be decoded, and is refused as busy instead of timing out half way through.
UPLOAD_DEADLINE_SECONDS: Final = 240.0
UPLOAD_SLOT_WAIT_SHARE: Final = 0.5
