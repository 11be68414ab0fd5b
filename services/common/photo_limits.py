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
