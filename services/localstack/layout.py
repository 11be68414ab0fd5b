"""The data directory of the local stack (``var/`` by default) and its one-time set-up.

Everything a restart must find again lives here: the database files, the development
certificates, the token signing keys and the role password. Creating each piece only when it
is missing is what makes a second ``make run`` keep the data and sessions of the first.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from services.common.devcerts import DevPki, ensure_dev_pki
from services.common.tokens import generate_signing_key, jwks_document, load_signing_keys


@dataclass(frozen=True)
class DataLayout:
    """Paths under the data directory."""

    root: Path

    @property
    def pg(self) -> Path:
        return self.root / "pg"

    @property
    def tls(self) -> Path:
        return self.root / "tls"

    @property
    def ca(self) -> Path:
        return self.tls / "ca.pem"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def jwt_keys(self) -> Path:
        return self.keys / "jwt"

    @property
    def jwks(self) -> Path:
        return self.keys / "jwks.json"

    @property
    def role_password(self) -> Path:
        return self.keys / "db-role-password"

    @property
    def mail(self) -> Path:
        return self.root / "mail"

    @property
    def log(self) -> Path:
        return self.root / "log"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def ports_file(self) -> Path:
        return self.run / "ports.json"

    def display(self, path: Path) -> str:
        """The path as the user would type it: relative to the working directory if inside."""
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)


def _write_private(path: Path, text: str) -> None:
    # Created with 0600 from the start, so there is no moment when others could read it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def ensure_jwt_keys(layout: DataLayout) -> None:
    """One Ed25519 signing key on first run; the public JWK set rewritten from the keys."""
    layout.jwt_keys.mkdir(parents=True, exist_ok=True)
    if not load_signing_keys(layout.jwt_keys):
        generate_signing_key(layout.jwt_keys)
    # Rewritten every start so that a key added by hand (rotation drill) is published.
    document = jwks_document(load_signing_keys(layout.jwt_keys))
    temporary = layout.jwks.with_suffix(".tmp")
    temporary.write_text(json.dumps(document, indent=2) + "\n")
    temporary.replace(layout.jwks)


def ensure_role_password(layout: DataLayout) -> str:
    """The password of the service roles, made once (an external DATABASE_URL needs one)."""
    if layout.role_password.exists():
        return layout.role_password.read_text().strip()
    password = secrets.token_urlsafe(24)
    _write_private(layout.role_password, password + "\n")
    return password


def prepare(layout: DataLayout) -> tuple[DevPki, str]:
    """Creates what is missing; returns the certificates and the role password."""
    for directory in (layout.root, layout.mail, layout.log):
        directory.mkdir(parents=True, exist_ok=True)
    layout.keys.mkdir(mode=0o700, exist_ok=True)
    pki = ensure_dev_pki(layout.tls)
    ensure_jwt_keys(layout)
    return pki, ensure_role_password(layout)
