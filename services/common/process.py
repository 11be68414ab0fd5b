"""The process entry point shared by every service: uvloop, logs, config errors, signals."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any

import uvloop

from services.common.config import ConfigError


async def wait_for_termination() -> None:
    """Returns on the first SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def run_process(name: str, main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Runs ``main`` on uvloop; a configuration or bind error exits with one clear line."""
    try:
        uvloop.run(main())
    except ConfigError as error:
        sys.stderr.write(f"{name}: {error}\n")
        raise SystemExit(2) from None
    except OSError as error:
        sys.stderr.write(f"{name}: {error}\n")
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        pass
