"""Texts, names and dates render outside a request too: a CLI command, a job, an e-mail.

There the default language (Japanese) applies, or the one given with ``force_locale``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask import Flask

from portal.definitions.model import Text
from portal.extensions import db
from portal.i18n import current_language, force_locale
from portal.japan.dates import format_resident_date, format_resident_datetime
from portal.tenancy.models import DepartmentKind, Municipality

CHIYODA = Municipality(code="131016", prefecture_ja="東京都", name_ja="千代田区", name_en="Chiyoda")
MOVING = Text("引越し", "Moving house")
DAY = date(2026, 12, 2)


def test_outside_a_request_everything_renders_in_japanese(app: Flask) -> None:
    with app.app_context():
        assert current_language() == "ja"
        assert str(MOVING) == "引越し"
        assert CHIYODA.name == "東京都千代田区"
        assert format_resident_date(DAY) == "2026年12月2日（令和8年12月2日）"
        assert db.session.get(DepartmentKind, "childcare").label == "保育"  # stored labels, too


def test_force_locale_renders_in_the_language_given(app: Flask) -> None:
    with app.app_context():
        with force_locale("en"):
            assert str(MOVING) == "Moving house"
            assert CHIYODA.name == "Chiyoda"
            assert format_resident_date(DAY) == "December 2, 2026"
            assert db.session.get(DepartmentKind, "childcare").label == "Childcare"
        with force_locale("ja"):
            assert str(MOVING) == "引越し"
            assert CHIYODA.name == "東京都千代田区"
        assert str(MOVING) == "引越し"  # back to the default after the block


def test_times_are_shown_in_japan_whatever_the_language(app: Flask) -> None:
    late_evening_utc = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # 00:30 on 2 December in Japan
    with app.app_context():
        assert format_resident_datetime(late_evening_utc) == "2026年12月2日（令和8年12月2日） 00:30"
        with force_locale("en"):
            assert format_resident_datetime(late_evening_utc) == "December 2, 2026 00:30"


def test_force_locale_wins_over_the_residents_choice_inside_a_request(app: Flask) -> None:
    """An e-mail to a clerk written while a resident who reads English is on the page."""
    with app.test_request_context("/", headers={"Cookie": "madoguchi_lang=en"}):
        assert str(MOVING) == "Moving house"
        with force_locale("ja"):
            assert str(MOVING) == "引越し"
        assert str(MOVING) == "Moving house"


def test_templates_translate_in_the_language_in_force(app: Flask) -> None:
    """The templates' ``_`` finds its translations once per language: the request's, then a
    forced one, then the request's again, in one request; and the default outside one."""
    page = app.jinja_env.from_string("{{ _('Mailbox') }} {{ current_language }}")
    with app.test_request_context("/", headers={"Cookie": "madoguchi_lang=en"}):
        assert page.render(current_language=current_language()) == "Mailbox en"
        with force_locale("ja"):
            assert page.render(current_language=current_language()) == "お知らせ ja"
        assert page.render(current_language=current_language()) == "Mailbox en"
    with app.app_context():
        assert page.render(current_language=current_language()) == "お知らせ ja"
        with force_locale("en"):
            assert page.render(current_language=current_language()) == "Mailbox en"


def test_force_locale_refuses_what_would_render_in_no_ones_language(app: Flask) -> None:
    with app.app_context(), pytest.raises(ValueError), force_locale("fr"):
        pass
    with pytest.raises(RuntimeError), force_locale("en"):  # no app: nothing could be translated
        pass


def test_without_an_app_texts_and_dates_still_render_in_japanese() -> None:
    assert str(MOVING) == "引越し"
    assert format_resident_date(DAY).startswith("2026年12月2日")
