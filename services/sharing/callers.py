"""Who may call what: service identity from the mTLS certificate, the user from the token."""

from __future__ import annotations

import grpc

from services.common.errors import PermissionDenied
from services.common.tls import peer_common_name

ROSTER = "roster"
AUTH = "auth"
GATEWAY = "gateway"


def require_caller(context: grpc.aio.ServicerContext, *allowed: str) -> str:
    """The calling service's name, if it is one of ``allowed``; else PERMISSION_DENIED."""
    name = peer_common_name(context)
    if name is None or name not in allowed:
        raise PermissionDenied("this service may not call this method", reason="caller_not_allowed")
    return name
