"""Development certificates: short-lived leaves named by SPIFFE ID, renewed before they lapse."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.common.devcerts import ensure_dev_pki
from services.common.tls import spiffe_id


def _replace_leaf(pki_dir: Path, name: str, days_left: int, *, old_style: bool) -> None:
    """A leaf ending in ``days_left`` days; old style as earlier versions made it: no SPIFFE
    ID, no key identifiers."""
    ca_key = serialization.load_pem_private_key((pki_dir / "ca-key.pem").read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca = x509.load_pem_x509_certificate((pki_dir / "ca.pem").read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    names: list[x509.GeneralName] = [x509.DNSName(name)]
    if not old_style:
        names.append(x509.UniformResourceIdentifier(spiffe_id(name)))
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days_left))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
    )
    if not old_style:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    cert = builder.sign(ca_key, hashes.SHA256())
    (pki_dir / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def test_a_leaf_names_its_component_and_lives_less_than_a_year(tmp_path: Path) -> None:
    pki = ensure_dev_pki(tmp_path / "tls", ("roster",))
    cert = x509.load_pem_x509_certificate(pki.leaf("roster").cert.read_bytes())
    assert cert.not_valid_after_utc - cert.not_valid_before_utc < dt.timedelta(days=366)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.UniformResourceIdentifier) == [spiffe_id("roster")]
    assert spiffe_id("roster") == "spiffe://trackcc/roster"


def test_a_current_leaf_is_kept_an_old_style_or_ending_one_is_replaced(
    tmp_path: Path,
) -> None:
    pki = ensure_dev_pki(tmp_path / "tls", ("auth", "roster", "sharing"))
    kept = pki.leaf("auth").cert.read_bytes()
    _replace_leaf(pki.directory, "roster", days_left=300, old_style=True)
    _replace_leaf(pki.directory, "sharing", days_left=10, old_style=False)
    ending = pki.leaf("sharing").cert.read_bytes()

    ensure_dev_pki(tmp_path / "tls", ("auth", "roster", "sharing"))

    assert pki.leaf("auth").cert.read_bytes() == kept
    for name in ("roster", "sharing"):
        cert = x509.load_pem_x509_certificate(pki.leaf(name).cert.read_bytes())
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert sans.get_values_for_type(x509.UniformResourceIdentifier) == [spiffe_id(name)]
    assert pki.leaf("sharing").cert.read_bytes() != ending


def _sans(pki_dir: Path, name: str) -> x509.SubjectAlternativeName:
    cert = x509.load_pem_x509_certificate((pki_dir / f"{name}.pem").read_bytes())
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value


def test_only_the_gateway_leaf_vouches_for_loopback(tmp_path: Path) -> None:
    pki = ensure_dev_pki(tmp_path / "tls", ("gateway", "roster"))
    gateway = _sans(pki.directory, "gateway")
    assert set(gateway.get_values_for_type(x509.DNSName)) == {"gateway", "localhost"}
    assert {str(ip) for ip in gateway.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    roster = _sans(pki.directory, "roster")
    assert roster.get_values_for_type(x509.DNSName) == ["roster"]
    assert roster.get_values_for_type(x509.IPAddress) == []


def test_a_service_leaf_that_vouched_for_localhost_is_replaced(tmp_path: Path) -> None:
    pki = ensure_dev_pki(tmp_path / "tls", ("roster",))
    ca_key = serialization.load_pem_private_key((pki.directory / "ca-key.pem").read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca = x509.load_pem_x509_certificate(pki.ca.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    earlier_names: list[x509.GeneralName] = [
        x509.UniformResourceIdentifier(spiffe_id("roster")),
        x509.DNSName("localhost"),
        x509.DNSName("roster"),
    ]
    earlier = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "roster")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=300))
        .add_extension(x509.SubjectAlternativeName(earlier_names), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pki.leaf("roster").cert.write_bytes(earlier.public_bytes(serialization.Encoding.PEM))

    ensure_dev_pki(tmp_path / "tls", ("roster",))

    assert "localhost" not in _sans(pki.directory, "roster").get_values_for_type(x509.DNSName)
