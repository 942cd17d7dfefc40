"""RP-initiated logout: back to a registered URI with state, otherwise a page.

The signed-out page is in Japanese unless the client passes ``ui_locales`` (RP-Initiated
Logout 1.0, section 2), as the sign-in page is.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask.testing import FlaskClient

from portal.devidp.views import LAST_PERSONA

from .catalog import ja
from .flow import CLIENT, OTHER_CLIENT, Request, query, sign_in


def _logout(browser: FlaskClient, **params: str):  # noqa: ANN202
    return browser.get("/logout?" + urlencode(params))


def test_logout_redirects_to_a_registered_uri_with_state(browser: FlaskClient) -> None:
    token = sign_in(browser)
    with browser.session_transaction() as session:
        assert session[LAST_PERSONA] == "yamada-taro"
    response = _logout(
        browser,
        id_token_hint=token["id_token"],
        post_logout_redirect_uri=CLIENT["post_logout_redirect_uris"][0],
        state="after-logout",
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(CLIENT["post_logout_redirect_uris"][0])
    assert query(location) == {"state": "after-logout"}
    with browser.session_transaction() as session:
        assert LAST_PERSONA not in session


def test_logout_with_client_id_only_redirects_to_its_registered_uri(browser: FlaskClient) -> None:
    response = _logout(
        browser,
        client_id=CLIENT["client_id"],
        post_logout_redirect_uri=CLIENT["post_logout_redirect_uris"][0],
    )
    assert response.status_code == 302


def test_expired_id_token_hint_is_still_accepted(make_idp) -> None:  # noqa: ANN001
    browser = make_idp(DEVIDP_ID_TOKEN_LIFETIME=-60).test_client()
    token = sign_in(browser)
    response = _logout(
        browser,
        id_token_hint=token["id_token"],
        post_logout_redirect_uri=CLIENT["post_logout_redirect_uris"][0],
    )
    assert response.status_code == 302


def test_unregistered_uri_gets_a_page_not_a_redirect(browser: FlaskClient) -> None:
    token = sign_in(browser)
    for uri in ("https://attacker.example/", OTHER_CLIENT["post_logout_redirect_uris"][0]):
        response = _logout(
            browser, id_token_hint=token["id_token"], post_logout_redirect_uri=uri, ui_locales="en"
        )
        assert response.status_code == 200
        assert "Location" not in response.headers
        html = response.get_data(as_text=True)
        assert "You have signed out" in html
        assert "you were not sent back" in html
        assert 'href="https://attacker' not in html


def test_logout_without_parameters_shows_the_signed_out_page(browser: FlaskClient) -> None:
    response = browser.get("/logout")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="ja">' in html
    assert f"<h1>{ja('You have signed out')}</h1>" in html
    assert ja("You have signed out of the development ID provider.") in html
    assert response.headers["Cache-Control"] == "no-store"


def test_signed_out_page_follows_ui_locales(browser: FlaskClient) -> None:
    html = _logout(browser, ui_locales="en").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "<h1>You have signed out</h1>" in html


def test_forged_id_token_hint_gets_no_redirect(browser: FlaskClient) -> None:
    token = sign_in(browser)
    header, payload, signature = token["id_token"].split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    response = _logout(
        browser,
        id_token_hint=forged,
        post_logout_redirect_uri=CLIENT["post_logout_redirect_uris"][0],
        ui_locales="en",
    )
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "could not be verified" in response.get_data(as_text=True)


def test_client_id_must_match_the_id_token_hint(browser: FlaskClient) -> None:
    token = sign_in(browser, Request(client=OTHER_CLIENT))
    response = _logout(
        browser,
        id_token_hint=token["id_token"],
        client_id=CLIENT["client_id"],
        post_logout_redirect_uri=CLIENT["post_logout_redirect_uris"][0],
    )
    assert response.status_code == 400
    assert "Location" not in response.headers
