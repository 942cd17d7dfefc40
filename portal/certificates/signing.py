"""PAdES signatures on certificates: the issuing municipality signs each PDF with its own key.

One PKCS#12 file per municipality, ``<local government code>.p12`` in ``SIGNING_KEY_DIR``,
all opened with ``SIGNING_KEY_PASSPHRASE``. Development and the tests use a demo CA made here
(``flask --app portal signing demo-keys``; a missing municipality's key is made on first use
outside production); production refuses the demo CA, an unreadable or expired file and a weak
key at start-up (:func:`setting_problems`).

With ``SIGNING_TSA_URL`` each signature carries a trusted timestamp (PAdES B-T) and, at
``SIGNING_PADES_LEVEL = "B-LTA"``, the validation data (certificates, CRLs and OCSP responses
where the certificates name them) in the document security store, sealed by a document
timestamp; without a TSA the signature is PAdES B-B. ``SIGNING_TSA_ROOTS`` names the CA
certificates the TSA's certificate chains to (B-LTA gathers its validation data too, and the
verify page trusts a timestamp only from them).

The render job calls :func:`sign_pdf` with the municipality of the issuing department (a
ward without departments of its own issues through its city's); the verify page calls
:func:`check_signature` on an uploaded file.

Signers are loaded once per process and file (a load re-validates the key: 110-170 ms for
RSA, against 40 ms for a signature), and reloaded when the file changes. pyHanko takes 0.8 s
to import, so it is imported where it is used, never at app start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import io
import logging
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from flask import current_app

from portal import keyfiles
from portal.japan.clock import utcnow

if TYPE_CHECKING:
    from pyhanko.sign.signers import SimpleSigner
    from pyhanko.sign.timestamps import TimeStamper
    from pyhanko_certvalidator import ValidationContext

    from portal.tenancy.models import Municipality

#: The demo CA's organisation; production refuses any certificate it names.
DEMO_CA_ORGANIZATION = "Madoguchi demo CA (not for production)"
DEMO_CA_CERT = "demo-ca.pem"
DEMO_CA_KEY = "demo-ca-key.pem"
KEY_SUFFIX = ".p12"
LEVELS = ("B-T", "B-LTA")
MIN_RSA_BITS = 2048
#: NIST P-256 and stronger: what PDF readers (Acrobat, poppler/NSS) verify.
ACCEPTED_CURVES = ("secp256r1", "secp384r1", "secp521r1")
DEMO_CA_YEARS = 10
DEMO_KEY_YEARS = 3
#: A demo certificate closer than this to its end is replaced by ``demo-keys``.
DEMO_RENEW_BEFORE = timedelta(days=30)
TSA_TIMEOUT_SECONDS = 10
#: check_signature's bounds on an uploaded file. A certificate is 35 KB (336 KB with Noto
#: CJK fonts); B-LTA adds about 25 KB and three revisions (signature, DSS, timestamp).
CHECK_MAX_BYTES = 2 * 1024 * 1024
CHECK_MAX_SIGNATURES = 4
CHECK_MAX_REVISIONS = 8
CHECK_CPU_SECONDS = 2
CHECK_WALL_SECONDS = 5.0
CHECK_MEMORY_BYTES = 512 * 1024 * 1024
FIELD_NAME = "Signature"

_lock = threading.Lock()
T = TypeVar("T")


class SigningError(RuntimeError):
    """A certificate cannot be signed (a missing or unusable key, the TSA unreachable): the
    render job fails and is retried; the message says what to fix."""


# --------------------------------------------------------------------------- key files


@dataclass(frozen=True)
class KeyMaterial:
    """What a municipality's PKCS#12 file holds."""

    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]


def key_path(key_dir: str | os.PathLike[str], code: str) -> Path:
    return Path(key_dir) / f"{code}{KEY_SUFFIX}"


