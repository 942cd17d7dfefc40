"""Sign-in with OpenID Connect against the development provider, over real HTTP.

Each way an answer can be forged or broken is refused with its own test.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jws, jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select

from portal.accounts.models import Account
from portal.devidp.keys import rotate_signing_key, signing_key
from portal.extensions import db
from tests.support.people import Person


def rewrite_id_token(
    change: Callable[[dict[str, Any]], None], key: RSAKey
) -> Callable[[bytes], bytes]:
    """A token endpoint answer whose ID token was altered and signed again with ``key``,
    as a forger (another key) or a broken provider (its own key) would send it."""

    def rewrite(body: bytes) -> bytes:
        answer = json.loads(body)
        original = jws.extract_compact(answer["id_token"].encode())  # not verified: a forger's view
        claims = json.loads(original.payload)
        change(claims)
        header = {"alg": "RS256", "kid": original.protected["kid"]}
        answer["id_token"] = jwt.encode(header, claims, key)
        return json.dumps(answer).encode()

    return rewrite


def test_resident_signs_in_and_sees_the_dashboard(app, person, demo) -> None:
    resident = person("yamada-taro")
    authorization_url = resident.start()
    query = parse_qs(urlsplit(authorization_url).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    assert query["nonce"] and query["state"]
    assert query["acr_values"] == ["urn:madoguchi:acr:mynumber-card"]
    assert query["redirect_uri"] == ["http://localhost/auth/callback"]

    callback = resident.authenticate(authorization_url)
    assert "iss=" in callback  # RFC 9207
    response = resident.return_to_portal(callback)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = resident.client.get("/")
    assert "山田 太郎" in page.text and "ヤマダ タロウ" in page.text
    with app.app_context():
        account = db.session.scalar(select(Account).filter_by(display_name="山田 太郎"))
        assert account.issuer == app.config["DEVIDP_ISSUER"]
        assert account.identity["birthdate"] == "1985-04-12"
        assert account.last_acr == "urn:madoguchi:acr:mynumber-card"


def test_a_staff_sign_in_without_a_role_shows_the_account_number_to_grant(
    app, person, demo, runner
) -> None:
    """Not the staff pages' 404: the page says there is no role yet and gives the number an
    admin (or, for a new portal's first admin, README step 8's command) grants it to."""
    resident = person("yamada-taro")
    landed = resident.sign_in("/auth/staff/login").response
    assert landed.status_code == 302 and landed.headers["Location"] == "/auth/staff/no-role"
    page = resident.client.get("/auth/staff/no-role")
    with app.app_context():
        account = db.session.scalar(select(Account).filter_by(display_name="山田 太郎"))
        assert account.roles == []
    assert page.status_code == 200
    assert "スタッフの権限がまだありません" in page.text
    assert f"アカウント番号：{account.id}" in page.text and "山田 太郎" in page.text
    resident.client.set_cookie("madoguchi_lang", "en")
    english = resident.client.get("/auth/staff/no-role")
    assert (
        "You have no staff role yet" in english.text
        and f"Account number: {account.id}" in english.text
    )

    granted = runner.invoke(
        args=["staff", "grant", "admin", "--account", str(account.id), "--portal"]
    )
    assert granted.exit_code == 0, granted.output
    again = resident.client.get("/auth/staff/no-role")
    assert again.status_code == 302 and again.headers["Location"] == "/staff/"
    assert resident.client.get("/staff/").status_code == 200


def test_staff_with_a_role_land_on_their_home(person, demo) -> None:
    clerk = person("tanaka-jiro")
    landed = clerk.sign_in("/auth/staff/login").response
    assert landed.status_code == 302 and landed.headers["Location"] == "/staff/"


def test_second_sign_in_finds_the_same_account(app, person, demo) -> None:
    resident = person("sato-hanako")
    resident.sign_in()
    resident.sign_out()
    resident.sign_in()
    with app.app_context():
        assert (
            len(db.session.scalars(select(Account).filter_by(display_name="佐藤 花子")).all()) == 1
        )


def test_next_is_honoured_for_local_paths(person, demo) -> None:
    resident = person("yamada-taro")
    signed_in = resident.sign_in("/auth/login?next=/staff/")
    assert signed_in.response.headers["Location"] == "/staff/"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_next_never_leads_off_site(person, demo, target: str) -> None:
    resident = person("yamada-taro")
    signed_in = resident.sign_in(f"/auth/login?next={target}")
    assert signed_in.response.headers["Location"] == "/"


def test_sign_in_starts_a_new_session(person, demo) -> None:
    resident = person("yamada-taro")
    with resident.client.session_transaction() as session:
        session["planted"] = "by someone else"
    resident.sign_in()
    with resident.client.session_transaction() as session:
        assert "planted" not in session


def test_sign_out_clears_the_session_and_ends_at_the_provider(person, demo, provider) -> None:
    resident = person("yamada-taro")
    resident.sign_in()
    response = resident.sign_out()
    assert response.status_code == 302
    logout = urlsplit(response.headers["Location"])
    assert f"{logout.scheme}://{logout.netloc}" == provider.issuer
    params = parse_qs(logout.query)
    assert params["post_logout_redirect_uri"] == ["http://localhost/"]
    assert params["id_token_hint"]
    ended = resident.browser.get(response.headers["Location"], allow_redirects=False, timeout=10)
    assert ended.status_code == 302 and ended.headers["Location"].startswith("http://localhost/")
    assert "山田 太郎" not in resident.client.get("/").text
    with resident.client.session_transaction() as session:
        assert "_user_id" not in session


def test_too_low_assurance_is_refused_with_a_way_forward(app, person, demo) -> None:
    without_card = person("suzuki-ichiro")
    signed_in = without_card.sign_in()
    assert signed_in.response.status_code == 403
    assert "/auth/login" in signed_in.response.text
    assert "鈴木 一郎" not in without_card.client.get("/").text
    with app.app_context():
        assert (
            db.session.scalars(select(Account).where(Account.last_signed_in_at.is_not(None))).all()
            == []
        )


def test_wrong_state_is_refused(app, person, demo) -> None:
    resident = person("yamada-taro")
    callback = resident.authenticate(resident.start())
    forged = callback.replace("state=", "state=forged")
    assert resident.return_to_portal(forged).status_code == 400
    with app.app_context():
        assert (
            db.session.scalars(select(Account).where(Account.last_signed_in_at.is_not(None))).all()
            == []
        )


def test_callback_used_twice_is_refused(person, demo) -> None:
    resident = person("yamada-taro")
    signed_in = resident.sign_in()
    assert signed_in.response.status_code == 302
    resident.sign_out()
    assert resident.return_to_portal(signed_in.callback).status_code == 400


def test_replayed_code_is_refused_by_the_provider(person, demo) -> None:
    resident = person("yamada-taro")
    first = resident.sign_in()
    resident.sign_out()
    # A fresh sign-in gives a fresh state; the old code with it must still be refused.
    fresh = resident.authenticate(resident.start())
    fresh_state = parse_qs(urlsplit(fresh).query)["state"][0]
    old = first.callback_params
    replay = f"/auth/callback?code={old['code']}&state={fresh_state}&iss={old['iss']}"
    response = resident.client.get(replay)
    assert response.status_code == 400
    assert "山田 太郎" not in resident.client.get("/").text


def test_wrong_nonce_is_refused(person, demo) -> None:
    resident = person("yamada-taro")
    authorization_url = resident.start()
    tampered = authorization_url.replace("nonce=", "nonce=other")
    assert resident.return_to_portal(resident.authenticate(tampered)).status_code == 400


def test_wrong_issuer_parameter_is_refused(person, demo) -> None:
    resident = person("yamada-taro")
    callback = resident.authenticate(resident.start())
    mixed_up = callback.replace("iss=", "iss=https%3A%2F%2Fother-provider.example&was=")
    assert resident.return_to_portal(mixed_up).status_code == 400


def test_token_signed_by_another_key_is_refused(person, provider, demo) -> None:
    attacker_key = RSAKey.generate_key(2048)
    provider.tamper.rewrite["/token"] = rewrite_id_token(lambda claims: None, attacker_key)
    assert person("yamada-taro").sign_in().response.status_code == 400


def test_expired_token_is_refused(person, provider, demo) -> None:
    def expire(claims: dict[str, Any]) -> None:
        claims["iat"] = int(time.time()) - 3600
        claims["exp"] = int(time.time()) - 1800

    provider.tamper.rewrite["/token"] = rewrite_id_token(expire, signing_key(provider.key_dir))
    assert person("yamada-taro").sign_in().response.status_code == 400


def test_token_from_another_issuer_is_refused(person, provider, demo) -> None:
    def other_issuer(claims: dict[str, Any]) -> None:
        claims["iss"] = "https://other-provider.example"

    provider.tamper.rewrite["/token"] = rewrite_id_token(
        other_issuer, signing_key(provider.key_dir)
    )
    assert person("yamada-taro").sign_in().response.status_code == 400


def test_token_for_another_client_is_refused(person, provider, demo) -> None:
    def other_audience(claims: dict[str, Any]) -> None:
        claims["aud"] = "another-portal"

    provider.tamper.rewrite["/token"] = rewrite_id_token(
        other_audience, signing_key(provider.key_dir)
    )
    assert person("yamada-taro").sign_in().response.status_code == 400


def test_untampered_rewrite_still_signs_in(person, provider, demo) -> None:
    """The tampering harness itself does not break an honest answer."""
    provider.tamper.rewrite["/token"] = rewrite_id_token(
        lambda claims: None, signing_key(provider.key_dir)
    )
    assert person("yamada-taro").sign_in().response.status_code == 302


def test_provider_key_rotation_is_followed(person, provider, demo) -> None:
    first = person("yamada-taro")
    assert first.sign_in().response.status_code == 302  # the portal has cached the JWKS now
    rotate_signing_key(provider.key_dir)
    second = person("sato-hanako")
    assert second.sign_in().response.status_code == 302


def test_cancelled_sign_in_says_so(person, demo) -> None:
    resident = person("yamada-taro")
    resident.start()
    response = resident.client.get("/auth/callback?error=access_denied&state=x")
    assert response.status_code == 400
    assert "/auth/login" in response.text


def test_unreachable_provider_gets_a_page_not_an_error(provider) -> None:
    from portal import create_app
    from tests.support.servers import free_port

    app = create_app({"TESTING": True, "DEVIDP_ISSUER": f"http://127.0.0.1:{free_port()}"})
    response = app.test_client().get("/auth/login")
    assert response.status_code == 503
    assert "認証サービスにつながりませんでした" in response.text


def test_signing_out_ends_the_session_everywhere(app, person, demo) -> None:
    phone = person("yamada-taro")
    phone.sign_in()
    copied = phone.client.get_cookie("madoguchi_session").value
    computer = app.test_client()
    Person(computer, "yamada-taro").sign_in()
    assert "山田 太郎" in computer.get("/").text

    phone.sign_out()
    thief = app.test_client()
    thief.set_cookie("madoguchi_session", copied)
    assert "山田 太郎" not in thief.get("/").text  # the copied cookie no longer works
    assert "山田 太郎" not in computer.get("/").text  # nor the other device's session

    again = Person(phone.client, "yamada-taro").sign_in()  # signing in again works at once
    assert again.response.status_code == 302
    assert "山田 太郎" in phone.client.get("/").text
