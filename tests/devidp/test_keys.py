"""Keys on disk, rotation, pairwise subjects and the command line."""

from __future__ import annotations

import stat
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from joserfc.jwk import RSAKey

from portal.devidp.keys import (
    SALT_FILE,
    ensure_keys,
    pairwise_salt,
    public_jwks,
    rotate_signing_key,
    signing_key,
)
from portal.devidp.subjects import pairwise_subject, subject_for

from .flow import CLIENT, OTHER_CLIENT, Request, decode_id_token, sign_in


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ensure_keys_creates_private_files_once(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    kids = ensure_keys(key_dir)
    assert len(kids) == 1
    (pem,) = key_dir.glob("signing-*.pem")
    assert _mode(pem) == 0o600
    assert _mode(key_dir / SALT_FILE) == 0o600
    assert _mode(key_dir) == 0o700
    salt = pairwise_salt(key_dir)
    assert len(salt) == 32

    assert ensure_keys(key_dir) == kids
    assert list(key_dir.glob("signing-*.pem")) == [pem]
    assert pairwise_salt(key_dir) == salt
    assert not list(key_dir.glob(".*tmp"))


def test_signing_key_is_rsa_2048_with_thumbprint_kid(key_dir: Path) -> None:
    key = signing_key(key_dir)
    assert isinstance(key, RSAKey)
    assert key.is_private
    assert key.raw_value.key_size == 2048
    assert key.kid == key.thumbprint()
    assert key.alg == "RS256"


def test_rotation_signs_with_the_new_key_and_publishes_both(key_dir: Path) -> None:
    old = signing_key(key_dir).kid
    new = rotate_signing_key(key_dir)
    assert new != old
    assert signing_key(key_dir).kid == new
    assert [key["kid"] for key in public_jwks(key_dir)["keys"]] == [new, old]

    newest = rotate_signing_key(key_dir)
    assert [key["kid"] for key in public_jwks(key_dir)["keys"]] == [newest, new]
    assert len(list(key_dir.glob("signing-*.pem"))) == 3


def test_rotation_while_running(browser: FlaskClient, key_dir: Path) -> None:
    before = sign_in(browser)
    old_kid = decode_id_token(browser, before["id_token"]).header["kid"]

    new_kid = rotate_signing_key(key_dir)
    after = sign_in(browser)
    assert decode_id_token(browser, after["id_token"]).header["kid"] == new_kid
    jwks = browser.get("/jwks").get_json()
    assert [key["kid"] for key in jwks["keys"]] == [new_kid, old_kid]
    # A token signed just before the rotation still verifies against the published set.
    assert decode_id_token(browser, before["id_token"]).claims["sub"]


def test_keys_are_created_on_first_use(make_idp, tmp_path: Path) -> None:  # noqa: ANN001
    empty = tmp_path / "fresh"
    browser = make_idp(DEVIDP_KEY_DIR=str(empty)).test_client()
    assert len(browser.get("/jwks").get_json()["keys"]) == 1
    assert sign_in(browser)["id_token"]


def test_pairwise_subject() -> None:
    salt = b"s" * 32
    subject = pairwise_subject("yamada-taro", "madoguchi-portal", salt)
    assert subject == pairwise_subject("yamada-taro", "madoguchi-portal", salt)
    assert subject != pairwise_subject("yamada-taro", "other", salt)
    assert subject != pairwise_subject("sato-hanako", "madoguchi-portal", salt)
    assert subject != pairwise_subject("yamada-taro", "madoguchi-portal", b"t" * 32)
    assert len(subject) == 43
    assert "=" not in subject
    assert set(subject) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_subject_for_matches_the_id_token(browser: FlaskClient, key_dir: Path) -> None:
    for client in (CLIENT, OTHER_CLIENT):
        token = sign_in(browser, Request(client=client), "tanaka-jiro")
        claims = decode_id_token(browser, token["id_token"]).claims
        assert claims["sub"] == subject_for(key_dir, "tanaka-jiro", client["client_id"])


def test_cli_init_keys_rotate_and_subject(idp: Flask, key_dir: Path) -> None:
    runner = idp.test_cli_runner()
    result = runner.invoke(args=["init-keys"])
    assert result.exit_code == 0, result.output
    kid = signing_key(key_dir).kid
    assert kid in result.output
    assert runner.invoke(args=["init-keys"]).exit_code == 0
    assert signing_key(key_dir).kid == kid

    result = runner.invoke(args=["rotate-key"])
    assert result.exit_code == 0, result.output
    assert signing_key(key_dir).kid != kid
    assert signing_key(key_dir).kid in result.output

    result = runner.invoke(args=["subject", "ito-ken", "--client", "other-service"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == subject_for(key_dir, "ito-ken", "other-service")
    result = runner.invoke(args=["subject", "ito-ken"])
    assert result.output.strip() == subject_for(key_dir, "ito-ken", "madoguchi-portal")


def test_cli_subject_refuses_unknown_names(idp: Flask) -> None:
    runner = idp.test_cli_runner()
    result = runner.invoke(args=["subject", "nobody"])
    assert result.exit_code == 2
    assert "unknown persona" in result.output
    result = runner.invoke(args=["subject", "ito-ken", "--client", "nope"])
    assert result.exit_code == 2
    assert "not a configured client" in result.output
