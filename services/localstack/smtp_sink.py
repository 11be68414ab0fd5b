"""A local SMTP server that accepts every message and stores it as one ``.eml`` file.

It stands in for the operator's mail server on a developer machine: the services deliver
over real SMTP, and a person (or a test) reads the mail from ``var/mail/``. Nothing is ever
relayed anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import secrets
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

logger = logging.getLogger(__name__)

# Large enough for any mail the services send, small enough that a runaway client cannot
# fill the disk with one message.
MAX_MESSAGE_BYTES = 10 * 1024 * 1024


def message_file_name(now: dt.datetime | None = None) -> str:
    """Sortable by arrival time; the random part keeps names unique within a microsecond."""
    moment = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%S.%fZ")
    return f"{moment}-{secrets.token_hex(4)}.eml"


def store_message(directory: Path, content: bytes) -> Path:
    """Writes the message atomically: a reader never sees a half-written file."""
    final = directory / message_file_name()
    # A dot-name is not an .eml, so a reader globbing *.eml skips the file while it is written.
    temporary = directory / f".{final.name}.tmp"
    with temporary.open("wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(final)
    return final


class MailDirectoryHandler:
    """aiosmtpd handler: every accepted message becomes a file in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content: Any = envelope.original_content or envelope.content or b""
        data = content if isinstance(content, bytes) else str(content).encode()
        # The file system call runs off the event loop so a slow disk cannot stall other clients.
        path = await asyncio.to_thread(store_message, self.directory, data)
        # Only the file name and size are logged: a mail body may carry a reset link.
        logger.info("mail stored: %s (%d bytes)", path.name, len(data))
        return "250 Message accepted for delivery"


@dataclass
class RunningSink:
    """A sink and its address; it can stop listening and listen again on the same port."""

    server: asyncio.Server | None
    host: str
    port: int
    directory: Path

    @property
    def running(self) -> bool:
        return self.server is not None

    async def stop(self) -> None:
        """Closes the port (a connection already open finishes its message); idempotent."""
        if self.server is not None:
            server, self.server = self.server, None
            server.close()
            await server.wait_closed()

    async def start(self) -> None:
        """Listens again on the same port, after :meth:`stop`."""
        if self.server is None:
            self.server = await _listen(self.directory, self.host, self.port)


async def _listen(directory: Path, host: str, port: int) -> asyncio.Server:
    handler = MailDirectoryHandler(directory)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        # A fixed hostname: the default looks up the machine's FQDN, which can hang on DNS.
        lambda: SMTP(
            handler,
            hostname="localhost",
            data_size_limit=MAX_MESSAGE_BYTES,
            enable_SMTPUTF8=True,
            loop=loop,
        ),
        host,
        port,
    )


async def start_smtp_sink(directory: Path, host: str = "127.0.0.1", port: int = 0) -> RunningSink:
    """Listens on ``host:port`` (0: a free port) on the running event loop; ``directory`` exists."""
    server = await _listen(directory, host, port)
    bound_port = int(server.sockets[0].getsockname()[1])
    return RunningSink(server, host, bound_port, directory)


async def _serve(directory: Path, host: str, port: int) -> None:
    sink = await start_smtp_sink(directory, host, port)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    logger.info("SMTP sink on %s:%d, mail in %s", host, sink.port, directory)
    await stopped.wait()
    await sink.stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m services.localstack.smtp_sink``: the sink alone, e.g. as a test container."""
    parser = argparse.ArgumentParser(prog="python -m services.localstack.smtp_sink")
    parser.add_argument("--dir", type=Path, required=True, help="where .eml files are written")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    asyncio.run(_serve(args.dir, args.host, args.port))


if __name__ == "__main__":
    main()
