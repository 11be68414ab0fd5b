"""Pure parts of the security features: page tokens, email HMACs, mails, profile updates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from services.auth import lockout, mails
from services.auth.config import AuthSettings
from services.auth.validation import validate_profile_update
from services.common import pagination
from services.common.config import ConfigError, Env
from services.common.errors import InvalidArgument
from services.common.tokens import generate_signing_key
from trackcc.auth.v1 import auth_service_pb2 as pb


def test_page_tokens_round_trip_and_bad_ones_are_refused() -> None:
    assert pagination.decode_token(pagination.encode_token("a", "b"), 2) == ["a", "b"]
    assert pagination.decode_token("", 2) is None
    with pytest.raises(InvalidArgument):
        pagination.decode_token("not-a-token", 2)
    with pytest.raises(InvalidArgument):
        pagination.decode_token(pagination.encode_token("a"), 2)
    assert pagination.page_size(0) == 50 and pagination.page_size(10_000) == 200


def test_unknown_emails_are_named_by_a_keyed_hash() -> None:
    first = lockout.email_hmac(b"k" * 32, "a@example.org")
    assert first == lockout.email_hmac(b"k" * 32, "a@example.org")
    assert first != lockout.email_hmac(b"j" * 32, "a@example.org")
    assert len(first) == 32


def test_mail_links_come_from_the_public_url() -> None:
    mail = mails.lockout_notice("https://school.example", "tok-en_1")
    assert "https://school.example/unlock-request?token=tok-en_1" in mail.body
    assert (
        "https://school.example/reset?token=T"
        in mails.password_reset_link("https://school.example", "T").body
    )
    assert "/verify?token=T" in mails.verification("https://x", "T").body


def test_profile_update_follows_the_mask() -> None:
    today = dt.date(2026, 1, 1)
    changes = validate_profile_update(
        pb.Account(display_name=" Ms. A ", gender=""),
        ["display_name", "gender", "birth_date"],
        today,
    )
    assert changes == {"display_name": "Ms. A", "gender": None, "birth_date": None}
    with pytest.raises(InvalidArgument) as error:
        validate_profile_update(pb.Account(birth_date="2026-02-02"), ["birth_date", "role"], today)
    assert {f for f, _ in error.value.field_violations} == {"birth_date", "update_mask"}
    assert validate_profile_update(pb.Account(display_name="x"), [], today) == {}


def test_session_and_mail_settings(tmp_path: Path) -> None:
    generate_signing_key(tmp_path)
    settings = AuthSettings.from_env(
        Env({"TRACKCC_AUTH_JWT_KEYS_DIR": str(tmp_path), "TRACKCC_PUBLIC_URL": "https://a.b/"})
    )
    assert settings.session_idle == dt.timedelta(days=30)
    assert settings.session_max == dt.timedelta(days=90)
    assert settings.public_url == "https://a.b"
    assert (settings.smtp.host, settings.smtp.port) == ("127.0.0.1", 25)
    assert len(settings.email_hmac_key) == 32
    with pytest.raises(ConfigError) as error:
        AuthSettings.from_env(
            Env({"TRACKCC_AUTH_JWT_KEYS_DIR": str(tmp_path), "TRACKCC_AUTH_EMAIL_HMAC_KEY": "ab"})
        )
    assert error.value.name == "TRACKCC_AUTH_EMAIL_HMAC_KEY"
    with pytest.raises(ConfigError) as error:
        AuthSettings.from_env(
            Env({"TRACKCC_AUTH_JWT_KEYS_DIR": str(tmp_path), "TRACKCC_AUTH_SESSION_IDLE_DAYS": "0"})
        )
    assert error.value.name == "TRACKCC_AUTH_SESSION_IDLE_DAYS"
