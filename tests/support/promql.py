"""Which series a PromQL expression reads, and the labels it matches on (alerts, dashboards)."""

from __future__ import annotations

import re

# PromQL words that are not series names.
PROMQL_WORDS = {
    "sum", "max", "min", "avg", "count", "rate", "increase", "irate", "histogram_quantile",
    "absent", "time", "and", "or", "unless", "by", "without", "on", "ignoring", "offset",
    "bool", "group_left", "group_right", "label_values",
}  # fmt: skip

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_GROUPING = re.compile(r"\b(?:by|without)\s*\([^)]*\)")
_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}")
_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
_DURATION = re.compile(r"\[[0-9smhdw]+\]")
_IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def series_in(expr: str) -> dict[str, set[str]]:
    """Series names of a PromQL expression with the labels their selectors match on."""
    selectors: dict[str, set[str]] = {}
    for name, matchers in _SELECTOR.findall(expr):
        selectors.setdefault(name, set()).update(_MATCHER.findall(_STRING.sub('""', matchers)))
    # Whatever identifier is left once strings, selectors, durations and groupings are gone
    # must be a PromQL word or a bare series name.
    rest = _DURATION.sub("", _GROUPING.sub("", _SELECTOR.sub(r"\1", _STRING.sub('""', expr))))
    rest = re.sub(r"\b[0-9.]+(e[0-9]+)?\b", "", rest)
    for word in _IDENT.findall(rest):
        if word not in PROMQL_WORDS:
            selectors.setdefault(word, set())
    return selectors
