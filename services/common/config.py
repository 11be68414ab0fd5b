"""Typed, read-once configuration from environment variables.

Every service builds one frozen settings object in ``main()`` with these readers. A missing
or malformed value raises :class:`ConfigError` naming the variable, and the process exits
with that one line instead of a traceback.

Any variable ``NAME`` may instead be given as ``NAME_FILE``, the path of a file holding the
value (one trailing newline is dropped). The Helm chart passes database DSNs and SMTP
credentials this way, as mounted Secret files: an environment variable shows in the pod spec
and in every child process, a file only to whoever reads it.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# The settings every service shares: read here once, by the methods of Env named for them.
JWT_ISSUER = "TRACKCC_JWT_ISSUER"
JWT_AUDIENCE = "TRACKCC_JWT_AUDIENCE"
JWT_JWKS_FILE = "TRACKCC_JWT_JWKS_FILE"
# NAME_FILE names a file holding the value of NAME.
FILE_SUFFIX = "_FILE"


class ConfigError(Exception):
    """A configuration variable is missing or has a bad value."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"configuration error: {name} {problem}")
        self.name = name


@dataclass(frozen=True)
class Env:
    """Reads variables from one mapping (``os.environ`` in production, a dict in tests)."""

    # Never in a repr: the environment holds DSNs with passwords, and a repr ends up in logs
    # and tracebacks.
    values: Mapping[builtins.str, builtins.str] = field(repr=False)

    @classmethod
    def from_os(cls) -> Env:
        """The process environment."""
        return cls(dict(os.environ))

    def _lookup(self, name: builtins.str) -> builtins.str | None:
        """NAME, else the content of the file NAME_FILE names; None when neither is set.

        Errors name the variables and the path, never a value: these are often secrets."""
        value = self.values.get(name) or None
        file_name = name + FILE_SUFFIX
        path = self.values.get(file_name) or None
        if path is None:
            return value
        if value is not None:
            raise ConfigError(name, f"and {file_name} are both set; set only one of them")
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise ConfigError(
                file_name, f"names {path!r}, which cannot be read: {reason}"
            ) from None
        except UnicodeDecodeError:
            raise ConfigError(file_name, f"names {path!r}, which is not UTF-8 text") from None
        # Files written by editors and `echo` end in a newline that is no part of the value.
        if text.endswith("\r\n"):
            text = text[:-2]
        elif text.endswith("\n"):
            text = text[:-1]
        if text == "":
            raise ConfigError(file_name, f"names {path!r}, which is empty")
        return text

    def _raw(self, name: builtins.str, default: builtins.str | None) -> builtins.str:
        value = self._lookup(name)
        if value is None:
            if default is None:
                raise ConfigError(name, "is required but not set")
            return default
        return value

    def str(self, name: builtins.str, default: builtins.str | None = None) -> builtins.str:
        """A non-empty string."""
        return self._raw(name, default)

    def optional_str(self, name: builtins.str) -> builtins.str | None:
        """A string, or None when unset or empty."""
        return self._lookup(name)

    def int(
        self,
        name: builtins.str,
        default: builtins.int | None = None,
        *,
        minimum: builtins.int | None = None,
        maximum: builtins.int | None = None,
    ) -> builtins.int:
        """An integer within optional bounds."""
        raw = self._raw(name, None if default is None else str(default))
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(name, f"must be an integer, got {raw!r}") from None
        if minimum is not None and value < minimum:
            raise ConfigError(name, f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise ConfigError(name, f"must be at most {maximum}, got {value}")
        return value

    def float(
        self,
        name: builtins.str,
        default: builtins.float | None = None,
        *,
        minimum: builtins.float = 0.0,
    ) -> builtins.float:
        """A number not below ``minimum``."""
        raw = self._raw(name, None if default is None else repr(default))
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(name, f"must be a number, got {raw!r}") from None
        if value < minimum:
            raise ConfigError(name, f"must be at least {minimum}, got {value}")
        return value

    def bool(self, name: builtins.str, default: builtins.bool | None = None) -> builtins.bool:
        """true/false, 1/0, yes/no."""
        raw = self._raw(name, None if default is None else ("true" if default else "false"))
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(name, f"must be true or false, got {raw!r}")

    def port(self, name: builtins.str, default: builtins.int | None = None) -> builtins.int:
        """A TCP port; 0 lets the system choose (tests)."""
        return self.int(name, default, minimum=0, maximum=65535)

    def address(
        self, name: builtins.str, default: builtins.str | None = None
    ) -> tuple[builtins.str, builtins.int]:
        """``host:port``; IPv6 hosts in brackets."""
        raw = self._raw(name, default)
        host, sep, port_text = raw.rpartition(":")
        if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
            raise ConfigError(name, f"must look like host:port, got {raw!r}")
        return host.strip("[]"), int(port_text)

    def file(self, name: builtins.str, default: builtins.str | None = None) -> Path:
        """Path to an existing, readable file."""
        path = Path(self._raw(name, default))
        if not path.is_file():
            raise ConfigError(name, f"names {str(path)!r}, which is not a readable file")
        return path

    def choice(
        self,
        name: builtins.str,
        choices: tuple[builtins.str, ...],
        default: builtins.str | None = None,
    ) -> builtins.str:
        """One of a fixed set of words."""
        raw = self._raw(name, default)
        if raw not in choices:
            raise ConfigError(name, f"must be one of {', '.join(choices)}, got {raw!r}")
        return raw

    def public_url(self) -> builtins.str:
        """``TRACKCC_PUBLIC_URL``: the https origin that every link in a mail and every
        ``photo_url`` is built from (never a request's Host). The same rule in every service:
        a plain-http link would send tokens in the clear."""
        return self.url("TRACKCC_PUBLIC_URL", ("https",), "https://localhost:8443").rstrip("/")

    def jwt_issuer(self) -> builtins.str:
        """``TRACKCC_JWT_ISSUER``: the ``iss`` auth signs and every service checks."""
        return self.str(JWT_ISSUER, "trackcc")

    def jwt_audience(self) -> builtins.str:
        """``TRACKCC_JWT_AUDIENCE``: the ``aud`` auth signs and every service checks."""
        return self.str(JWT_AUDIENCE, "trackcc-api")

    def jwks_file(self) -> Path:
        """``TRACKCC_JWT_JWKS_FILE``: the public keys that verify access tokens."""
        return self.file(JWT_JWKS_FILE)

    def url(
        self,
        name: builtins.str,
        schemes: tuple[builtins.str, ...],
        default: builtins.str | None = None,
    ) -> builtins.str:
        """A URL with one of the given schemes."""
        raw = self._raw(name, default)
        scheme, sep, rest = raw.partition("://")
        if not sep or scheme not in schemes or not rest:
            raise ConfigError(name, f"must be a {'/'.join(schemes)} URL")
        return raw
