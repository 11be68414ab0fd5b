"""The fast conversions agree with protobuf's own, digit for digit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from services.common.timestamps import rfc3339, set_timestamp, to_timestamp
from trackcc.roster.v1 import roster_service_pb2 as pb


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
    in_place = pb.Student()
    set_timestamp(in_place.create_time, value)
    assert in_place.create_time == expected


def test_nanosecond_precision_text() -> None:
    value = Timestamp(seconds=1_795_000_000, nanos=7)
    assert rfc3339(value) == value.ToJsonString()


def test_every_kind_of_second_and_fraction_matches_protobuf() -> None:
    # From year 1 to 9999 (the Timestamp range), across day, month and leap-year edges.
    seconds = [-62_135_596_800, -1, 0, 59, 86_399, 86_400, 951_782_400, 253_402_300_799]
    seconds += list(range(-2_000_000_000, 4_000_000_000, 9_876_543))
    for second in seconds:
        for nanos in (0, 1, 999_999_999, 5_000_000, 123_456_000, 123_456_789):
            value = Timestamp(seconds=second, nanos=nanos)
            assert rfc3339(value) == value.ToJsonString(), (second, nanos)
