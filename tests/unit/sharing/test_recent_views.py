"""The in-process memo of logged views skips only views the window already covers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from services.sharing.access_log import VIEW_COALESCE_WINDOW, RecentViews

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
KEY = (uuid.uuid4(), "student", uuid.uuid4())


def test_a_view_inside_the_window_is_covered_and_one_after_it_is_not() -> None:
    views = RecentViews()
    assert not views.covers(KEY, T0)
    views.remember(KEY, T0)
    assert views.covers(KEY, T0 + VIEW_COALESCE_WINDOW - timedelta(seconds=1))
    assert not views.covers(KEY, T0 + VIEW_COALESCE_WINDOW)
    # A clock that reads earlier than the mark (another replica logged it) proves nothing.
    assert not views.covers(KEY, T0 - timedelta(seconds=1))
    assert not views.covers((KEY[0], "class", KEY[2]), T0)


def test_the_memo_is_bounded() -> None:
    views = RecentViews(limit=2)
    first, second, third = ((uuid.uuid4(), "class", uuid.uuid4()) for _ in range(3))
    views.remember(first, T0)
    views.remember(second, T0)
    views.remember(third, T0)
    assert views.covers(third, T0)
    assert not views.covers(first, T0)
