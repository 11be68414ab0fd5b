"""JSON log lines carry the request id and never a raw, unsafe incoming id."""

from __future__ import annotations

import json
import logging

from services.common.logs import JsonFormatter, accept_request_id, request_id_var


def test_valid_request_id_is_kept_and_unsafe_one_replaced() -> None:
    assert accept_request_id("abc-123") == "abc-123"
    replaced = accept_request_id("evil\ninjected")
    assert "\n" not in replaced and replaced != "evil\ninjected"
    assert len(accept_request_id("x" * 500)) <= 128
    assert accept_request_id(None)


def test_formatter_writes_one_json_object_with_request_id_and_extras() -> None:
    token = request_id_var.set("req-1")
    try:
        record = logging.LogRecord("svc.mod", logging.INFO, __file__, 1, "hello %s", ("x",), None)
        record.account_id = "a-1"
        line = JsonFormatter("auth").format(record)
    finally:
        request_id_var.reset(token)
    entry = json.loads(line)
    assert entry["message"] == "hello x"
    assert entry["severity"] == "INFO"
    assert entry["service"] == "auth"
    assert entry["request_id"] == "req-1"
    assert entry["account_id"] == "a-1"
    assert "\n" not in line
