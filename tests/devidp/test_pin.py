"""Wrong PINs: the page says how many tries are left; three lock the card for a while.

Most tests read the page in English (``ui_locales=en``); the last ones check the Japanese
that residents see by default.
"""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from .catalog import ja
from .flow import Request, english, query, submit


def _text(response: TestResponse) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def _wrong(
    browser: FlaskClient, persona: str = "yamada-taro", request: Request | None = None
) -> TestResponse:
    response = submit(browser, request or english(), persona, pin="0001")
    assert response.status_code == 200
    assert "Location" not in response.headers
    return response


def test_wrong_pin_says_how_many_tries_are_left(browser: FlaskClient) -> None:
    html = _text(_wrong(browser))
    message = "The PIN is wrong. You can try 2 more times before the card locks."
    # Beside the field and in the error summary at the top, which links to the field.
    assert html.count(message) == 2
    assert 'class="error-summary"' in html
    assert '<a href="#pin">' in html
    assert 'id="pin-error"' in html
    assert re.search(r'<input[^>]*aria-describedby="pin-hint pin-error"', html)
    assert re.search(r'<input[^>]*aria-invalid="true"', html)
    assert "<title>Error:" in html
    # The person stays chosen; the PIN is never sent back.
    assert re.search(r'value="yamada-taro"[^>]*checked', html)
    assert 'value="0001"' not in html

    html = _text(_wrong(browser))
    assert "You can try 1 more time before the card locks." in html


def test_three_wrong_pins_lock_the_card(idp: Flask, browser: FlaskClient) -> None:
    _wrong(browser)
    _wrong(browser)
    html = _text(_wrong(browser))
    assert "so this card is now locked. Try again in 15 minutes." in html

    # While locked, even the right PIN is refused.
    response = submit(browser, english(), "yamada-taro")
    assert response.status_code == 200
    html = _text(response)
    assert "This card is locked because the PIN was wrong too many times." in html
    assert "Try again in 15 minutes." in html
    assert "This card is locked for now after too many wrong PINs." in html

    # Another person's card is not affected.
    assert submit(browser, english(), "sato-hanako").status_code == 302

    # After the lock time, the right PIN works again and resets the counter.
    pins = idp.extensions["devidp"].pins
    now = pins.clock()
    pins.clock = lambda: now + 901
    response = submit(browser, english(), "yamada-taro")
    assert response.status_code == 302
    assert "code" in query(response.headers["Location"])
    html = _text(_wrong(browser))
    assert "You can try 2 more times" in html


def test_right_pin_resets_the_counter(browser: FlaskClient) -> None:
    _wrong(browser)
    _wrong(browser)
    assert submit(browser, english(), "yamada-taro").status_code == 302
    assert "You can try 2 more times" in _text(_wrong(browser))


def test_attempts_and_lock_time_are_settings(make_idp) -> None:  # noqa: ANN001
    browser = make_idp(DEVIDP_PIN_ATTEMPTS=1, DEVIDP_LOCK_SECONDS=60).test_client()
    assert "Try again in 1 minute." in _text(_wrong(browser))


def test_malformed_pin_and_missing_person_are_explained(browser: FlaskClient) -> None:
    response = submit(browser, english(), persona=None, pin="12a")
    html = _text(response)
    assert response.status_code == 200
    assert "Choose the person who is signing in." in html
    assert '<a href="#persona">' in html
    assert 'id="persona-error"' in html
    assert "Enter the PIN as 4 digits, such as 1234." in html

    html = _text(submit(browser, english(), persona=None, pin=""))
    assert "Enter the 4-digit PIN." in html


def test_unknown_person_is_refused(browser: FlaskClient) -> None:
    response = submit(browser, english(), None, form={"persona": "nobody", "pin": "1234"})
    assert response.status_code == 200
    assert "Choose the person who is signing in." in _text(response)


WRONG_PIN = "The PIN is wrong. You can try %(num)d more time before the card locks."
LOCKED_NOW = (
    "The PIN was wrong too many times, so this card is now locked. Try again in %(num)d minute."
)
LOCKED = (
    "This card is locked because the PIN was wrong too many times. Try again in %(num)d minute."
)


def test_pin_messages_are_in_japanese_by_default(browser: FlaskClient) -> None:
    japanese = Request()  # no ui_locales: the provider's default language
    html = _text(_wrong(browser, request=japanese))
    assert '<html lang="ja">' in html
    assert html.count(ja(WRONG_PIN, num=2)) == 2
    assert f"<title>{ja('Error:')}" in html
    assert "The PIN is wrong" not in html

    _wrong(browser, request=japanese)
    html = _text(_wrong(browser, request=japanese))
    assert ja(LOCKED_NOW, num=15) in html

    response = submit(browser, japanese, "yamada-taro")
    assert response.status_code == 200
    html = _text(response)
    assert ja(LOCKED, num=15) in html
    assert ja("This card is locked for now after too many wrong PINs.") in html
    assert "This card is locked" not in html


def test_form_errors_are_in_japanese_by_default(browser: FlaskClient) -> None:
    html = _text(submit(browser, Request(), persona=None, pin="12a"))
    assert ja("Choose the person who is signing in.") in html
    assert ja("Enter the PIN as 4 digits, such as 1234.") in html
    html = _text(submit(browser, Request(), persona=None, pin=""))
    assert ja("Enter the 4-digit PIN.") in html


def test_the_count_is_shared_by_every_process_of_the_provider(make_idp) -> None:  # noqa: ANN001
    """Two provider apps on one key directory, as two workers are: three tries in all."""
    first, second = make_idp().test_client(), make_idp().test_client()
    assert "You can try 2 more times" in _text(_wrong(first))
    assert "You can try 1 more time" in _text(_wrong(second))
    assert "so this card is now locked" in _text(_wrong(first))
    for worker in (first, second):
        html = _text(submit(worker, english(), "yamada-taro"))
        assert "This card is locked because the PIN was wrong too many times." in html
    # The right PIN, on either, resets the count for both once the lock has passed.
    for app in (first.application, second.application):
        pins = app.extensions["devidp"].pins
        now = pins.clock()
        pins.clock = lambda now=now: now + 901
    assert submit(second, english(), "yamada-taro").status_code == 302
    assert "You can try 2 more times" in _text(_wrong(first))


def test_the_count_survives_a_restart(make_idp) -> None:  # noqa: ANN001
    _wrong(make_idp().test_client())
    _wrong(make_idp().test_client())
    assert "so this card is now locked" in _text(_wrong(make_idp().test_client()))
