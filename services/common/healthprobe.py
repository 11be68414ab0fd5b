"""``python -m services.common.healthprobe``: a Kubernetes exec probe over mTLS.

Kubernetes' native gRPC probes speak plaintext only, and every TrackCC service serves
``grpc.health.v1`` on its mutual-TLS port alone. So the pod checks itself: this command reads
the same ``<PREFIX>_LISTEN`` and ``<PREFIX>_TLS_*`` variables as the service, calls
``Health/Check`` on the loopback address with the pod's own certificate, and exits 0 when the
answer is SERVING, 1 otherwise (2 for a configuration error).

The name checked in the server's certificate is its first DNS name (the pod's own certificate),
because a certificate issued for ``<release>-auth`` does not name ``127.0.0.1``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

import grpc
from cryptography import x509
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.config import ConfigError, Env
from services.common.tls import CHANNEL_OPTIONS, TlsFiles

OK = 0
NOT_SERVING = 1
CONFIG_ERROR = 2


def certificate_dns_name(pem: bytes) -> str | None:
    """The first DNS subject alternative name of a PEM certificate, if it has one."""
    cert = x509.load_pem_x509_certificate(pem)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    names = san.get_values_for_type(x509.DNSName)
    return names[0] if names else None


async def check(
    port: int,
    tls: TlsFiles,
    service: str,
    *,
    host: str = "127.0.0.1",
    server_name: str | None = None,
    timeout_seconds: float = 3.0,
) -> str:
    """The health status name (``SERVING``, ``NOT_SERVING``, ...) of ``service`` on ``port``.

    Raises ``grpc.aio.AioRpcError`` when the call itself fails (refused, TLS, deadline).
    """
    name = server_name or certificate_dns_name(tls.cert.read_bytes())
    options: list[tuple[str, int | str]] = list(CHANNEL_OPTIONS)
    if name:
        options.append(("grpc.ssl_target_name_override", name))
    async with grpc.aio.secure_channel(
        f"{host}:{port}", tls.channel_credentials(), options=options
    ) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        response = await stub.Check(
            health_pb2.HealthCheckRequest(service=service), timeout=timeout_seconds
        )
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m services.common.healthprobe",
        description="Exit 0 when the local gRPC service reports SERVING over mTLS.",
    )
    parser.add_argument(
        "--prefix", required=True, help="environment prefix of the service, e.g. TRACKCC_AUTH"
    )
    parser.add_argument(
        "--service", default="", help="grpc.health.v1 service name; empty: the process (liveness)"
    )
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds for the call")
    parser.add_argument(
        "--server-name", default=None, help="name to check in the certificate (default: its own)"
    )
    return parser


def run(argv: Sequence[str] | None = None, env: Env | None = None) -> int:
    """Parses, probes and returns the exit status; messages go to stderr for the kubelet."""
    args = _parser().parse_args(argv)
    env = env or Env.from_os()
    try:
        _, port = env.address(f"{args.prefix}_LISTEN")
        tls = TlsFiles.from_env(env, args.prefix)
    except ConfigError as error:
        sys.stderr.write(f"healthprobe: {error}\n")
        return CONFIG_ERROR
    try:
        status = asyncio.run(
            check(
                port,
                tls,
                args.service,
                server_name=args.server_name,
                timeout_seconds=args.timeout,
            )
        )
    except grpc.aio.AioRpcError as error:
        sys.stderr.write(f"healthprobe: {error.code().name}: {error.details()}\n")
        return NOT_SERVING
    if status != "SERVING":
        sys.stderr.write(f"healthprobe: {args.service or '(process)'} is {status}\n")
        return NOT_SERVING
    return OK


def main() -> None:
    raise SystemExit(run())


if __name__ == "__main__":
    main()
