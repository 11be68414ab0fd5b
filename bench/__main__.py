"""``python -m bench [signin|check|roster|all] [--quick]``: start the stack, measure, report.

Each bench gets a fresh stack in a temporary data directory, so one bench's data (a million
seeded rows) never changes another's figures.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable

# pgserver forks pg_ctl from a thread; gRPC's fork handlers would only print a notice about
# it. Must be set before gRPC is first imported (as services/localstack/__main__.py does).
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

# The check bench calls sharing from this process, as roster does: on the same socket layer.
from services.common.grpc_transport import choose_grpc_endpoints  # noqa: E402

choose_grpc_endpoints(os.environ)

import warnings  # noqa: E402

import uvloop  # noqa: E402

from bench import check, roster, signin  # noqa: E402
from bench.loadgen import generator_name  # noqa: E402
from bench.report import Reporter, machine_context  # noqa: E402
from bench.stack import BenchStack, running_stack  # noqa: E402

BENCHES = ("signin", "check", "roster")

# pgserver's platformdirs warns when XDG_RUNTIME_DIR is unset (containers) and then uses /tmp,
# which is fine for its lock file (services/localstack/__main__.py says the same).
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def _plan(name: str, quick: bool) -> Callable[[BenchStack, Reporter], Awaitable[None]]:
    if name == "signin":
        signin_sizes = signin.QUICK if quick else signin.FULL
        return lambda stack, reporter: signin.run_signin(stack, reporter, signin_sizes)
    if name == "check":
        check_sizes = check.QUICK if quick else check.FULL

        async def run(stack: BenchStack, reporter: Reporter) -> None:
            await check.run_check_against(
                stack.grpc_target("sharing"),
                stack.pki,
                stack.owner_dsn("sharing"),
                reporter,
                check_sizes,
            )

        return run
    roster_sizes = roster.QUICK if quick else roster.FULL
    return lambda stack, reporter: roster.run_roster(stack, reporter, roster_sizes)


async def _main(names: list[str], quick: bool, reporter: Reporter) -> int:
    context = machine_context()
    reporter.note(
        f"load generator: {generator_name()} on the same {context['cpus']} cores as the stack; "
        f"load average at start {context['load_1m']} (1 min), {context['load_5m']} (5 min)"
    )
    failures = 0
    for name in names:
        reporter.note(f"{name}: starting a fresh stack")
        try:
            async with running_stack() as stack:
                await _plan(name, quick)(stack, reporter)
        except Exception as error:  # noqa: BLE001 - one bench failing must not hide the others
            failures += 1
            reporter.note(f"{name} failed: {type(error).__name__}: {error}")
    reporter.finish()
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("bench", nargs="?", default="all", choices=(*BENCHES, "all"))
    parser.add_argument("--quick", action="store_true", help="small sizes, a few minutes in all")
    args = parser.parse_args(argv)
    names = list(BENCHES) if args.bench == "all" else [args.bench]
    return uvloop.run(_main(names, args.quick, Reporter()))


if __name__ == "__main__":
    sys.exit(main())
