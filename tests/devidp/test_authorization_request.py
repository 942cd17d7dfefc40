"""Bad authorization requests: a page when the client cannot be trusted, else an error redirect.

The error pages follow ``ui_locales`` like the sign-in page: Japanese unless it asks for English.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from .catalog import ja
from .flow import CLIENT, ISSUER, Request, authorize, csrf_token, english, query


def _error_page(browser: FlaskClient, request: Request) -> str:
    response = browser.get(request.url)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_data(as_text=True)


def test_unknown_redirect_uri_shows_an_error_and_does_not_redirect(browser: FlaskClient) -> None:
    html = _error_page(browser, english(extra={"redirect_uri": "https://attacker.example/cb"}))
    assert "not registered for this service" in html
    assert 'href="https://attacker.example' not in html


def test_redirect_uri_must_match_exactly(browser: FlaskClient) -> None:
    _error_page(browser, Request(extra={"redirect_uri": CLIENT["redirect_uris"][0] + "/"}))
    _error_page(browser, Request(extra={"redirect_uri": CLIENT["redirect_uris"][0] + "?x=1"}))


def test_missing_redirect_uri_shows_an_error(browser: FlaskClient) -> None:
    _error_page(browser, Request(omit=("redirect_uri",)))


def test_unknown_client_shows_an_error_and_does_not_redirect(browser: FlaskClient) -> None:
    unknown = {**CLIENT, "client_id": "no-such-client"}
    html = _error_page(browser, Request(client=unknown))
    # No ui_locales: the page is in Japanese, only the technical details stay in English.
    assert '<html lang="ja">' in html
    assert ja("This sign-in request cannot be used") in html
    assert ja("The service that sent you here is not registered with this ID provider.") in html
    assert "invalid_client" in html

    html = _error_page(browser, english(client=unknown))
    assert "not registered with this ID provider" in html


def test_post_with_unregistered_redirect_uri_does_not_redirect(browser: FlaskClient) -> None:
    """Tampering with the pending request between the page and the POST changes nothing."""
    good = Request()
    page = browser.get(good.url).get_data(as_text=True)
    bad = Request(extra={"redirect_uri": "https://attacker.example/cb"})
    response = browser.post(
        bad.url, data={"csrf_token": csrf_token(page), "persona": "yamada-taro", "pin": "1234"}
    )
    assert response.status_code == 400
    assert "Location" not in response.headers


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        (Request(omit=("code_challenge", "code_challenge_method")), "invalid_request"),
        (Request(omit=("code_challenge_method",)), "invalid_request"),
        (Request(extra={"code_challenge_method": "plain"}), "invalid_request"),
        (Request(extra={"code_challenge": "short"}), "invalid_request"),
        (Request(omit=("nonce",)), "invalid_request"),
        (Request(scope="profile address"), "invalid_scope"),
        (Request(scope="openid phone"), "invalid_scope"),
        (Request(extra={"response_type": "token"}), "unsupported_response_type"),
        (Request(extra={"prompt": "none"}), "login_required"),
    ],
    ids=[
        "no-pkce",
        "no-pkce-method",
        "plain-pkce",
        "malformed-challenge",
        "no-nonce",
        "no-openid-scope",
        "unknown-scope",
        "implicit",
        "prompt-none",
    ],
)
def test_invalid_requests_are_refused_to_the_client(
    browser: FlaskClient, request_: Request, error: str
) -> None:
    response = browser.get(request_.url)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(request_.redirect_uri + "?")
    params = query(location)
    assert params["error"] == error
    assert params["state"] == request_.state
    assert params["iss"] == ISSUER
    assert "code" not in params


def test_reused_nonce_is_refused(browser: FlaskClient) -> None:
    first = Request()
    authorize(browser, first)
    replay = Request(nonce=first.nonce)
    response = browser.get(replay.url)
    assert query(response.headers["Location"])["error"] == "invalid_request"


def test_post_without_csrf_token_is_refused(browser: FlaskClient) -> None:
    request = english()
    browser.get(request.url)
    response = browser.post(request.url, data={"persona": "yamada-taro", "pin": "1234"})
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "This page has expired" in response.get_data(as_text=True)
