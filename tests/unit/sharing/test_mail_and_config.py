"""The invitation mail carries the link and no personal data; settings fail by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.config import ConfigError, Env
from services.common.outbox import RetryPolicy
from services.common.pagination import decode_token, encode_token, page_size
from services.sharing.config import SharingSettings
from services.sharing.mail import invitation_mail


def test_the_mail_names_inviter_and_kind_and_carries_the_link() -> None:
    subject, body = invitation_mail(
        public_url="https://trackcc.example",
        inviter_name="Ms Rivera",
        resource_type="student",
        relation="editor",
        message="",
        token="tok-123",
    )
    assert subject == "Ms Rivera invited you to a student record on TrackCC"
    assert "view and edit a student record" in body
    assert "https://trackcc.example/invitations/accept?token=tok-123" in body
    assert "note" not in body


def test_settings_defaults_and_errors(tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text("{}")
    settings = SharingSettings.from_env(Env({"TRACKCC_JWT_JWKS_FILE": str(jwks)}))
    assert settings.public_url == "https://localhost:8443"
    assert (settings.smtp.host, settings.smtp.port) == ("127.0.0.1", 25)
    assert settings.smtp.mail_from == "TrackCC <no-reply@localhost>"
    assert (settings.jwt_issuer, settings.jwt_audience) == ("trackcc", "trackcc-api")
    with pytest.raises(ConfigError) as missing:
        SharingSettings.from_env(Env({}))
    assert missing.value.name == "TRACKCC_JWT_JWKS_FILE"
    for name, value in (
        ("TRACKCC_SMTP_PORT", "seventy"),
        ("TRACKCC_PUBLIC_URL", "localhost:8443"),
        ("TRACKCC_MAIL_FROM", "nobody"),
    ):
        with pytest.raises(ConfigError) as bad:
            SharingSettings.from_env(Env({"TRACKCC_JWT_JWKS_FILE": str(jwks), name: value}))
        assert bad.value.name == name


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy()
    delays = [policy.delay(n).total_seconds() for n in (1, 2, 3, 20, 1000)]
    assert delays == [10, 20, 40, 3600, 3600]


def test_page_tokens_round_trip_and_sizes_clamp() -> None:
    assert decode_token(encode_token("a", "b"), 2) == ["a", "b"]
    assert decode_token("", 2) is None
    assert page_size(0) == 50 and page_size(500) == 200
