"""The authorization code flow end to end, at the provider alone."""

from __future__ import annotations

import base64
import hashlib
import time

from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt

from portal.devidp.personas import ACR_CARD, ACR_LOW

from .flow import (
    CLIENT,
    ISSUER,
    OTHER_CLIENT,
    Request,
    authorize,
    decode_id_token,
    exchange,
    query,
    sign_in,
    submit,
)


def test_code_flow_issues_a_verifiable_id_token(browser: FlaskClient) -> None:
    request = Request()
    token = sign_in(browser, request)

    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 600
    assert "refresh_token" not in token
    id_token = decode_id_token(browser, token["id_token"])
    assert id_token.header["alg"] == "RS256"
    assert id_token.header["kid"] == browser.get("/jwks").get_json()["keys"][0]["kid"]
    claims = id_token.claims
    now = int(time.time())
    assert claims["iss"] == ISSUER
    assert claims["aud"] == CLIENT["client_id"]
    assert claims["nonce"] == request.nonce
    assert claims["acr"] == ACR_CARD
    assert now - 5 <= claims["iat"] <= now
    assert claims["exp"] == claims["iat"] + 300
    assert now - 5 <= claims["auth_time"] <= now
    digest = hashlib.sha256(token["access_token"].encode()).digest()
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    assert claims["name"] == "山田 太郎"
    assert claims["family_name"] == "山田"
    assert claims["given_name"] == "太郎"
    assert claims["name#ja-Kana-JP"] == "ヤマダ タロウ"
    assert claims["family_name#ja-Kana-JP"] == "ヤマダ"
    assert claims["given_name#ja-Kana-JP"] == "タロウ"
    assert claims["birthdate"] == "1985-04-12"
    assert claims["gender"] == "male"
    assert claims["address"] == {
        "formatted": "〒100-0013 東京都千代田区霞が関1丁目3番1号",
        "street_address": "霞が関1丁目3番1号",
        "locality": "千代田区",
        "region": "東京都",
        "postal_code": "100-0013",
        "country": "JP",
    }
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": CLIENT["client_id"]},
        sub={"essential": True},
    ).validate(claims)


def test_claims_follow_the_granted_scopes(browser: FlaskClient) -> None:
    token = sign_in(browser, Request(scope="openid"))
    claims = decode_id_token(browser, token["id_token"]).claims
    assert "name" not in claims
    assert "address" not in claims
    assert claims["sub"]
    assert token["scope"] == "openid"


def test_the_low_level_persona_signs_in_with_the_password_acr(browser: FlaskClient) -> None:
    request = Request(extra={"acr_values": ACR_CARD})
    token = sign_in(browser, request, "suzuki-ichiro")
    assert decode_id_token(browser, token["id_token"]).claims["acr"] == ACR_LOW


def test_subject_is_pairwise_and_stable(browser: FlaskClient) -> None:
    def subject(client: dict[str, object], persona: str = "yamada-taro") -> str:
        token = sign_in(browser, Request(client=client), persona)
        return str(decode_id_token(browser, token["id_token"]).claims["sub"])

    first = subject(CLIENT)
    assert subject(CLIENT) == first
    assert subject(OTHER_CLIENT) != first
    assert subject(CLIENT, "sato-hanako") != first


def test_subject_survives_a_restart(make_idp, browser: FlaskClient) -> None:  # noqa: ANN001
    token = sign_in(browser)
    before = decode_id_token(browser, token["id_token"]).claims["sub"]
    again = make_idp().test_client()
    after = decode_id_token(again, sign_in(again)["id_token"]).claims["sub"]
    assert after == before


def test_client_secret_post_is_accepted(browser: FlaskClient) -> None:
    request = Request()
    response = exchange(browser, request, authorize(browser, request), auth="post")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_wrong_client_secret_is_refused(browser: FlaskClient) -> None:
    request = Request()
    code = authorize(browser, request)
    request.client = {**CLIENT, "client_secret": "wrong"}
    response = exchange(browser, request, code)
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


def test_code_of_another_client_is_refused(browser: FlaskClient) -> None:
    request = Request()
    code = authorize(browser, request)
    stolen = Request(client=OTHER_CLIENT, verifier=request.verifier)
    response = exchange(browser, stolen, code)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"


def test_replayed_code_is_refused_and_revokes_the_first_token(browser: FlaskClient) -> None:
    request = Request()
    code = authorize(browser, request)
    first = exchange(browser, request, code)
    assert first.status_code == 200
    bearer = {"Authorization": f"Bearer {first.get_json()['access_token']}"}
    assert browser.get("/userinfo", headers=bearer).status_code == 200

    replay = exchange(browser, request, code)
    assert replay.status_code == 400
    assert replay.get_json()["error"] == "invalid_grant"
    assert browser.get("/userinfo", headers=bearer).status_code == 401


