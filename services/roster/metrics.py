"""Domain metrics of roster, on the registry the service kit passes to ``build``."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

MIB = 1024 * 1024


class RosterMetrics:
    """Photo uploads: their sizes, why some were refused (bounded reasons only), and how many
    are held in memory at once (``photo_slots.py``)."""

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
        self.photo_uploads_in_progress = Gauge(
            "trackcc_roster_photo_uploads_in_progress",
            "Uploads holding a slot: being received into memory, decoded or re-encoded.",
            registry=registry,
        )
        self.photo_uploads_in_progress_max = Gauge(
            "trackcc_roster_photo_uploads_in_progress_max",
            "The most uploads that held a slot at once since the process started.",
            registry=registry,
        )
        self.photo_uploads_waiting = Gauge(
            "trackcc_roster_photo_uploads_waiting",
            "Authorized uploads waiting for a slot; their bytes wait unread in the gateway.",
            registry=registry,
        )
