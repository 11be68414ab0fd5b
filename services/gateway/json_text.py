"""The one check every JSON request body passes before protobuf or PostgreSQL sees it.

Python's JSON parser accepts text that neither of them can take: a lone surrogate
(``"\\ud800"``) cannot be encoded as UTF-8, so protobuf fails to serialize it; PostgreSQL
refuses a NUL in ``text``; and nesting thousands of levels deep exhausts the recursion of
the parser and of the schema validator (the parser's ``RecursionError`` is answered by
:func:`too_deep`, and anything deeper than :data:`MAX_DEPTH` too). :func:`check_json_text`
walks the parsed value once, without recursion, beside the route's schema, so that every
route is covered at once and no handler has to remember. Field-specific rules (which names
may hold a newline) stay with the service that owns the field; this module only refuses what
no field may hold.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from services.common import reasons
from services.gateway.errors import FieldError, ProblemError

# Deeper than any request schema (the deepest is an object holding a list of ids).
MAX_DEPTH = 32
# Lone surrogates: not Unicode scalar values, not encodable as UTF-8.
_SURROGATE = re.compile("[\ud800-\udfff]")
# NUL and the C0/C1 controls other than tab and line breaks, which free text (notes, an
# invitation message) may hold.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Schema ``format`` of fields whose every character is the user's own (passwords: "any
# Unicode characters", docs/api.md); they are hashed, never stored or shown.
_ANY_CHARACTER_FORMATS = frozenset({"password"})


def too_deep() -> ProblemError:
    """The answer to a body nested deeper than :data:`MAX_DEPTH` (or than the parser goes)."""
    return ProblemError(
        400,
        reasons.MALFORMED_JSON,
        detail=f"The request body nests deeper than {MAX_DEPTH} levels.",
    )


def _text_problem(text: str, any_character: bool) -> str | None:
    if _SURROGATE.search(text):
        return "must be valid Unicode text (no unpaired surrogates)"
    if not any_character and _CONTROL.search(text):
        return "must not contain NUL or control characters"
    return None


def _child_schema(schema: Mapping[str, Any], key: str | None) -> Mapping[str, Any]:
    if key is None:
        items = schema.get("items")
        return items if isinstance(items, Mapping) else {}
    child = schema.get("properties", {}).get(key)
    return child if isinstance(child, Mapping) else {}


def _any_character(schema: Mapping[str, Any]) -> bool:
    return schema.get("format") in _ANY_CHARACTER_FORMATS


def check_json_text(value: Any, schema: Mapping[str, Any]) -> None:
    """Raises ``422 validation_failed`` naming every string (or key) that no field may hold."""
    errors: list[FieldError] = []
    pending: list[tuple[Any, Mapping[str, Any], str, int]] = [(value, schema, "", 0)]
    while pending:
        item, item_schema, path, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise too_deep()
        if isinstance(item, str):
            problem = _text_problem(item, _any_character(item_schema))
            if problem:
                errors.append(FieldError(path or "body", problem))
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{key}" if path else key
                if _text_problem(key, False):
                    # The key itself is not text we can name in a message.
                    errors.append(FieldError(path or "body", "has a field name that is not text"))
                    continue
                pending.append((child, _child_schema(item_schema, key), child_path, depth + 1))
        elif isinstance(item, list):
            for index, child in enumerate(item):
                child_path = f"{path}.{index}" if path else str(index)
                pending.append((child, _child_schema(item_schema, None), child_path, depth + 1))
    if errors:
        unique = sorted(dict.fromkeys(errors), key=lambda error: error.field)
        raise ProblemError(422, reasons.VALIDATION_FAILED, errors=unique)


def clean_header(value: str, limit: int) -> str:
    """A header value as text that gRPC and PostgreSQL accept, at most ``limit`` characters.

    aiohttp decodes header bytes that are not UTF-8 into lone surrogates; those become
    U+FFFD here, and control characters are dropped.
    """
    text = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return _CONTROL.sub("", text)[:limit]
