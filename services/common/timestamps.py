"""The current time, and fast conversions between datetimes, protobuf Timestamps and RFC 3339 text.

protobuf's own ``FromDatetime`` and ``ToJsonString`` are generic and showed up as a tenth of
the CPU of a 30-student list in profiles; these do the one thing we need, with the same output.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc_now() -> datetime:
    """The current time, timezone-aware: the default clock of every service."""
    return datetime.now(UTC)


def to_timestamp(value: datetime) -> Timestamp:
    """The Timestamp of an aware datetime (microsecond precision, as PostgreSQL keeps it)."""
    delta = value - _EPOCH
    return Timestamp(seconds=delta.days * 86_400 + delta.seconds, nanos=delta.microseconds * 1000)


def rfc3339(value: Timestamp) -> str:
    """``2026-11-28T16:00:00Z``, with 3, 6 or 9 fractional digits when there are any.

    The same text as ``Timestamp.ToJsonString``.
    """
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(value.seconds))
    nanos = value.nanos
    if nanos == 0:
        return base + "Z"
    if nanos % 1_000_000 == 0:
        return f"{base}.{nanos // 1_000_000:03d}Z"
    if nanos % 1000 == 0:
        return f"{base}.{nanos // 1000:06d}Z"
    return f"{base}.{nanos:09d}Z"
