"""A test PKI made in a temporary folder: a CA (ECDSA P-256, fast), municipality keys of any
kind, and a timestamp authority served over HTTP from pyHanko's own test TSA (offline)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from portal.certificates.signing import issue_certificate
from tests.support.servers import ThreadedServer, free_port

Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def name(common_name: str, organization: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(x509.NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(x509.NameOID.COMMON_NAME, common_name),
        ]
    )


def pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


@dataclass
class CA:
    """A certificate authority that issues municipality and TSA certificates."""

    certificate: x509.Certificate
    key: Key

    @classmethod
    def make(cls, common_name: str = "Test Prefecture CA", organization: str = "Test PKI") -> CA:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        certificate = issue_certificate(
            name(common_name, organization),
            key.public_key(),
            key,
            not_before=now - timedelta(days=1),
            not_after=now + timedelta(days=3650),
            ca=True,
        )
        return cls(certificate, key)

    def issue(
        self,
        subject: x509.Name,
        key: Key,
        *,
        valid_for: timedelta = timedelta(days=365),
        starts: timedelta = timedelta(days=-1),
        timestamping: bool = False,
    ) -> x509.Certificate:
        now = datetime.now(UTC)
        return issue_certificate(
            subject,
            key.public_key(),
            self.key,
            self.certificate,
            not_before=now + starts,
            not_after=now + starts + valid_for,
            timestamping=timestamping,
        )

    def write_tls_server(self, folder: Path, hostname: str) -> tuple[Path, Path]:
        """A web server's certificate for ``hostname`` and 127.0.0.1, and its key: the files
        a server is started with, in ``folder``."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        names = [x509.DNSName(hostname), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name(hostname, "Test PKI"))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        certificate_file, key_file = folder / "server.pem", folder / "server.key"
        certificate_file.write_bytes(pem(certificate))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return certificate_file, key_file

    def write_pkcs12(
        self,
        path: Path,
        common_name: str = "東京都千代田区",
        *,
        key: Key | None = None,
        passphrase: str = "",
        **issue: Any,
    ) -> Path:
        """A municipality's PKCS#12 file as a production deployment would hold it."""
        key = key or ec.generate_private_key(ec.SECP256R1())
        certificate = self.issue(name(common_name, "Chiyoda City, Tokyo"), key, **issue)
        encryption = (
            serialization.BestAvailableEncryption(passphrase.encode())
            if passphrase
            else serialization.NoEncryption()
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_bytes(
            pkcs12.serialize_key_and_certificates(
                b"municipality", key, certificate, [self.certificate], encryption
            )
        )
        return path


class TimestampAuthority:
    """pyHanko's ``DummyTimeStamper`` (RSA only) behind an RFC 3161 HTTP endpoint, as the
    portal's ``HTTPTimeStamper`` talks to a real TSA."""

    def __init__(self, ca: CA) -> None:
        from asn1crypto import keys
        from asn1crypto import x509 as asn1_x509
        from pyhanko.sign.timestamps import DummyTimeStamper

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.certificate = ca.issue(name("Test TSA", "Test PKI"), key, timestamping=True)
        der = serialization.Encoding.DER
        self.stamper = DummyTimeStamper(
            tsa_cert=asn1_x509.Certificate.load(self.certificate.public_bytes(der)),
            tsa_key=keys.PrivateKeyInfo.load(
                key.private_bytes(
                    der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            ),
            certs_to_embed=[asn1_x509.Certificate.load(ca.certificate.public_bytes(der))],
        )
        self.ca_pem = pem(ca.certificate)
        self.requests = 0
        self.server = ThreadedServer(self._app, free_port())

    @property
    def url(self) -> str:
        return self.server.url + "/tsa"

    def _app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        from asn1crypto import tsp

        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = tsp.TimeStampReq.load(environ["wsgi.input"].read(length))
        self.requests += 1
        body = self.stamper.request_tsa_response(request).dump()
        start_response(
            "200 OK",
            [("Content-Type", "application/timestamp-reply"), ("Content-Length", str(len(body)))],
        )
        return [body]
