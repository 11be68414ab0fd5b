"""Every public route, grouped by resource."""

from __future__ import annotations

from services.gateway.routes import (
    accounts,
    classes,
    export,
    grants,
    me,
    ops,
    password,
    photos,
    sessions,
    sharing,
    students,
    support,
)
from services.gateway.routes.spec import RouteSpec


def all_routes() -> tuple[RouteSpec, ...]:
    """The routes in registration order (fixed paths before templates that could match them)."""
    return (
        *ops.ROUTES,
        *accounts.ROUTES,
        *sessions.ROUTES,
        *password.ROUTES,
        *me.ROUTES,
        *support.ROUTES,
        *sharing.ROUTES,
        *grants.ROUTES,
        *classes.ROUTES,
        *students.ROUTES,
        *photos.ROUTES,
        *export.ROUTES,
    )
