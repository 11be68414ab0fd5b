"""The connection type the repositories take (the one the service kit defines)."""

from services.common.db import DbConnection

__all__ = ["DbConnection"]
