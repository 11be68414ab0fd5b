"""The one JSON encoder of every answer the gateway writes: resources and problem+json.

orjson writes the same values as ``json.dumps(..., ensure_ascii=False)`` (the same escapes,
UTF-8 text, key order as built) without its separators' spaces, about ten times faster; a
30-student page spent more CPU in ``json.dumps`` than in the rest of its conversion. Request
bodies are still parsed by :mod:`json` (services/gateway/validation.py): its errors and its
handling of huge numbers and lone surrogates are part of the 4xx contract.
"""

from __future__ import annotations

from typing import Any

import orjson


def json_bytes(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON; raises ``TypeError`` for what JSON cannot hold."""
    return orjson.dumps(value)
