"""pg_dump and pg_restore: pgserver's own binaries, run without secrets on the command line.

The binaries come from the pgserver wheel (``pgserver/pginstall/bin``), never from ``PATH``:
they match the embedded server's major version, and a fresh machine has them without a
system PostgreSQL. A password in a DSN is handed over in ``PGPASSWORD``, because arguments
are visible to every user in ``ps``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from services.common.provision import SERVICES
from services.localstack.errors import StackError

# libpq fills what a DSN leaves out from these; inherited ones could silently point a tool at
# another server or database than the DSN says. PGPASSWORD and the PGSSL* settings stay: an
# operator may rightly supply them that way.
_REDIRECTING_ENV = frozenset(
    {"PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE", "PGOPTIONS"}
)


def bin_directory() -> Path:
    """``pginstall/bin`` of the installed pgserver package."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        raise StackError("the pgserver package is not installed; run `make setup`")
    return Path(spec.origin).parent / "pginstall" / "bin"


def tool(name: str) -> Path:
    """The path of one bundled PostgreSQL client program."""
    path = bin_directory() / name
    if not os.access(path, os.X_OK):
        raise StackError(f"{name} is missing from the pgserver package ({path})")
    return path


def split_password(dsn: str) -> tuple[str, str | None]:
    """The DSN without its password (user info or ``password=`` query), and the password."""
    parts = urllib.parse.urlsplit(dsn)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    secret = urllib.parse.unquote(password) if colon else None
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    kept = []
    for key, value in query:
        if key == "password":
            secret = value
        else:
            kept.append((key, value))
    netloc = f"{user}{at}{hosts}"
    clean = urllib.parse.urlunsplit(
        (parts.scheme, netloc, parts.path, urllib.parse.urlencode(kept), parts.fragment)
    )
    return clean, secret


def _environment(password: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _REDIRECTING_ENV}
    env["PGCONNECT_TIMEOUT"] = "15"
    if password is not None:
        env["PGPASSWORD"] = password
    return env


def run_tool(
    name: str, args: Sequence[str], dsn: str | None = None, *, stdout: IO[bytes] | int | None = None
) -> str:
    """Runs a bundled program (``--dbname`` from ``dsn``); returns its standard output.

    A failure raises StackError with the program's last error line, which names the problem
    (connection, permission, archive) and never the password, which it does not know.
    """
    argv = [str(tool(name)), "--no-password", *args]
    password = None
    if dsn is not None:
        clean, password = split_password(dsn)
        argv.append(f"--dbname={clean}")
    result = subprocess.run(
        argv,
        env=_environment(password),
        stdin=subprocess.DEVNULL,
        stdout=stdout if stdout is not None else subprocess.PIPE,
        stderr=subprocess.PIPE,
        check=False,
    )
    if result.returncode != 0:
        raise StackError(f"{name} failed: {_last_error(result.stderr)}")
    return result.stdout.decode(errors="replace") if stdout is None else ""


def _last_error(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines()]
    errors = [line for line in lines if "error:" in line] or [line for line in lines if line]
    message = errors[-1] if errors else "no message"
    return re.sub(r"^(pg_dump|pg_restore): (error: )?", "", message)


@dataclass(frozen=True)
class ArchiveContents:
    """What a custom-format archive holds, from its table of contents."""

    schemas: frozenset[str]
    tables: frozenset[tuple[str, str]]
    has_privileges: bool


# `pg_restore --list` lines: "<id>; <catalog oid> <oid> <TYPE> <schema or -> <name> <owner>".
# Only the types read below are matched; "TABLE DATA" must not pass for a TABLE.
_ENTRY = re.compile(
    r"^\d+; \d+ \d+ (?P<type>SCHEMA|TABLE(?! DATA)|ACL|DEFAULT ACL) (?P<schema>\S+) (?P<name>\S+)"
)


def archive_contents(path: Path) -> ArchiveContents:
    """Lists an archive; StackError if the file is not a pg_dump custom-format archive."""
    try:
        listing = run_tool("pg_restore", ["--list", str(path)])
    except StackError:
        raise StackError(f"{path} is not a pg_dump custom-format archive") from None
    schemas: set[str] = set()
    tables: set[tuple[str, str]] = set()
    privileges = False
    for line in listing.splitlines():
        entry = _ENTRY.match(line)
        if entry is None:
            continue
        kind = entry["type"]
        if kind == "SCHEMA":
            schemas.add(entry["name"])
        elif kind == "TABLE":
            tables.add((entry["schema"], entry["name"]))
        elif kind in ("ACL", "DEFAULT ACL"):
            privileges = True
    return ArchiveContents(frozenset(schemas), frozenset(tables), privileges)


def check_trackcc_archive(path: Path) -> ArchiveContents:
    """The archive's contents if it is a TrackCC dump: every service schema, migrated."""
    contents = archive_contents(path)
    missing = [
        service
        for service in SERVICES
        if service not in contents.schemas or (service, "schema_migrations") not in contents.tables
    ]
    if missing:
        raise StackError(
            f"{path} is not a TrackCC backup: no migrated schema {', '.join(missing)} in it"
        )
    if not contents.has_privileges:
        # The runtime roles' rights (and the rights migrations took away, such as UPDATE on
        # the audit log) live only in the ACL entries; restoring without them would need
        # hand-made grants that silently undo those revocations.
        raise StackError(
            f"{path} was dumped without privileges (--no-privileges); "
            "restore it by hand as deploy/helm/README.md describes"
        )
    return contents
