"""Discovery, JWKS, settings, security headers and the refusal to run in production."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.devidp import create_app
from portal.devidp.keys import public_jwks
from portal.devidp.personas import ACR_CARD, ACR_LOW

from .flow import ISSUER, Request


def test_discovery_document(browser: FlaskClient) -> None:
    response = browser.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    metadata = response.get_json()
    # Built from DEVIDP_ISSUER, not from the host the request came to (localhost here).
    assert metadata["issuer"] == ISSUER
    assert metadata["authorization_endpoint"] == f"{ISSUER}/authorize"
    assert metadata["token_endpoint"] == f"{ISSUER}/token"
    assert metadata["userinfo_endpoint"] == f"{ISSUER}/userinfo"
    assert metadata["jwks_uri"] == f"{ISSUER}/jwks"
    assert metadata["end_session_endpoint"] == f"{ISSUER}/logout"
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["grant_types_supported"] == ["authorization_code"]
    assert metadata["subject_types_supported"] == ["pairwise"]
    assert metadata["id_token_signing_alg_values_supported"] == ["RS256"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["scopes_supported"] == ["openid", "profile", "address", "email"]
    assert metadata["acr_values_supported"] == [ACR_CARD, ACR_LOW]
    assert metadata["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
    ]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert metadata["ui_locales_supported"] == ["ja", "en"]
    for claim in ("sub", "acr", "nonce", "name#ja-Kana-JP", "birthdate", "gender", "address"):
        assert claim in metadata["claims_supported"]


def test_issuer_trailing_slash_is_dropped(make_idp) -> None:  # noqa: ANN001
    browser = make_idp(DEVIDP_ISSUER="http://127.0.0.1:5001/").test_client()
    metadata = browser.get("/.well-known/openid-configuration").get_json()
    assert metadata["issuer"] == "http://127.0.0.1:5001"
    assert metadata["jwks_uri"] == "http://127.0.0.1:5001/jwks"


def test_jwks_publishes_public_keys_only(browser: FlaskClient, key_dir) -> None:  # noqa: ANN001
    jwks = browser.get("/jwks").get_json()
    assert jwks == public_jwks(key_dir)
    (key,) = jwks["keys"]
    assert key["kty"] == "RSA"
    assert key["alg"] == "RS256"
    assert key["use"] == "sig"
    assert key["kid"]
    assert {"n", "e"} <= set(key)
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


def test_security_headers_on_every_response(browser: FlaskClient) -> None:
    for path in ("/", "/jwks", Request().url, "/logout", "/no-such-page"):
        response = browser.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp
        assert "script-src 'self'" in csp
        assert "style-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "base-uri 'none'" in csp
        assert csp.endswith(
            "form-action 'self' http://127.0.0.1:5000 http://localhost:5000 http://localhost:6000"
        )
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_no_store_on_authorize_and_token(browser: FlaskClient) -> None:
    assert browser.get(Request().url).headers["Cache-Control"] == "no-store"
    assert browser.post("/token").headers["Cache-Control"] == "no-store"
    assert "no-store" not in browser.get("/.well-known/openid-configuration").headers.get(
        "Cache-Control", ""
    )


def test_session_cookie_is_the_providers_own(idp: Flask, browser: FlaskClient) -> None:
    assert idp.config["SESSION_COOKIE_NAME"] == "devidp_session"
    response = browser.get(Request().url)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("devidp_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_refuses_to_start_in_production(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(RuntimeError, match="must never run in production"):
        create_app({"ENV": "production", "DEVIDP_KEY_DIR": str(tmp_path / "keys")})
    assert not (tmp_path / "keys").exists()


def test_refuses_production_from_the_environment(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("PORTAL_ENV", "production")
    with pytest.raises(RuntimeError, match="must never run in production"):
        create_app({"DEVIDP_KEY_DIR": str(tmp_path)})


def test_environment_settings_are_read(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("PORTAL_DEVIDP_ID_TOKEN_LIFETIME", "42")
    monkeypatch.setenv("PORTAL_DEVIDP_ISSUER", "http://127.0.0.1:7001")
    app = create_app({"DEVIDP_KEY_DIR": str(tmp_path)})
    assert app.config["DEVIDP_ID_TOKEN_LIFETIME"] == 42
    assert app.config["DEVIDP_ISSUER"] == "http://127.0.0.1:7001"
    monkeypatch.setenv(
        "PORTAL_DEVIDP_CLIENTS",
        '[{"client_id": "x", "client_secret": "y", "redirect_uris": ["http://localhost:8/cb"]}]',
    )
    app = create_app({"DEVIDP_KEY_DIR": str(tmp_path)})
    assert app.config["DEVIDP_CLIENTS"][0]["client_id"] == "x"
    assert app.extensions["devidp"].clients.get("x").client_name == "x"
    # The argument wins over the environment.
    app = create_app({"DEVIDP_KEY_DIR": str(tmp_path), "DEVIDP_ID_TOKEN_LIFETIME": 7})
    assert app.config["DEVIDP_ID_TOKEN_LIFETIME"] == 7


@pytest.mark.parametrize(("value", "meaning"), [("true", True), ("1", True), ("false", False)])
def test_claims_in_userinfo_only_from_the_environment(
    tmp_path, monkeypatch, value: str, meaning: bool
) -> None:  # noqa: ANN001
    monkeypatch.setenv("PORTAL_DEVIDP_CLAIMS_IN_USERINFO_ONLY", value)
    app = create_app({"DEVIDP_KEY_DIR": str(tmp_path)})
    assert app.extensions["devidp"].claims_in_userinfo_only is meaning


def test_claims_in_userinfo_only_refuses_nonsense(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match="DEVIDP_CLAIMS_IN_USERINFO_ONLY"):
        create_app({"DEVIDP_KEY_DIR": str(tmp_path), "DEVIDP_CLAIMS_IN_USERINFO_ONLY": "maybe"})


def test_defaults(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    app = create_app()
    assert app.config["DEVIDP_KEY_DIR"] == str(tmp_path / "devidp")
    assert app.config["DEVIDP_ISSUER"] == "http://127.0.0.1:5001"
    (client,) = app.config["DEVIDP_CLIENTS"]
    assert client["client_id"] == "madoguchi-portal"
    assert client["client_secret"] == "madoguchi-development-secret"
    assert client["redirect_uris"] == [
        "http://127.0.0.1:5000/auth/callback",
        "http://localhost:5000/auth/callback",
    ]
    assert client["post_logout_redirect_uris"] == [
        "http://127.0.0.1:5000/",
        "http://localhost:5000/",
    ]
    assert app.config["DEVIDP_PIN_ATTEMPTS"] == 3
    assert app.config["DEVIDP_LOCK_SECONDS"] == 900
    assert app.config["DEVIDP_ID_TOKEN_LIFETIME"] == 300
    assert app.config["DEVIDP_CLAIMS_IN_USERINFO_ONLY"] is False


def test_secret_key_is_generated_once_and_reused(tmp_path) -> None:  # noqa: ANN001
    first = create_app({"DEVIDP_KEY_DIR": str(tmp_path)})
    second = create_app({"DEVIDP_KEY_DIR": str(tmp_path)})
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 32
    assert (tmp_path / "secret-key").stat().st_mode & 0o777 == 0o600
    given = create_app({"DEVIDP_KEY_DIR": str(tmp_path), "SECRET_KEY": "given"})
    assert given.config["SECRET_KEY"] == "given"


@pytest.mark.parametrize(
    "clients",
    [
        [],
        [{"client_id": "a", "client_secret": "s"}],
        [{"client_id": "a", "redirect_uris": ["http://localhost/cb"]}],
        [
            {"client_id": "a", "client_secret": "s", "redirect_uris": ["http://localhost/cb"]},
            {"client_id": "a", "client_secret": "t", "redirect_uris": ["http://localhost/cb"]},
        ],
    ],
)
def test_bad_client_settings_fail_at_start(tmp_path, clients) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match="DEVIDP_CLIENTS"):
        create_app({"DEVIDP_KEY_DIR": str(tmp_path), "DEVIDP_CLIENTS": clients})


def test_the_portal_is_registered_where_make_run_serves_it(tmp_path) -> None:  # noqa: ANN001
    app = create_app(
        {"DEVIDP_KEY_DIR": str(tmp_path), "DEVIDP_PORTAL_URL": "http://127.0.0.1:8000/"}
    )
    client = app.extensions["devidp"].clients.get("madoguchi-portal")
    assert client.check_redirect_uri("http://127.0.0.1:8000/auth/callback")
    assert client.check_redirect_uri("http://localhost:8000/auth/callback")
    assert not client.check_redirect_uri("http://127.0.0.1:5000/auth/callback")
    assert client.post_logout_redirect_uris == ("http://127.0.0.1:8000/", "http://localhost:8000/")
