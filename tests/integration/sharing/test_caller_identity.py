"""A caller is the component its certificate's SPIFFE ID names, never its common name alone.

Anyone who can get a certificate from the CA (or who finds a misissued one) could write any
common name; the URI SAN ``spiffe://trackcc/<component>`` is what the services check.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from services.common.devcerts import DevPki
from services.common.tls import TlsFiles, secure_channel, spiffe_id
from tests.support.rpc_errors import reason
from tests.support.sharing_service import Sharing
from trackcc.sharing.v1 import sharing_service_pb2 as pb
from trackcc.sharing.v1 import sharing_service_pb2_grpc as pb_grpc


def _leaf(pki: DevPki, directory: Path, common_name: str, uris: list[str]) -> TlsFiles:
    """A client certificate from the services' own CA, with the names given and no others."""
    ca_key = serialization.load_pem_private_key((pki.directory / "ca-key.pem").read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca = x509.load_pem_x509_certificate(pki.ca.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    names += [x509.UniformResourceIdentifier(uri) for uri in uris]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(directory / f"{uuid.uuid4().hex}.pem", directory / "key.pem", pki.ca)
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return files


async def _check_as(sharing: Sharing, tls: TlsFiles) -> grpc.StatusCode:
    request = pb.CheckRequest(
        user_id=str(uuid.uuid4()),
        resource=pb.Resource(type=pb.RESOURCE_TYPE_CLASS, id=str(uuid.uuid4())),
        permission=pb.PERMISSION_READ,
    )
    async with secure_channel(sharing.target, tls) as channel:
        try:
            await pb_grpc.SharingServiceStub(channel).Check(request)
        except grpc.aio.AioRpcError as error:
            assert error.code() != grpc.StatusCode.PERMISSION_DENIED or (
                reason(error) == "caller_not_allowed"
            )
            return error.code()
    return grpc.StatusCode.OK


@pytest.mark.parametrize(
    ("common_name", "uris", "allowed"),
    [
        ("roster", [spiffe_id("roster")], True),
        ("anything", [spiffe_id("roster")], True),  # the SPIFFE ID decides, not the CN
        ("roster", [], False),  # the right common name and no SPIFFE ID
        ("roster", [spiffe_id("gateway")], False),  # a component that may not call Check
        ("roster", ["spiffe://elsewhere/roster"], False),  # another trust domain
        ("roster", [spiffe_id("roster"), spiffe_id("auth")], False),  # ambiguous: two IDs
    ],
    ids=["spiffe-id", "spiffe-id-any-cn", "cn-only", "gateway-id", "other-domain", "two-ids"],
)
async def test_check_is_allowed_by_spiffe_id_only(
    sharing: Sharing,
    pki: DevPki,
    tmp_path: Path,
    common_name: str,
    uris: list[str],
    allowed: bool,
) -> None:
    code = await _check_as(sharing, _leaf(pki, tmp_path, common_name, uris))
    if allowed:
        assert code == grpc.StatusCode.OK
    else:
        assert code == grpc.StatusCode.PERMISSION_DENIED
