"""(in progress)"""

from __future__ import annotations

from services.auth.signin import SignInRpcs


class SessionRpcs(SignInRpcs):
    """(in progress)"""
