"""``trackcc-admin``: argument parsing and dispatch; each command lives in its own module."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from services.admin.backup import backup_command
from services.admin.migrating import migrate_command
from services.admin.provisioning import provision_command
from services.admin.restore import LOCAL, restore_command
from services.admin.support import (
    SupportCommandError,
    create_support_command,
    locked_command,
    unlock_command,
)
from services.common.config import ConfigError, Env
from services.localstack.database import DATABASE_NAME
from services.localstack.errors import StackError

PROG = "trackcc-admin"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="TrackCC administration.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    provision = commands.add_parser(
        "provision", help="create the database, roles and schemas (needs a superuser DSN)"
    )
    provision.add_argument(
        "--admin-url", required=True, help="postgresql:// URL of a superuser or admin role"
    )
    provision.add_argument(
        "--database", default=DATABASE_NAME, help=f"database to create (default {DATABASE_NAME})"
    )
    provision.add_argument(
        "--role-password-stdin",
        action="store_true",
        help="read one line from standard input: the password of the service roles",
    )

    commands.add_parser(
        "migrate",
        help="apply every service's migrations (TRACKCC_<SVC>_MIGRATE_DATABASE_URL, "
        "else the local stack in TRACKCC_DATA_DIR)",
    )

    backup = commands.add_parser(
        "backup",
        help="pg_dump (custom format) of the local stack's database "
        "(TRACKCC_DATA_DIR, or DATABASE_URL)",
    )
    backup.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        help="where to write the dump (default <data dir>/backups/trackcc-<UTC time>.dump); "
        "never overwritten",
    )

    restore = commands.add_parser(
        "restore", help="restore a backup into a fresh, empty database (never over data)"
    )
    restore.add_argument("file", type=Path, metavar="FILE", help="a trackcc-admin backup dump")
    restore.add_argument(
        "--into-url",
        default=LOCAL,
        metavar="ADMIN_DSN",
        help="postgresql:// URL of a superuser on the target server, or 'local' (default): "
        "the stack in TRACKCC_DATA_DIR, or DATABASE_URL",
    )
    restore.add_argument(
        "--database",
        default=DATABASE_NAME,
        help=f"database to restore into (default {DATABASE_NAME})",
    )
    restore.add_argument(
        "--role-password-stdin",
        action="store_true",
        help="with --into-url: read the password of the service roles from standard input",
    )

    create_support = commands.add_parser(
        "create-support", help="create a support account (password on standard input)"
    )
    create_support.add_argument("--email", required=True)
    commands.add_parser("locked", help="list locked accounts")
    unlock = commands.add_parser("unlock", help="unlock an account")
    unlock.add_argument("--email", required=True)
    unlock.add_argument("--reason", required=True)
    return parser


def _fail(message: str, status: int) -> None:
    sys.stderr.write(f"{PROG}: {message}\n")
    raise SystemExit(status)


def _read_secret_line() -> str:
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        _fail("expected a password on standard input", 2)
    return line


def run(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    env = Env.from_os()
    if args.command == "provision":
        password = _read_secret_line() if args.role_password_stdin else None
        sys.stdout.write(asyncio.run(provision_command(args.admin_url, args.database, password)))
    elif args.command == "migrate":
        sys.stdout.write(migrate_command(env))
    elif args.command == "backup":
        sys.stdout.write(backup_command(env, args.output))
    elif args.command == "restore":
        if args.role_password_stdin and args.into_url == LOCAL:
            _fail("--role-password-stdin needs --into-url (the local stack keeps its own)", 2)
        password = _read_secret_line() if args.role_password_stdin else None
        sys.stdout.write(restore_command(env, args.file, args.into_url, args.database, password))
    elif args.command == "create-support":
        password = _read_secret_line()
        sys.stdout.write(asyncio.run(create_support_command(env, args.email, password)))
    elif args.command == "locked":
        sys.stdout.write(asyncio.run(locked_command(env)))
    elif args.command == "unlock":
        sys.stdout.write(asyncio.run(unlock_command(env, args.email, args.reason)))


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``trackcc-admin`` console script."""
    logging.basicConfig(level=logging.WARNING, format=f"{PROG}: %(message)s")
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    try:
        run(argv)
    except ConfigError as error:
        _fail(str(error), 2)
    except StackError as error:
        _fail(str(error), 1)
    except SupportCommandError as error:
        _fail(str(error), 1)
