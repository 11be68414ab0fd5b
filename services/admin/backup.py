"""``trackcc-admin backup``: one pg_dump custom-format archive of the whole database.

One snapshot of all three schemas (they stay consistent with each other), with ownership
and privileges, so ``restore`` rebuilds exactly what the services had. The archive appears
under its final name only when complete and readable, with mode 0600: it holds every
student's data and every account's password hash. Role passwords, JWT signing keys and TLS
keys are not in it; they are secrets, kept and backed up separately.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Callable
from pathlib import Path

from services.admin.local import data_layout, existing_server
from services.admin.pgtools import check_trackcc_archive, run_tool
from services.common.config import Env
from services.common.timestamps import utc_now
from services.localstack.database import DATABASE_NAME
from services.localstack.dsn import with_credentials
from services.localstack.errors import StackError

Clock = Callable[[], datetime.datetime]


def default_path(data_dir: Path, now: datetime.datetime) -> Path:
    """``<data dir>/backups/trackcc-<UTC timestamp>.dump``, named as the CronJob names its."""
    stamp = now.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    return data_dir / "backups" / f"trackcc-{stamp}.dump"


def _partial_path(final: Path) -> Path:
    return final.with_name(f".{final.name}.partial")


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def dump_to(dsn: str, final: Path) -> int:
    """Dumps the database of ``dsn`` to ``final`` atomically; returns the size in bytes.

    Never replaces an existing file: a backup must not destroy an earlier one.
    """
    if final.exists():
        raise StackError(f"{final} already exists; choose another --output")
    if not final.parent.is_dir():
        raise StackError(f"directory {final.parent} does not exist")
    partial = _partial_path(final)
    # 0600 from creation on, so there is no moment when others could read the dump.
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            run_tool("pg_dump", ["--format=custom", "--compress=6"], dsn, stdout=handle)
            handle.flush()
            os.fsync(handle.fileno())
        # A dump that pg_restore cannot read is no backup; find out now, not on restore day.
        check_trackcc_archive(partial)
        # link() fails if the name was taken meanwhile, where rename() would replace it.
        os.link(partial, final)
    except FileExistsError:
        raise StackError(f"{final} already exists; choose another --output") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    _fsync_directory(final.parent)
    return final.stat().st_size


def _human(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def backup_command(env: Env, output: Path | None, clock: Clock = utc_now) -> str:
    """Backs up the local stack's database; returns the line naming the file and its size."""
    if output is None:
        final = default_path(data_layout(env).root, clock())
        final.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    else:
        final = output.resolve()
    with existing_server(env) as server:
        size = dump_to(with_credentials(server.admin_url, database=DATABASE_NAME), final)
    return f"{final} ({_human(size)})\n"
