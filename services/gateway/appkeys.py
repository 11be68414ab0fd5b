"""Typed keys of what the application holds: settings, clients and shared helpers."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from services.common.jwks_reload import ReloadingVerifier
from services.gateway.clients import ServiceClients
from services.gateway.config import GatewaySettings
from services.gateway.rate_limit import SlidingWindowLimiter
from services.gateway.session_states import SessionStates

SETTINGS = web.AppKey("settings", GatewaySettings)
CLIENTS = web.AppKey("clients", ServiceClients)
VERIFIER = web.AppKey("verifier", ReloadingVerifier)
LIMITER = web.AppKey("limiter", SlidingWindowLimiter)
SESSIONS = web.AppKey("sessions", SessionStates)
REGISTRY = web.AppKey("registry", CollectorRegistry)
OPENAPI = web.AppKey("openapi", dict[str, Any])

# Per-request value set by the request id middleware.
REQUEST_ID = web.RequestKey("request_id", str)
