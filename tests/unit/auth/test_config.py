"""Auth settings: defaults, and a clear error naming each bad variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.auth.config import AuthSettings
from services.common.config import ConfigError, Env
from services.common.tokens import generate_signing_key

TTL = "TRACKCC_AUTH_ACCESS_TOKEN_TTL_SECONDS"


def _env(keys_dir: Path, **values: str) -> Env:
    return Env({"TRACKCC_AUTH_JWT_KEYS_DIR": str(keys_dir), **values})


def test_defaults_and_the_newest_key(tmp_path: Path) -> None:
    older = generate_signing_key(tmp_path / "elsewhere")
    (tmp_path / "00000000-old.pem").write_bytes(
        (tmp_path / "elsewhere" / f"{older.kid}.pem").read_bytes()
    )
    newest = generate_signing_key(tmp_path)
    settings = AuthSettings.from_env(_env(tmp_path))
    assert settings.active_kid == newest.kid
    assert [key.kid for key in settings.signing_keys] == ["00000000-old", newest.kid]
    assert settings.issuer == "trackcc"
    assert settings.audience == "trackcc-api"
    assert settings.access_token_ttl_seconds == 900
    assert settings.hash_concurrency == 2


def test_the_active_key_can_be_pinned(tmp_path: Path) -> None:
    first = generate_signing_key(tmp_path)
    (tmp_path / "zzz.pem").write_bytes((tmp_path / f"{first.kid}.pem").read_bytes())
    settings = AuthSettings.from_env(_env(tmp_path, TRACKCC_AUTH_JWT_ACTIVE_KID=first.kid))
    assert settings.active_kid == first.kid


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"TRACKCC_AUTH_ACCESS_TOKEN_TTL_SECONDS": "901"}, "TRACKCC_AUTH_ACCESS_TOKEN_TTL_SECONDS"),
        (
            {"TRACKCC_AUTH_ACCESS_TOKEN_TTL_SECONDS": "soon"},
            "TRACKCC_AUTH_ACCESS_TOKEN_TTL_SECONDS",
        ),
        ({"TRACKCC_AUTH_HASH_CONCURRENCY": "0"}, "TRACKCC_AUTH_HASH_CONCURRENCY"),
        ({"TRACKCC_AUTH_JWT_ACTIVE_KID": "missing"}, "TRACKCC_AUTH_JWT_ACTIVE_KID"),
    ],
)
def test_bad_values_name_their_variable(
    tmp_path: Path, values: dict[str, str], variable: str
) -> None:
    generate_signing_key(tmp_path)
    with pytest.raises(ConfigError) as error:
        AuthSettings.from_env(_env(tmp_path, **values))
    assert error.value.name == variable


def test_keys_dir_is_required_and_must_hold_keys(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as unset:
        AuthSettings.from_env(Env({}))
    assert unset.value.name == "TRACKCC_AUTH_JWT_KEYS_DIR"
    with pytest.raises(ConfigError) as empty:
        AuthSettings.from_env(_env(tmp_path))
    assert empty.value.name == "TRACKCC_AUTH_JWT_KEYS_DIR"
    (tmp_path / "bad.pem").write_text("not a key")
    with pytest.raises(ConfigError) as bad:
        AuthSettings.from_env(_env(tmp_path))
    assert bad.value.name == "TRACKCC_AUTH_JWT_KEYS_DIR"
    assert "not a key" not in str(bad.value)