def test_expired_code_is_refused(idp: Flask, browser: FlaskClient) -> None:
    request = Request()
    code = authorize(browser, request)
    store = idp.extensions["devidp"].store
    store.clock = lambda: time.time() + 61
    response = exchange(browser, request, code)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"


def test_wrong_code_verifier_is_refused(browser: FlaskClient) -> None:
    request = Request()
    code = authorize(browser, request)
    response = exchange(browser, request, code, verifier="x" * 50)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"


def test_token_request_without_code_verifier_is_refused(browser: FlaskClient) -> None:
    request = Request()
    code = authorize(browser, request)
    response = exchange(browser, request, code, verifier="")
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_token_request_with_another_redirect_uri_is_refused(browser: FlaskClient) -> None:
    request = Request()
    code = authorize(browser, request)
    request.extra["redirect_uri"] = CLIENT["redirect_uris"][1]
    response = exchange(browser, request, code)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"


def test_authorization_response_names_the_issuer(browser: FlaskClient) -> None:
    request = Request()
    response = submit(browser, request)
    params = query(response.headers["Location"])
    assert response.headers["Location"].startswith(CLIENT["redirect_uris"][0] + "?")
    assert params["iss"] == ISSUER
    assert params["state"] == request.state
    assert params["code"]


def test_cancel_returns_access_denied_to_the_client(browser: FlaskClient) -> None:
    request = Request()
    response = submit(browser, request, persona=None, action="cancel")
    assert response.status_code == 302
    params = query(response.headers["Location"])
    assert params["error"] == "access_denied"
    assert params["state"] == request.state
    assert params["iss"] == ISSUER
    assert "code" not in params


def test_userinfo_returns_the_claims_for_the_access_token(browser: FlaskClient) -> None:
    token = sign_in(browser, Request(), "sato-hanako")
    id_claims = decode_id_token(browser, token["id_token"]).claims
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    for response in (
        browser.get("/userinfo", headers=headers),
        browser.post("/userinfo", headers=headers),
    ):
        assert response.status_code == 200
        info = response.get_json()
        assert info["sub"] == id_claims["sub"]
        assert info["name"] == "佐藤 花子"
        assert info["name#ja-Kana-JP"] == "サトウ ハナコ"
        assert info["gender"] == "female"
        assert info["address"]["locality"] == "横浜市中区"
        assert "nonce" not in info
        assert response.headers["Cache-Control"] == "no-store"


def test_userinfo_refuses_a_missing_or_unknown_token(browser: FlaskClient) -> None:
    assert browser.get("/userinfo").status_code == 401
    unknown = browser.get("/userinfo", headers={"Authorization": "Bearer nope"})
    assert unknown.status_code == 401
    assert "invalid_token" in unknown.headers["WWW-Authenticate"]


def test_expired_access_token_is_refused(browser: FlaskClient, monkeypatch) -> None:  # noqa: ANN001
    token = sign_in(browser)
    later = time.time() + 601
    monkeypatch.setattr(time, "time", lambda: later)
    response = browser.get(
        "/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert response.status_code == 401


def test_negative_lifetime_gives_an_expired_id_token(make_idp) -> None:  # noqa: ANN001
    browser = make_idp(DEVIDP_ID_TOKEN_LIFETIME=-60).test_client()
    claims = decode_id_token(browser, sign_in(browser)["id_token"]).claims
    assert claims["exp"] < time.time()
    assert claims["exp"] == claims["iat"] - 60


def test_claims_can_be_kept_for_userinfo_only(make_idp) -> None:  # noqa: ANN001
    """As most providers do: the ID token says whom it is about, /userinfo says the rest."""
    browser = make_idp(DEVIDP_CLAIMS_IN_USERINFO_ONLY=True).test_client()
    token = sign_in(browser, Request(), "sato-hanako")
    id_claims = decode_id_token(browser, token["id_token"]).claims
    assert {"name", "birthdate", "address", "family_name#ja-Kana-JP"}.isdisjoint(id_claims)
    assert id_claims["acr"] and id_claims["nonce"]
    info = browser.get(
        "/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}
    ).get_json()
    assert info["sub"] == id_claims["sub"]
    assert info["name"] == "佐藤 花子" and info["address"]["postal_code"] == "231-0021"


def test_workers_share_codes_and_tokens(make_idp) -> None:  # noqa: ANN001
    """Two provider apps on one key directory, as two workers are: a code issued by one is
    redeemed at the other, once only, and its token works at either."""
    first, second = make_idp().test_client(), make_idp().test_client()
    request = Request()
    code = authorize(first, request)
    answer = exchange(second, request, code)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    bearer = {"Authorization": f"Bearer {answer.get_json()['access_token']}"}
    assert first.get("/userinfo", headers=bearer).get_json()["name"] == "山田 太郎"

    assert exchange(first, request, code).status_code == 400  # the replay, at the other worker
    assert second.get("/userinfo", headers=bearer).status_code == 401  # revoked everywhere
