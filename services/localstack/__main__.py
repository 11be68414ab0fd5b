"""``python -m services.localstack`` (``make run``): read the settings, run the stack."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import warnings

from services.common.config import ConfigError, Env
from services.localstack.errors import StackError
from services.localstack.settings import StackSettings


def _configure_process() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("trackcc: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    # pgserver and aiosmtpd narrate every step at INFO; their warnings still show.
    for chatty in ("pgserver", "mail.log"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    # pgserver's platformdirs warns when XDG_RUNTIME_DIR is unset (containers); it then uses
    # /tmp, which is fine for the lock file it keeps there.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    # The readiness probes use gRPC here, and pgserver forks pg_ctl from a thread; gRPC's fork
    # handlers would only print a notice about that. Set before gRPC is first imported.
    os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")


def main() -> None:
    _configure_process()
    from services.localstack.stack import run_stack  # after the gRPC setting above

    try:
        settings = StackSettings.from_env(Env.from_os())
        code = asyncio.run(run_stack(settings))
    except (ConfigError, StackError) as error:
        sys.stderr.write(f"trackcc: {error}\n")
        raise SystemExit(2 if isinstance(error, ConfigError) else 1) from None
    except OSError as error:  # a port taken between the check and the bind, a full disk
        sys.stderr.write(f"trackcc: {error}\n")
        raise SystemExit(1) from None
    except KeyboardInterrupt:  # Ctrl-C before the signal handlers were installed
        raise SystemExit(130) from None
    raise SystemExit(code)


main()
