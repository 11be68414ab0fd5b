"""A bad configuration value stops start-up with a message naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.config import ConfigError, Env


def test_missing_required_variable_is_named() -> None:
    with pytest.raises(ConfigError, match="TRACKCC_X_DATABASE_URL is required"):
        Env({}).str("TRACKCC_X_DATABASE_URL")


@pytest.mark.parametrize(
    ("reader", "raw", "message"),
    [
        ("int", "12a", "must be an integer"),
        ("bool", "maybe", "must be true or false"),
        ("port", "70000", "must be at most 65535"),
        ("address", "nohostport", "must look like host:port"),
        ("address", "host:99999", "must look like host:port"),
        ("float", "-1", "must be at least 0.0"),
    ],
)
def test_malformed_values_are_rejected_with_the_variable_name(
    reader: str, raw: str, message: str
) -> None:
    env = Env({"TRACKCC_VALUE": raw})
    with pytest.raises(ConfigError) as error:
        getattr(env, reader)("TRACKCC_VALUE")
    assert "TRACKCC_VALUE" in str(error.value)
    assert message in str(error.value)
    assert error.value.name == "TRACKCC_VALUE"


def test_defaults_and_parsing() -> None:
    env = Env({"A": "7", "B": "yes", "C": "[::1]:8443", "D": "0.5"})
    assert env.int("A", minimum=1) == 7
    assert env.int("MISSING", 3) == 3
    assert env.bool("B") is True
    assert env.bool("MISSING", False) is False
    assert env.address("C") == ("::1", 8443)
    assert env.float("D") == 0.5
    assert env.optional_str("MISSING") is None


def test_url_error_does_not_echo_the_value() -> None:
    # DSNs carry passwords: the message names the variable, never the value.
    with pytest.raises(ConfigError) as error:
        Env({"DSN": "mysql://user:s3cret@db/x"}).url("DSN", ("postgresql",))
    assert "s3cret" not in str(error.value)


def test_file_must_exist(tmp_path: Path) -> None:
    present = tmp_path / "cert.pem"
    present.write_text("x")
    env = Env({"CERT": str(present), "KEY": str(tmp_path / "missing.pem")})
    assert env.file("CERT") == present
    with pytest.raises(ConfigError, match="KEY names .* not a readable file"):
        env.file("KEY")


def test_choice() -> None:
    assert Env({"L": "INFO"}).choice("L", ("INFO", "DEBUG")) == "INFO"
    with pytest.raises(ConfigError, match="L must be one of INFO, DEBUG"):
        Env({"L": "LOUD"}).choice("L", ("INFO", "DEBUG"))
