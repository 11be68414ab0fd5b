"""Domain metrics of roster, on the registry the service kit passes to ``build``."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

MIB = 1024 * 1024


class RosterMetrics:
    """Photo uploads: their sizes, and why some were refused (bounded reasons only)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.photo_bytes = Histogram(
            "trackcc_roster_photo_bytes",
            "Size of uploaded photos as received, before re-encoding.",
            buckets=(16 * 1024, 64 * 1024, 256 * 1024, MIB, 2 * MIB, 4 * MIB, 5 * MIB),
            registry=registry,
        )
        self.photo_rejections = Counter(
            "trackcc_roster_photo_rejections_total",
            "Uploads refused, by reason.",
            ["reason"],
            registry=registry,
        )
