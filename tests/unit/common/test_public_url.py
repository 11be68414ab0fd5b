"""TRACKCC_PUBLIC_URL must be https in every service that builds links (issue 11, item 9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.auth.config import AuthSettings
from services.common.config import ConfigError, Env
from services.common.tokens import generate_signing_key
from services.sharing.config import SharingSettings


def _auth(tmp_path: Path, url: str) -> str:
    generate_signing_key(tmp_path)
    env = Env({"TRACKCC_AUTH_JWT_KEYS_DIR": str(tmp_path), "TRACKCC_PUBLIC_URL": url})
    return AuthSettings.from_env(env).public_url


def _sharing(tmp_path: Path, url: str) -> str:
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    env = Env({"TRACKCC_JWT_JWKS_FILE": str(jwks), "TRACKCC_PUBLIC_URL": url})
    return SharingSettings.from_env(env).public_url


@pytest.mark.parametrize("read", [_auth, _sharing], ids=["auth", "sharing"])
def test_plain_http_is_refused_naming_the_variable(tmp_path: Path, read: object) -> None:
    assert callable(read)
    with pytest.raises(ConfigError) as raised:
        read(tmp_path, "http://trackcc.example")
    assert raised.value.name == "TRACKCC_PUBLIC_URL"
    assert read(tmp_path, "https://trackcc.example/") == "https://trackcc.example"
