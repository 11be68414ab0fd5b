"""The AuthService servicer, assembled from the RPC groups of the modules beside it.

Every group is a mixin of :class:`~services.auth.rpc_base.RpcBase` and is listed here, in one
place; its dependencies (the password check too) come in through one
:class:`~services.auth.rpc_base.Deps`: sign-up in signup_rpcs.py, sign-in in signin_rpcs.py,
sessions in session_rpcs.py, email and password flows in email_rpcs.py and password_rpcs.py,
the account (profile, export, deletion) in account_rpcs.py, support in support_rpcs.py, the
JWK set in jwks_rpcs.py.
"""

from __future__ import annotations

from services.auth.account_rpcs import AccountRpcs
from services.auth.email_rpcs import EmailRpcs
from services.auth.jwks_rpcs import JwksRpcs
from services.auth.password_rpcs import PasswordRpcs
from services.auth.rpc_base import Deps
from services.auth.session_rpcs import SessionRpcs
from services.auth.signin_rpcs import SignInRpcs
from services.auth.signup_rpcs import SignupRpcs
from services.auth.support_rpcs import SupportRpcs
from trackcc.auth.v1 import auth_service_pb2_grpc


class AuthServicer(
    SignupRpcs,
    SignInRpcs,
    SessionRpcs,
    AccountRpcs,
    EmailRpcs,
    PasswordRpcs,
    SupportRpcs,
    JwksRpcs,
    auth_service_pb2_grpc.AuthServiceServicer,
):
    """Accounts and sessions backed by the auth schema."""

    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
