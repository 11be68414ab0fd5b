"""roster's JSON page and the gateway's own conversion of the same rows: the same bytes."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from asyncpg.pgproto.pgproto import UUID as RowUUID

from services.gateway.routes.common import page_response, rendered_page_response
from services.gateway.routes.roster_json import student_json
from services.roster import convert, page_json
from services.roster.students import StudentRow
from trackcc.roster.v1 import roster_service_pb2 as pb

PUBLIC_URL = "https://trackcc.example.org"
LEVELS = (pb.ACCESS_OWNER, pb.ACCESS_EDITOR, pb.ACCESS_VIEWER)


def _instant(rng: random.Random) -> datetime:
    base = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(10**8))
    # Whole seconds, whole milliseconds (protobuf's JSON writes 3 digits) and microseconds.
    microsecond = rng.choice((0, rng.randrange(1, 1000) * 1000, rng.randrange(1, 10**6)))
    return base.replace(microsecond=microsecond)


def _uuid() -> uuid.UUID:
    # Rows come from asyncpg, which decodes uuid columns to its own subclass of uuid.UUID.
    return RowUUID(str(uuid.uuid4()))


def _row(rng: random.Random, classes: list[uuid.UUID]) -> StudentRow:
    return StudentRow(
        id=_uuid(),
        owner_id=_uuid(),
        display_name=rng.choice(("Ada L.", 'Zoë "Z" Ø', "李小龍", "tab\there", "</script>")),
        birth_date=rng.choice((None, date(2015, 3, 4), date(2009, 12, 31))),
        gender=rng.choice((None, "", "x", "non-binary")),
        notes=rng.choice((None, "", "line\nbreak \\ backslash", "emoji 🎒")),
        class_ids=sorted(rng.sample(classes, rng.randrange(len(classes) + 1))),
        has_photo=rng.random() < 0.5,
        created_at=_instant(rng),
        updated_at=_instant(rng),
    )


@pytest.mark.parametrize("seed", range(20))
def test_a_rendered_page_is_byte_for_byte_the_gateways_conversion_of_the_messages(
    seed: int,
) -> None:
    rng = random.Random(seed)
    classes = [_uuid() for _ in range(4)]
    rows = [_row(rng, classes) for _ in range(30)]
    access = {row.id: rng.choice(LEVELS) for row in rows}
    readable = set(rng.sample(classes, 2))
    token = rng.choice(("", "next-page-token"))

    messages = convert.student_messages(rows, access, readable)
    converted = page_response((student_json(m, PUBLIC_URL) for m in messages), token)
    rendered = rendered_page_response(
        page_json.student_items(rows, access, readable, PUBLIC_URL), token
    )
    assert rendered.body == converted.body
    assert rendered.content_type == converted.content_type == "application/json"


def test_an_empty_page_is_an_empty_list() -> None:
    rendered = rendered_page_response(page_json.student_items([], {}, set(), PUBLIC_URL), "")
    assert rendered.body == b'{"items":[],"next_page_token":""}'
