"""Settings of the roster service, read once from the environment at start."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.common.config import Env
from services.common.photo_limits import (
    MAX_FULL_PX,
    MAX_PHOTO_BYTES,
    MAX_PHOTO_PIXELS,
    MAX_THUMB_PX,
    MIB,
)
from services.common.tls import TlsFiles

# Several uploads being received while the two photo workers (service.py) decode two others,
# so that the workers find the next image already received even when receiving is slowed by a
# busy CPU. With 8, 20 parallel 5 MiB uploads peaked at about 175 MiB of RSS; with 4, at 150.
# Not derived from os.cpu_count(), which in a container counts the node's cores, not the pod's
# CPU limit.
DEFAULT_PHOTO_CONCURRENCY = 8
# Room for two ordinary photos decoding side by side (a 5 MiB JPEG takes a few MB at its draft
# scale, a 12-megapixel RGBA PNG 96 MB with its scaling copy); a 40-megapixel image, up to
# 480 MB, is decoded alone.
DEFAULT_PHOTO_DECODE_MIB = 96


@dataclass(frozen=True)
class PhotoLimits:
    """What an upload may be, and what is stored."""

    max_bytes: int
    max_pixels: int
    full_px: int
    thumb_px: int


@dataclass(frozen=True)
class RosterSettings:
    """What the servicer needs beyond the common settings."""

    sharing_target: str
    # The name checked in sharing's certificate; None checks the target's host.
    sharing_server_name: str | None
    tls: TlsFiles
    jwks_file: Path
    jwt_issuer: str
    jwt_audience: str
    photos: PhotoLimits
    # Uploads held in memory at once (received, decoded, re-encoded); the rest wait unread.
    photo_concurrency: int
    # Bytes of decoded pixels the photo workers may hold at once (decode_budget.py).
    photo_decode_budget_bytes: int
    # Journal entries younger than this belong to requests still running: leave them alone.
    reconcile_after_seconds: float
    reconcile_interval_seconds: float

    @classmethod
    def from_env(cls, env: Env) -> RosterSettings:
        """Reads the TRACKCC_* variables; a bad value raises ConfigError naming it."""
        host, port = env.address("TRACKCC_ROSTER_SHARING_TARGET", "localhost:50053")
        return cls(
            sharing_target=f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
            sharing_server_name=env.optional_str("TRACKCC_ROSTER_SHARING_SERVER_NAME"),
            tls=TlsFiles.from_env(env, "TRACKCC_ROSTER"),
            jwks_file=env.jwks_file(),
            jwt_issuer=env.jwt_issuer(),
            jwt_audience=env.jwt_audience(),
            # The contract fixes the limits (services/common/photo_limits.py, which the
            # gateway reads too): settings may only lower them.
            photos=PhotoLimits(
                max_bytes=env.int(
                    "TRACKCC_ROSTER_PHOTO_MAX_BYTES",
                    MAX_PHOTO_BYTES,
                    minimum=1024,
                    maximum=MAX_PHOTO_BYTES,
                ),
                max_pixels=env.int(
                    "TRACKCC_ROSTER_PHOTO_MAX_PIXELS",
                    MAX_PHOTO_PIXELS,
                    minimum=1024 * 1024,
                    maximum=MAX_PHOTO_PIXELS,
                ),
                full_px=env.int(
                    "TRACKCC_ROSTER_PHOTO_FULL_PX", MAX_FULL_PX, minimum=128, maximum=MAX_FULL_PX
                ),
                thumb_px=env.int(
                    "TRACKCC_ROSTER_PHOTO_THUMB_PX", MAX_THUMB_PX, minimum=16, maximum=MAX_THUMB_PX
                ),
            ),
            photo_concurrency=env.int(
                "TRACKCC_ROSTER_PHOTO_CONCURRENCY",
                DEFAULT_PHOTO_CONCURRENCY,
                minimum=1,
                maximum=64,
            ),
            photo_decode_budget_bytes=env.int(
                "TRACKCC_ROSTER_PHOTO_DECODE_MIB",
                DEFAULT_PHOTO_DECODE_MIB,
                minimum=16,
                maximum=16 * 1024,
            )
            * MIB,
            reconcile_after_seconds=env.float("TRACKCC_ROSTER_RECONCILE_AFTER_SECONDS", 60.0),
            reconcile_interval_seconds=env.float(
                "TRACKCC_ROSTER_RECONCILE_INTERVAL_SECONDS", 30.0, minimum=0.05
            ),
        )
