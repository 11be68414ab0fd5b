"""The soak's verdict and table: a 5xx or a process that keeps growing fails it."""

from __future__ import annotations

import collections

from bench.soak import PROCESSES, TABLE_HEADER, Minute, table_row, verdict


def _minute(statuses: dict[int, int], rss: dict[str, float]) -> Minute:
    return Minute([10.0, 20.0, 30.0], collections.Counter(statuses), rss)


def test_a_quiet_soak_passes_and_growth_within_ten_percent_is_fine() -> None:
    minutes = [
        _minute({200: 100}, {"gateway": 100.0, "auth": 200.0}),
        _minute({200: 100, 404: 2}, {"gateway": 109.0, "auth": 190.0}),
    ]
    assert verdict(minutes) == []


def test_a_5xx_or_growth_after_the_warm_up_fails() -> None:
    minutes = [
        _minute({200: 100}, {"gateway": 100.0, "auth": 200.0}),
        _minute({200: 90, 503: 3}, {"gateway": 100.0, "auth": 250.0}),
    ]
    assert verdict(minutes) == [
        "3 answers were 5xx",
        "auth grew 25 % (200 -> 250 MiB) after the warm-up",
    ]


def test_the_table_row_lines_up_with_the_header() -> None:
    row = table_row(3, _minute({200: 98, 503: 2}, {"gateway": 120.0, "auth": 300.0}))
    assert row.split()[:5] == ["3", "100", "503x2", "20.0", "30.0"]
    assert row.split()[5:] == ["120", "300", "0", "0"]  # one RSS column a process, 0 if gone
    assert TABLE_HEADER.split()[-len(PROCESSES) - 2 :] == ["gateway", "auth", "roster", "sharing",
                                                          "(RSS", "MiB)"]  # fmt: skip
