"""The key-exchange groups the gateway offers: X25519, P-256 and P-384, nothing else.

Mozilla's "intermediate" TLS profile allows exactly these three. OpenSSL's default list also
offers X448 and P-521, and Python's ``ssl`` module can only replace it with a single curve
(``set_ecdh_curve``), so the list is set with OpenSSL's own call on the context's
``SSL_CTX``. The suite's TLS scan (sslyze, ``tests/integration/tls``) checks the result on the
wire, so a change here cannot go unnoticed.
"""

from __future__ import annotations

import _ssl
import ctypes
import ssl

GROUPS = "X25519:P-256:P-384"
# From OpenSSL's ssl.h; a stable part of its ABI since 1.1.1.
_SSL_CTRL_SET_GROUPS_LIST = 92


class TlsGroupsError(RuntimeError):
    """The groups could not be set; the gateway must not start with OpenSSL's defaults."""


def _openssl() -> ctypes.CDLL:
    # The library that Python's _ssl module is linked against, so the SSL_CTX is its own.
    path = getattr(_ssl, "__file__", None)
    return ctypes.CDLL(path) if path else ctypes.CDLL(None)


def _ssl_ctx_pointer(context: ssl.SSLContext, library: ctypes.CDLL) -> int:
    """The ``SSL_CTX *`` that CPython keeps right after the object header of an SSLContext.

    Checked before use: OpenSSL's options read through that pointer must equal what the
    context itself reports, or nothing is called on it.
    """
    pointer = ctypes.c_void_p.from_address(id(context) + object.__basicsize__).value
    get_options = library.SSL_CTX_get_options
    get_options.argtypes = [ctypes.c_void_p]
    get_options.restype = ctypes.c_uint64
    if not pointer or get_options(pointer) != int(context.options):
        raise TlsGroupsError("cannot find the SSL_CTX of this Python's SSLContext")
    return int(pointer)


def restrict_groups(context: ssl.SSLContext, groups: str = GROUPS) -> None:
    """Offers only ``groups`` (OpenSSL names, colon-separated) in the key exchange."""
    library = _openssl()
    ctrl = library.SSL_CTX_ctrl
    ctrl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_char_p]
    ctrl.restype = ctypes.c_long
    if ctrl(_ssl_ctx_pointer(context, library), _SSL_CTRL_SET_GROUPS_LIST, 0, groups.encode()) != 1:
        raise TlsGroupsError(f"OpenSSL refused the key-exchange groups {groups}")
