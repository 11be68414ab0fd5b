"""A local certificate authority and leaf certificates for the local stack and tests.

Production certificates come from the cluster (cert-manager or the SRE's CA); this module
only makes development ones, once, under a directory such as ``var/tls``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from services.common.tls import TlsFiles, spiffe_id

LEAF_NAMES = ("gateway", "auth", "roster", "sharing")
# Components whose server role is reached on loopback by name or address: the gateway, which a
# developer's browser opens at https://localhost. The services are reached by their own name
# (clients set it as the TLS server name), so their leaves do not vouch for localhost.
LOOPBACK_SERVED = frozenset({"gateway"})
_LOOPBACK_DNS = ("localhost",)
_LOOPBACK_IPS = ("127.0.0.1", "::1")
# Below the 366 days that Mozilla's TLS guidelines (and browsers, at 398) accept for a leaf.
LEAF_VALIDITY = dt.timedelta(days=365)
# A leaf this close to its end is made anew at the next start, so a developer's never lapses.
_RENEW_BEFORE = dt.timedelta(days=30)


@dataclass(frozen=True)
class DevPki:
    """Paths of the CA and the per-component certificates."""

    directory: Path

    @property
    def ca(self) -> Path:
        return self.directory / "ca.pem"

    def leaf(self, name: str) -> TlsFiles:
        return TlsFiles(
            cert=self.directory / f"{name}.pem",
            key=self.directory / f"{name}-key.pem",
            ca=self.ca,
        )


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def ensure_dev_pki(directory: Path, names: tuple[str, ...] = LEAF_NAMES) -> DevPki:
    """Creates the CA and one certificate per name unless they exist; returns their paths.

    Every leaf names its component by the URI ``spiffe://trackcc/<name>`` (how peers tell
    components apart) and by the DNS name ``<name>``, and may be used as server and as client
    certificate (mutual TLS between services). Only the components of ``LOOPBACK_SERVED`` are
    also valid for ``localhost``, ``127.0.0.1`` and ``::1``. A leaf that ends within 30 days, or
    whose names differ from these, is replaced.
    """
    pki = DevPki(directory)
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    ca_key_path = directory / "ca-key.pem"
    now = dt.datetime.now(dt.UTC)
    if not (pki.ca.exists() and ca_key_path.exists()):
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TrackCC local CA")])
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
            )
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(ca_key, hashes.SHA256())
        )
        _write_key(ca_key_path, ca_key)
        pki.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        for name in names:  # leaves of an old CA would no longer verify
            pki.leaf(name).cert.unlink(missing_ok=True)
    ca_key_loaded = serialization.load_pem_private_key(ca_key_path.read_bytes(), None)
    assert isinstance(ca_key_loaded, ec.EllipticCurvePrivateKey)
    ca_cert = x509.load_pem_x509_certificate(pki.ca.read_bytes())
    for name in names:
        files = pki.leaf(name)
        if files.cert.exists() and files.key.exists() and _current(files.cert, name, now):
            continue
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + LEAF_VALIDITY)
            .add_extension(x509.SubjectAlternativeName(leaf_names(name)), critical=False)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            # RFC 5280 path validation (as strict verifiers do it) needs both identifiers.
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key_loaded.public_key()),
                critical=False,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(ca_key_loaded, hashes.SHA256())
        )
        _write_key(files.key, key)
        files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return pki


def leaf_names(name: str) -> list[x509.GeneralName]:
    """The subject alternative names of ``name``'s leaf."""
    # Peers check the component by the URI, not by the common name.
    names: list[x509.GeneralName] = [
        x509.UniformResourceIdentifier(spiffe_id(name)),
        x509.DNSName(name),
    ]
    if name in LOOPBACK_SERVED:
        names += [x509.DNSName(dns) for dns in _LOOPBACK_DNS]
        names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in _LOOPBACK_IPS]
    return names


def _current(path: Path, name: str, now: dt.datetime) -> bool:
    """False when the leaf ends soon, predates the key identifiers or names other than
    :func:`leaf_names` (an older style): it is made anew."""
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    if cert.not_valid_after_utc - now < _RENEW_BEFORE:
        return False
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    except x509.ExtensionNotFound:
        return False
    return set(names) == set(leaf_names(name))
