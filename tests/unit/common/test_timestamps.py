"""The fast conversions agree with protobuf's own, digit for digit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from services.common.timestamps import rfc3339, to_timestamp


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 11, 28, 16, 0, tzinfo=UTC),
        datetime(2026, 11, 28, 16, 0, 1, 123000, tzinfo=UTC),
        datetime(2026, 11, 28, 16, 0, 1, 123456, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),
        datetime(1970, 1, 1, tzinfo=UTC),
    ],
)
def test_matches_protobuf(value: datetime) -> None:
    expected = Timestamp()
    expected.FromDatetime(value.astimezone(UTC))
    assert to_timestamp(value) == expected
    assert rfc3339(expected) == expected.ToJsonString()


def test_nanosecond_precision_text() -> None:
    value = Timestamp(seconds=1_795_000_000, nanos=7)
    assert rfc3339(value) == value.ToJsonString()