def read_key_file(path: Path, passphrase: str) -> KeyMaterial:
    """Open a PKCS#12 file; :class:`SigningError` says why it cannot be used."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SigningError(f"{path}: no such file") from None
    except OSError as error:
        raise SigningError(f"{path}: cannot be read ({error.strerror})") from None
    try:
        key, certificate, chain = pkcs12.load_key_and_certificates(
            data, passphrase.encode() or None
        )
    except (ValueError, TypeError):
        raise SigningError(
            f"{path}: not a PKCS#12 file, or PORTAL_SIGNING_KEY_PASSPHRASE does not open it"
        ) from None
    if certificate is None or key is None:
        raise SigningError(f"{path}: holds no private key with its certificate")
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise SigningError(f"{path}: an RSA or ECDSA key is needed, not {type(key).__name__}")
    return KeyMaterial(key, certificate, tuple(chain))


def key_problems(material: KeyMaterial, now: datetime | None = None) -> list[str]:
    """Why a key must not sign in production: weak, expired, or issued by the demo CA."""
    now = now or utcnow()
    problems = []
    public = material.certificate.public_key()
    if isinstance(public, rsa.RSAPublicKey) and public.key_size < MIN_RSA_BITS:
        problems.append(f"an RSA key of {public.key_size} bits (at least {MIN_RSA_BITS})")
    elif isinstance(public, ec.EllipticCurvePublicKey) and (
        public.curve.name not in ACCEPTED_CURVES
    ):
        problems.append(f"an ECDSA key on {public.curve.name} (P-256 or stronger)")
    elif not isinstance(public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        problems.append("neither an RSA nor an ECDSA key")
    if material.key.public_key() != public:
        problems.append("the private key does not match the certificate")
    certificate = material.certificate
    if certificate.not_valid_after_utc <= now:
        problems.append(f"the certificate expired on {certificate.not_valid_after_utc:%Y-%m-%d}")
    elif certificate.not_valid_before_utc > now:
        problems.append(
            f"the certificate is valid only from {certificate.not_valid_before_utc:%Y-%m-%d}"
        )
    if any(_is_demo(c) for c in (certificate, *material.chain)):
        problems.append("issued by the demo CA")
    return problems


def _is_demo(certificate: x509.Certificate) -> bool:
    return any(
        attribute.value == DEMO_CA_ORGANIZATION
        for name in (certificate.subject, certificate.issuer)
        for attribute in name.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    )


def setting_problems(config: Mapping[str, Any]) -> list[str]:
    """The signing settings' problems: any deployment's (a level or URL that cannot work) and,
    in production, every key file's."""
    problems = []
    if config["SIGNING_PADES_LEVEL"] not in LEVELS:
        problems.append(
            f"PORTAL_SIGNING_PADES_LEVEL: {config['SIGNING_PADES_LEVEL']!r} is not one of "
            + ", ".join(LEVELS)
        )
    tsa = config["SIGNING_TSA_URL"]
    if tsa and (urlsplit(tsa).scheme not in ("http", "https") or not urlsplit(tsa).hostname):
        problems.append(f"PORTAL_SIGNING_TSA_URL: {tsa!r} is not an http(s) URL")
    if config["SIGNING_TSA_ROOTS"]:
        try:
            _read_pem_certificates(Path(config["SIGNING_TSA_ROOTS"]))
        except SigningError as error:
            problems.append(f"PORTAL_SIGNING_TSA_ROOTS: {error}")
    if config["ENV"] == "production":
        problems += _production_key_problems(config)
    return problems


def _read_pem_certificates(path: Path) -> list[x509.Certificate]:
    try:
        certificates = x509.load_pem_x509_certificates(path.read_bytes())
    except OSError as error:
        raise SigningError(f"{path}: cannot be read ({error.strerror})") from None
    except ValueError:
        raise SigningError(f"{path}: not PEM certificates") from None
    return certificates


def _production_key_problems(config: Mapping[str, Any]) -> list[str]:
    key_dir = Path(config["SIGNING_KEY_DIR"])
    setting = "PORTAL_SIGNING_KEY_DIR"
    if (key_dir / DEMO_CA_KEY).exists():
        return [f"{setting}: {key_dir} holds the demo CA; put the municipalities' own keys there"]
    paths = sorted(key_dir.glob(f"*{KEY_SUFFIX}")) if key_dir.is_dir() else []
    if not paths:
        return [
            f"{setting}: no <local government code>{KEY_SUFFIX} file in {key_dir}; each "
            "municipality served signs its certificates with its own key"
        ]
    problems = []
    for path in paths:
        try:
            material = read_key_file(path, config["SIGNING_KEY_PASSPHRASE"])
        except SigningError as error:
            problems.append(f"{setting}: {error}")
            continue
        file_problems = key_problems(material)
        if not config["SIGNING_KEY_PASSPHRASE"] and path.stat().st_mode & 0o077:
            file_problems.append(
                "not encrypted and readable by other users: chmod 600, or encrypt it "
                "(PORTAL_SIGNING_KEY_PASSPHRASE)"
            )
        problems += [f"{setting}: {path.name}: {problem}" for problem in file_problems]
    return problems


