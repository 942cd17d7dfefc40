"""Load-test personas: off unless ``DEVIDP_LOAD_PERSONAS`` says how many, each its own
resident (its own ``sub``), signed in through the same form and PIN check as the demo ones."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from portal.devidp.personas import LOAD_PIN

from .flow import Request, decode_id_token, english, exchange, query, submit


def _sign_in(browser, persona: str) -> dict:  # noqa: ANN001
    """The hinted sign-in page, then the form with the persona's PIN, then the token, for the
    scopes the portal asks."""
    request = Request(scope="openid profile address email", extra={"login_hint": persona})
    response = submit(browser, request, None, form={"persona": persona, "pin": LOAD_PIN})
    assert response.status_code == 302, response.get_data(as_text=True)[:600]
    token = exchange(browser, request, query(response.headers["Location"])["code"])
    assert token.status_code == 200
    return decode_id_token(browser, token.get_json()["id_token"]).claims


def test_load_personas_are_off_by_default(idp: Flask) -> None:
    browser = idp.test_client()
    page = browser.get(Request(extra={"login_hint": "load-0001"}).url).get_data(as_text=True)
    assert 'value="load-0001"' not in page
    response = submit(browser, english(), None, form={"persona": "load-0001", "pin": LOAD_PIN})
    assert response.status_code == 200
    assert "Choose the person who is signing in." in response.get_data(as_text=True)


def test_each_load_persona_is_a_resident_of_its_own(make_idp: Callable[..., Flask]) -> None:
    browser = make_idp(DEVIDP_LOAD_PERSONAS=3).test_client()
    first, third = _sign_in(browser, "load-0001"), _sign_in(browser, "load-0003")
    assert first["sub"] != third["sub"]
    assert first["address"]["locality"] == "千代田区"
    assert first["acr"] == "urn:madoguchi:acr:mynumber-card"
    assert _sign_in(browser, "load-0001")["sub"] == first["sub"]
    assert (first["email"], first["email_verified"]) == ("load-0001@load.example.jp", True)
    assert third["email"] == "load-0003@load.example.jp"


@pytest.mark.parametrize("persona", ["load-0004", "load-0000", "load-00001", "load-1"])
def test_only_the_configured_load_personas_sign_in(
    make_idp: Callable[..., Flask], persona: str
) -> None:
    browser = make_idp(DEVIDP_LOAD_PERSONAS=3).test_client()
    response = submit(browser, english(), None, form={"persona": persona, "pin": LOAD_PIN})
    assert response.status_code == 200
    assert "Choose the person who is signing in." in response.get_data(as_text=True)


def test_the_page_lists_the_hinted_load_persona_alone(make_idp: Callable[..., Flask]) -> None:
    browser = make_idp(DEVIDP_LOAD_PERSONAS=500).test_client()
    page = browser.get(Request(extra={"login_hint": "load-0042"}).url).get_data(as_text=True)
    assert 'value="load-0042" required' in page and "checked" in page
    assert "load-0041" not in page and "load-0043" not in page
    assert "load-" not in browser.get(Request().url).get_data(as_text=True)


def test_a_wrong_pin_counts_against_the_load_persona(make_idp: Callable[..., Flask]) -> None:
    browser = make_idp(DEVIDP_LOAD_PERSONAS=2).test_client()
    request = english(extra={"login_hint": "load-0002"})
    response = submit(browser, request, None, form={"persona": "load-0002", "pin": "0000"})
    assert response.status_code == 200
    assert "The PIN is wrong." in response.get_data(as_text=True)


@pytest.mark.parametrize("count", [-1, 100_001])
def test_an_impossible_count_is_refused(make_idp: Callable[..., Flask], count: int) -> None:
    with pytest.raises(ValueError, match="DEVIDP_LOAD_PERSONAS"):
        make_idp(DEVIDP_LOAD_PERSONAS=count)
