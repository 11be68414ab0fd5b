"""NAME_FILE gives a variable's value as a file (the chart's mounted Secrets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.config import ConfigError, Env
from services.common.db import DatabaseSettings
from services.common.outbox import SmtpSettings

DSN = "postgresql://trackcc_auth:s3cret-pass@db.example:5432/trackcc?sslmode=verify-full"


def _secret(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_value_is_read_from_the_named_file_without_its_trailing_newline(
    tmp_path: Path,
) -> None:
    env = Env({"TRACKCC_AUTH_DATABASE_URL_FILE": _secret(tmp_path, "url", DSN + "\n")})
    assert env.url("TRACKCC_AUTH_DATABASE_URL", ("postgresql",)) == DSN
    assert env.str("TRACKCC_AUTH_DATABASE_URL") == DSN
    assert env.optional_str("TRACKCC_AUTH_DATABASE_URL") == DSN


@pytest.mark.parametrize(
    ("content", "value"),
    [
        ("pass", "pass"),
        ("pass\r\n", "pass"),
        # Only one newline goes: a value may itself end in white space.
        ("pass\n\n", "pass\n"),
        ("pass \n", "pass "),
    ],
)
def test_exactly_one_trailing_newline_is_dropped(tmp_path: Path, content: str, value: str) -> None:
    env = Env({"TRACKCC_SMTP_PASSWORD_FILE": _secret(tmp_path, "password", content)})
    assert env.optional_str("TRACKCC_SMTP_PASSWORD") == value


def test_every_reader_accepts_a_file(tmp_path: Path) -> None:
    env = Env(
        {
            "PORT_FILE": _secret(tmp_path, "port", "587\n"),
            "FLAG_FILE": _secret(tmp_path, "flag", "yes\n"),
        }
    )
    assert env.port("PORT") == 587
    assert env.bool("FLAG") is True


def test_both_name_and_file_set_is_refused_without_the_value(tmp_path: Path) -> None:
    env = Env(
        {
            "TRACKCC_AUTH_DATABASE_URL": DSN,
            "TRACKCC_AUTH_DATABASE_URL_FILE": _secret(tmp_path, "url", DSN),
        }
    )
    with pytest.raises(ConfigError) as error:
        env.url("TRACKCC_AUTH_DATABASE_URL", ("postgresql",))
    message = str(error.value)
    assert "TRACKCC_AUTH_DATABASE_URL and TRACKCC_AUTH_DATABASE_URL_FILE are both set" in message
    assert "s3cret" not in message


def test_a_missing_file_names_the_variable_and_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "url"
    with pytest.raises(ConfigError) as error:
        Env({"TRACKCC_AUTH_DATABASE_URL_FILE": str(missing)}).str("TRACKCC_AUTH_DATABASE_URL")
    assert error.value.name == "TRACKCC_AUTH_DATABASE_URL_FILE"
    assert str(missing) in str(error.value)
    assert "cannot be read" in str(error.value)


def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    # A directory stands in for a file without read permission (tests may run as root).
    with pytest.raises(ConfigError, match="cannot be read"):
        Env({"TRACKCC_SMTP_PASSWORD_FILE": str(tmp_path)}).optional_str("TRACKCC_SMTP_PASSWORD")


@pytest.mark.parametrize("content", [b"", b"\n", b"\xffsecret\xfe"])
def test_an_empty_or_binary_file_is_refused_without_its_content(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "password"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as error:
        Env({"TRACKCC_SMTP_PASSWORD_FILE": str(path)}).optional_str("TRACKCC_SMTP_PASSWORD")
    assert error.value.name == "TRACKCC_SMTP_PASSWORD_FILE"
    assert "secret" not in str(error.value).replace(str(path), "")


def test_a_bad_value_from_a_file_is_named_without_echoing_it(tmp_path: Path) -> None:
    env = Env({"DSN_FILE": _secret(tmp_path, "dsn", "mysql://user:s3cret@db/x\n")})
    with pytest.raises(ConfigError) as error:
        env.url("DSN", ("postgresql",))
    assert error.value.name == "DSN"
    assert "must be a postgresql URL" in str(error.value)
    assert "s3cret" not in str(error.value)


def test_an_empty_file_variable_means_unset() -> None:
    env = Env({"TRACKCC_SMTP_PASSWORD_FILE": "", "TRACKCC_SMTP_PASSWORD": "x"})
    assert env.optional_str("TRACKCC_SMTP_PASSWORD") == "x"
    assert Env({"A_FILE": ""}).optional_str("A") is None


def test_the_chart_shape_configures_database_and_smtp_from_files(tmp_path: Path) -> None:
    # What the chart's auth pod gets: DSN and SMTP credentials as mounted Secret files.
    env = Env(
        {
            "TRACKCC_AUTH_DATABASE_URL_FILE": _secret(tmp_path, "url", DSN + "\n"),
            "TRACKCC_SMTP_USERNAME_FILE": _secret(tmp_path, "username", "mailer\n"),
            "TRACKCC_SMTP_PASSWORD_FILE": _secret(tmp_path, "password", "p4ss\n"),
            "TRACKCC_SMTP_HOST": "mail.example",
        }
    )
    database = DatabaseSettings.from_env(env, "TRACKCC_AUTH")
    assert database.dsn == DSN
    smtp = SmtpSettings.from_env(env)
    assert (smtp.username, smtp.password, smtp.start_tls) == ("mailer", "p4ss", True)
    # The settings' repr (what a log line of them would show) holds no secret.
    assert "p4ss" not in repr(smtp)


def test_the_environment_never_shows_in_a_repr() -> None:
    env = Env({"TRACKCC_ROSTER_DATABASE_URL": "postgresql://roster:s3cret-pw@db/trackcc"})
    assert "s3cret-pw" not in repr(env)
    assert "s3cret-pw" not in str(env)


def test_database_settings_never_show_their_dsns_in_a_repr() -> None:
    settings = DatabaseSettings(
        "postgresql://r:s3cret-pw@db/x", "postgresql://o:0wner-pw@db/x", 1, 2
    )
    assert "s3cret-pw" not in repr(settings) and "0wner-pw" not in repr(settings)
