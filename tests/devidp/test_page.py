"""The sign-in page: language, what it says, accessibility hooks, no inline code.

Tests of what the page says read it in English (``ui_locales=en``); the Japanese default has
tests of its own.
"""

from __future__ import annotations

import re

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from flask.testing import FlaskClient

from portal.devidp.personas import ACR_CARD, PERSONAS

from .catalog import ja
from .flow import Request, english, sign_in, submit


def _page(browser: FlaskClient, request: Request | None = None) -> str:
    response = browser.get((request or Request()).url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("ui_locales", "language"),
    [(None, "ja"), ("ja", "ja"), ("en", "en"), ("en-US ja", "en"), ("fr en", "en"), ("fr", "ja")],
)
def test_language_follows_ui_locales(
    browser: FlaskClient, ui_locales: str | None, language: str
) -> None:
    extra = {"ui_locales": ui_locales} if ui_locales else {}
    html = _page(browser, Request(extra=extra))
    assert f'<html lang="{language}">' in html
    other = "en" if language == "ja" else "ja"
    assert re.search(rf'href="[^"]*ui_locales={other}" lang="{other}"', html)


def test_language_is_kept_on_the_posted_page(browser: FlaskClient) -> None:
    response = submit(browser, Request(extra={"ui_locales": "en"}), "yamada-taro", pin="0000")
    assert '<html lang="en">' in response.get_data(as_text=True)


def test_error_page_follows_ui_locales(browser: FlaskClient) -> None:
    request = Request(extra={"redirect_uri": "https://attacker.example/", "ui_locales": "en"})
    assert '<html lang="en">' in browser.get(request.url).get_data(as_text=True)


def test_page_says_it_is_a_development_stand_in(browser: FlaskClient) -> None:
    html = _page(browser, english())
    assert "For development and testing only" in html
    assert "stands in for the My Number card" in html
    assert "“Madoguchi” asks you to sign in." in html


def test_every_persona_is_a_labelled_radio_in_a_fieldset(browser: FlaskClient) -> None:
    html = _page(browser, english())
    assert re.search(r"<fieldset[^>]*>\s*<legend", html)
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "every id on the page is unique"
    for number, persona in enumerate(PERSONAS):
        input_id = "persona" if number == 0 else f"persona-{number}"
        assert re.search(
            rf'<input type="radio" id="{input_id}" name="persona" value="{persona.id}" required'
            rf'\s+aria-describedby="{input_id}-description"',
            html,
        )
        assert f'<label for="{input_id}">' in html
        assert f'id="{input_id}-description"' in html
        assert persona.name in html
        assert persona.name_kana in html
        assert persona.description_en.replace("'", "&#39;") in html
    assert html.count("Signs in with the My Number card") == 8
    assert html.count("Signs in without the card (password level)") == 1


def test_english_page_describes_personas_in_english(browser: FlaskClient) -> None:
    html = _page(browser, Request(extra={"ui_locales": "en"}))
    for persona in PERSONAS:
        assert persona.description_en.replace("'", "&#39;") in html


def test_pin_field(browser: FlaskClient) -> None:
    html = _page(browser)
    assert '<label class="label" for="pin">' in html
    (field,) = re.findall(r"<input[^>]*id=\"pin\"[^>]*>", html)
    for attribute in (
        'type="password"',
        'inputmode="numeric"',
        'autocomplete="off"',
        'pattern="[0-9]{4}"',
        'maxlength="4"',
        'aria-describedby="pin-hint"',
        "required",
    ):
        assert attribute in field


def test_buttons(browser: FlaskClient) -> None:
    html = _page(browser, english())
    assert re.search(r'<button type="submit" class="button button--primary">Sign in</button>', html)
    assert re.search(
        r'<button type="submit" class="button button--secondary" name="action" value="cancel"'
        r' formnovalidate="formnovalidate">',
        html,
    )


def test_no_inline_script_or_style_and_no_external_assets(browser: FlaskClient) -> None:
    html = _page(browser)
    assert "<script" not in html
    assert "<style" not in html
    assert " style=" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    for href in re.findall(r'<link rel="stylesheet" href="([^"]+)"', html):
        response = browser.get(href)
        assert response.status_code == 200
        assert response.mimetype == "text/css"
        response.close()


def test_login_hint_preselects_a_persona(browser: FlaskClient) -> None:
    html = _page(browser, Request(extra={"login_hint": "ito-ken"}))
    assert re.search(r'value="ito-ken"[^>]*checked', html)
    assert html.count(" checked") == 1


def test_last_persona_is_preselected(browser: FlaskClient) -> None:
    sign_in(browser, persona="sato-hanako")
    assert re.search(r'value="sato-hanako"[^>]*checked', _page(browser))


def test_below_requested_level_is_pointed_out(browser: FlaskClient) -> None:
    html = _page(browser, english(extra={"acr_values": ACR_CARD}))
    assert html.count("below the level the service asked for") == 1
    assert "below the level" not in _page(browser, english())


def test_what_the_service_receives_follows_the_scopes(browser: FlaskClient) -> None:
    assert "Your address" in _page(browser, english())
    html = _page(browser, english(scope="openid"))
    assert "Your address" not in html
    assert "date of birth" not in html


def test_index_lists_the_personas(browser: FlaskClient) -> None:
    html = browser.get("/").get_data(as_text=True)
    for persona in PERSONAS:
        assert persona.name in html
        assert f"<td>{persona.pin}</td>" in html


def test_page_is_in_japanese_by_default(browser: FlaskClient) -> None:
    html = _page(browser)
    assert '<html lang="ja">' in html
    banner = "For development and testing only. This is not the real My Number card service."
    assert ja(banner) in html
    assert banner not in html
    assert f"<h1>{ja('Sign in with the My Number card')}</h1>" in html
    assert f">{ja('Sign in')}</button>" in html
    for persona in PERSONAS:
        assert persona.description_ja in html
    assert html.count(ja("Signs in with the My Number card")) == 8
    assert html.count(ja("Signs in without the card (password level)")) == 1
    assert ja("Your address") in html


def test_japanese_catalog_is_used_for_ja(make_idp, tmp_path) -> None:  # noqa: ANN001
    """The locale selector really switches catalogs (the project's own catalogs may lag)."""
    catalog = Catalog(locale="ja")
    catalog.add("Sign in", "ログイン")
    catalog.add(
        (
            "The PIN is wrong. You can try %(num)d more time before the card locks.",
            "The PIN is wrong. You can try %(num)d more times before the card locks.",
        ),
        ("暗証番号が違います。あと%(num)d回間違えるとカードがロックされます。",),
    )
    folder = tmp_path / "translations" / "ja" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with open(folder / "messages.mo", "wb") as handle:
        write_mo(handle, catalog)
    browser = make_idp(BABEL_TRANSLATION_DIRECTORIES=str(tmp_path / "translations")).test_client()

    assert ">ログイン</button>" in _page(browser)
    assert ">Sign in</button>" in _page(browser, Request(extra={"ui_locales": "en"}))
    wrong = submit(browser, Request(extra={"ui_locales": "ja"}), "yamada-taro", pin="0001")
    assert "あと2回間違えるとカードがロックされます。" in wrong.get_data(as_text=True)