# --------------------------------------------------------------------------- demo keys


def _name(common_name: str, organization: str, country: str = "JP") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def issue_certificate(
    subject: x509.Name,
    public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
    signing_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None = None,
    *,
    not_before: datetime,
    not_after: datetime,
    ca: bool = False,
    timestamping: bool = False,
) -> x509.Certificate:
    """A certificate for a CA (``ca``), a signer or a timestamp authority (``timestamping``)
    with the extensions PDF readers look for, signed by ``signing_key`` of ``issuer`` (None:
    self-signed)."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer else subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=not ca and not timestamping,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if timestamping:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    return builder.sign(signing_key, hashes.SHA256())


def _encryption(passphrase: str) -> serialization.KeySerializationEncryption:
    if passphrase:
        return serialization.BestAvailableEncryption(passphrase.encode())
    return serialization.NoEncryption()


@contextlib.contextmanager
def _folder_lock(directory: Path) -> Iterator[None]:
    """One process at a time makes demo keys (two would make two demo CAs)."""
    import fcntl

    with os.fdopen(os.open(directory / ".lock", os.O_WRONLY | os.O_CREAT, 0o600), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def demo_ca(key_dir: Path, now: datetime | None = None) -> tuple[x509.Certificate, Any]:
    """The demo CA's certificate and key, made on first use (ECDSA P-256)."""
    now = now or utcnow()
    cert_path, key_path_ = key_dir / DEMO_CA_CERT, key_dir / DEMO_CA_KEY
    if cert_path.exists() and key_path_.exists():
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        if certificate.not_valid_after_utc > now + DEMO_RENEW_BEFORE:
            return certificate, serialization.load_pem_private_key(key_path_.read_bytes(), None)
    key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = issue_certificate(
        _name("Madoguchi Demo CA", DEMO_CA_ORGANIZATION),
        key.public_key(),
        key,
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=365 * DEMO_CA_YEARS),
        ca=True,
    )
    keyfiles.write_private(
        key_path_,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    keyfiles.write_private(cert_path, certificate.public_bytes(serialization.Encoding.PEM))
    return certificate, key


def municipality_subject(municipality: Municipality) -> x509.Name:
    """The signer as readers show it: 東京都千代田区, of Chiyoda City, Tokyo."""
    return _name(municipality.names["ja"], municipality.names["en"] or municipality.names["ja"])


def ensure_demo_keys(
    key_dir: str | os.PathLike[str],
    municipalities: Iterable[Municipality],
    passphrase: str = "",
    now: datetime | None = None,
) -> list[str]:
    """Give each municipality a demo key and certificate from the demo CA; return the codes
    that got a new one. Idempotent: a key that is still good (issued by the current demo CA,
    not near its end) is kept."""
    now = now or utcnow()
    directory = Path(key_dir)
    made = []
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _lock, _folder_lock(directory):
        ca_certificate, ca_key = demo_ca(directory, now)
        for municipality in municipalities:
            path = key_path(directory, municipality.code)
            if _demo_key_is_good(path, passphrase, ca_certificate, now):
                continue
            key = ec.generate_private_key(ec.SECP256R1())
            certificate = issue_certificate(
                municipality_subject(municipality),
                key.public_key(),
                ca_key,
                ca_certificate,
                not_before=now - timedelta(days=1),
                not_after=min(
                    now + timedelta(days=365 * DEMO_KEY_YEARS), ca_certificate.not_valid_after_utc
                ),
            )
            data = pkcs12.serialize_key_and_certificates(
                municipality.code.encode(),
                key,
                certificate,
                [ca_certificate],
                _encryption(passphrase),
            )
            keyfiles.write_private(path, data)
            made.append(municipality.code)
    return made


def _demo_key_is_good(
    path: Path, passphrase: str, ca_certificate: x509.Certificate, now: datetime
) -> bool:
    try:
        material = read_key_file(path, passphrase)
        material.certificate.verify_directly_issued_by(ca_certificate)
    except (SigningError, ValueError, TypeError, InvalidSignature):
        return False
    return material.certificate.not_valid_after_utc > now + DEMO_RENEW_BEFORE


# --------------------------------------------------------------------------- signing


@dataclass(frozen=True)
class Settings:
    key_dir: Path
    passphrase: str
    tsa_url: str
    tsa_roots: str
    level: str
    production: bool

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> Settings:
        return cls(
            Path(config["SIGNING_KEY_DIR"]),
            config["SIGNING_KEY_PASSPHRASE"],
            config["SIGNING_TSA_URL"],
            config["SIGNING_TSA_ROOTS"],
            config["SIGNING_PADES_LEVEL"],
            config["ENV"] == "production",
        )

    @property
    def pades_level(self) -> str:
        """What a signature made now is: B-B without a TSA."""
        return self.level if self.tsa_url else "B-B"


@dataclass
class _LoadedSigner:
    signer: SimpleSigner
    material: KeyMaterial
    stamp: tuple[int, int]
    #: The room pyHanko reserved for the signature at its first one, by (level, TSA URL).
    #: Without it pyHanko signs a dummy first, every time, to measure it (a third of the
    #: signature's CPU); the key's certificates and the level decide it.
    reserved: dict[tuple[str, str], int] = field(default_factory=dict)


_signers: dict[Path, _LoadedSigner] = {}
_timestampers: dict[str, TimeStamper] = {}


def _kept_key_signer(material: KeyMaterial) -> SimpleSigner:
    """pyHanko's SimpleSigner, keeping the loaded key: its own ``sign_raw`` parses the key
    again for every signature, twice with the size estimate, and parsing an RSA-2048 key
    checks it (100-280 ms here, against under 1 ms for P-256)."""
    from asn1crypto import keys
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from pyhanko.sign.signers import SimpleSigner
    from pyhanko_certvalidator.registry import SimpleCertificateStore
    from pyhanko_certvalidator.util import get_pyca_cryptography_hash

    class KeptKeySigner(SimpleSigner):
        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            try:
                mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
            except ValueError:
                return super().sign_raw(data, digest_algorithm)
            hash_algorithm = get_pyca_cryptography_hash(digest_algorithm)
            key = material.key
            if mechanism == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
                return key.sign(data, PKCS1v15(), hash_algorithm)
            if mechanism == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
                return key.sign(data, ec.ECDSA(hash_algorithm))
            return super().sign_raw(data, digest_algorithm)

    store = SimpleCertificateStore()
    store.register_multiple([_asn1(c) for c in material.chain])
    key_info = keys.PrivateKeyInfo.load(
        material.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return KeptKeySigner(
        signing_cert=_asn1(material.certificate), signing_key=key_info, cert_registry=store
    )


def signer_for(municipality: Municipality, settings: Settings | None = None) -> _LoadedSigner:
    """The municipality's signer, loaded once per process and file version. Outside
    production a missing key is made from the demo CA."""
    settings = settings or Settings.of(current_app.config)
    path = key_path(settings.key_dir, municipality.code)
    if not path.exists() and not settings.production:
        ensure_demo_keys(settings.key_dir, [municipality], settings.passphrase)
    try:
        stamp = keyfiles.stamp(path)
    except FileNotFoundError:
        raise SigningError(
            f"{path}: no signing key for {municipality.code} ({municipality.names['ja']}); "
            "put its PKCS#12 file there"
        ) from None
    loaded = _signers.get(path)
    if loaded is None or loaded.stamp != stamp:
        material = read_key_file(path, settings.passphrase)
        if settings.production and (problems := key_problems(material)):
            raise SigningError(f"{path}: " + "; ".join(problems))
        loaded = _LoadedSigner(_kept_key_signer(material), material, stamp)
        with _lock:
            _signers[path] = loaded
    if (end := loaded.material.certificate.not_valid_after_utc) <= utcnow():
        # A worker outlives certificates: never sign with one that has ended.
        renew = "renew it" if settings.production else "run `flask --app portal signing demo-keys`"
        raise SigningError(f"{path}: the certificate expired on {end:%Y-%m-%d}; {renew}")
    return loaded


def _timestamper(url: str) -> TimeStamper:
    """One client per TSA URL (it holds no connection between signatures)."""
    stamper = _timestampers.get(url)
    if stamper is None:
        from pyhanko.sign.timestamps import HTTPTimeStamper

        stamper = _timestampers.setdefault(url, HTTPTimeStamper(url, timeout=TSA_TIMEOUT_SECONDS))
    return stamper


def _lta_validation_context(material: KeyMaterial, settings: Settings) -> ValidationContext:
    """What B-LTA embeds is gathered by validating the signer's and the TSA's chains: CRLs
    and OCSP responses fetched where the certificates name them, trusting the roots in the
    municipality's own file and the TSA's roots."""
    from pyhanko_certvalidator import ValidationContext

    chain = [_asn1(c) for c in material.chain]
    roots = [c for c in chain if c.self_signed] or chain[-1:]
    return ValidationContext(
        trust_roots=roots + _tsa_roots(settings.tsa_roots),
        other_certs=chain,
        allow_fetching=True,
        revocation_mode="soft-fail",
    )


_pem_roots: dict[str, tuple[tuple[int, int], list[Any]]] = {}


def _tsa_roots(path: str) -> list[Any]:
    """The TSA's CA certificates, read once per file version; none when not configured."""
    if not path:
        return []
    try:
        stamp = keyfiles.stamp(Path(path))
    except OSError:
        return []
    cached = _pem_roots.get(path)
    if cached is None or cached[0] != stamp:
        try:
            certificates = [_asn1(c) for c in _read_pem_certificates(Path(path))]
        except SigningError:
            certificates = []
        cached = _pem_roots[path] = (stamp, certificates)
    return cached[1]


def _asn1(certificate: x509.Certificate) -> Any:
    from asn1crypto import x509 as asn1_x509

    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _off_any_event_loop(work: Callable[[], T]) -> T:
    """``work()``, in a thread of its own when this one runs an event loop: pyHanko's
    synchronous API runs its own with ``asyncio.run``, which refuses to nest (Playwright's
    sync API, an async worker)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pyhanko") as pool:
        return pool.submit(work).result()


def sign_pdf(pdf: bytes, municipality: Municipality, *, reason: str, location: str) -> bytes:
    """Sign ``pdf`` as ``municipality`` (the certificate's issuer): PAdES B-B, or B-T / B-LTA
    when a TSA is configured. Raises :class:`SigningError` when it cannot."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.general import SigningError as PyHankoSigningError
    from pyhanko.sign.timestamps import TimestampRequestError
    from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError

    settings = Settings.of(current_app.config)
    loaded = signer_for(municipality, settings)
    level = settings.pades_level
    lta = level == "B-LTA"
    metadata = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        name=municipality.names["ja"],
        reason=reason,
        location=location,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        embed_validation_info=lta,
        use_pades_lta=lta,
        validation_context=_lta_validation_context(loaded.material, settings) if lta else None,
        signer_key_usage={"digital_signature"},
    )
    timestamper = _timestamper(settings.tsa_url) if settings.tsa_url else None
    pdf_signer = signers.PdfSigner(metadata, loaded.signer, timestamper=timestamper)
    kind = (level, settings.tsa_url)

    def sign(reserved: int | None) -> io.BytesIO:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        return _off_any_event_loop(lambda: pdf_signer.sign_pdf(writer, bytes_reserved=reserved))

    try:
        known = loaded.reserved.get(kind)
        try:
            output = sign(known)
        except PyHankoSigningError as error:
            if known is None or "larger than expected" not in str(error):
                raise
            # A TSA's answer grew past the margin: measure again.
            loaded.reserved.pop(kind, None)
            known = None
            output = sign(None)
        if known is None:
            loaded.reserved[kind] = _reserved_in(output)
    except TimestampRequestError as error:
        raise SigningError(f"the TSA at {settings.tsa_url} did not answer: {error}") from error
    except (PathBuildingError, PathValidationError) as error:
        raise SigningError(
            f"{error}: B-LTA validates the signer's and the TSA's certificates; name the TSA's "
            "CA in PORTAL_SIGNING_TSA_ROOTS"
        ) from error
    except PyHankoSigningError as error:
        raise SigningError(str(error)) from error
    return output.getvalue()


def _reserved_in(signed: io.BytesIO) -> int:
    """The hex digits pyHanko reserved for our signature in ``signed``: the gap its byte
    range leaves, less the string's ``<`` and ``>`` (B-LTA's document timestamp is apart)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    found = PdfFileReader(signed).embedded_signatures
    ours = next(s for s in found if s.field_name == FIELD_NAME)
    byte_range = ours.sig_object["/ByteRange"]
    signed.seek(0)
    return int(byte_range[2]) - int(byte_range[1]) - 2


# --------------------------------------------------------------------------- checking


class SignatureState(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    UNSIGNED = "unsigned"


@dataclass(frozen=True)
class SignatureCheck:
    """What a PDF's signature says, for the verify page: ``problem`` is for logs, in English."""

    state: SignatureState
    signer: str | None = None
    signed_at: datetime | None = None
    timestamp: datetime | None = None
    problem: str = ""

    @property
    def valid(self) -> bool:
        return self.state is SignatureState.VALID


def _invalid(problem: str, **details: Any) -> SignatureCheck:
    return SignatureCheck(SignatureState.INVALID, problem=problem, **details)


@dataclass
class _TrustRoots:
    stamp: tuple[tuple[str, int, int], ...]
    roots: list[Any]


_trust: dict[Path, _TrustRoots] = {}


def trust_roots(key_dir: Path, passphrase: str) -> list[Any]:
    """The CAs of the municipalities' keys (and the demo CA's, where it is): a signature
    is trusted when it chains to one. Cached until a file in the folder changes."""
    try:
        paths = sorted(
            p for p in key_dir.iterdir() if p.suffix == KEY_SUFFIX or p.name == DEMO_CA_CERT
        )
        stamp = tuple((p.name, *keyfiles.stamp(p)) for p in paths)
    except OSError:
        return []
    cached = _trust.get(key_dir)
    if cached is not None and cached.stamp == stamp:
        return cached.roots
    roots: dict[bytes, Any] = {}
    for path in paths:
        with contextlib.suppress(SigningError, ValueError, OSError):
            if path.name == DEMO_CA_CERT:
                certificates = [x509.load_pem_x509_certificate(path.read_bytes())]
            else:
                material = read_key_file(path, passphrase)
                certificates = [c for c in material.chain if c.issuer == c.subject]
            for certificate in certificates:
                roots[certificate.fingerprint(hashes.SHA256())] = _asn1(certificate)
    _trust[key_dir] = _TrustRoots(stamp, list(roots.values()))
    return _trust[key_dir].roots


def check_signature(pdf: bytes, *, max_bytes: int = CHECK_MAX_BYTES) -> SignatureCheck:
    """Is ``pdf`` signed by one of our municipalities, and unchanged since? Never raises:
    anything unreadable is invalid.

    The file comes from anyone (the verify page), and a PDF parser can be made to work for
    long or to inflate a small stream into gigabytes: pyHanko reads it in a child process
    with a CPU-time and a memory limit (where the OS forks), the file's size and revisions
    are bounded, and nothing is fetched (revocation data only from the file itself)."""
    if len(pdf) > max_bytes:
        return _invalid(f"larger than {max_bytes} bytes")
    if b"%PDF-" not in pdf[:1024]:
        return _invalid("not a PDF")
    if b"%%EOF" not in pdf[-1024:]:
        # Without it pyHanko's reader looks for the end byte by byte (1 s for 2 MB).
        return _invalid("no end-of-file marker")
    settings = Settings.of(current_app.config)
    roots = trust_roots(settings.key_dir, settings.passphrase)
    timestamp_roots = roots + _tsa_roots(settings.tsa_roots)
    return _bounded(lambda: _check_or_invalid(pdf, roots, timestamp_roots))


def _check_or_invalid(pdf: bytes, roots: list[Any], timestamp_roots: list[Any]) -> SignatureCheck:
    try:
        return _check(pdf, roots, timestamp_roots)
    except Exception as error:  # noqa: BLE001 - hostile input: any failure is "invalid"
        return _invalid(f"unreadable: {type(error).__name__}")


def _bounded(work: Callable[[], SignatureCheck]) -> SignatureCheck:
    """``work()`` in a forked child limited to CHECK_CPU_SECONDS of CPU and CHECK_MEMORY_BYTES
    more memory, its answer pickled back; killed (and the file invalid) past
    CHECK_WALL_SECONDS. pyHanko is imported first, so the child inherits it."""
    import pickle
    import resource
    import select
    import signal

    _import_checker()
    if not hasattr(os, "fork"):
        return _off_any_event_loop(work)
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12 warns of forking a process with threads: the child here only reads
        # the file and writes to its pipe (logging and the import lock are re-made at fork).
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: never returns
        try:
            os.close(read_end)
            logging.disable(logging.CRITICAL)  # hostile files must not fill the logs
            resource.setrlimit(resource.RLIMIT_CPU, (CHECK_CPU_SECONDS, CHECK_CPU_SECONDS + 1))
            limit = _address_space() + CHECK_MEMORY_BYTES
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            answer = pickle.dumps(work())
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(answer)
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    deadline = time.monotonic() + CHECK_WALL_SECONDS
    try:
        with os.fdopen(read_end, "rb") as pipe:
            while (left := deadline - time.monotonic()) > 0:
                if not select.select([pipe], [], [], left)[0]:
                    break
                if not (chunk := os.read(pipe.fileno(), 65536)):
                    break
                chunks.append(chunk)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    try:
        return pickle.loads(b"".join(chunks))  # noqa: S301 - our own child's answer
    except (pickle.UnpicklingError, EOFError, ValueError):
        return _invalid("too costly to read")


def _address_space() -> int:
    """This process's virtual memory size now, in bytes (the child's limit is relative)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[0])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 4 * 1024**3


def _import_checker() -> None:
    for module in ("pyhanko.pdf_utils.reader", "pyhanko.sign.validation", "pyhanko_certvalidator"):
        importlib.import_module(module)


def _check(pdf: bytes, roots: list[Any], timestamp_roots: list[Any]) -> SignatureCheck:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    if reader.xrefs.total_revisions > CHECK_MAX_REVISIONS:
        return _invalid(f"more than {CHECK_MAX_REVISIONS} revisions")
    signatures = reader.embedded_regular_signatures
    if not signatures:
        return SignatureCheck(SignatureState.UNSIGNED)
    if len(signatures) > CHECK_MAX_SIGNATURES:
        return _invalid(f"more than {CHECK_MAX_SIGNATURES} signatures")
    if len(signatures) > 1:
        return _invalid("signed more than once; ours are signed once")
    signature = signatures[0]
    status = validate_pdf_signature(
        signature,
        signer_validation_context=ValidationContext(trust_roots=roots, allow_fetching=False),
        ts_validation_context=ValidationContext(trust_roots=timestamp_roots, allow_fetching=False),
    )
    signer = status.signing_cert.subject.native.get("common_name")
    stamp = status.timestamp_validity
    timestamp = (
        stamp.timestamp if stamp and stamp.intact and stamp.valid and stamp.trusted else None
    )
    details = {
        "signer": signer,
        "signed_at": status.signer_reported_dt,
        "timestamp": timestamp,
    }
    if not (status.intact and status.valid):
        return _invalid("the signature does not match the document", **details)
    if not status.trusted:
        return _invalid("signed by a certificate none of our CAs issued", **details)
    if stamp and not (stamp.intact and stamp.valid):
        return _invalid("the timestamp token is broken", **details)
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    only_lta_after = (
        status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
        and status.docmdp_ok
        and status.modification_level is not None
        and status.modification_level.name == "LTA_UPDATES"
    )
    if not (whole or only_lta_after):
        return _invalid("changed after it was signed", **details)
    return SignatureCheck(SignatureState.VALID, **details)
