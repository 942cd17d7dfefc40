"""Production refuses signing keys that must not sign certificates, and says which file and why;
any deployment refuses a signing level or TSA setting that cannot work."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from portal import create_app
from portal.certificates import signing
from portal.config import UnsafeConfiguration
from tests.certificates.pki import CA
from tests.test_config import SAFE_PRODUCTION

CHIYODA = SimpleNamespace(code="131016", names={"ja": "東京都千代田区", "en": "Chiyoda City"})


def refusal(key_dir: Path, **settings: str) -> str:
    with pytest.raises(UnsafeConfiguration) as refused:
        create_app({**SAFE_PRODUCTION, "SIGNING_KEY_DIR": str(key_dir), **settings})
    return str(refused.value)


def test_production_starts_with_a_municipality_s_own_keys(tmp_path: Path) -> None:
    ca = CA.make()
    ca.write_pkcs12(tmp_path / "131016.p12", passphrase="from the vault")
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca.write_pkcs12(tmp_path / "141003.p12", key=rsa_key, passphrase="from the vault")
    app = create_app(
        {
            **SAFE_PRODUCTION,
            "SIGNING_KEY_DIR": str(tmp_path),
            "SIGNING_KEY_PASSPHRASE": "from the vault",
        }
    )
    assert app.config["SIGNING_KEY_DIR"] == str(tmp_path)


def test_production_refuses_the_demo_ca(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    signing.ensure_demo_keys(demo, [CHIYODA])
    assert "holds the demo CA" in refusal(demo)

    copied = tmp_path / "copied"  # the demo key alone, without the demo CA beside it
    copied.mkdir()
    shutil.copy(demo / "131016.p12", copied / "131016.p12")
    assert "PORTAL_SIGNING_KEY_DIR: 131016.p12: issued by the demo CA" in refusal(copied)


def test_production_refuses_no_keys_at_all(tmp_path: Path) -> None:
    assert "no <local government code>.p12 file" in refusal(tmp_path / "missing")
    assert "no <local government code>.p12 file" in refusal(tmp_path)


def test_production_refuses_a_file_it_cannot_open(tmp_path: Path) -> None:
    CA.make().write_pkcs12(tmp_path / "131016.p12", passphrase="right")
    (tmp_path / "141003.p12").write_bytes(b"not a PKCS#12 file")
    message = refusal(tmp_path, SIGNING_KEY_PASSPHRASE="wrong")
    assert "131016.p12: not a PKCS#12 file, or PORTAL_SIGNING_KEY_PASSPHRASE" in message
    assert "141003.p12: not a PKCS#12 file" in message


def test_production_refuses_an_expired_or_not_yet_valid_certificate(tmp_path: Path) -> None:
    from datetime import timedelta

    ca = CA.make()
    ca.write_pkcs12(tmp_path / "131016.p12", starts=timedelta(days=-400))
    ca.write_pkcs12(tmp_path / "141003.p12", starts=timedelta(days=10))
    message = refusal(tmp_path)
    assert "131016.p12: the certificate expired on" in message
    assert "141003.p12: the certificate is valid only from" in message


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (lambda: rsa.generate_private_key(public_exponent=65537, key_size=1024), "1024 bits"),
        (lambda: ec.generate_private_key(ec.SECP224R1()), "secp224r1"),
        (lambda: ec.generate_private_key(ec.SECP256K1()), "secp256k1"),
    ],
)
def test_production_refuses_a_weak_key(tmp_path: Path, key, problem: str) -> None:  # noqa: ANN001
    CA.make().write_pkcs12(tmp_path / "131016.p12", key=key())
    assert problem in refusal(tmp_path)


def test_a_signing_level_or_tsa_that_cannot_work_is_refused_everywhere(tmp_path: Path) -> None:
    with pytest.raises(UnsafeConfiguration, match="PORTAL_SIGNING_PADES_LEVEL: 'B-LT'"):
        create_app({"SIGNING_PADES_LEVEL": "B-LT"})
    with pytest.raises(UnsafeConfiguration, match="PORTAL_SIGNING_TSA_URL"):
        create_app({"SIGNING_TSA_URL": "tsa.example.jp"})
    (tmp_path / "roots.pem").write_text("not a certificate")
    with pytest.raises(UnsafeConfiguration, match="PORTAL_SIGNING_TSA_ROOTS: .* not PEM"):
        create_app({"SIGNING_TSA_ROOTS": str(tmp_path / "roots.pem")})
    with pytest.raises(UnsafeConfiguration, match="PORTAL_SIGNING_TSA_ROOTS: .* cannot be read"):
        create_app({"SIGNING_TSA_ROOTS": str(tmp_path / "missing.pem")})


def test_the_key_folder_defaults_to_the_instance_folder() -> None:
    app = create_app()
    assert app.config["SIGNING_KEY_DIR"] == str(Path(app.instance_path) / "signing")


def test_production_refuses_an_unencrypted_key_others_can_read(tmp_path: Path) -> None:
    path = CA.make().write_pkcs12(tmp_path / "131016.p12")
    path.chmod(0o644)
    assert "131016.p12: not encrypted and readable by other users" in refusal(tmp_path)
    path.chmod(0o600)
    create_app({**SAFE_PRODUCTION, "SIGNING_KEY_DIR": str(tmp_path)})
